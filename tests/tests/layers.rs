//! The runtime's layering, checked from its sources: every `crate::` path in
//! `framework/src` points from a top-level module to one below it in [`LAYERS`], no two
//! top-level modules reach each other (directly or round a longer circle), and only the host
//! module names the ABI's types (`abi_stable`, `beginnings_abi::ffi`); the SDK's plain
//! functions (the rate bucket's arithmetic) may be used below it. `docs/architecture.md`
//! draws the same layers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The top-level modules of `framework/src`, lowest first: each may use those before it.
const LAYERS: &[&str] = &[
    "coarse_clock",
    "grow_only",
    "config",
    "telemetry",
    "store",
    "routing",
    "host",
    "chain",
    "builtin",
    "error",
    "runtime",
    "server",
    "app",
    "tower",
    "lib",
];

/// The only module that may name the ABI's types.
const ABI_MODULE: &str = "host";

/// How a source names the ABI's types.
const ABI_NAMES: &[&str] = &["abi_stable", "beginnings_abi::ffi"];

/// Whether `source` names the ABI's types, directly or in a grouped import
/// (`use beginnings_abi::{ffi::StatePtr, error_body}`).
fn names_the_abi(source: &str) -> bool {
    let grouped = source.split("beginnings_abi::{").skip(1).any(|group| {
        let group = &group[..group.find('}').unwrap_or(group.len())];
        group.contains("ffi")
    });
    grouped || ABI_NAMES.iter().any(|name| source.contains(name))
}

/// Uses of one module by another: (from, to) → the files that hold them.
type Edges = BTreeMap<(String, String), BTreeSet<String>>;

fn source_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../framework/src")
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("framework/src is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The top-level module a file belongs to: `server/mod.rs` → `server`, `app.rs` → `app`.
fn module_of(relative: &Path) -> String {
    let first = relative.components().next().expect("a file under src");
    let first = first.as_os_str().to_string_lossy();
    first.strip_suffix(".rs").unwrap_or(&first).to_string()
}

/// The source without `//` comments (doc comments name modules in prose).
fn without_comments(source: &str) -> String {
    source
        .lines()
        .map(|line| match line.find("//") {
            // A `//` inside a string ("http://") is kept: it never precedes `crate::`.
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level modules a source names through `crate::`, grouped imports included
/// (`use crate::{config::X, routing::Y}`).
fn modules_named(source: &str) -> BTreeSet<String> {
    let mut named = BTreeSet::new();
    let mut rest = source;
    while let Some(at) = rest.find("crate::") {
        let after = &rest[at + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            let mut depth = 1;
            let mut start_of_item = true;
            let mut word = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    break;
                }
                if depth == 1 && c == ',' {
                    start_of_item = true;
                    continue;
                }
                if start_of_item {
                    if c.is_alphanumeric() || c == '_' {
                        word.push(c);
                    } else if !word.is_empty() {
                        named.insert(std::mem::take(&mut word));
                        start_of_item = false;
                    }
                }
            }
        } else {
            let word: String = after
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            named.insert(word);
        }
        rest = after;
    }
    named.retain(|module| module != "self" && !module.is_empty());
    // `crate::Error` names what the crate root re-exports: a use of the top.
    named
        .into_iter()
        .map(|name| match name.starts_with(char::is_uppercase) {
            true => "lib".to_string(),
            false => name,
        })
        .collect()
}

fn edges_and_abi_users() -> (Edges, BTreeSet<String>) {
    let root = source_root();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let mut edges = Edges::new();
    let mut abi_users = BTreeSet::new();
    for file in files {
        let relative = file.strip_prefix(&root).expect("under src").to_path_buf();
        let from = module_of(&relative);
        let source = without_comments(&std::fs::read_to_string(&file).expect("readable"));
        let shown = relative.display().to_string();
        if names_the_abi(&source) && from != ABI_MODULE {
            abi_users.insert(shown.clone());
        }
        for to in modules_named(&source) {
            if to != from {
                edges
                    .entry((from.clone(), to))
                    .or_default()
                    .insert(shown.clone());
            }
        }
    }
    (edges, abi_users)
}

/// The modules that reach each other: every strongly connected set of more than one.
fn cycles(edges: &Edges) -> Vec<BTreeSet<String>> {
    let modules: BTreeSet<&String> = edges.keys().flat_map(|(a, b)| [a, b]).collect();
    let reaches = |from: &String| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.clone()];
        while let Some(module) = stack.pop() {
            for ((a, b), _) in edges.range((module.clone(), String::new())..) {
                if *a != module {
                    break;
                }
                if seen.insert(b.clone()) {
                    stack.push(b.clone());
                }
            }
        }
        seen
    };
    let reach: BTreeMap<&String, BTreeSet<String>> =
        modules.iter().map(|m| (*m, reaches(m))).collect();
    let mut found: Vec<BTreeSet<String>> = Vec::new();
    for module in &modules {
        let circle: BTreeSet<String> = modules
            .iter()
            .filter(|other| reach[module].contains(**other) && reach[**other].contains(*module))
            .map(|m| (*m).clone())
            .collect();
        if circle.len() > 1 && !found.contains(&circle) {
            found.push(circle);
        }
    }
    found
}

#[test]
fn no_two_modules_of_the_runtime_reach_each_other() {
    let (edges, _) = edges_and_abi_users();
    let found = cycles(&edges);
    assert!(
        found.is_empty(),
        "modules of framework/src that call each other in a circle: {found:?}; \
         the uses: {edges:#?}"
    );
}

#[test]
fn every_use_points_down_the_layers() {
    let (edges, _) = edges_and_abi_users();
    let rank = |module: &str| LAYERS.iter().position(|layer| *layer == module);
    let mut upward = Vec::new();
    for ((from, to), files) in &edges {
        match (rank(from), rank(to)) {
            (Some(a), Some(b)) if a > b => {}
            _ => upward.push(format!("{from} -> {to} in {files:?}")),
        }
    }
    assert!(
        upward.is_empty(),
        "uses that point up the layers {LAYERS:?} (or name a module not in them):\n{}",
        upward.join("\n")
    );
}

#[test]
fn only_the_host_module_names_the_abi() {
    let (_, abi_users) = edges_and_abi_users();
    assert!(
        abi_users.is_empty(),
        "files outside `{ABI_MODULE}/` that name the ABI's types ({ABI_NAMES:?}): {abi_users:?}"
    );
}

#[test]
fn the_check_reads_grouped_imports_and_finds_a_circle() {
    assert!(names_the_abi(
        "use beginnings_abi::{error_body, ffi::StatePtr};"
    ));
    assert!(!names_the_abi(
        "use beginnings_abi::{ProcessMemory, memory_figure};"
    ));
    let named = modules_named("use crate::{config::Config, routing::{Router, Json}};");
    assert_eq!(
        named,
        BTreeSet::from(["config".to_string(), "routing".to_string()])
    );
    let mut edges = Edges::new();
    for (a, b) in [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")] {
        edges.insert((a.into(), b.into()), BTreeSet::new());
    }
    let found = cycles(&edges);
    assert_eq!(
        found,
        vec![BTreeSet::from(["a".into(), "b".into(), "c".into()])]
    );
}

/// `docs/architecture.md` names files of `framework/src` in backticks (`chain/run.rs`,
/// `host/views/`); each must exist, and each layer must be drawn.
#[test]
fn the_architecture_page_names_files_that_exist_and_every_layer() {
    let page = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/architecture.md"),
    )
    .expect("docs/architecture.md is readable");
    let root = source_root();
    let mut missing = Vec::new();
    for span in page.split('`').skip(1).step_by(2) {
        let is_path = span.ends_with(".rs") || (span.ends_with('/') && !span.contains(' '));
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        if is_path && !root.join(span).exists() && !workspace.join(span).exists() {
            missing.push(span.to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "docs/architecture.md names files that do not exist: {missing:?}"
    );
    let undrawn: Vec<&str> = LAYERS
        .iter()
        .filter(|layer| **layer != "lib")
        .filter(|layer| {
            !page.contains(&format!(" {layer}/")) && !page.contains(&format!(" {layer}.rs"))
        })
        .copied()
        .collect();
    assert!(
        undrawn.is_empty(),
        "layers docs/architecture.md does not draw: {undrawn:?}"
    );
}
