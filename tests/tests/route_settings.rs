//! The route settings the host reads (`timeout`, `max_body_bytes`, `on_error`,
//! `profile_enabled`) follow one rule: a value written in a configuration file is accepted
//! or refused by the start-up check exactly as the same value given in code is by the
//! runtime that builds the route's chain and limits, and an accepted value means the same.

use std::path::Path;

use beginnings::config::{Config, HostRouteSettings, load_str};
use beginnings::{App, Router};
use serde_json::{Value, json};

fn route_with(settings: Option<Value>) -> Router {
    let router = Router::new("").get("/x", |_request| async { "x" });
    match settings {
        Some(settings) => router.with_settings(settings.as_object().unwrap().clone()),
        None => router,
    }
}

/// The host settings the runtime gave `GET /x`, or its error.
fn built(config: Config, code: Option<Value>) -> Result<HostRouteSettings, String> {
    let runtime = App::new(config)
        .mount(route_with(code))
        .build()
        .map_err(|error| error.to_string())?;
    let route = (runtime.routes().into_iter())
        .find(|route| route.path == "/x" && route.method == "GET")
        .expect("GET /x is a route");
    Ok(route.config.host)
}

#[test]
fn startup_and_the_chain_accept_and_refuse_the_same_values() {
    let values = [
        json!(0),
        json!(30),
        json!(-1),
        json!(1.5),
        json!("30"),
        json!("soon"),
        json!(null),
        json!(true),
        json!([1]),
        json!({"a": 1}),
        json!("open"),
        json!("closed"),
        json!("maybe"),
        json!({"fixture:Counting": "open"}),
        json!({"fixture:Counting": "sometimes"}),
    ];
    let empty = || load_str("{}", Path::new("app.yaml")).unwrap();
    let mut accepted = 0;
    for key in ["timeout", "max_body_bytes", "on_error", "profile_enabled"] {
        for value in &values {
            // JSON is YAML: the same value, written in the file.
            let yaml = format!("routes:\n  patterns:\n    \"/x\": {{{key}: {value}}}\n");
            let at_startup = load_str(&yaml, Path::new("app.yaml"));
            let in_code = built(empty(), Some(json!({ key: value })));
            match (at_startup, in_code) {
                (Ok(config), Ok(from_code)) => {
                    let from_file = built(config, None).unwrap();
                    assert_eq!(from_file, from_code, "{key}: {value} means the same");
                    accepted += 1;
                }
                (Err(startup), Err(chain)) => {
                    let line = startup.to_string();
                    assert!(
                        line.starts_with("app.yaml:3:") && line.contains(key),
                        "the check names the file, line and key: {line}"
                    );
                    assert!(
                        chain.contains(key) && chain.contains("`GET /x` in code"),
                        "the runtime names the key and the route: {chain}"
                    );
                    // One rule, one message.
                    let reason = |text: &str| text.rsplit(": ").next().unwrap().to_owned();
                    assert_eq!(reason(&line), reason(&chain), "{key}: {value}");
                }
                (startup, chain) => panic!(
                    "{key}: {value}: at start-up {:?}, in the chain {:?}",
                    startup.map(|_| "accepted"),
                    chain.map(|_| "accepted")
                ),
            }
        }
    }
    // timeout and max_body_bytes: 0, 30; on_error: the two words and the good mapping;
    // profile_enabled: true.
    assert_eq!(accepted, 2 + 2 + 3 + 1);
}

#[test]
fn a_route_setting_given_in_code_wins_and_is_typed_once() {
    let yaml =
        "app: {timeout: 30}\nroutes:\n  patterns:\n    \"/x\": {timeout: 90, max_body_bytes: 10}\n";
    let config = load_str(yaml, Path::new("app.yaml")).unwrap();
    let host = built(config.clone(), Some(json!({"timeout": 0}))).unwrap();
    assert_eq!(host.timeout_or(config.app.timeout), None, "0: no limit");
    assert_eq!(host.max_body_bytes_or(config.app.max_body_bytes), 10);
    let host = built(config.clone(), None).unwrap();
    assert_eq!(
        host.timeout_or(config.app.timeout),
        Some(std::time::Duration::from_secs(90))
    );
}
