//! The command line (`check`, `routes`, `config show`, `ext inspect`) run as real processes
//! against real configurations and the extension libraries cargo built.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use beginnings_tests::{ConfigDir, build_dir, ensure_built, workspace_root};

/// Runs `binary args...` from `dir` with none of the caller's Beginnings environment, so the
/// outcome depends only on the arguments.
fn run_plain(dir: &Path, binary: &str, args: &[&str]) -> Output {
    ensure_built();
    Command::new(build_dir().join(binary))
        .args(args)
        .env_remove("BEGINNINGS_EXTENSIONS_DIR")
        .env_remove("BEGINNINGS_ENV")
        .env("RUST_LOG", "warn")
        .current_dir(dir)
        .output()
        .expect("the binary runs")
}

/// [`run_plain`] with the extensions cargo built.
fn run_in(dir: &Path, binary: &str, args: &[&str]) -> Output {
    let extensions = build_dir().display().to_string();
    let args = [args, &["--extensions-dir", &extensions]].concat();
    run_plain(dir, binary, &args)
}

/// `ext inspect` takes no `--extensions-dir`.
fn inspect(library: &Path) -> Output {
    let library = library.display().to_string();
    run_plain(
        &workspace_root(),
        "beginnings",
        &["ext", "inspect", &library],
    )
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn report(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        output.status.code(),
        text(&output.stdout),
        text(&output.stderr)
    )
}

/// Asserts the exit code and returns stdout and stderr.
fn expect(output: &Output, code: i32) -> (String, String) {
    assert_eq!(output.status.code(), Some(code), "{}", report(output));
    (text(&output.stdout), text(&output.stderr))
}

fn yaml_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("config/ is readable") {
        let path = entry.unwrap().path();
        if path.is_dir() {
            yaml_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            found.push(path);
        }
    }
}

const CHECK: [&str; 3] = ["check", "--config", "app.yaml"];

#[test]
fn check_passes_on_every_example_configuration() {
    let root = workspace_root();
    let mut files = Vec::new();
    yaml_files(&root.join("config"), &mut files);
    files.sort();
    assert!(files.len() >= 5, "the example configurations: {files:?}");
    // The production overlay is read over app.yaml, below.
    files.retain(|file| !file.ends_with("config/app.production.yaml"));
    for file in &files {
        let file = file.to_str().unwrap();
        let output = run_in(&root, "beginnings-demo", &["check", "--config", file]);
        let (stdout, _) = expect(&output, 0);
        assert!(stdout.starts_with("ok: "), "{file}: {stdout}");
    }

    // The production overlay is meant to be read over app.yaml, with the token secret set.
    let extensions = build_dir().display().to_string();
    let output = Command::new(build_dir().join("beginnings-demo"))
        .args([
            "check",
            "--profile",
            "prod",
            "--extensions-dir",
            &extensions,
        ])
        .env_remove("BEGINNINGS_EXTENSIONS_DIR")
        .env_remove("BEGINNINGS_ENV")
        .env(
            "DEMO_JWT_SECRET",
            "a-production-secret-of-enough-length-0123456789",
        )
        .current_dir(&root)
        .output()
        .expect("the binary runs");
    let (stdout, _) = expect(&output, 0);
    assert!(stdout.contains("app.production.yaml"), "{stdout}");
    assert!(stdout.contains("profile: production"), "{stdout}");

    // The include pair names both files it was read from.
    let args = ["check", "--config", "config/includes/app.yaml"];
    let (stdout, _) = expect(&run_in(&root, "beginnings-demo", &args), 0);
    assert!(stdout.contains("includes/base.yaml"), "{stdout}");
    assert!(stdout.contains("1 extension, "), "{stdout}");
}

#[test]
fn check_reports_every_problem_with_its_location() {
    let config = ConfigDir::new(
        "app:\n\
         \x20 name: broken\n\
         \x20 prot: 8000\n\
         \x20 workers: many\n\
         extensions:\n\
         \x20 \"security-SecurityHeadersExtension\": {}\n",
    );
    let output = run_in(config.path(), "beginnings-demo", &CHECK);
    let (stdout, stderr) = expect(&output, 1);
    assert!(stdout.is_empty(), "{stdout}");
    for (location, mentions) in [
        ("app.yaml:3:3", "prot"),
        ("app.yaml:4:12", "workers"),
        ("app.yaml:6:3", "security-SecurityHeadersExtension"),
    ] {
        let line = stderr.lines().find(|line| line.starts_with(location));
        let line = line.unwrap_or_else(|| panic!("no problem at {location}:\n{stderr}"));
        assert!(line.contains(mentions), "{line}");
    }
    assert!(stderr.contains("3 problems"), "{stderr}");
}

#[test]
fn check_names_an_extension_whose_library_is_missing() {
    let config = ConfigDir::new("extensions:\n  \"nosuchmodule:Thing\": {}\n");
    let (_, stderr) = expect(&run_in(config.path(), "beginnings", &CHECK), 1);
    assert!(stderr.contains("app.yaml:2:3"), "{stderr}");
    assert!(stderr.contains("`nosuchmodule:Thing`"), "{stderr}");
    assert!(stderr.contains("libnosuchmodule.so not found"), "{stderr}");
}

const ROUTES: [&str; 3] = ["routes", "--config", "app.yaml"];

const ROUTES_CONFIG: &str = r#"
routes:
  global_defaults: {timeout: 30}
  patterns:
    "/api/*": {security_headers: true, timeout: 90}
    "/health": {security_headers: false}
extensions:
  "security:SecurityHeadersExtension": {}
"#;

/// The table row for `method path`, split into its columns (none of the values written by
/// these tests contains a space).
fn route_row(table: &str, method: &str, path: &str) -> Vec<String> {
    table
        .lines()
        .map(|line| {
            line.split_whitespace()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .find(|columns| columns.len() >= 2 && columns[0] == method && columns[1] == path)
        .unwrap_or_else(|| panic!("no row for {method} {path}:\n{table}"))
}

#[test]
fn routes_show_settings_matching_patterns_and_chain() {
    let config = ConfigDir::new(ROUTES_CONFIG);
    let (table, _) = expect(&run_in(config.path(), "beginnings-demo", &ROUTES), 0);
    let header = route_row(&table, "METHOD", "PATH");
    assert_eq!(header, ["METHOD", "PATH", "CHAIN", "MATCHED", "SETTINGS"]);

    let api = route_row(&table, "POST", "/api/v1/users");
    assert_eq!(api[2], "security:SecurityHeadersExtension", "{table}");
    assert_eq!(api[3], "/api/*", "{table}");
    let settings: serde_json::Value = serde_json::from_str(&api[4]).expect("settings are JSON");
    assert_eq!(
        settings,
        serde_json::json!({"security_headers": true, "timeout": 90})
    );

    let health = route_row(&table, "GET", "/health");
    assert_eq!(health[2], "-", "no chain where switched off:\n{table}");
    assert_eq!(health[3], "/health", "{table}");
    let settings: serde_json::Value = serde_json::from_str(&health[4]).unwrap();
    assert_eq!(
        settings,
        serde_json::json!({"security_headers": false, "timeout": 30})
    );
}

#[test]
fn each_binary_lists_its_own_routes() {
    let config = ConfigDir::new(ROUTES_CONFIG);
    let (table, _) = expect(&run_in(config.path(), "beginnings", &ROUTES), 0);
    route_row(&table, "GET", "/health");
    assert!(!table.contains("/api/v1/users"), "{table}");

    let (table, _) = expect(&run_in(config.path(), "beginnings-demo", &ROUTES), 0);
    route_row(&table, "GET", "/api/v1/users/{id}");
}

#[test]
fn config_show_masks_secrets_and_shows_the_rest() {
    let config = ConfigDir::new(
        r#"
app: {name: visible-name, port: 8123}
routes:
  global_defaults:
    upstream_token: tok-abc123
    timeout: 45
  patterns:
    "/api/*": {db_password: hunter2, client_secret: s3cr3t}
"#,
    );
    for format in ["yaml", "json"] {
        let args = ["config", "show", "--config", "app.yaml", "--format", format];
        let (shown, _) = expect(&run_plain(config.path(), "beginnings", &args), 0);
        for secret in ["tok-abc123", "hunter2", "s3cr3t"] {
            assert!(!shown.contains(secret), "{format} shows {secret}:\n{shown}");
        }
        assert_eq!(shown.matches("***").count(), 3, "{format}:\n{shown}");
        for visible in [
            "visible-name",
            "8123",
            "45",
            "upstream_token",
            "db_password",
        ] {
            assert!(
                shown.contains(visible),
                "{format} hides {visible}:\n{shown}"
            );
        }
    }
}

#[test]
fn ext_inspect_describes_a_shipped_extension() {
    let (stdout, _) = expect(&inspect(&build_dir().join("libsecurity.so")), 0);
    let field = |label: &str| {
        stdout
            .lines()
            .find_map(|line| line.strip_prefix(label))
            .map(str::trim)
            .unwrap_or_else(|| panic!("no `{label}` line:\n{stdout}"))
            .to_string()
    };
    let abi = field("abi");
    assert_eq!(abi, "1.2 (this host: 1.2)", "{stdout}");
    assert_eq!(field("needs host"), "1.0 or newer");
    assert_eq!(field("panic strategy"), "unwind");
    assert!(
        stdout
            .lines()
            .any(|l| l.trim() == "SecurityHeadersExtension"),
        "{stdout}"
    );
}

#[test]
fn ext_inspect_refuses_a_library_that_is_not_an_extension() {
    let (_, stderr) = expect(&inspect(&build_dir().join("libfixture_not_abi.so")), 1);
    let first = stderr.lines().next().unwrap_or_default();
    assert!(first.starts_with("cannot load: "), "{stderr}");
    assert!(first.contains("libfixture_not_abi.so"), "{stderr}");
    assert!(first.contains("not a Beginnings extension"), "{stderr}");
    assert!(stderr.contains("verdict: "), "{stderr}");

    let (_, stderr) = expect(&inspect(&build_dir().join("libno_such_library.so")), 1);
    assert!(stderr.starts_with("cannot load: "), "{stderr}");
}

/// Runs `beginnings check` in `dir` as a child process that must finish within a generous
/// deadline; one that does not is killed and fails the test (a hang is the bug here).
fn check_within_deadline(dir: &Path) -> Output {
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    ensure_built();
    let extensions = build_dir().display().to_string();
    let mut child = Command::new(build_dir().join("beginnings"))
        .args(CHECK)
        .args(["--extensions-dir", &extensions])
        .env_remove("BEGINNINGS_EXTENSIONS_DIR")
        .env_remove("BEGINNINGS_ENV")
        .env("RUST_LOG", "warn")
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`beginnings check` did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

#[test]
fn an_include_that_is_not_a_regular_file_is_refused_by_name() {
    let config = ConfigDir::new("include: [pipe.yaml]\napp: {name: piped}\n");
    let fifo = config.path().join("pipe.yaml");
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success(), "mkfifo {}", fifo.display());
    let output = check_within_deadline(config.path());
    let (stdout, stderr) = expect(&output, 1);
    assert!(stdout.is_empty(), "{stdout}");
    let line = stderr
        .lines()
        .find(|line| line.contains("pipe.yaml") && line.contains("not a regular file"))
        .unwrap_or_else(|| panic!("no problem naming the pipe:\n{stderr}"));
    assert!(line.starts_with("app.yaml:1:11: include[0]: "), "{line}");
    assert!(line.contains("named pipe"), "{line}");
}

#[test]
fn includes_that_fan_out_are_each_read_once() {
    // 24 levels, each of two files including both files of the next level: 2^24 ways to
    // reach the last level, 48 distinct files.
    const LEVELS: usize = 24;
    let config = ConfigDir::new("include: [a1.yaml, b1.yaml]\napp: {name: fanned}\n");
    for level in 1..LEVELS {
        let next = level + 1;
        for side in ["a", "b"] {
            let body = format!(
                "include: [a{next}.yaml, b{next}.yaml]\nroutes:\n  patterns:\n    \"/{side}{level}/*\": {{timeout: {level}}}\n"
            );
            std::fs::write(config.path().join(format!("{side}{level}.yaml")), body).unwrap();
        }
    }
    for side in ["a", "b"] {
        let body = format!(
            "app: {{port: 8123}}\nroutes:\n  patterns:\n    \"/{side}{LEVELS}/*\": {{timeout: 1}}\n"
        );
        std::fs::write(config.path().join(format!("{side}{LEVELS}.yaml")), body).unwrap();
    }
    let output = check_within_deadline(config.path());
    let (stdout, _) = expect(&output, 0);
    assert!(stdout.starts_with("ok: "), "{stdout}");
    assert!(stdout.contains(&format!("b{LEVELS}.yaml")), "{stdout}");

    let args = ["config", "show", "--config", "app.yaml", "--format", "json"];
    let (shown, _) = expect(&run_plain(config.path(), "beginnings", &args), 0);
    let shown: serde_json::Value = serde_json::from_str(&shown).expect("JSON");
    assert_eq!(shown["app"]["port"], 8123, "the deepest level is merged in");
    assert_eq!(shown["app"]["name"], "fanned", "the including file wins");
    let patterns = shown["routes"]["patterns"].as_object().expect("patterns");
    assert_eq!(patterns.len(), 2 * LEVELS, "{patterns:?}");
}
