//! The extension through the in-process test host: which routes it takes part in, what its
//! route settings mean, and which hooks its filters declare.

use std::sync::Arc;

use beginnings_abi::json::{Value, json};
use beginnings_abi::testing::{
    Outcome, TestExtension, TestFilter, TestHost, TestRequest, TestResponse,
};
use beginnings_abi::{Filter, Hooks, Route};
use sha2::{Digest, Sha256};

use crate::authenticator::Authenticator;
use crate::{AuthExtension, AuthFilter, RouteSettings, settings};

const KEY: &str = "the-key-of-ci";

/// API keys (key `KEY`: subject `ci`, role `deployer`, scope `orders:read`) and an HS256
/// secret, plus `extra`.
fn extension(extra: Value) -> TestExtension {
    let mut config = json!({
        "jwt": {"algorithms": ["HS256"], "secret": "a secret of at least thirty-two bytes"},
        "api_keys": {"keys": [{
            "name": "ci",
            "sha256": hex::encode(Sha256::digest(KEY)),
            "roles": ["deployer"],
            "scopes": ["orders:read"],
        }]},
    });
    if let (Some(config), Value::Object(extra)) = (config.as_object_mut(), extra) {
        config.extend(extra);
    }
    TestExtension::new::<AuthExtension>(config).unwrap()
}

fn with_revoke_endpoint() -> TestExtension {
    extension(json!({
        "revocation": true,
        "revoke_path": "/auth/revoke",
        "revoke_role": "admin",
    }))
}

fn send(filter: &TestFilter, request: TestRequest) -> Outcome {
    filter
        .exchange(request, |_| TestResponse::new(200))
        .unwrap()
}

#[test]
fn route_settings_read_exactly_the_documented_keys() {
    let read: RouteSettings = beginnings_abi::json::from_value(json!({
        settings::AUTH_REQUIRED: true,
        settings::ROLES: "a",
        settings::SCOPES: ["b"],
        settings::PERMISSIONS: null,
        "other": 1,
    }))
    .unwrap();
    // Destructured in full: a field added without its key in `settings::ALL` fails here.
    let RouteSettings {
        auth_required,
        roles,
        scopes,
        permissions,
    } = read;
    assert_eq!(settings::ALL.len(), 4);
    assert_eq!(auth_required, Some(true));
    assert_eq!(roles, Some(json!("a")));
    assert_eq!(scopes, Some(json!(["b"])));
    // Present as `null` still counts as set (for the unguarded-route warning).
    assert_eq!(permissions, Some(Value::Null));
    let empty: RouteSettings = beginnings_abi::json::from_value(json!({})).unwrap();
    assert!(empty.auth_required.is_none() && !empty.names_requirements());
}

#[test]
fn only_routes_with_auth_required_true_are_checked() {
    let extension = extension(json!({}));
    let get = &["GET"][..];
    assert!(!extension.applies("/a", get, json!({})).unwrap());
    assert!(
        !extension
            .applies("/a", get, json!({"auth_required": false}))
            .unwrap()
    );
    assert!(
        !extension
            .applies("/a", get, json!({"auth_required": null}))
            .unwrap()
    );
    assert!(
        extension
            .applies("/a", get, json!({"auth_required": true}))
            .unwrap()
    );
    assert!(extension.filter("/a", json!({})).is_err());
}

#[test]
fn a_malformed_flag_is_an_error_naming_the_route_and_the_key() {
    let extension = extension(json!({}));
    let error = extension
        .applies("/a", &["GET"], json!({"auth_required": "yes"}))
        .unwrap_err();
    assert!(
        error
            .message()
            .starts_with("route /a: auth_required: invalid type"),
        "{error}"
    );
}

#[test]
fn a_malformed_list_is_an_error_where_the_route_is_checked() {
    let extension = extension(json!({}));
    let error = extension
        .filter("/a", json!({"auth_required": true, "roles": 5}))
        .err()
        .unwrap();
    assert!(error.message().starts_with("route /a: roles: "), "{error}");
    // An unchecked route only gets the warning, as before.
    assert!(
        !extension
            .applies("/b", &["GET"], json!({"scopes": 5}))
            .unwrap()
    );
}

#[test]
fn requirements_on_unchecked_routes_are_warned_about_once() {
    let extension = extension(json!({}));
    for path in ["/a", "/b"] {
        assert!(
            !extension
                .applies(path, &["GET"], json!({"roles": ["admin"]}))
                .unwrap()
        );
    }
    let warnings = extension
        .host()
        .logs()
        .into_iter()
        .filter(|line| line.contains("sets roles, scopes or permissions"))
        .count();
    assert_eq!(warnings, 1, "{:?}", extension.host().logs());
}

#[test]
fn roles_scopes_and_permissions_are_checked() {
    let extension = extension(json!({}));
    let filter = extension
        .filter(
            "/orders",
            json!({"auth_required": true, "roles": ["deployer", "admin"], "permissions": "orders:read"}),
        )
        .unwrap();
    let outcome = send(
        &filter,
        TestRequest::get("/orders").header("x-api-key", KEY),
    );
    assert!(!outcome.answered_early);
    assert_eq!(outcome.request.value("auth.subject"), Some("ci"));
    let outcome = send(&filter, TestRequest::get("/orders"));
    assert_eq!(outcome.response.status, 401);

    let filter = extension
        .filter("/admin", json!({"auth_required": true, "roles": "admin"}))
        .unwrap();
    let outcome = send(&filter, TestRequest::get("/admin").header("x-api-key", KEY));
    assert_eq!(outcome.response.status, 403);
    let filter = extension
        .filter(
            "/write",
            json!({"auth_required": true, "scopes": ["orders:write"]}),
        )
        .unwrap();
    let outcome = send(&filter, TestRequest::get("/write").header("x-api-key", KEY));
    assert_eq!(outcome.response.status, 403);
}

#[test]
fn the_revoke_route_takes_part_whatever_its_settings_say() {
    let extension = with_revoke_endpoint();
    assert!(
        extension
            .applies("/auth/revoke", &["POST"], json!({}))
            .unwrap()
    );
    assert!(!extension.applies("/other", &["POST"], json!({})).unwrap());
    let filter = extension.filter("/auth/revoke", json!({})).unwrap();
    // Only the endpoint itself is guarded there.
    let outcome = send(&filter, TestRequest::get("/auth/revoke"));
    assert!(!outcome.answered_early);
    // The call is answered by the asynchronous hook: authenticated, then the role checked.
    let outcome = send(&filter, TestRequest::post("/auth/revoke"));
    assert_eq!(outcome.response.status, 401);
    let outcome = send(
        &filter,
        TestRequest::post("/auth/revoke").header("x-api-key", KEY),
    );
    assert_eq!(outcome.response.status, 403);
}

/// The hooks a filter declares for `config`.
fn hooks_of(config: Value) -> Hooks {
    let config = beginnings_abi::json::from_value(config).unwrap();
    let shared = Arc::new(Authenticator::new(config, TestHost::new().host()).unwrap());
    let settings = RouteSettings {
        auth_required: Some(true),
        ..RouteSettings::default()
    };
    let route = Route {
        path: "/a",
        methods: &["GET"],
        settings: &settings,
    };
    AuthFilter::new(shared, &route).unwrap().hooks()
}

#[test]
fn the_request_hook_waits_only_with_a_revocation_list() {
    let jwt = json!({"algorithms": ["HS256"], "secret": "a secret of at least thirty-two bytes"});
    assert_eq!(hooks_of(json!({"jwt": jwt})), Hooks::none().request());
    assert_eq!(
        hooks_of(json!({"jwt": jwt, "revocation": true})),
        Hooks::none().request_async()
    );
}

#[test]
fn the_documented_keys_are_the_keys_it_reads() {
    let docs = include_str!("../../../docs/extensions.md");
    beginnings_abi::testing::check_documented_keys::<crate::AuthExtension>(
        docs,
        "auth:AuthExtension",
    )
    .unwrap_or_else(|problems| panic!("docs/extensions.md: {problems}"));
}
