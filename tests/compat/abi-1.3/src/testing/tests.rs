//! The test host itself: state, async hooks, early answers, panics and host services.

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use super::{TestExtension, TestRequest, TestResponse};
use crate::{
    Action, Error, Extension, Filter, Hooks, Host, NoRouteSettings, Reply, Request, Response, Route,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    limit: usize,
}

struct Guard {
    limit: usize,
    host: Host,
}

#[derive(Default)]
struct Seen {
    length: usize,
}

struct GuardFilter {
    limit: usize,
    host: Host,
}

impl Extension for Guard {
    type Config = Config;
    type RouteConfig = GuardSettings;
    type Filter = GuardFilter;

    fn new(config: Config, host: Host) -> Result<Self, Error> {
        host.counter("created", "instances").add(1);
        Ok(Guard {
            limit: config.limit,
            host,
        })
    }

    fn filter(&self, route: &Route<'_, GuardSettings>) -> Result<Option<GuardFilter>, Error> {
        if !route.settings.guarded.unwrap_or(true) {
            return Ok(None);
        }
        Ok(Some(GuardFilter {
            limit: self.limit,
            host: self.host,
        }))
    }
}

#[derive(Deserialize)]
struct GuardSettings {
    #[serde(default)]
    guarded: Option<bool>,
}

impl Filter for GuardFilter {
    type State = Seen;

    fn hooks(&self) -> Hooks {
        Hooks::none().request_async().response()
    }

    async fn on_request_async(
        &self,
        state: &mut Seen,
        request: &mut Request<'_>,
    ) -> Result<Action, Error> {
        self.host.sleep(Duration::from_millis(1)).await;
        if request.header("x-boom").is_some() {
            panic!("boom");
        }
        state.length = request.path().len();
        if state.length > self.limit {
            return Ok(Action::Respond(Reply::error(414, "path too long")));
        }
        request.set_value("guard.length", &state.length.to_string())?;
        beginnings_log();
        Ok(Action::Continue)
    }

    fn on_response(&self, state: &mut Seen, response: &mut Response<'_>) -> Result<(), Error> {
        response.set_header("x-length", &state.length.to_string())
    }
}

fn beginnings_log() {
    log::info!("guard passed a request");
}

fn guard(limit: usize) -> TestExtension {
    TestExtension::new::<Guard>(json!({ "limit": limit })).unwrap()
}

#[test]
fn state_lives_from_request_to_response_and_values_reach_the_handler() {
    let filter = guard(20).filter("/a", json!({})).unwrap();
    let outcome = filter
        .exchange(TestRequest::get("/a/b"), |request| {
            assert_eq!(request.value("guard.length"), Some("4"));
            TestResponse::new(200)
        })
        .unwrap();
    assert!(!outcome.answered_early);
    assert_eq!(outcome.response.header_value("x-length"), Some("4"));
}

#[test]
fn an_early_answer_skips_the_handler_but_not_the_response_hook() {
    let filter = guard(3).filter("/a", json!({})).unwrap();
    let outcome = filter
        .exchange(TestRequest::get("/too/long"), |_| {
            panic!("the handler must not run")
        })
        .unwrap();
    assert!(outcome.answered_early);
    assert_eq!(outcome.response.status, 414);
    assert_eq!(outcome.response.header_value("x-length"), Some("9"));
}

#[test]
fn a_panic_in_a_hook_is_an_error_not_a_crash() {
    let filter = guard(20).filter("/a", json!({})).unwrap();
    let error = filter
        .exchange(TestRequest::get("/a").header("x-boom", "1"), |_| {
            TestResponse::new(200)
        })
        .unwrap_err();
    assert!(error.message().contains("panicked: boom"), "{error}");
}

#[test]
fn configuration_errors_carry_the_key_path() {
    let error = TestExtension::new::<Guard>(json!({ "limit": "many" }))
        .err()
        .expect("refused");
    assert!(
        error.message().starts_with("limit: invalid type"),
        "{error}"
    );
    let error = TestExtension::new::<Guard>(json!({ "limit": 1, "extra": 2 }))
        .err()
        .expect("refused");
    assert!(error.message().contains("unknown field `extra`"), "{error}");
}

#[test]
fn applicability_logs_and_metrics_are_visible() {
    let extension = guard(20);
    assert!(extension.applies("/a", &["GET"], json!({})).unwrap());
    assert!(
        !extension
            .applies("/a", &["GET"], json!({"guarded": false}))
            .unwrap()
    );
    assert_eq!(extension.host().metrics()["created"], 1);
    let filter = extension.filter("/a", json!({})).unwrap();
    filter
        .exchange(TestRequest::get("/a"), |_| TestResponse::new(200))
        .unwrap();
    assert!(
        extension
            .host()
            .logs()
            .iter()
            .any(|line| line == "INFO guard passed a request"),
        "{:?}",
        extension.host().logs()
    );
    assert!(extension.command("nope", json!(null)).is_err());
}

struct Forwarded;

struct ForwardedFilter;

impl Extension for Forwarded {
    type Config = serde_json::Value;
    type RouteConfig = NoRouteSettings;
    type Filter = ForwardedFilter;

    fn new(_config: serde_json::Value, _host: Host) -> Result<Self, Error> {
        Ok(Forwarded)
    }

    fn filter(
        &self,
        _route: &Route<'_, NoRouteSettings>,
    ) -> Result<Option<ForwardedFilter>, Error> {
        Ok(Some(ForwardedFilter))
    }
}

impl Filter for ForwardedFilter {
    type State = ();

    fn hooks(&self) -> Hooks {
        Hooks::none().request()
    }

    fn on_request(&self, _state: &mut (), request: &mut Request<'_>) -> Result<Action, Error> {
        let hops = request.header_values("x-forwarded-for").join(" | ");
        request.set_value("hops", &hops)?;
        Ok(Action::Continue)
    }
}

#[test]
fn every_line_of_a_repeated_header_is_seen_in_order() {
    let filter = TestExtension::new::<Forwarded>(json!({}))
        .unwrap()
        .filter("/", json!({}))
        .unwrap();
    let request = TestRequest::get("/")
        .header("X-Forwarded-For", "1.1.1.1, 2.2.2.2")
        .header("x-forwarded-for", "3.3.3.3");
    let outcome = filter
        .exchange(request, |_| TestResponse::new(200))
        .unwrap();
    assert_eq!(
        outcome.request.value("hops"),
        Some("1.1.1.1, 2.2.2.2 | 3.3.3.3")
    );
}

struct Stamp {
    header: crate::PreparedHeader,
}

struct StampFilter {
    header: crate::PreparedHeader,
}

impl Extension for Stamp {
    type Config = serde_json::Value;
    type RouteConfig = NoRouteSettings;
    type Filter = StampFilter;

    fn new(_config: serde_json::Value, host: Host) -> Result<Self, Error> {
        Ok(Stamp {
            header: host.prepare_header("x-stamp", "prepared")?,
        })
    }

    fn filter(&self, _route: &Route<'_, NoRouteSettings>) -> Result<Option<StampFilter>, Error> {
        Ok(Some(StampFilter {
            header: self.header,
        }))
    }
}

impl Filter for StampFilter {
    type State = ();

    fn hooks(&self) -> Hooks {
        Hooks::none().response()
    }

    fn on_response(&self, _state: &mut (), response: &mut Response<'_>) -> Result<(), Error> {
        response.set_prepared(&self.header)
    }
}

#[test]
fn prepared_headers_are_set_by_id() {
    let filter = TestExtension::new::<Stamp>(json!({}))
        .unwrap()
        .filter("/", json!({}))
        .unwrap();
    let outcome = filter
        .exchange(TestRequest::get("/"), |_| {
            TestResponse::new(200).header("x-stamp", "old")
        })
        .unwrap();
    assert_eq!(outcome.response.header_values("x-stamp"), ["prepared"]);
}
