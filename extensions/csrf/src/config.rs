//! The extension's configuration.

use beginnings_abi::Error;
use serde::{Deserialize, Deserializer};

/// The entry under `extensions: "csrf:CsrfExtension"`. No `Debug`: it holds the secret.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsrfConfig {
    /// The HMAC key, at least 32 bytes; keep it out of the file (`${CSRF_SECRET}`).
    pub secret: String,
    #[serde(default = "defaults::cookie_name")]
    pub cookie_name: String,
    #[serde(default = "defaults::header_name")]
    pub header_name: String,
    #[serde(default = "defaults::field_name")]
    pub field_name: String,
    /// What the token is bound to: `cookie:NAME` (the session cookie) or `value:NAME` (a
    /// request value set by an earlier extension, such as `auth.subject`).
    #[serde(default)]
    pub bind_to: Option<Binding>,
    #[serde(default = "defaults::yes")]
    pub secure: bool,
    /// Off by default: the double-submit pattern lets scripts read the cookie to send it
    /// back in the header.
    #[serde(default)]
    pub http_only: bool,
    #[serde(default)]
    pub same_site: SameSite,
    #[serde(default = "defaults::cookie_path")]
    pub cookie_path: String,
    /// The cookie's lifetime; none (the default) makes it last until the browser closes.
    #[serde(default)]
    pub max_age_seconds: Option<u64>,
}

mod defaults {
    pub fn cookie_name() -> String {
        "csrf_token".into()
    }
    pub fn header_name() -> String {
        "x-csrf-token".into()
    }
    pub fn field_name() -> String {
        "csrf_token".into()
    }
    pub fn cookie_path() -> String {
        "/".into()
    }
    pub fn yes() -> bool {
        true
    }
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub enum SameSite {
    Strict,
    #[default]
    Lax,
    None,
}

#[derive(Debug, Clone)]
pub enum Binding {
    Cookie(String),
    Value(String),
}

impl<'de> Deserialize<'de> for Binding {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.split_once(':') {
            Some(("cookie", name)) if !name.is_empty() => Ok(Binding::Cookie(name.into())),
            Some(("value", name)) if !name.is_empty() => Ok(Binding::Value(name.into())),
            _ => Err(serde::de::Error::custom(format!(
                "{text:?} is not a binding (use cookie:NAME or value:NAME)"
            ))),
        }
    }
}

impl CsrfConfig {
    pub fn check(&mut self) -> Result<(), Error> {
        if self.secret.len() < 32 {
            return Err(format!(
                "secret: must be at least 32 bytes, found {} (generate one with `openssl rand -base64 48`)",
                self.secret.len()
            )
            .into());
        }
        let token_chars = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_!#$%&'*+.^`|~".contains(&b))
        };
        if !token_chars(&self.cookie_name) {
            return Err(format!("cookie_name: {:?} is not a cookie name", self.cookie_name).into());
        }
        if !token_chars(&self.header_name) {
            return Err(format!("header_name: {:?} is not a header name", self.header_name).into());
        }
        self.header_name.make_ascii_lowercase();
        if self.field_name.is_empty() {
            return Err("field_name: must not be empty".into());
        }
        if !self.cookie_path.starts_with('/') || self.cookie_path.contains(';') {
            return Err(format!("cookie_path: {:?} is not a path", self.cookie_path).into());
        }
        if matches!(self.same_site, SameSite::None) && !self.secure {
            return Err("same_site: None needs secure: true (browsers refuse it otherwise)".into());
        }
        if self.cookie_name.starts_with("__Host-") && (!self.secure || self.cookie_path != "/") {
            return Err(
                "cookie_name: a __Host- cookie needs secure: true and cookie_path: /".into(),
            );
        }
        Ok(())
    }
}
