//! The bearer token the authenticated scenario sends: HS256, signed with the secret the
//! benchmark configuration gives `auth:AuthExtension`, valid for an hour.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use beginnings::config::Config;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

#[derive(Serialize)]
struct Claims<'a> {
    sub: &'a str,
    iat: u64,
    exp: u64,
}

/// The HS256 secret of the configuration's enabled `auth:*` extension, if it has one.
pub fn auth_secret(config: &Config) -> Option<String> {
    config
        .extensions
        .iter()
        .filter(|entry| entry.enabled && entry.module == "auth")
        .find_map(|entry| {
            entry
                .config
                .pointer("/jwt/secret")?
                .as_str()
                .map(String::from)
        })
}

/// A token for the subject `load-benchmark`.
pub fn bearer(secret: &str) -> anyhow::Result<String> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let claims = Claims {
        sub: "load-benchmark",
        iat: now,
        exp: now + 3600,
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .context("cannot sign the benchmark token")
}
