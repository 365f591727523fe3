//! Includes: nesting, diamonds, cycles, missing files and files outside the config directory.

use std::path::Path;

use serde_json::json;
use tempfile::TempDir;

use super::tests_support::{load_at, names, problems, write};

#[test]
fn nested_includes_merge_in_order_with_the_including_file_winning() {
    let tmp = TempDir::new().unwrap();
    let d = tmp.path();
    let main = write(
        d,
        "app.yaml",
        "include: [core.yaml, sub/more.yaml]\napp: {name: main}\nroutes:\n  global_defaults: {timeout: 5}\n",
    );
    write(
        d,
        "core.yaml",
        "app: {name: core, port: 1000, debug: true}\nroutes:\n  global_defaults: {timeout: 1, retries: 1}\n",
    );
    write(
        d,
        "sub/more.yaml",
        "include: ../deep.yaml\napp: {port: 2000}\n",
    );
    write(d, "deep.yaml", "app: {port: 3000, host: 0.0.0.0}\n");
    let config = load_at(&main, None).unwrap();
    assert_eq!(config.app.name, "main");
    assert_eq!(
        config.app.port, 2000,
        "more.yaml wins over the deep.yaml it includes"
    );
    assert_eq!(config.app.host, "0.0.0.0");
    assert!(config.app.debug);
    assert_eq!(
        config.routes.global_defaults,
        *json!({"timeout": 5, "retries": 1}).as_object().unwrap()
    );
    assert_eq!(
        names(&config, d),
        ["app.yaml", "core.yaml", "sub/more.yaml", "deep.yaml"]
    );
    assert!(config.effective.get("include").is_none());
}

#[test]
fn a_diamond_is_not_a_cycle() {
    let tmp = TempDir::new().unwrap();
    let d = tmp.path();
    let main = write(d, "app.yaml", "include: [b.yaml, c.yaml]\n");
    write(d, "b.yaml", "include: [d.yaml]\napp: {name: b}\n");
    write(d, "c.yaml", "include: [d.yaml]\n");
    write(d, "d.yaml", "app: {name: d, port: 1234}\n");
    let config = load_at(&main, None).unwrap();
    // c.yaml's copy of d.yaml comes after b.yaml, so d's name wins; files are listed once.
    assert_eq!(config.app.name, "d");
    assert_eq!(config.app.port, 1234);
    assert_eq!(
        names(&config, d),
        ["app.yaml", "b.yaml", "d.yaml", "c.yaml"]
    );
}

#[test]
fn include_errors_table() {
    // (files, expected problems as (file the problem is in, rest of the text))
    type Table<'a> = &'a [(&'a str, &'a str)];
    let cases: &[(Table<'_>, Table<'_>)] = &[
        (
            &[
                ("a.yaml", "include: [b.yaml]\n"),
                ("b.yaml", "app: {}\ninclude:\n  - a.yaml\n"),
            ],
            &[(
                "b.yaml",
                ":3:5: include[0]: include cycle: a.yaml -> b.yaml -> a.yaml",
            )],
        ),
        (
            &[("a.yaml", "include: a.yaml\n")],
            &[("a.yaml", ":1:10: include: include cycle: a.yaml -> a.yaml")],
        ),
        (
            &[
                ("a.yaml", "include: [b.yaml]\n"),
                ("b.yaml", "include: [sub/c.yaml]\n"),
                ("sub/c.yaml", "include: [../b.yaml]\n"),
            ],
            &[(
                "sub/c.yaml",
                ":1:11: include[0]: include cycle: b.yaml -> sub/c.yaml -> b.yaml",
            )],
        ),
        (
            &[("a.yaml", "include:\n  - missing.yaml\n  - gone.yaml\n")],
            &[
                ("a.yaml", ":2:5: include[0]: included file not found: "),
                ("a.yaml", ":3:5: include[1]: included file not found: "),
            ],
        ),
        (
            &[("a.yaml", "include: [../outside.yaml]\n")],
            &[("a.yaml", ":1:11: include[0]: included file `")],
        ),
        (
            &[("a.yaml", "include: {x: 1}\n")],
            &[(
                "a.yaml",
                ":1:10: include: expected a list of file names, found a mapping",
            )],
        ),
        (
            &[("a.yaml", "include: [1]\n")],
            &[(
                "a.yaml",
                ":1:11: include[0]: expected a file name, found an integer",
            )],
        ),
        (
            &[("a.yaml", "include: [b.yaml]\n"), ("b.yaml", "x: [\n")],
            &[("b.yaml", ":1:4: invalid yaml: unclosed bracket")],
        ),
    ];
    for (files, want) in cases {
        let tmp = TempDir::new().unwrap();
        let config_dir = tmp.path().join("config");
        write(tmp.path(), "outside.yaml", "app: {}\n");
        for (name, text) in *files {
            write(&config_dir, name, text);
        }
        let got = problems(load_at(&config_dir.join("a.yaml"), None));
        assert_eq!(got.len(), want.len(), "{files:?}: {got:#?}");
        for (got, (file, rest)) in got.iter().zip(*want) {
            let prefix = format!("{}{rest}", config_dir.join(file).display());
            assert!(got.starts_with(&prefix), "\n got: {got}\nwant: {prefix}");
        }
    }
}

#[test]
fn an_include_escaping_through_a_symlink_is_refused() {
    let tmp = TempDir::new().unwrap();
    let config_dir = tmp.path().join("config");
    write(tmp.path(), "secret.yaml", "app: {}\n");
    let main = write(&config_dir, "app.yaml", "include: [link.yaml]\n");
    std::os::unix::fs::symlink(tmp.path().join("secret.yaml"), config_dir.join("link.yaml"))
        .unwrap();
    let got = problems(load_at(&main, None));
    assert!(
        got[0].contains("is outside the configuration directory"),
        "{got:?}"
    );
}

#[test]
fn a_missing_main_file_is_an_error() {
    let got = problems(load_at(Path::new("/nonexistent/config/app.yaml"), None));
    assert_eq!(got, ["config file not found: /nonexistent/config/app.yaml"]);
}

#[test]
fn an_include_that_is_a_directory_is_refused_by_name() {
    let tmp = TempDir::new().unwrap();
    let d = tmp.path();
    let main = write(d, "app.yaml", "include: [conf.d]\n");
    std::fs::create_dir(d.join("conf.d")).unwrap();
    let got = problems(load_at(&main, None));
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].contains(":1:11: include[0]: cannot read ")
            && got[0].contains("conf.d: not a regular file (a directory)"),
        "{got:?}"
    );
}

#[test]
fn a_file_reached_many_ways_is_read_once_and_merged_everywhere() {
    // Two files per level, each including both of the next: 2^12 paths to the last level,
    // few enough to finish even if every path were read (the command-line test runs a
    // deeper fan-out under a deadline).
    const LEVELS: usize = 12;
    let tmp = TempDir::new().unwrap();
    let d = tmp.path();
    let main = write(
        d,
        "app.yaml",
        "include: [a1.yaml, b1.yaml]\napp: {name: top}\n",
    );
    for level in 1..LEVELS {
        let next = level + 1;
        for side in ["a", "b"] {
            let text = format!(
                "include: [a{next}.yaml, b{next}.yaml]\nroutes:\n  global_defaults: {{{side}{level}: {level}}}\n"
            );
            write(d, &format!("{side}{level}.yaml"), &text);
        }
    }
    write(
        d,
        &format!("a{LEVELS}.yaml"),
        "app: {port: 4321, name: deepest}\n",
    );
    write(d, &format!("b{LEVELS}.yaml"), "app: {debug: true}\n");
    let config = load_at(&main, None).unwrap();
    assert_eq!(
        (config.app.name.as_str(), config.app.port, config.app.debug),
        ("top", 4321, true)
    );
    assert_eq!(config.routes.global_defaults.len(), 2 * (LEVELS - 1));
    assert_eq!(
        names(&config, d).len(),
        1 + 2 * LEVELS,
        "each file listed once"
    );
}
