//! `auth:AuthExtension` through the real loader and a real server: bearer JWTs (HMAC, RSA,
//! ECDSA), API keys, per-route roles and scopes, RFC 6750 challenges, the login redirect
//! and the verified-token cache.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use beginnings::{Json, Request, Router};
use beginnings_tests::{InProcessServer, app_from_yaml};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use reqwest::blocking::{Client, Response};
use serde_json::{Value, json};

const SECRET: &str = "a-test-secret-of-at-least-32-bytes!";
const ISSUER: &str = "https://issuer.test";
const AUDIENCE: &str = "beginnings-tests";
/// `printf %s ci-key-0123456789 | sha256sum`
const CI_KEY: &str = "ci-key-0123456789";
const CI_KEY_SHA256: &str = "055f1625caf85ca0101a99f639d5fee37a3c57f9dde7b60a5a24f783053533d1";

/// The extension's entry; `{extra}` adds top-level keys (cache, login) per test.
fn config(extra: &str) -> String {
    format!(
        r#"
routes:
  patterns:
    "/api/*": {{auth_required: true}}
    "/admin/*": {{auth_required: true, roles: [admin, owner]}}
    "/orders/*": {{auth_required: true, scopes: ["orders:read"], permissions: ["orders:write"]}}
    "/open/*": {{roles: [admin]}}
extensions:
  "auth:AuthExtension":
    jwt:
      algorithms: [HS256]
      secret: "{SECRET}"
      issuer: "{ISSUER}"
      audience: "{AUDIENCE}"
      leeway_seconds: 30
    api_keys:
      keys:
        - {{name: ci, sha256: "{CI_KEY_SHA256}", roles: [deployer], scopes: ["orders:read"]}}
{extra}"#
    )
}

async fn echo(request: Request) -> Json<Value> {
    let value = |name: &str| request.value(name).map(str::to_string);
    Json(json!({
        "method": value("auth.method"),
        "subject": value("auth.subject"),
        "roles": value("auth.roles"),
        "scopes": value("auth.scopes"),
        "claims": value("auth.claims"),
    }))
}

fn router() -> Router {
    Router::new("")
        .get("/api/me", echo)
        .get("/admin/panel", echo)
        .get("/orders/list", echo)
        .get("/open/ping", echo)
}

fn serve(yaml: &str) -> InProcessServer {
    let (app, _dir) = app_from_yaml(yaml);
    InProcessServer::start(app.mount(router()).build().unwrap())
}

/// The redirect to the login page must be seen, not followed.
fn http() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap()
}

fn get(server: &InProcessServer, path: &str, headers: &[(&str, &str)]) -> Response {
    let mut request = http().get(server.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().unwrap()
}

fn bearer(server: &InProcessServer, path: &str, token: &str) -> Response {
    get(
        server,
        path,
        &[("authorization", &format!("Bearer {token}"))],
    )
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Valid claims for the configured issuer and audience; `changes` overrides (null removes).
fn claims(changes: Value) -> Value {
    let mut claims = json!({
        "sub": "user-42",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "exp": now() + 600,
        "iat": now(),
        "roles": ["user"],
        "scope": "profile",
    });
    for (key, value) in changes.as_object().unwrap() {
        match value {
            Value::Null => claims.as_object_mut().unwrap().remove(key),
            _ => claims
                .as_object_mut()
                .unwrap()
                .insert(key.clone(), value.clone()),
        };
    }
    claims
}

fn hmac_token(algorithm: Algorithm, claims: &Value) -> String {
    let key = EncodingKey::from_secret(SECRET.as_bytes());
    encode(&Header::new(algorithm), claims, &key).unwrap()
}

fn token(changes: Value) -> String {
    hmac_token(Algorithm::HS256, &claims(changes))
}

/// Asserts a 401 with an RFC 6750 `invalid_token` challenge whose description has `reason`.
fn assert_invalid_token(response: Response, reason: &str) {
    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        challenge.starts_with("Bearer realm=\"api\", error=\"invalid_token\""),
        "{challenge}"
    );
    assert!(
        challenge.contains(reason),
        "{challenge} should mention {reason}"
    );
    let body: Value = response.json().unwrap();
    assert_eq!(body["error"]["status"], 401);
    assert!(
        body["error"]["message"].as_str().unwrap().contains(reason),
        "{body}"
    );
}

#[test]
fn a_valid_hs256_token_hands_the_identity_to_the_handler() {
    let server = serve(&config(""));
    let response = bearer(
        &server,
        "/api/me",
        &token(json!({"roles": ["user", "auditor"]})),
    );
    assert_eq!(response.status(), 200);
    let body: Value = response.json().unwrap();
    assert_eq!(body["method"], "jwt");
    assert_eq!(body["subject"], "user-42");
    assert_eq!(body["roles"], "user,auditor");
    assert_eq!(body["scopes"], "profile");
    let claims: Value = serde_json::from_str(body["claims"].as_str().unwrap()).unwrap();
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["sub"], "user-42");
}

#[test]
fn missing_credentials_get_the_bare_rfc_6750_challenge() {
    let server = serve(&config(""));
    let response = get(&server, "/api/me", &[]);
    assert_eq!(response.status(), 401);
    // RFC 6750 §3.1: a request without authentication information gets no error code.
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer realm=\"api\""
    );
    let body: Value = response.json().unwrap();
    assert_eq!(body["error"]["status"], 401);
    assert_eq!(body["error"]["message"], "authentication required");

    let other_scheme = get(
        &server,
        "/api/me",
        &[("authorization", "Basic dXNlcjpwYXNz")],
    );
    assert_eq!(other_scheme.status(), 401);
    assert_eq!(
        other_scheme.headers()["www-authenticate"],
        "Bearer realm=\"api\""
    );
}

#[test]
fn routes_without_auth_required_are_not_checked() {
    let server = serve(&config(""));
    // `/open/*` lists roles but not `auth_required: true`: the extension does not apply.
    let response = get(&server, "/open/ping", &[]);
    assert_eq!(response.status(), 200);
    let body: Value = response.json().unwrap();
    assert_eq!(body["method"], Value::Null, "no identity was attached");
}

#[test]
fn cors_preflights_pass_but_other_options_requests_need_credentials() {
    let server = serve(&config(""));
    let preflight = http()
        .request(reqwest::Method::OPTIONS, server.url("/api/me"))
        .header("origin", "https://app.example")
        .header("access-control-request-method", "GET")
        .send()
        .unwrap();
    assert_eq!(
        preflight.status(),
        204,
        "browsers send no credentials on a preflight"
    );
    let options = http()
        .request(reqwest::Method::OPTIONS, server.url("/api/me"))
        .send()
        .unwrap();
    assert_eq!(options.status(), 401);
}

#[test]
fn an_expired_token_is_refused_beyond_the_leeway_only() {
    let server = serve(&config(""));
    let expired = token(json!({"exp": now() - 3600}));
    assert_invalid_token(bearer(&server, "/api/me", &expired), "expired");
    // Ten seconds past `exp` is within the configured 30 s leeway.
    let within_leeway = token(json!({"exp": now() - 10}));
    assert_eq!(bearer(&server, "/api/me", &within_leeway).status(), 200);
}

#[test]
fn require_exp_decides_whether_a_token_without_exp_is_accepted() {
    let no_exp = token(json!({"exp": null}));
    let with_exp = token(json!({}));
    let require_exp = |value: bool| {
        let leeway = "      leeway_seconds: 30\n";
        let yaml = config("").replace(leeway, &format!("{leeway}      require_exp: {value}\n"));
        assert!(yaml.contains("require_exp"), "{yaml}");
        yaml
    };
    // On by default, and saying so changes nothing.
    for yaml in [config(""), require_exp(true)] {
        let server = serve(&yaml);
        assert_invalid_token(
            bearer(&server, "/api/me", &no_exp),
            "a required claim is missing",
        );
        assert_eq!(bearer(&server, "/api/me", &with_exp).status(), 200);
    }

    let server = serve(&require_exp(false));
    let response = bearer(&server, "/api/me", &no_exp);
    assert_eq!(response.status(), 200, "require_exp: false accepts it");
    assert_eq!(response.json::<Value>().unwrap()["subject"], "user-42");
    // Only the requirement is lifted: an `exp` that is present is still checked.
    let expired = token(json!({"exp": now() - 3600}));
    assert_invalid_token(bearer(&server, "/api/me", &expired), "expired");
}

#[test]
fn a_token_not_valid_yet_is_refused() {
    let server = serve(&config(""));
    let early = token(json!({"nbf": now() + 3600}));
    assert_invalid_token(bearer(&server, "/api/me", &early), "not valid yet");
}

#[test]
fn a_wrong_issuer_or_audience_is_refused() {
    let server = serve(&config(""));
    let issuer = token(json!({"iss": "https://elsewhere.test"}));
    assert_invalid_token(bearer(&server, "/api/me", &issuer), "issuer");
    let no_issuer = token(json!({"iss": null}));
    assert_invalid_token(bearer(&server, "/api/me", &no_issuer), "required claim");
    let audience = token(json!({"aud": "another-service"}));
    assert_invalid_token(bearer(&server, "/api/me", &audience), "audience");
}

#[test]
fn a_tampered_token_is_refused() {
    let server = serve(&config(""));
    let genuine = token(json!({}));
    let forged_payload = token(json!({"roles": ["admin"]}));
    let mut parts: Vec<&str> = genuine.split('.').collect();
    parts[1] = forged_payload.split('.').nth(1).unwrap();
    assert_invalid_token(
        bearer(&server, "/api/me", &parts.join(".")),
        "bad signature",
    );
}

#[test]
fn alg_none_is_always_refused() {
    let server = serve(&config(""));
    // base64url of {"alg":"none","typ":"JWT"}
    let none_header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0";
    let genuine = token(json!({}));
    let parts: Vec<&str> = genuine.split('.').collect();
    let unsigned = format!("{none_header}.{}.", parts[1]);
    assert_invalid_token(
        bearer(&server, "/api/me", &unsigned),
        "unsupported algorithm",
    );
    let with_signature = format!("{none_header}.{}.{}", parts[1], parts[2]);
    assert_invalid_token(
        bearer(&server, "/api/me", &with_signature),
        "unsupported algorithm",
    );
}

#[test]
fn a_token_signed_with_an_algorithm_not_listed_is_refused() {
    let server = serve(&config(""));
    let hs512 = hmac_token(Algorithm::HS512, &claims(json!({})));
    assert_invalid_token(bearer(&server, "/api/me", &hs512), "algorithm not allowed");
}

#[test]
fn a_refresh_token_is_not_an_access_token() {
    let server = serve(&config(""));
    for refresh in [json!({"token_type": "refresh"}), json!({"typ": "Refresh"})] {
        let refresh = token(refresh);
        assert_invalid_token(bearer(&server, "/api/me", &refresh), "refresh");
    }
    assert_eq!(
        bearer(&server, "/api/me", &token(json!({"token_type": "access"}))).status(),
        200
    );
}

/// A PEM key pair (PKCS#8 private key, SPKI public key): made by `openssl` when it is
/// installed, else the fixed test pair below.
fn key_pair(kind: &str, dir: &Path) -> (String, String) {
    let private = dir.join(format!("{kind}.key"));
    let public = dir.join(format!("{kind}.pub"));
    let options: &[&str] = match kind {
        "rsa" => &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        _ => &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
    };
    let run = |args: &[&str]| {
        Command::new("openssl")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    };
    let (private_path, public_path) = (private.to_str().unwrap(), public.to_str().unwrap());
    let made = run(&[&["genpkey"], options, &["-out", private_path]].concat())
        && run(&["pkey", "-in", private_path, "-pubout", "-out", public_path]);
    if made {
        return (
            std::fs::read_to_string(private).unwrap(),
            std::fs::read_to_string(public).unwrap(),
        );
    }
    match kind {
        "rsa" => (fixed::RSA_PRIVATE.into(), fixed::RSA_PUBLIC.into()),
        _ => (fixed::EC_PRIVATE.into(), fixed::EC_PUBLIC.into()),
    }
}

fn asymmetric_config(algorithm: &str, key_lines: &str) -> String {
    format!(
        r#"
routes:
  patterns:
    "/api/*": {{auth_required: true}}
extensions:
  "auth:AuthExtension":
    jwt:
      algorithms: [{algorithm}]
{key_lines}
"#
    )
}

#[test]
fn an_rs256_token_verifies_with_a_pem_public_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let (private, public) = key_pair("rsa", dir.path());
    let public_file = dir.path().join("jwt-public.pem");
    std::fs::write(&public_file, &public).unwrap();
    let yaml = asymmetric_config(
        "RS256",
        &format!("      public_key_file: {:?}", public_file.to_str().unwrap()),
    );
    let server = serve(&yaml);
    let key = EncodingKey::from_rsa_pem(private.as_bytes()).unwrap();
    let claims = json!({"sub": "rsa-user", "exp": now() + 600});
    let signed = encode(&Header::new(Algorithm::RS256), &claims, &key).unwrap();
    let response = bearer(&server, "/api/me", &signed);
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().unwrap()["subject"], "rsa-user");

    // An HMAC token made with the public key as its secret (the classic key-confusion
    // forgery) is refused: only RS256 is listed.
    let confused = encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(public.as_bytes()),
    )
    .unwrap();
    assert_invalid_token(
        bearer(&server, "/api/me", &confused),
        "algorithm not allowed",
    );
}

#[test]
fn an_es256_token_verifies_with_an_inline_pem_public_key() {
    let dir = tempfile::tempdir().unwrap();
    let (private, public) = key_pair("ec", dir.path());
    let indented: String = public
        .lines()
        .map(|line| format!("        {line}\n"))
        .collect();
    let yaml = asymmetric_config("ES256", &format!("      public_key: |\n{indented}"));
    let server = serve(&yaml);
    let key = EncodingKey::from_ec_pem(private.as_bytes()).unwrap();
    let claims = json!({"sub": "ec-user", "exp": now() + 600});
    let signed = encode(&Header::new(Algorithm::ES256), &claims, &key).unwrap();
    let response = bearer(&server, "/api/me", &signed);
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().unwrap()["subject"], "ec-user");

    let unlisted = hmac_token(Algorithm::HS256, &claims);
    assert_invalid_token(
        bearer(&server, "/api/me", &unlisted),
        "algorithm not allowed",
    );
}

#[test]
fn a_valid_api_key_authenticates_and_a_wrong_one_is_refused() {
    let server = serve(&config(""));
    let response = get(&server, "/api/me", &[("x-api-key", CI_KEY)]);
    assert_eq!(response.status(), 200);
    let body: Value = response.json().unwrap();
    assert_eq!(body["method"], "api_key");
    assert_eq!(body["subject"], "ci");
    assert_eq!(body["roles"], "deployer");
    assert_eq!(body["scopes"], "orders:read");

    let wrong = get(&server, "/api/me", &[("x-api-key", "ci-key-0123456780")]);
    assert_invalid_token(wrong, "unknown api key");
    // The configured digest itself is not a key.
    let digest = get(&server, "/api/me", &[("x-api-key", CI_KEY_SHA256)]);
    assert_eq!(digest.status(), 401);
}

#[test]
fn a_missing_role_is_forbidden() {
    let server = serve(&config(""));
    let user = bearer(&server, "/admin/panel", &token(json!({"roles": ["user"]})));
    assert_eq!(user.status(), 403);
    let challenge = user.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    let body: Value = user.json().unwrap();
    assert_eq!(body["error"]["status"], 403);
    assert!(
        body["error"]["message"].as_str().unwrap().contains("admin"),
        "{body}"
    );

    // Any one of the listed roles is enough.
    let owner = bearer(&server, "/admin/panel", &token(json!({"roles": ["owner"]})));
    assert_eq!(owner.status(), 200);
    // API keys are held to the same roles.
    let key = get(&server, "/admin/panel", &[("x-api-key", CI_KEY)]);
    assert_eq!(key.status(), 403);
}

#[test]
fn scopes_and_permissions_are_all_required() {
    let server = serve(&config(""));
    let read_only = token(json!({"scope": "profile orders:read"}));
    let response = bearer(&server, "/orders/list", &read_only);
    assert_eq!(response.status(), 403);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        challenge.contains("scope=\"orders:read orders:write\""),
        "{challenge}"
    );
    let body: Value = response.json().unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("orders:write") && !message.contains("orders:read"),
        "{message}"
    );

    // `scope` (space-separated) and `permissions` (a list) claims are merged.
    let both = token(json!({"scope": "orders:read", "permissions": ["orders:write"]}));
    assert_eq!(bearer(&server, "/orders/list", &both).status(), 200);
    // The key holds only orders:read.
    assert_eq!(
        get(&server, "/orders/list", &[("x-api-key", CI_KEY)]).status(),
        403
    );
}

#[test]
fn html_requests_without_credentials_are_sent_to_the_login_page() {
    let server = serve(&config("    login_url: /login\n"));
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let response = get(&server, "/api/me?tab=a b&x=1", &[("accept", browser)]);
    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()["location"],
        "/login?next=%2Fapi%2Fme%3Ftab%3Da%2520b%26x%3D1"
    );
    let bad_token = get(
        &server,
        "/api/me",
        &[("accept", browser), ("authorization", "Bearer not.a.token")],
    );
    assert_eq!(
        bad_token.status(),
        303,
        "invalid credentials go to login too"
    );

    // API clients still get the 401 challenge.
    let api = get(&server, "/api/me", &[("accept", "application/json")]);
    assert_eq!(api.status(), 401);
    assert_eq!(api.headers()["www-authenticate"], "Bearer realm=\"api\"");
    // A role miss is not a login problem.
    let forbidden = get(
        &server,
        "/admin/panel",
        &[
            ("accept", browser),
            ("authorization", &format!("Bearer {}", token(json!({})))),
        ],
    );
    assert_eq!(forbidden.status(), 403);
}

/// An in-process server with the auth extension, whose commands the test sends.
struct CommandedServer {
    server: InProcessServer,
    _dir: beginnings_tests::ConfigDir,
}

impl CommandedServer {
    fn start(yaml: &str) -> CommandedServer {
        let (app, dir) = app_from_yaml(yaml);
        let server = InProcessServer::start(app.mount(router()).build().unwrap());
        CommandedServer { server, _dir: dir }
    }

    fn stats(&self) -> Value {
        self.server
            .extension("auth:AuthExtension")
            .command("stats", &Value::Null)
            .unwrap()
    }

    fn status(&self, token: &str) -> u16 {
        http()
            .get(self.server.url("/api/me"))
            .bearer_auth(token)
            .send()
            .unwrap()
            .status()
            .as_u16()
    }
}

#[test]
fn verified_tokens_are_cached_so_each_signature_is_checked_once() {
    let cache = "    cache_tokens: true\n    cache_max_entries: 100\n    cache_ttl_seconds: 120\n";
    let server = CommandedServer::start(&config(cache));
    let counts = |server: &CommandedServer| {
        let stats = server.stats();
        (
            stats["verifications"].as_u64().unwrap(),
            stats["cache_hits"].as_u64().unwrap(),
        )
    };
    assert_eq!(counts(&server), (0, 0));

    let first = token(json!({}));
    for _ in 0..5 {
        assert_eq!(server.status(&first), 200);
    }
    assert_eq!(
        counts(&server),
        (1, 4),
        "verified once, then served from the cache"
    );
    let second = token(json!({"sub": "someone-else"}));
    assert_eq!(server.status(&second), 200);
    assert_eq!(server.status(&second), 200);
    assert_eq!(counts(&server), (2, 5));
    assert_eq!(server.stats()["cache_entries"], 2);

    // Refused tokens are never cached.
    let expired = token(json!({"exp": now() - 3600}));
    assert_eq!(server.status(&expired), 401);
    assert_eq!(server.status(&expired), 401);
    assert_eq!(counts(&server), (4, 5));

    // A token past its `exp` but within the leeway is accepted, yet never cached: the
    // cache keeps nothing beyond a token's `exp`.
    let lapsing = token(json!({"exp": now() - 5}));
    assert_eq!(server.status(&lapsing), 200);
    assert_eq!(server.status(&lapsing), 200);
    assert_eq!(counts(&server), (6, 5));
    assert_eq!(server.stats()["cache_entries"], 2);

    server
        .server
        .extension("auth:AuthExtension")
        .command("clear_cache", &Value::Null)
        .unwrap();
    assert_eq!(server.status(&first), 200);
    assert_eq!(
        counts(&server),
        (7, 5),
        "verified again after the cache was cleared"
    );
}

/// A cached token is used only until its `exp`, measured on the monotonic clock from the
/// request that cached it; after that it is checked again (and accepted within the leeway).
#[test]
fn a_cached_token_is_checked_again_once_its_exp_has_passed() {
    let cache = "    cache_tokens: true\n    cache_ttl_seconds: 120\n";
    let server = CommandedServer::start(&config(cache));
    let verifications = |server: &CommandedServer| server.stats()["verifications"].as_u64();
    // Two to three seconds of validity: the cached entry lapses within the test.
    let expiring = token(json!({"exp": now() + 3}));
    assert_eq!(server.status(&expiring), 200);
    assert_eq!(server.status(&expiring), 200);
    assert_eq!(
        verifications(&server),
        Some(1),
        "the second request was a hit"
    );
    std::thread::sleep(std::time::Duration::from_millis(4_100));
    assert_eq!(server.status(&expiring), 200, "accepted within the leeway");
    assert_eq!(
        verifications(&server),
        Some(2),
        "checked again: the entry lapsed at the token's exp, not at the cache's TTL"
    );
}

#[test]
fn misconfigurations_stop_start_up_with_the_key_path() {
    let cases = [
        (
            config("").replace(CI_KEY_SHA256, CI_KEY),
            "api_keys.keys[0].sha256",
        ),
        (
            config("").replace("[HS256]", "[HS256, none]"),
            "jwt.algorithms[1]",
        ),
        (config("").replace("[HS256]", "[RS256]"), "jwt.secret"),
        (config("    cache_ttl: 5\n"), "cache_ttl"),
        (
            config("    revocation: true\n    revoke_path: /auth/revoke\n"),
            "revoke_role: required",
        ),
        (
            config("    revoke_path: /auth/revoke\n    revoke_role: admin\n"),
            "revoke_path: needs revocation: true",
        ),
        (
            config("    revocation: true\n    on_store_error: maybe\n"),
            "on_store_error",
        ),
    ];
    for (yaml, key) in cases {
        let (app, _dir) = app_from_yaml(&yaml);
        let error = match app.mount(router()).build() {
            Ok(_) => panic!("{key}: the configuration should be refused"),
            Err(error) => error.to_string(),
        };
        assert!(error.contains(key), "{error} should name {key}");
    }
}

mod fixed {
    //! A test-only key pair for machines without `openssl`. Never use it for anything else.

    pub const RSA_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCTHWcsOHRaSX8a
6H3T07C0BPYvM3OU8LgbSRWpBiyb8VqwwpCj89581BS8nb5dLjkjhPgwvh/VsytM
gZ8/Dqh2nceFC9pOKm/uluiwZJIbGPIMWUiumjl8waa2nZc55xCh71Wf4jmNQ55y
/9WVbDtHi4Ow+iD8wYLLHeRZ7+VIkQGWZU5ExKNAXMg740QVJR+3sk5W2ufp8/YI
IKeAmZtuV9RCe2q4KTmMo5VyLHRSeTPFZsqDiHp/e99DpYRPt/u4FCS8o65pLa07
RRjfZx2szAOfZZSiieOERR+FlNC36UB9Cfpma2Gq7zza3ciTBgCngru07jyVeFuV
GvuA0OXhAgMBAAECggEAL4fSa7EZtooEbPcsoCHG94Ka34kqELbtZLNqMh/yjbee
63kRLkd+XKpQwNfeR1DF2Tn+zhC/TFYE6UT/5Gmh+CDl85Buyc5gN5++Mi9sHSEk
IuU93FursykF6f5ke6qx7v/alDuNCJ0ONm193jcHuAfVVnqZ6c/DqEhSHNSrKZRi
nAK7lVl2T0BuqVmXHCLKfoXLGpBcaXs1vL681yxTfP1dgntSFt6yF5Ksx1JhiL+u
9UVKUQB8dU8Fk4SVLiI2HWNTAq/elOMa1PYYol1bxw0mGHd5+UncWn5HA39A6Faq
zYJVsqeZqufw7UWvTQ7Ifi8BdQNu8oKSeXpazaL5OQKBgQDEXlPTmyrYb7g/7wLx
dNiotz8gAEXucahvChLUF/TY7NDWN+ugHq/CvqVO5H93UTf8Sy3hfbEFMJ/y7m4b
2EJLbp/CJ2Vj8gZ1899c9tRObGsEK7S+tfI6VdNGKSn8I/ObkMK7zIkL9CBN3VDn
HUqG7SQC10bGXT+cz82jKGyVQwKBgQC/yhpVi1aTBZCoMnfPA7TSGS7mRpSyW06b
khT2z2vUplHivkMJCBEpWdg2CcGtMfz1Wyvhw94EiD70yiCxrUTXPykU9o9BoWBV
estMI+N5bfjpI0uibzfQNGKxnF8rog/dyylLW0PNjAmfNDca7Z5kRKQHL8K87KOQ
LJFD1xnUCwKBgQC8dte3SL43WgoY+lj1yrJCQxVHrltvvQ/t+loVyyRIqgjJAISZ
ebowi272p+EacA3ui2zudQbXt1JcArAU81q1MOgNnGf4I4pF3Jhsjc03s2CGcTgY
rWFc0ZBjTxCnmQ2uKaJsQaLqoRP8B0QlfHxRwPmF7H1V1ps98kcnp52HJwKBgCPL
DSUf7xVbOYcafB+nemynhIg3bfLndYE1PzJcvawfKjMd/RbHaaSE/wP+yCWRqbsE
u+jTjDDeWJmIy5c9Vhax0/H0ngHKo1bwptZb8E0uSAECtE/pX8o8rJqnK1/STBHB
o8BLlRjcZMNQlGQzKpdd9BrfQAHQTCpRFv9JOqnHAoGAeNQSejCCAyPE3SSKoJK9
DXo6bvEA09q82ensWoHmajkW9hmeBmiTGrUi/CNO1FEcZRqFuAvayW85BfyUtKME
ib2LveBqXYU0W00D9FTNou+ZxYPblE16ZPTKhhFo08mcRd44/uc4xaODBpYVDB6A
VZkctlehY/Hv6VhUIjBNsM0=
-----END PRIVATE KEY-----
";

    pub const RSA_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAkx1nLDh0Wkl/Guh909Ow
tAT2LzNzlPC4G0kVqQYsm/FasMKQo/PefNQUvJ2+XS45I4T4ML4f1bMrTIGfPw6o
dp3HhQvaTipv7pbosGSSGxjyDFlIrpo5fMGmtp2XOecQoe9Vn+I5jUOecv/VlWw7
R4uDsPog/MGCyx3kWe/lSJEBlmVORMSjQFzIO+NEFSUft7JOVtrn6fP2CCCngJmb
blfUQntquCk5jKOVcix0UnkzxWbKg4h6f3vfQ6WET7f7uBQkvKOuaS2tO0UY32cd
rMwDn2WUoonjhEUfhZTQt+lAfQn6Zmthqu882t3IkwYAp4K7tO48lXhblRr7gNDl
4QIDAQAB
-----END PUBLIC KEY-----
";

    pub const EC_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgWhqer9Zqyq5pJkG4
smgx0GY235NWv7JEANesz8sFyFqhRANCAAR36mr3Ji5+thPk5z8aq4M9mwGNFpkx
KBlc60WIQjrU8sLOPy+c3HQfqx6N4BDV7VdTC5yuJ/g/zl3V3nzkQnSj
-----END PRIVATE KEY-----
";

    pub const EC_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEd+pq9yYufrYT5Oc/GquDPZsBjRaZ
MSgZXOtFiEI61PLCzj8vnNx0H6sejeAQ1e1XUwucrif4P85d1d585EJ0ow==
-----END PUBLIC KEY-----
";
}
