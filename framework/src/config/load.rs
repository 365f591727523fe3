//! Reading files: the main configuration, its includes and the profile overlay.
//!
//! Each distinct file is read, parsed and expanded once per load and its tree reused
//! wherever it is included again, so includes that fan out (two files each including both
//! files of the next level) cost one read per file, not one per path through the includes.
//! Only regular files are read: a named pipe, socket or device is refused by name instead of
//! blocking the start on a read that never ends.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

use super::error::{Location, Problem, push_index};
use super::merge::merge_node;
use super::node::{Files, Kind, Node, Span};
use super::parse::parse;

/// Walks includes and overlays, collecting every file problem instead of stopping at the first.
pub(crate) struct Loader {
    pub files: Files,
    /// Each contributing file once, in the order it was first read.
    pub contributed: Vec<PathBuf>,
    pub problems: Vec<Problem>,
    /// Canonical directory of the main file; no include may leave it.
    config_dir: PathBuf,
    /// Canonical path -> the file with its own includes merged in (`None`: it failed and
    /// its problems are already reported), for every file loaded so far.
    loaded: HashMap<PathBuf, Option<Node>>,
}

/// Where a file is being read from: how to show it and what it really is.
struct FileRef {
    display: PathBuf,
    canonical: PathBuf,
}

impl Loader {
    pub fn new(main: &Path) -> Result<(Self, PathBuf), Problem> {
        let canonical = main
            .canonicalize()
            .map_err(|e| read_problem(main, &e, None, ""))?;
        let config_dir = canonical
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let loader = Self {
            files: Files::default(),
            contributed: Vec::new(),
            problems: Vec::new(),
            config_dir,
            loaded: HashMap::new(),
        };
        Ok((loader, canonical))
    }

    /// Loads `display` (whose canonical path is `canonical`) with all its includes merged in.
    pub fn load_file(&mut self, display: &Path, canonical: &Path) -> Option<Node> {
        let file = FileRef {
            display: normalize(display),
            canonical: canonical.to_path_buf(),
        };
        let mut chain = Vec::new();
        self.load_with_chain(&file, &mut chain, None, "")
    }

    fn load_with_chain(
        &mut self,
        file: &FileRef,
        chain: &mut Vec<PathBuf>,
        at: Option<Location>,
        key: &str,
    ) -> Option<Node> {
        // A file on the current chain is a cycle, reported before this point, so whatever
        // is stored here is complete.
        if let Some(done) = self.loaded.get(&file.canonical) {
            return done.clone();
        }
        let node = self.read_and_expand(file, chain, at, key);
        self.loaded.insert(file.canonical.clone(), node.clone());
        node
    }

    fn read_and_expand(
        &mut self,
        file: &FileRef,
        chain: &mut Vec<PathBuf>,
        at: Option<Location>,
        key: &str,
    ) -> Option<Node> {
        let text = match read_regular_file(&file.canonical) {
            Ok(text) => text,
            Err(e) => {
                self.problems.push(read_problem(&file.display, &e, at, key));
                return None;
            }
        };
        if !self.contributed.contains(&file.display) {
            self.contributed.push(file.display.clone());
        }
        let id = self.files.add(file.display.clone());
        let mut root = match parse(&text, id, &file.display) {
            Ok(root) => root,
            Err(problem) => {
                self.problems.push(problem);
                return None;
            }
        };
        match root.kind {
            Kind::Null => {
                root = Node::empty_map(Span {
                    file: id,
                    line: 1,
                    column: 1,
                })
            }
            Kind::Map(_) => {}
            _ => {
                let location = self.files.location(root.span);
                self.problems.push(Problem::new(
                    Some(location),
                    "",
                    format!(
                        "expected a mapping at the top of the file, found {}",
                        root.described()
                    ),
                ));
                return None;
            }
        }
        let Some(include) = take_key(&mut root, "include") else {
            return Some(root);
        };
        chain.push(file.canonical.clone());
        let mut merged: Option<Node> = None;
        for (item, item_key) in self.include_items(include) {
            let location = self.files.location(item.span);
            let Some(target) = self.resolve_include(file, &item, &location, &item_key, chain)
            else {
                continue;
            };
            if let Some(node) = self.load_with_chain(&target, chain, Some(location), &item_key) {
                match merged.as_mut() {
                    Some(acc) => merge_node(acc, node),
                    None => merged = Some(node),
                }
            }
        }
        chain.pop();
        // The including file wins over everything it includes.
        Some(match merged {
            Some(mut acc) => {
                merge_node(&mut acc, root);
                acc
            }
            None => root,
        })
    }

    /// `include:` takes one file name or a list of them.
    fn include_items(&mut self, include: Node) -> Vec<(Node, String)> {
        match include.kind {
            Kind::Null => Vec::new(),
            Kind::Str(_) => vec![(include, "include".to_owned())],
            Kind::Seq(items) => items
                .into_iter()
                .enumerate()
                .filter_map(|(i, item)| {
                    let key = push_index("include", i);
                    if item.as_str().is_some() {
                        Some((item, key))
                    } else {
                        let location = self.files.location(item.span);
                        let message = format!("expected a file name, found {}", item.described());
                        self.problems
                            .push(Problem::new(Some(location), key, message));
                        None
                    }
                })
                .collect(),
            _ => {
                let location = self.files.location(include.span);
                let message = format!(
                    "expected a list of file names, found {}",
                    include.described()
                );
                self.problems
                    .push(Problem::new(Some(location), "include", message));
                Vec::new()
            }
        }
    }

    fn resolve_include(
        &mut self,
        from: &FileRef,
        item: &Node,
        at: &Location,
        key: &str,
        chain: &[PathBuf],
    ) -> Option<FileRef> {
        let written = item.as_str().unwrap_or_default();
        let display_dir = from.display.parent().unwrap_or(Path::new(""));
        let canonical_dir = from.canonical.parent().unwrap_or(Path::new(""));
        let display = normalize(&display_dir.join(written));
        let problem = |message: String| Problem::new(Some(at.clone()), key, message);
        let canonical = match canonical_dir.join(written).canonicalize() {
            Ok(path) => path,
            Err(e) => {
                self.problems
                    .push(read_problem(&display, &e, Some(at.clone()), key));
                return None;
            }
        };
        if !canonical.starts_with(&self.config_dir) {
            let message = format!(
                "included file `{}` is outside the configuration directory `{}`",
                display.display(),
                self.config_dir.display()
            );
            self.problems.push(problem(message));
            return None;
        }
        if let Some(start) = chain.iter().position(|p| *p == canonical) {
            let names: Vec<String> = chain[start..]
                .iter()
                .chain(std::iter::once(&canonical))
                .map(|p| self.short_name(p))
                .collect();
            self.problems
                .push(problem(format!("include cycle: {}", names.join(" -> "))));
            return None;
        }
        Some(FileRef { display, canonical })
    }

    /// A file's name relative to the configuration directory, for cycle chains.
    fn short_name(&self, canonical: &Path) -> String {
        canonical
            .strip_prefix(&self.config_dir)
            .unwrap_or(canonical)
            .display()
            .to_string()
    }
}

/// Reads a configuration file, refusing anything but a regular file. The file is opened
/// without blocking, so a named pipe with no writer is refused at once rather than holding
/// the start forever.
fn read_regular_file(path: &Path) -> io::Result<String> {
    let nonblocking = i32::try_from(rustix::fs::OFlags::NONBLOCK.bits()).unwrap_or_default();
    let mut file = File::options()
        .read(true)
        .custom_flags(nonblocking)
        .open(path)?;
    let kind = file.metadata()?.file_type();
    let what = if kind.is_file() {
        None
    } else if kind.is_dir() {
        Some("a directory")
    } else if kind.is_fifo() {
        Some("a named pipe")
    } else if kind.is_socket() {
        Some("a socket")
    } else if kind.is_char_device() || kind.is_block_device() {
        Some("a device")
    } else {
        Some("not a file")
    };
    if let Some(what) = what {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not a regular file ({what}); configuration files must be regular files"),
        ));
    }
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    Ok(text)
}

/// Removes `key` from a mapping node and returns its value.
pub(crate) fn take_key(node: &mut Node, key: &str) -> Option<Node> {
    let Kind::Map(entries) = &mut node.kind else {
        return None;
    };
    let index = entries.iter().position(|e| e.key == key)?;
    Some(entries.remove(index).value)
}

fn read_problem(display: &Path, e: &io::Error, at: Option<Location>, key: &str) -> Problem {
    let message = if e.kind() == io::ErrorKind::NotFound {
        if at.is_some() {
            format!("included file not found: {}", display.display())
        } else {
            format!("config file not found: {}", display.display())
        }
    } else {
        let reason = e.to_string();
        let mut chars = reason.chars();
        let reason = match chars.next() {
            Some(first) => first.to_lowercase().chain(chars).collect(),
            None => reason,
        };
        format!("cannot read {}: {reason}", display.display())
    };
    Problem::new(at, key, message)
}

/// `a/./b/../c.yaml` -> `a/c.yaml`, without touching the filesystem, so paths in messages
/// look like the ones the user wrote.
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if matches!(out.components().next_back(), Some(Component::Normal(_))) {
                    out.pop();
                } else {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Canonical profile name: lowercase, aliases expanded, and only characters that are safe in a
/// file name, because the profile becomes part of `app.<profile>.yaml`.
pub fn canonical_profile(raw: &str) -> Result<String, String> {
    let lower = raw.trim().to_ascii_lowercase();
    let name = match lower.as_str() {
        "dev" => "development",
        "prod" => "production",
        "stage" => "staging",
        other => other,
    };
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if valid {
        Ok(name.to_owned())
    } else {
        Err(format!(
            "invalid profile name `{raw}` (use letters, digits, `_` and `-`)"
        ))
    }
}

/// `config/app.yaml` + `production` -> `config/app.production.yaml`.
pub(crate) fn overlay_path(main: &Path, profile: &str) -> PathBuf {
    let stem = main
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match main.extension() {
        Some(ext) => format!("{stem}.{profile}.{}", ext.to_string_lossy()),
        None => format!("{stem}.{profile}"),
    };
    main.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_names_and_aliases() {
        let cases = [
            ("dev", Ok("development")),
            ("prod", Ok("production")),
            ("stage", Ok("staging")),
            ("Production", Ok("production")),
            ("qa-2", Ok("qa-2")),
            ("../etc", Err(())),
            ("", Err(())),
        ];
        for (raw, want) in cases {
            assert_eq!(
                canonical_profile(raw).map_err(|_| ()),
                want.map(str::to_owned),
                "{raw}"
            );
        }
    }

    #[test]
    fn overlay_sits_beside_the_main_file() {
        assert_eq!(
            overlay_path(Path::new("config/app.yaml"), "production"),
            Path::new("config/app.production.yaml")
        );
        assert_eq!(
            overlay_path(Path::new("app.yml"), "dev"),
            Path::new("app.dev.yml")
        );
    }

    #[test]
    fn normalize_is_lexical() {
        assert_eq!(
            normalize(Path::new("config/./sub/../core.yaml")),
            Path::new("config/core.yaml")
        );
        assert_eq!(normalize(Path::new("../x.yaml")), Path::new("../x.yaml"));
    }
}
