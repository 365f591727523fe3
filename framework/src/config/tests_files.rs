//! Loading from disk: profile overlays, interpolation across files and the typed model.

use std::path::Path;

use serde_json::json;
use tempfile::TempDir;

use super::tests_support::{load_at, names, no_env, problems, write};
use super::{LoadOptions, load, load_with_env};

const BASE: &str = "app:\n  name: demo\n  port: 8000\nroutes:\n  global_defaults: {timeout: 30, cors: {origins: [a]}}\n";

#[test]
fn profile_overlay_is_deep_merged_and_aliases_are_canonical() {
    for (asked, canonical) in [
        ("production", "production"),
        ("prod", "production"),
        ("dev", "development"),
        ("stage", "staging"),
    ] {
        let tmp = TempDir::new().unwrap();
        let d = tmp.path();
        let main = write(d, "app.yaml", BASE);
        let overlay = format!(
            "include: [{canonical}-extra.yaml]\napp: {{port: 9000}}\nroutes:\n  global_defaults: {{cors: {{origins: [b]}}}}\n"
        );
        write(d, &format!("app.{canonical}.yaml"), &overlay);
        write(
            d,
            &format!("{canonical}-extra.yaml"),
            "app: {debug: true}\n",
        );
        let config = load_at(&main, Some(asked)).unwrap();
        assert_eq!(config.profile.as_deref(), Some(canonical));
        assert_eq!(
            (config.app.name.as_str(), config.app.port, config.app.debug),
            ("demo", 9000, true)
        );
        assert_eq!(config.routes.global_defaults["timeout"], json!(30));
        assert_eq!(
            config.routes.global_defaults["cors"],
            json!({"origins": ["b"]}),
            "lists are replaced"
        );
        let app_canonical = format!("app.{canonical}.yaml");
        let extra = format!("{canonical}-extra.yaml");
        assert_eq!(
            names(&config, d),
            ["app.yaml", app_canonical.as_str(), extra.as_str()]
        );
    }
}

#[test]
fn profile_from_the_environment_and_missing_overlays() {
    let tmp = TempDir::new().unwrap();
    let d = tmp.path();
    let main = write(d, "app.yaml", BASE);
    write(d, "app.staging.yaml", "app: {port: 7000}\n");
    let opts = LoadOptions {
        path: main.clone(),
        profile: None,
    };
    let env = |name: &str| (name == "BEGINNINGS_ENV").then(|| "stage".to_owned());
    let config = load_with_env(&opts, &env).unwrap();
    assert_eq!(
        (config.profile.as_deref(), config.app.port),
        (Some("staging"), 7000)
    );

    // From the environment, a profile without an overlay is fine: the variable is often global.
    let env = |name: &str| (name == "BEGINNINGS_ENV").then(|| "qa".to_owned());
    let config = load_with_env(&opts, &env).unwrap();
    assert_eq!(
        (config.profile.as_deref(), config.app.port),
        (Some("qa"), 8000)
    );

    // Asked for by name, a missing overlay is an error (usually a typo).
    let got = problems(load_at(&main, Some("prodution")));
    assert_eq!(got.len(), 1);
    assert!(
        got[0].starts_with("profile `prodution`: overlay file ")
            && got[0].ends_with("app.prodution.yaml: not found"),
        "{got:?}"
    );

    // An explicit profile wins over the environment; an invalid name is refused.
    let env = |name: &str| (name == "BEGINNINGS_ENV").then(|| "qa".to_owned());
    let explicit = LoadOptions {
        path: main.clone(),
        profile: Some("staging".into()),
    };
    assert_eq!(load_with_env(&explicit, &env).unwrap().app.port, 7000);
    let got = problems(load_at(&main, Some("../x")));
    assert_eq!(
        got,
        ["invalid profile name `../x` (use letters, digits, `_` and `-`)"]
    );
    let env = |name: &str| (name == "BEGINNINGS_ENV").then(|| "a/b".to_owned());
    let got = problems(load_with_env(&opts, &env));
    assert_eq!(
        got,
        ["BEGINNINGS_ENV: invalid profile name `a/b` (use letters, digits, `_` and `-`)"]
    );
}

#[test]
fn interpolation_runs_after_the_overlay_and_is_typed_where_written_plain() {
    let tmp = TempDir::new().unwrap();
    let d = tmp.path();
    let main = write(
        d,
        "app.yaml",
        "app:\n  port: ${PORT:-8000}\n  workers: \"${WORKERS:-2}\"\n  debug: ${DEBUG:-false}\n  name: ${NAME:-123}\n\
         routes:\n  global_defaults:\n    rate: ${RATE:-100}\n    ratio: ${RATIO:-0.5}\n    api_key: \"${KEY}\"\n    \
         literal: $${HOME}\n    url: http://${HOST:-localhost}:${PORT:-8000}\n    db: ${DB_URL}\n",
    );
    write(
        d,
        "app.production.yaml",
        "routes:\n  global_defaults:\n    db: sqlite://prod.db\n",
    );
    let env = |name: &str| match name {
        "PORT" => Some("9001".to_owned()),
        "KEY" => Some("12345".to_owned()),
        _ => None,
    };
    let opts = LoadOptions {
        path: main.clone(),
        profile: Some("production".into()),
    };
    let config = load_with_env(&opts, &env).unwrap();
    assert_eq!(config.app.port, 9001);
    assert_eq!(
        config.app.workers,
        Some(2),
        "the schema wants an integer, so a quoted ${{..}} becomes one"
    );
    assert!(!config.app.debug);
    assert_eq!(config.app.name, "123", "the schema wants a string");
    let g = &config.routes.global_defaults;
    assert_eq!(g["rate"], json!(100));
    assert_eq!(g["ratio"], json!(0.5));
    assert_eq!(g["api_key"], json!("12345"), "quoted stays a string");
    assert_eq!(g["literal"], json!("${HOME}"));
    assert_eq!(g["url"], json!("http://localhost:9001"));
    assert_eq!(
        g["db"],
        json!("sqlite://prod.db"),
        "the overlay replaced the unresolvable value"
    );

    // Without the overlay, the missing variable is reported with its key path.
    let got = problems(load_with_env(
        &LoadOptions {
            path: main,
            profile: None,
        },
        &env,
    ));
    assert_eq!(got.len(), 1);
    assert!(
        got[0].contains(
            "app.yaml:13:9: routes.global_defaults.db: environment variable `DB_URL` is not set"
        ),
        "{got:?}"
    );
}

#[test]
fn the_model_is_complete_and_ordered() {
    let tmp = TempDir::new().unwrap();
    let d = tmp.path();
    let main = write(
        d,
        "app.yaml",
        "app:\n  name: shop\n  host: 0.0.0.0\n  port: 0\n  workers: 4\n  debug: true\n  extensions_dir: ext\n  access_log: true\n\
         extensions:\n  \"zeta:Zeta\":\n  \"cors:CorsExtension\": {enabled: false, allow_origins: [\"https://a.example\"]}\n  \"auth:Auth\": {secret: s}\n\
         routes:\n  patterns:\n    \"/b/*\": {}\n    \"/a/*\": {x: 1}\n  exact:\n    /a/one: {}\n  methods:\n    \"POST /a/one\": {}\n",
    );
    let config = load_at(&main, None).unwrap();
    let app = &config.app;
    assert_eq!(
        (app.name.as_str(), app.host.as_str(), app.port, app.workers),
        ("shop", "0.0.0.0", 0, Some(4))
    );
    assert!(app.debug && app.access_log);
    assert_eq!(app.extensions_dir.as_deref(), Some(d.join("ext").as_path()));
    let ext: Vec<_> = config
        .extensions
        .iter()
        .map(|e| (e.module.as_str(), e.type_name.as_str(), e.enabled))
        .collect();
    assert_eq!(
        ext,
        [
            ("zeta", "Zeta", true),
            ("cors", "CorsExtension", false),
            ("auth", "Auth", true)
        ]
    );
    assert_eq!(config.extensions[0].config, json!({}));
    assert_eq!(config.extensions[1].name, "cors:CorsExtension");
    assert_eq!(
        (
            config.extensions[2].location.line,
            config.extensions[2].location.column
        ),
        (12, 3)
    );
    let patterns: Vec<_> = config
        .routes
        .patterns
        .iter()
        .map(|p| p.0.as_str())
        .collect();
    assert_eq!(patterns, ["/b/*", "/a/*"]);
    assert_eq!(config.routes.patterns[1].2.line, 16);
    assert_eq!(config.routes.exact[0].0, "/a/one");
    assert_eq!(config.routes.methods[0].0, "POST /a/one");
    assert_eq!(config.form, super::ConfigForm::Nested);
    assert_eq!(
        config.effective["extensions"]["auth:Auth"]["secret"],
        json!("s")
    );
    assert_eq!(
        super::redacted(&config.effective)["extensions"]["auth:Auth"]["secret"],
        json!("***")
    );
}

#[test]
fn defaults_and_forms() {
    let cases = [
        ("", super::ConfigForm::Nested),
        ("routes: {}\n", super::ConfigForm::Nested),
        ("routes:\n  patterns: {}\n", super::ConfigForm::Nested),
        ("global: {timeout: 1}\n", super::ConfigForm::Flat),
        (
            "global: {}\nroutes:\n  /api/*: {a: 1}\n",
            super::ConfigForm::Flat,
        ),
    ];
    for (yaml, form) in cases {
        let config = super::load_str_with_env(yaml, Path::new("config/app.yaml"), &no_env).unwrap();
        assert_eq!(config.form, form, "{yaml}");
        assert_eq!(config.app, super::AppConfig::default());
    }
    let defaults = super::AppConfig::default();
    assert_eq!(
        (
            defaults.name.as_str(),
            defaults.host.as_str(),
            defaults.port
        ),
        ("beginnings", "127.0.0.1", 8000)
    );
}

/// `load` itself reads the process environment. Setting variables inside this process would
/// race with the other tests, so the check runs in a child test process given its own
/// environment.
#[test]
fn load_reads_the_process_environment() {
    let tmp = TempDir::new().unwrap();
    let main = write(tmp.path(), "app.yaml", "app:\n  name: ${CHILD_APP_NAME}\n");
    write(tmp.path(), "app.production.yaml", "app: {port: 9100}\n");
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "config::tests_files::child_process_load",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("BEGINNINGS_CHILD_CONFIG", &main)
        .env("BEGINNINGS_ENV", "prod")
        .env("CHILD_APP_NAME", "from-env")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("child loaded from-env 9100 production"),
        "{stdout}"
    );
}

/// The child half of `load_reads_the_process_environment`; never run on its own.
#[test]
#[ignore = "run in a child process by load_reads_the_process_environment"]
fn child_process_load() {
    let path = std::env::var_os("BEGINNINGS_CHILD_CONFIG")
        .expect("started by load_reads_the_process_environment with BEGINNINGS_CHILD_CONFIG");
    let config = load(&LoadOptions {
        path: path.into(),
        profile: None,
    })
    .unwrap();
    println!(
        "child loaded {} {} {}",
        config.app.name,
        config.app.port,
        config.profile.unwrap_or_default()
    );
}
