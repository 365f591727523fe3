//! Keeps `docs/configuration.md` and `docs/extensions.md` true to the code.
//!
//! * Every key path `beginnings::config::known_keys()` returns must be written in
//!   `docs/configuration.md` as inline code, the whole path between backticks
//!   (`` `app.port` ``, `` `static.directories[].gzip` ``). A key inside a YAML block does not
//!   count: the reader looks keys up in the tables and the prose.
//! * The other way round, an inline-code key path under a section with fixed keys (`app.`,
//!   `static.`, `templates.`, `database.`, an extension's host keys, the route settings
//!   Beginnings reads) must be a known key, so a removed or misspelt key cannot linger.
//! * Every ```` ```yaml ```` block of both documents passes `beginnings check`, run as the
//!   command-line tests run it: the block written as `app.yaml` in a fresh directory (with
//!   empty `static/` and `templates/` folders), the extension libraries cargo built, and no
//!   environment but `PATH`. The line right before a block may hold one marker:
//!   * `<!-- not checked: REASON -->`: skipped. Such blocks are counted: at most one block in
//!     five may be skipped, and a reason is required.
//!   * `<!-- file: NAME -->`: not checked alone but written as `NAME` beside every checked
//!     block (an included file, a profile overlay); some check must report reading it.
//!   * `<!-- check: ARGS -->`: extra arguments for `check`, such as `--profile prod`.
//!
//! Each shipped extension checks its own section of `docs/extensions.md` both ways, with the
//! key list taken from its configuration types (`the_documented_keys_are_the_keys_it_reads`
//! in the extension's crate, through `beginnings_abi::testing::check_documented_keys`).

use std::path::Path;
use std::process::Command;

use beginnings_tests::{build_dir, ensure_built, workspace_root};

fn doc(name: &str) -> String {
    let path = workspace_root().join("docs").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Inline code spans outside fenced blocks (a run of N backticks up to the next run of N).
fn code_spans(markdown: &str) -> Vec<String> {
    let mut spans = Vec::new();
    let mut fenced = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let mut rest = line;
        while let Some(start) = rest.find('`') {
            let ticks = rest[start..].len() - rest[start..].trim_start_matches('`').len();
            let body = &rest[start + ticks..];
            let fence = "`".repeat(ticks);
            let Some(end) = body.find(&fence) else { break };
            spans.push(body[..end].trim().to_owned());
            rest = &body[end + ticks..];
        }
    }
    spans
}

enum Marker {
    None,
    NotChecked(String),
    File(String),
    Check(Vec<String>),
}

struct Block {
    /// 1-based line of the opening fence.
    line: usize,
    text: String,
    marker: Marker,
}

fn yaml_blocks(markdown: &str) -> Vec<Block> {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let fence = lines[i].trim_start();
        if !fence.starts_with("```") {
            i += 1;
            continue;
        }
        let is_yaml = fence == "```yaml";
        let start = i;
        i += 1;
        let mut text = String::new();
        while i < lines.len() && !lines[i].trim_start().starts_with("```") {
            text.push_str(lines[i]);
            text.push('\n');
            i += 1;
        }
        i += 1;
        if is_yaml {
            let before = start.checked_sub(1).map(|j| lines[j].trim()).unwrap_or("");
            blocks.push(Block {
                line: start + 1,
                text,
                marker: marker(before),
            });
        }
    }
    blocks
}

fn marker(line: &str) -> Marker {
    let Some(inner) = line
        .strip_prefix("<!--")
        .and_then(|l| l.strip_suffix("-->"))
    else {
        return Marker::None;
    };
    let inner = inner.trim();
    if let Some(reason) = inner.strip_prefix("not checked:") {
        Marker::NotChecked(reason.trim().to_owned())
    } else if let Some(name) = inner.strip_prefix("file:") {
        Marker::File(name.trim().to_owned())
    } else if let Some(args) = inner.strip_prefix("check:") {
        Marker::Check(args.split_whitespace().map(str::to_owned).collect())
    } else {
        Marker::None
    }
}

/// Runs `beginnings check` on `app.yaml` in `dir` with only `PATH` from the environment.
fn check(dir: &Path, args: &[String]) -> (bool, String, String) {
    let extensions = build_dir().display().to_string();
    let output = Command::new(build_dir().join("beginnings"))
        .args([
            "check",
            "--config",
            "app.yaml",
            "--extensions-dir",
            &extensions,
        ])
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .current_dir(dir)
        .output()
        .expect("beginnings runs");
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (
        output.status.success(),
        text(&output.stdout),
        text(&output.stderr),
    )
}

/// Checks every YAML block of `name`; returns how many ran.
fn check_blocks(name: &str) -> usize {
    ensure_built();
    let blocks = yaml_blocks(&doc(name));
    let files: Vec<(&str, &str)> = blocks
        .iter()
        .filter_map(|b| match &b.marker {
            Marker::File(file) => Some((file.as_str(), b.text.as_str())),
            _ => None,
        })
        .collect();
    let mut failures = Vec::new();
    let mut skipped = 0;
    let mut checked = 0;
    let mut files_read = Vec::new();
    for block in &blocks {
        let args = match &block.marker {
            Marker::NotChecked(reason) => {
                assert!(!reason.is_empty(), "{name}:{}: give a reason", block.line);
                skipped += 1;
                continue;
            }
            Marker::File(_) => continue,
            Marker::Check(args) => args.clone(),
            Marker::None => Vec::new(),
        };
        let dir = tempfile::tempdir().expect("temporary directory");
        for folder in ["static", "templates"] {
            std::fs::create_dir(dir.path().join(folder)).unwrap();
        }
        for (file, text) in &files {
            std::fs::write(dir.path().join(file), text).unwrap();
        }
        std::fs::write(dir.path().join("app.yaml"), &block.text).unwrap();
        let (ok, stdout, stderr) = check(dir.path(), &args);
        checked += 1;
        if !ok || !stdout.starts_with("ok: ") {
            failures.push(format!(
                "{name}:{}: beginnings check {args:?} failed\n{stdout}{stderr}\n{}",
                block.line, block.text
            ));
        }
        let summary = stdout.split(" (").next().unwrap_or_default();
        files_read.extend(
            summary
                .trim_start_matches("ok: ")
                .split(", ")
                .map(str::to_owned),
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    files_read.sort();
    files_read.dedup();
    for (file, _) in &files {
        assert!(
            files_read.iter().any(|read| read == file),
            "{name}: no checked block reads the file block `{file}` (read: {files_read:?})"
        );
    }
    let total = checked + skipped;
    assert!(
        skipped * 5 <= total,
        "{name}: {skipped} of {total} YAML blocks are marked `not checked`; at most one in five may be"
    );
    checked
}

#[test]
fn every_known_key_is_documented() {
    let spans = code_spans(&doc("configuration.md"));
    let keys = beginnings::config::known_keys();
    assert!(keys.len() > 50, "the key list looks cut short: {keys:?}");
    let missing: Vec<&String> = keys.iter().filter(|key| !spans.contains(key)).collect();
    assert!(
        missing.is_empty(),
        "docs/configuration.md does not document (as `key.path`): {missing:?}"
    );
}

/// Sections whose every key is known, so any key path written under them must exist.
const CLOSED_PREFIXES: &[&str] = &[
    "app.",
    "static.",
    "templates.",
    "database.",
    "extensions.<module:Type>.",
    "routes.patterns.<pattern>.",
];

#[test]
fn every_documented_key_exists() {
    let keys = beginnings::config::known_keys();
    let looks_like_key = |span: &str| {
        CLOSED_PREFIXES.iter().any(|p| span.starts_with(p))
            && !span.ends_with(".yaml")
            && !span.ends_with(".yml")
            && span
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.[]<>:".contains(c))
    };
    for name in ["configuration.md", "extensions.md"] {
        let unknown: Vec<String> = code_spans(&doc(name))
            .into_iter()
            .filter(|span| looks_like_key(span) && !keys.contains(span))
            .collect();
        assert!(
            unknown.is_empty(),
            "docs/{name} names keys the configuration does not accept: {unknown:?}"
        );
    }
}

#[test]
fn configuration_yaml_blocks_pass_check() {
    let checked = check_blocks("configuration.md");
    assert!(checked >= 15, "only {checked} blocks were checked");
}

#[test]
fn extensions_yaml_blocks_pass_check() {
    let checked = check_blocks("extensions.md");
    assert!(checked >= 8, "only {checked} blocks were checked");
}

/// The host must take its own keys out of an extension's entry: the security extension
/// refuses any key it does not know, so a host key that reached it would fail the check.
#[test]
fn extension_host_keys_never_reach_the_extension() {
    ensure_built();
    let prefix = "extensions.<module:Type>.";
    let keys = beginnings::config::known_keys();
    let host_keys: Vec<&str> = keys
        .iter()
        .filter_map(|key| key.strip_prefix(prefix))
        .filter(|key| !key.contains('.'))
        .collect();
    assert!(host_keys.len() >= 4, "{host_keys:?}");
    for key in host_keys {
        let (value, expected_error) = match key {
            "enabled" => ("true", None),
            "priority" => ("-3", None),
            "breaker" => ("{panics: 2, window_seconds: 1.5}", None),
            // A pin that does not match is refused for that reason, not as an unknown key.
            "sha256" => (
                "\"0000000000000000000000000000000000000000000000000000000000000000\"",
                Some("the configuration pins"),
            ),
            other => panic!("no sample value for the host key `{other}`: add one here"),
        };
        let dir = tempfile::tempdir().unwrap();
        let yaml =
            format!("extensions:\n  \"security:SecurityHeadersExtension\":\n    {key}: {value}\n");
        std::fs::write(dir.path().join("app.yaml"), &yaml).unwrap();
        let (ok, stdout, stderr) = check(dir.path(), &[]);
        match expected_error {
            None => assert!(ok, "{key}:\n{yaml}{stdout}{stderr}"),
            Some(error) => {
                assert!(
                    !ok && stderr.contains(error),
                    "{key}:\n{yaml}{stdout}{stderr}"
                );
                assert!(!stderr.contains("unknown field"), "{key}: {stderr}");
            }
        }
    }
}
