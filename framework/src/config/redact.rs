//! Hiding secrets when the effective configuration is printed.

use serde_json::Value;

const MASK: &str = "***";

/// A copy of `value` with every secret-looking setting replaced by `"***"`: keys containing
/// `secret`, `password` or `token`, or ending in `key`/`keys` (`api_key`, `apikey`,
/// `signing_key`, `api_keys`; a bare `key` is a selector such as `rate_limit.key: ip`). Booleans and nulls are kept, because `cache_tokens: true` is
/// useful to see and reveals nothing.
pub fn redacted(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let hidden = is_secret_key(k) && !matches!(v, Value::Bool(_) | Value::Null);
                    (
                        k.clone(),
                        if hidden {
                            Value::String(MASK.to_owned())
                        } else {
                            redacted(v)
                        },
                    )
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redacted).collect()),
        Value::String(text) => Value::String(without_url_password(text)),
        other => other.clone(),
    }
}

/// `postgres://app:hunter2@db/app` -> `postgres://app:***@db/app`: a password inside a URL is
/// a secret whatever the key is called.
fn without_url_password(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else {
        return text.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return text.to_owned();
    };
    match rest[..at].split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:{MASK}{}", &rest[at..]),
        None => text.to_owned(),
    }
}

fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    // A bare `key` names what something is keyed by (`rate_limit: {key: ip}`), not a secret.
    ["secret", "password", "token"]
        .iter()
        .any(|s| key.contains(s))
        || (key.ends_with("key") && key != "key")
        || key.ends_with("keys")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn passwords_inside_urls_are_masked() {
        let input = json!({"database": {"url": "postgres://app:hunter2@db:5432/app?x=1"},
            "app": {"shared_store": "redis://:s3cret@cache:6379/0"},
            "docs": "https://example.com/a@b", "plain": "sqlite://data/app.db"});
        let out = redacted(&input);
        assert_eq!(out["database"]["url"], "postgres://app:***@db:5432/app?x=1");
        assert_eq!(out["app"]["shared_store"], "redis://:***@cache:6379/0");
        assert_eq!(out["docs"], "https://example.com/a@b");
        assert_eq!(out["plain"], "sqlite://data/app.db");
    }

    #[test]
    fn secrets_are_masked_at_any_depth() {
        let input = json!({
            "app": {"name": "demo", "port": 8000},
            "database": {"url": "sqlite://x", "password": "hunter2"},
            "extensions": {"auth:Auth": {
                "jwt_secret": "s", "api_key": "k", "apikey": 12345, "api_keys": ["a", "b"],
                "signing_key": {"kid": "x"}, "access_token": "t", "cache_tokens": true,
                "Client_Secret": "c", "keyring": "visible", "nested": [{"token": "t"}]
            }}
        });
        let out = redacted(&input);
        let auth = &out["extensions"]["auth:Auth"];
        for key in [
            "jwt_secret",
            "api_key",
            "apikey",
            "api_keys",
            "signing_key",
            "access_token",
            "Client_Secret",
        ] {
            assert_eq!(auth[key], json!("***"), "{key}");
        }
        assert_eq!(auth["cache_tokens"], json!(true));
        assert_eq!(auth["keyring"], json!("visible"));
        assert_eq!(auth["nested"][0]["token"], json!("***"));
        assert_eq!(out["database"]["password"], json!("***"));
        assert_eq!(out["database"]["url"], json!("sqlite://x"));
        assert_eq!(out["app"], input["app"]);
    }
}
