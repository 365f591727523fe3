//! Every configuration error, with its exact text and position.

use std::path::Path;

use super::{ConfigError, load_str_with_env};

fn env(name: &str) -> Option<String> {
    (name == "SET").then(|| "value".to_owned())
}

fn errors(yaml: &str) -> Vec<String> {
    match load_str_with_env(yaml, Path::new("config/app.yaml"), &env) {
        Ok(_) => panic!("expected errors for:\n{yaml}"),
        Err(ConfigError { problems }) => problems.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn each_mistake_is_reported_with_file_line_column_and_key_path() {
    let cases: &[(&str, &str)] = &[
        // app
        (
            "app:\n  prot: 80\n",
            "config/app.yaml:2:3: app.prot: unknown key `prot` (did you mean `port`?)",
        ),
        (
            "app:\n  port: 70000\n",
            "config/app.yaml:2:9: app.port: port 70000 is out of range (0-65535)",
        ),
        (
            "app:\n  port: -1\n",
            "config/app.yaml:2:9: app.port: port -1 is out of range (0-65535)",
        ),
        (
            "app:\n  port: abc\n",
            "config/app.yaml:2:9: app.port: expected integer, found string",
        ),
        (
            "app:\n  port: \"8000\"\n",
            "config/app.yaml:2:9: app.port: expected integer, found string",
        ),
        (
            "app:\n  port:\n",
            "config/app.yaml:2:3: app.port: expected integer, found null",
        ),
        (
            "app:\n  workers: 0\n",
            "config/app.yaml:2:12: app.workers: workers must be at least 1, found 0",
        ),
        (
            "app:\n  workers: [1]\n",
            "config/app.yaml:2:3: app.workers: expected integer, found list",
        ),
        (
            "app:\n  debug: sometimes\n",
            "config/app.yaml:2:10: app.debug: expected boolean (true or false), found string",
        ),
        (
            "app:\n  name: \"\"\n",
            "config/app.yaml:2:9: app.name: must not be empty",
        ),
        (
            "app:\n  host: 8080\n",
            "config/app.yaml:2:9: app.host: expected string, found integer",
        ),
        (
            "app: [1, 2]\n",
            "config/app.yaml:1:1: app: expected a mapping, found list",
        ),
        // top level
        (
            "templates:\n  directory: t\n",
            "config/app.yaml:2:14: templates.directory: template directory config/t does not exist",
        ),
        (
            "static:\n  directories:\n    - {url_path: /s, directory: /, gzipp: true}\n",
            "config/app.yaml:3:36: static.directories[0].gzipp: unknown key `gzipp` (did you mean `gzip`?)",
        ),
        (
            "static:\n  directories:\n    - {url_path: s, directory: /}\n",
            "config/app.yaml:3:18: static.directories[0].url_path: expected a path starting with `/`, found `s`",
        ),
        (
            "database: {url: x}\n",
            "config/app.yaml:1:17: database.url: unsupported database URL `x`: expected sqlite://PATH, sqlite::memory: or postgres://...",
        ),
        (
            "rotues: {}\n",
            "config/app.yaml:1:1: rotues: unknown key `rotues` (did you mean `routes`?)",
        ),
        (
            "include: [a.yaml]\n",
            "config/app.yaml:1:1: include: includes need a configuration file on disk (use config::load)",
        ),
        (
            "- a\n- b\n",
            "config/app.yaml:1:1: expected a mapping at the top of the file, found a list",
        ),
        ("a: [1\nb: 2\n", "config/app.yaml:2:2: invalid yaml: "),
        (
            "app: {}\napp: {}\n",
            "config/app.yaml:2:1: invalid yaml: duplicate mapping key: app",
        ),
        // routes
        (
            "routes:\n  patterns:\n    \"/api/*\":\n      timeout: soon\n",
            "config/app.yaml:4:16: routes.patterns.\"/api/*\".timeout: expected integer, found string",
        ),
        (
            "routes:\n  patterns:\n    \"/api/*\": {timeout: -5}\n",
            "config/app.yaml:3:25: routes.patterns.\"/api/*\".timeout: timeout must not be negative, found -5",
        ),
        (
            "routes:\n  global_defaults:\n    on_error: maybe\n",
            "config/app.yaml:3:15: routes.global_defaults.on_error: expected `open`, `closed` or a mapping of `module:Type` to one of them, found `maybe`",
        ),
        (
            "routes:\n  global_defaults:\n    on_error: {\"cors:CorsExtension\": maybe}\n",
            "config/app.yaml:3:38: routes.global_defaults.on_error.cors:CorsExtension: expected `open` or `closed`, found `maybe`",
        ),
        (
            "routes:\n  patterns:\n    \"/users/{id}\": {}\n",
            "config/app.yaml:3:5: routes.patterns.\"/users/{id}\": `/users/{id}` can never match: a route parameter like `{id}` is matched by `*` or `**`, never by a literal",
        ),
        (
            "routes:\n  patterns:\n    \"api/*\": {}\n",
            "config/app.yaml:3:5: routes.patterns.\"api/*\": `api/*` can never match: a route path starts with `/`",
        ),
        (
            "routes:\n  patterns:\n    \"/api/v*\": {}\n",
            "config/app.yaml:3:5: routes.patterns.\"/api/v*\": `/api/v*` can never match: `*` and `**` must be a whole segment, not part of `v*`",
        ),
        (
            "routes:\n  patterns:\n    \"/api/*\": 5\n",
            "config/app.yaml:3:15: routes.patterns.\"/api/*\": expected a mapping of route settings, found integer",
        ),
        (
            "routes:\n  patterns:\n    /a: {}\n    /a/: {}\n",
            "config/app.yaml:4:5: routes.patterns.\"/a/\": same route as the key at config/app.yaml:3:5; merge the two",
        ),
        (
            "routes:\n  exact:\n    \"/api/*\": {}\n",
            "config/app.yaml:3:5: routes.exact.\"/api/*\": `/api/*`: wildcards belong in routes.patterns; exact paths are literal",
        ),
        (
            "routes:\n  methods:\n    \"post /a\": {}\n",
            "config/app.yaml:3:5: routes.methods.\"post /a\": unknown method `post` (write `POST`)",
        ),
        (
            "routes:\n  methods:\n    \"/a\": {}\n",
            "config/app.yaml:3:5: routes.methods.\"/a\": expected `METHOD /path`, e.g. `POST /api/users`, found `/a`",
        ),
        (
            "routes:\n  pattern: {}\n",
            "config/app.yaml:2:3: routes.pattern: unknown key `pattern` (did you mean `patterns`?)",
        ),
        (
            "routes:\n  patterns: {}\n  \"/api/*\": {}\n",
            "config/app.yaml:3:3: routes.\"/api/*\": route pattern `/api/*` belongs under routes.patterns (this file uses the nested form)",
        ),
        (
            "global: {}\nroutes:\n  patterns: {}\n",
            "config/app.yaml:1:1: global: `global` belongs to the flat form; in this file write routes.global_defaults",
        ),
        (
            "global: {timeout: x}\n",
            "config/app.yaml:1:19: global.timeout: expected integer, found string",
        ),
        (
            "routes:\n  \"/api/*\": {timeout: x}\n",
            "config/app.yaml:2:23: routes.\"/api/*\".timeout: expected integer, found string",
        ),
        // extensions
        (
            "extensions:\n  \"performance.monitor:PerformanceMonitorExtension\": {}\n",
            "config/app.yaml:2:3: extensions.\"performance.monitor:PerformanceMonitorExtension\": invalid module name `performance.monitor`: use lowercase letters, digits and `_` only (it names libperformance.monitor.so in extensions_dir)",
        ),
        (
            "extensions:\n  \"../evil:X\": {}\n",
            "config/app.yaml:2:3: extensions.\"../evil:X\": invalid module name `../evil`: use lowercase letters, digits and `_` only (it names lib../evil.so in extensions_dir)",
        ),
        (
            "extensions:\n  cors: {}\n",
            "config/app.yaml:2:3: extensions.cors: an extension is named `module:Type`, e.g. `cors:CorsExtension`",
        ),
        (
            "extensions:\n  \"cors:\": {}\n",
            "config/app.yaml:2:3: extensions.cors:: invalid type name `` in `cors:`: expected an identifier such as `CorsExtension`",
        ),
        (
            "extensions:\n  \"cors:Cors\": [1]\n",
            "config/app.yaml:2:3: extensions.cors:Cors: expected a mapping of extension settings, found list",
        ),
        (
            "extensions:\n  \"cors:Cors\": {enabled: maybe}\n",
            "config/app.yaml:2:26: extensions.cors:Cors.enabled: expected boolean (true or false), found string",
        ),
        (
            "extensions: [a]\n",
            "config/app.yaml:1:1: extensions: expected a mapping of `module:Type` to settings, found list",
        ),
        // interpolation
        (
            "app:\n  host: ${MISSING_HOST}\n",
            "config/app.yaml:2:9: app.host: environment variable `MISSING_HOST` is not set and has no default (write `${MISSING_HOST:-default}` to give one)",
        ),
        (
            "routes:\n  patterns:\n    \"/api/*\": {upstream: \"${NOPE}\"}\n",
            "config/app.yaml:3:26: routes.patterns.\"/api/*\".upstream: environment variable `NOPE` is not set and has no default (write `${NOPE:-default}` to give one)",
        ),
        (
            "app:\n  host: ${BAD-NAME}\n",
            "config/app.yaml:2:9: app.host: invalid variable reference `${BAD-NAME}` (write `${NAME}` or `${NAME:-default}`)",
        ),
        (
            "app:\n  port: ${PORT:-eighty}\n",
            "config/app.yaml:2:9: app.port: expected integer, found string",
        ),
    ];
    for (yaml, want) in cases {
        // Without the feature the section is refused before its keys are read (its own test).
        if !cfg!(feature = "templates") && yaml.starts_with("templates:") {
            continue;
        }
        let got = errors(yaml);
        assert_eq!(
            got.len(),
            1,
            "one problem expected for:\n{yaml}\ngot: {got:#?}"
        );
        assert!(
            got[0].starts_with(want),
            "\n{yaml}\n got: {}\nwant: {want}",
            got[0]
        );
    }
}

#[test]
fn three_mistakes_are_reported_together() {
    let yaml = "\
app:
  prot: 8000
  workers: 0
routes:
  patterns:
    \"/api/*\":
      timeout: ${NO_SUCH_TIMEOUT}
";
    let got = errors(yaml);
    assert_eq!(
        got,
        [
            "config/app.yaml:7:16: routes.patterns.\"/api/*\".timeout: environment variable `NO_SUCH_TIMEOUT` is not set and has no default (write `${NO_SUCH_TIMEOUT:-default}` to give one)",
            "config/app.yaml:2:3: app.prot: unknown key `prot` (did you mean `port`?)",
            "config/app.yaml:3:12: app.workers: workers must be at least 1, found 0",
        ]
    );
}

#[test]
fn a_failed_interpolation_is_not_reported_twice() {
    // The missing variable is the problem; "expected integer" on top of it would be noise.
    let got = errors("app:\n  port: ${NO_PORT}\n");
    assert_eq!(got.len(), 1);
    assert!(got[0].contains("`NO_PORT` is not set"));
}

#[test]
fn display_has_one_line_per_problem() {
    let err = load_str_with_env(
        "app: {prot: 1, hots: x}\nstatic: {nope: 1}\n",
        Path::new("a.yaml"),
        &env,
    )
    .unwrap_err();
    assert_eq!(err.to_string().lines().count(), 3, "{err}");
}
