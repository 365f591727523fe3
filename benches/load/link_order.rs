//! The link order of the application and its extension libraries
//! (`extensions/link_order.rs` says why): `--write-link-order` records which functions run
//! when the application starts and serves the benchmark's routes, and every run reports how
//! many of the recorded functions the built files still define, and how many they lay out
//! first (a list made by another compiler version orders less; rerun `--write-link-order`
//! then).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use object::{Object, ObjectSection, ObjectSymbol, SymbolKind};

use crate::checks::{self, STATUS_PATH, USER_PATH};
use crate::http;
use crate::server::Spec;
use crate::wrk::Wrk;

/// Requests per route on fresh connections while recording, for the accepting path.
const REQUESTS_PER_ROUTE: usize = 20;
/// Then the benchmark's own load on each route, as long: under callgrind (about 50 times
/// slower than native) some thousands of requests on the benchmark's kept-alive connections,
/// so the paths only load takes (1% sampling, many connections at once) run too.
const LOAD_PER_ROUTE: Duration = Duration::from_secs(3);

/// A built file and the list of functions it links first.
pub struct Linked {
    pub file: PathBuf,
    pub list: PathBuf,
}

/// The application and the libraries of `modules`, each with its list.
pub fn linked(root: &Path, release: &Path, modules: &[String]) -> Vec<Linked> {
    let mut linked = vec![Linked {
        file: release.join("beginnings-bench-app"),
        list: root.join("benches/app/link-order.txt"),
    }];
    for module in modules {
        linked.push(Linked {
            file: release.join(format!("lib{module}.so")),
            list: root.join("extensions").join(module).join("link-order.txt"),
        });
    }
    linked
}

/// Runs `app` (the application with the extensions, as scenario C starts it) under
/// callgrind, sends each route [`REQUESTS_PER_ROUTE`] requests with `headers` and then
/// `wrk`'s load, and the users route requests without the token; stops it and writes each
/// list of `linked`: the functions that ran in it.
pub fn write(
    app: &Spec,
    linked: &[Linked],
    wrk: &Wrk,
    headers: &[(String, String)],
    work_dir: &Path,
) -> anyhow::Result<()> {
    let profile = work_dir.join("callgrind.out");
    let mut args = vec![
        "--tool=callgrind".to_string(),
        // Symbol names as the linker knows them.
        "--demangle=no".to_string(),
        "--dump-line=no".to_string(),
        format!("--callgrind-out-file={}", profile.display()),
        app.program.display().to_string(),
    ];
    args.extend(app.args.iter().cloned());
    // As after a build, the loader hashes each library again (a digest it keeps is used
    // only while the file's status is unchanged): the start the benchmark measures first.
    for entry in linked {
        let permissions = std::fs::metadata(&entry.file)?.permissions();
        std::fs::set_permissions(&entry.file, permissions)?;
    }
    let recorded = Spec::new("callgrind", PathBuf::from("valgrind"), args);
    eprintln!("recording which functions run: the application under callgrind");
    let server = recorded
        .start("0", work_dir)
        .context("cannot run the application under valgrind (is valgrind installed?)")?;
    for path in ["/health", STATUS_PATH, USER_PATH] {
        for _ in 0..REQUESTS_PER_ROUTE {
            let answer = http::exchange(server.addr, "GET", path, headers, &[])?;
            if answer.status != 200 {
                bail!("GET {path} answered {} under callgrind", answer.status);
            }
        }
        let url = format!("http://{}{path}", server.addr);
        let figures = wrk.run(&url, headers, LOAD_PER_ROUTE)?;
        eprintln!("{path}: {} requests under callgrind", figures.requests);
    }
    // The refusal the benchmark's checks ask for, as clients without a token do.
    let anonymous = checks::without_token(headers);
    for _ in 0..REQUESTS_PER_ROUTE {
        http::exchange(server.addr, "GET", USER_PATH, &anonymous, &[])?;
    }
    server.interrupt(Duration::from_secs(60))?;
    let ran = functions_that_ran(&profile)?;
    for entry in linked {
        let file = std::fs::canonicalize(&entry.file)
            .with_context(|| format!("no {}", entry.file.display()))?;
        let defined = defined_functions(&entry.file)?;
        let listed: Vec<&str> = ran
            .iter()
            .filter(|(object, name)| *object == file && defined.contains_key(name))
            .map(|(_, name)| name.as_str())
            .collect();
        let mut text = format!(
            "# Functions of {} that ran in `load --write-link-order`, the most called first,\n\
             # linked first (extensions/link_order.rs says why). Written by that command.\n",
            file_name(&entry.file)
        );
        for name in &listed {
            text.push_str(name);
            text.push('\n');
        }
        std::fs::write(&entry.list, text)
            .with_context(|| format!("cannot write {}", entry.list.display()))?;
        eprintln!(
            "{}: {} functions, written to {}",
            file_name(&entry.file),
            listed.len(),
            entry.list.display()
        );
    }
    eprintln!("the next build links them first (cargo build --release, or rerun the benchmark)");
    Ok(())
}

/// How one built file took its list.
pub struct Coverage {
    pub file: String,
    /// Functions the list names.
    pub listed: usize,
    /// Of those, the ones the file defines.
    pub found: usize,
    /// Of those, the ones placed ahead of every function the list does not name: all of
    /// them when the linker took the list, few when it did not (another linker, or
    /// `BEGINNINGS_LINK_ORDER=off`).
    pub laid_out_first: usize,
}

/// For each of `linked` whose list exists, how its build took it.
pub fn coverage(linked: &[Linked]) -> Vec<Coverage> {
    linked
        .iter()
        .filter_map(|entry| {
            let text = std::fs::read_to_string(&entry.list).ok()?;
            let defined = defined_functions(&entry.file).ok()?;
            let listed: HashSet<&str> = listed_names(&text).collect();
            let first_unlisted = defined
                .iter()
                .filter(|(name, _)| !listed.contains(name.as_str()))
                .map(|(_, address)| *address)
                .min()
                .unwrap_or(u64::MAX);
            let addresses: Vec<u64> = listed
                .iter()
                .filter_map(|name| defined.get(*name).copied())
                .collect();
            Some(Coverage {
                file: file_name(&entry.file),
                listed: listed.len(),
                found: addresses.len(),
                laid_out_first: addresses
                    .iter()
                    .filter(|address| **address < first_unlisted)
                    .count(),
            })
        })
        .collect()
}

/// The symbol names of a list, without its comments and blank lines.
fn listed_names(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(|line| line.split('#').next().unwrap_or("").trim())
        .filter(|line| !line.is_empty())
}

/// Every function of a callgrind profile, with the file that holds it: the most called
/// first, so the functions every request runs lie together (fewer pages and cache lines on
/// the hot path), then the ones that ran once or a few times (start-up). A function that
/// `std` puts in every file is a different function in each.
fn functions_that_ran(profile: &Path) -> anyhow::Result<Vec<(PathBuf, String)>> {
    let text = std::fs::read_to_string(profile)
        .with_context(|| format!("no callgrind profile at {}", profile.display()))?;
    // Callgrind names a file or function in full once, `(id) name`, and by `(id)` after.
    let mut objects = Names::default();
    let mut functions = Names::default();
    let mut calls: HashMap<(&str, &str), u64> = HashMap::new();
    let mut ran: Vec<(&str, &str)> = Vec::new();
    let mut seen = HashSet::new();
    let mut object = "";
    // A call names its callee's file (`cob=`) only when it is not the caller's.
    let mut callee_object = None;
    let mut callee = None;
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        match key {
            "ob" => object = objects.name(value),
            "cob" => callee_object = Some(objects.name(value)),
            "fn" => {
                let function = (object, functions.name(value));
                if seen.insert(function) {
                    ran.push(function);
                }
            }
            "cfn" => {
                callee = Some((
                    callee_object.take().unwrap_or(object),
                    functions.name(value),
                ));
            }
            "calls" => {
                let count: u64 = value
                    .split_whitespace()
                    .next()
                    .and_then(|count| count.parse().ok())
                    .unwrap_or(0);
                if let Some(function) = callee {
                    *calls.entry(function).or_default() += count;
                }
            }
            _ => {}
        }
    }
    if ran.is_empty() {
        bail!(
            "the callgrind profile {} names no function",
            profile.display()
        );
    }
    // Stable: functions called as often keep the order they first appeared in.
    ran.sort_by_key(|function| std::cmp::Reverse(calls.get(function).copied().unwrap_or(0)));
    // As the process mapped them; compared with the built files' own resolved paths.
    let mut resolved: HashMap<&str, PathBuf> = HashMap::new();
    Ok(ran
        .into_iter()
        .map(|(object, name)| {
            let path = resolved
                .entry(object)
                .or_insert_with(|| std::fs::canonicalize(object).unwrap_or_else(|_| object.into()));
            (path.clone(), name.to_string())
        })
        .collect())
}

/// The names of one kind a callgrind profile defines by id.
#[derive(Default)]
struct Names<'p> {
    by_id: HashMap<&'p str, &'p str>,
}

impl<'p> Names<'p> {
    /// The name `(id) name` defines or `(id)` refers to; a name without an id as it is.
    fn name(&mut self, value: &'p str) -> &'p str {
        let Some(rest) = value.strip_prefix('(') else {
            return value;
        };
        let Some((id, name)) = rest.split_once(')') else {
            return value;
        };
        let name = name.trim_start();
        if name.is_empty() {
            self.by_id.get(id).copied().unwrap_or("")
        } else {
            self.by_id.insert(id, name);
            name
        }
    }
}

/// The functions `file` defines in its code section (`.text`), with their addresses.
fn defined_functions(file: &Path) -> anyhow::Result<HashMap<String, u64>> {
    let data = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let parsed = object::File::parse(&*data)
        .with_context(|| format!("{} is not an object file", file.display()))?;
    let code = parsed
        .section_by_name(".text")
        .map(|section| section.index())
        .with_context(|| format!("{} has no .text section", file.display()))?;
    Ok(parsed
        .symbols()
        .filter(|symbol| {
            symbol.kind() == SymbolKind::Text
                && symbol.is_definition()
                && symbol.size() > 0
                && symbol.section_index() == Some(code)
        })
        .filter_map(|symbol| Some((symbol.name().ok()?.to_string(), symbol.address())))
        .collect())
}

fn file_name(file: &Path) -> String {
    file.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A profile as callgrind writes one with `--demangle=no`: the application's `start`
    /// calls its `serve` once, which calls its `parse` (first named as a callee) 300 times
    /// and the library's `hook` 100 times (a call into another file, `cob=`); `hook` calls
    /// the library's `drop` 100 times.
    const PROFILE: &str = "\
version: 1
events: Ir
ob=(1) /nonexistent/app
fl=(1) ???
fn=(1) start
0 10
cfn=(2) serve
calls=1 0x0
0 5000
fn=(2)
0 100
cfn=(3) parse
calls=300 0x0
0 900
cob=(2) /nonexistent/libext.so
cfn=(4) hook
calls=100 0x0
0 400
fn=(3)
0 900
ob=(2)
fn=(4)
0 300
cfn=(5) drop
calls=100 0x0
0 100
fn=(5)
0 100
";

    fn ran(profile: &str) -> Vec<(String, String)> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("callgrind.out");
        std::fs::write(&path, profile).unwrap();
        functions_that_ran(&path)
            .unwrap()
            .into_iter()
            .map(|(object, name)| (file_name(&object), name))
            .collect()
    }

    #[test]
    fn every_function_that_ran_is_listed_with_its_own_file_the_most_called_first() {
        let pair = |object: &str, name: &str| (object.to_string(), name.to_string());
        assert_eq!(
            ran(PROFILE),
            [
                pair("app", "parse"),
                pair("libext.so", "hook"),
                pair("libext.so", "drop"),
                pair("app", "serve"),
                pair("app", "start"),
            ]
        );
    }

    #[test]
    fn a_profile_that_names_no_function_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("callgrind.out");
        std::fs::write(&path, "version: 1\nevents: Ir\n").unwrap();
        let error = functions_that_ran(&path).unwrap_err();
        assert!(error.to_string().contains("names no function"), "{error}");
    }

    #[test]
    fn a_list_is_read_without_its_comments() {
        let text = "# written by a command\n_RNv1a\n\n  _ZN1b  \n";
        assert_eq!(listed_names(text).collect::<Vec<_>>(), ["_RNv1a", "_ZN1b"]);
    }
}
