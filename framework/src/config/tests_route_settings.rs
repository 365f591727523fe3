//! The route settings the host reads: the rule of each key, and where a refused value is
//! reported when a configuration loads.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use tempfile::TempDir;

use super::route_settings::{FailurePolicy, HostRouteSettings, OnError, RouteTimeout};
use super::tests_support::{load_at, problems, write};
use super::{RouteSettings, load_str_with_env};

fn settings(value: Value) -> RouteSettings {
    value.as_object().cloned().unwrap()
}

fn refused(value: Value) -> Vec<String> {
    HostRouteSettings::parse(&settings(value))
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn a_refused_host_setting_names_its_file_line_and_key() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let main = write(
        dir,
        "app.yaml",
        "include: [admin.yaml]\nroutes:\n  patterns:\n    \"/api/*\":\n      timeout: -1\n",
    );
    write(
        dir,
        "admin.yaml",
        "routes:\n  patterns:\n    \"/admin/*\": {timeout: soon, on_error: {\"auth:AuthExtension\": sometimes}}\n",
    );
    let mut got = problems(load_at(&main, None));
    got.sort();
    let file = |name: &str| dir.canonicalize().unwrap().join(name).display().to_string();
    let mut want = [
        format!(
            "{}:5:16: routes.patterns.\"/api/*\".timeout: timeout must not be negative, found -1",
            file("app.yaml")
        ),
        format!(
            "{}:3:27: routes.patterns.\"/admin/*\".timeout: expected integer, found string",
            file("admin.yaml")
        ),
        format!(
            "{}:3:66: routes.patterns.\"/admin/*\".on_error.auth:AuthExtension: expected `open` or `closed`, found `sometimes`",
            file("admin.yaml")
        ),
    ];
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn each_host_key_has_one_rule() {
    let host = HostRouteSettings::parse(&settings(json!({
        "timeout": 90,
        "max_body_bytes": 4096,
        "on_error": {"rate_limit:RateLimitExtension": "open", "auth:AuthExtension": "closed"},
        "profile_enabled": true,
        "rate_limit": {"requests": 10},
    })))
    .unwrap();
    assert_eq!(
        host.timeout,
        Some(RouteTimeout::After(Duration::from_secs(90)))
    );
    assert_eq!(host.max_body_bytes, Some(4096));
    assert!(host.on_error.fails_open("rate_limit:RateLimitExtension"));
    assert!(!host.on_error.fails_open("auth:AuthExtension"));
    assert!(
        !host.on_error.fails_open("cors:CorsExtension"),
        "not named: closed"
    );
    assert!(host.profile);

    let off = HostRouteSettings::parse(&settings(json!({"timeout": 0, "on_error": "open"})));
    let off = off.unwrap();
    assert_eq!(off.timeout, Some(RouteTimeout::Unlimited));
    assert_eq!(off.timeout_or(Some(Duration::from_secs(30))), None);
    assert_eq!(off.on_error, OnError::Every(FailurePolicy::Open));
    let unset = HostRouteSettings::parse(&RouteSettings::new()).unwrap();
    assert_eq!(unset, HostRouteSettings::default());
    assert_eq!(
        unset.timeout_or(Some(Duration::from_secs(30))),
        Some(Duration::from_secs(30))
    );
    assert_eq!(unset.max_body_bytes_or(7), 7);

    // Whole seconds, whatever the layer: a fraction is refused, saying so.
    let cases = [
        (
            json!({"timeout": -1}),
            "timeout: timeout must not be negative, found -1",
        ),
        (
            json!({"timeout": 1.5}),
            "timeout: expected integer (whole seconds, 0 for no limit), found 1.5",
        ),
        (
            json!({"timeout": "30"}),
            "timeout: expected integer, found string",
        ),
        (
            json!({"timeout": null}),
            "timeout: expected integer, found null",
        ),
        (
            json!({"max_body_bytes": -2}),
            "max_body_bytes: max_body_bytes must not be negative, found -2",
        ),
        (
            json!({"max_body_bytes": [1]}),
            "max_body_bytes: expected integer (bytes), found list",
        ),
        (
            json!({"on_error": "maybe"}),
            "on_error: expected `open`, `closed` or a mapping of `module:Type` to one of them, found `maybe`",
        ),
        (
            json!({"on_error": {"a:A": 1}}),
            "on_error.a:A: expected `open` or `closed`, found integer",
        ),
        (
            json!({"profile_enabled": "yes"}),
            "profile_enabled: expected boolean (true or false), found string",
        ),
    ];
    for (value, want) in cases {
        assert_eq!(refused(value.clone()), [want], "{value}");
    }
    // Every refused value is reported, not only the first.
    let all = refused(json!({"timeout": -1, "on_error": {"a:A": "x", "b:B": "y"}}));
    assert_eq!(all.len(), 3, "{all:?}");
}

#[test]
fn a_whole_variable_reads_as_the_type_of_its_key() {
    let env = |name: &str| match name {
        "ROUTE_TIMEOUT" => Some("45".to_owned()),
        "PROFILE" => Some("true".to_owned()),
        _ => None,
    };
    let yaml = "routes:\n  global_defaults:\n    timeout: \"${ROUTE_TIMEOUT}\"\n    profile_enabled: \"${PROFILE}\"\n";
    let config = load_str_with_env(yaml, Path::new("app.yaml"), &env).unwrap();
    let defaults = &config.routes.global_defaults;
    // Extensions see the typed value too.
    assert_eq!(defaults["timeout"], json!(45));
    assert_eq!(defaults["profile_enabled"], json!(true));
    let host = HostRouteSettings::parse(defaults).unwrap();
    assert_eq!(
        host.timeout,
        Some(RouteTimeout::After(Duration::from_secs(45)))
    );
    assert!(host.profile);
}

#[test]
fn profile_enabled_is_checked_when_the_configuration_loads() {
    let yaml = "routes:\n  patterns:\n    \"/api/*\": {profile_enabled: sometimes}\n";
    let err = load_str_with_env(yaml, Path::new("app.yaml"), &|_| None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "app.yaml:3:33: routes.patterns.\"/api/*\".profile_enabled: expected boolean (true or false), found string"
    );
}
