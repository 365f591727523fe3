//! `csrf:CsrfExtension`: cross-site request forgery protection with signed double-submit
//! tokens bound to the session.
//!
//! Safe requests (GET, HEAD, OPTIONS, TRACE) are never refused: they get the token as the
//! request value `csrf.token` (for templates and handlers) and, when the browser has no
//! valid one yet, a `csrf_token` cookie. Every other request must send the same token back
//! in the `X-CSRF-Token` header or the `csrf_token` field of an
//! `application/x-www-form-urlencoded` body, beside the cookie; anything else is answered
//! `403` (a missing cookie included). The token is an HMAC of a random nonce and the
//! session identifier (see [`token`]), so it cannot be forged and does not carry over to
//! another session.
//!
//! The token stays the same for the whole session, so every tab of it keeps working; it
//! changes only when the session does (log-in, log-out: the session cookie or value named
//! by `bind_to` changes), and the next safe request then issues the new one.
//!
//! ```yaml
//! extensions:
//!   "csrf:CsrfExtension":
//!     secret: ${CSRF_SECRET}        # required, at least 32 bytes
//!     bind_to: cookie:session       # or value:auth.subject; default: none
//! routes:
//!   exact:
//!     "/webhooks/stripe": {csrf_exempt: true}
//! ```

mod config;
mod filter;
pub mod token;

use std::sync::Arc;

use beginnings_abi::{Error, Extension, Host, Route, export_extension};
use serde::Deserialize;

pub use crate::config::CsrfConfig;
use crate::config::SameSite;
use crate::filter::Settings;
pub use crate::filter::{CsrfFilter, TOKEN_VALUE};
use crate::token::Signer;

/// The route setting that takes a route out of the protection.
pub const ROUTE_EXEMPT: &str = "csrf_exempt";

/// The route settings the extension reads: its field names are the keys ([`ROUTE_EXEMPT`]).
/// Absent and `null` are the same.
#[derive(Debug, Default, Deserialize)]
pub struct RouteSettings {
    /// `true` takes the route out of the protection (protected by default).
    #[serde(default)]
    pub csrf_exempt: Option<bool>,
}

pub struct CsrfExtension {
    settings: Arc<Settings>,
}

impl Extension for CsrfExtension {
    const DESCRIPTION: &'static str = "signed double-submit CSRF tokens bound to the session; 403 on unsafe requests without a matching token";
    const CONFIG_SUMMARY: &'static str = "secret: string (required, >= 32 bytes); cookie_name = \
        csrf_token; header_name = X-CSRF-Token; field_name = csrf_token; bind_to: \
        cookie:NAME|value:NAME = none; secure = true; http_only = false; same_site: \
        Strict|Lax|None = Lax; cookie_path = /; max_age_seconds = none; route: csrf_exempt = false";

    type Config = CsrfConfig;
    type RouteConfig = RouteSettings;
    type Filter = CsrfFilter;

    fn new(mut config: CsrfConfig, host: Host) -> Result<Self, Error> {
        config.check()?;
        let mut cookie_attributes = format!(
            "; Path={}; SameSite={}",
            config.cookie_path,
            match config.same_site {
                SameSite::Strict => "Strict",
                SameSite::Lax => "Lax",
                SameSite::None => "None",
            }
        );
        if let Some(seconds) = config.max_age_seconds {
            cookie_attributes.push_str(&format!("; Max-Age={seconds}"));
        }
        if config.secure {
            cookie_attributes.push_str("; Secure");
        }
        if config.http_only {
            cookie_attributes.push_str("; HttpOnly");
        }
        Ok(CsrfExtension {
            settings: Arc::new(Settings {
                signer: Signer::new(config.secret.as_bytes()),
                cookie_name: config.cookie_name,
                header_name: config.header_name,
                field_name: config.field_name,
                bind_to: config.bind_to,
                cookie_attributes,
                rejected: host.counter("rejected", "unsafe requests answered 403"),
            }),
        })
    }

    /// No filter where `csrf_exempt` is `true`.
    fn filter(&self, route: &Route<'_, RouteSettings>) -> Result<Option<CsrfFilter>, Error> {
        if route.settings.csrf_exempt.unwrap_or(false) {
            return Ok(None);
        }
        Ok(Some(CsrfFilter {
            settings: self.settings.clone(),
        }))
    }

    /// With `bind_to: value:NAME`, the value an earlier extension sets (`auth.subject`):
    /// the host refuses an order where that extension runs after this one.
    fn values_read(&self) -> Vec<String> {
        match &self.settings.bind_to {
            Some(config::Binding::Value(name)) => vec![name.clone()],
            _ => Vec::new(),
        }
    }
}

export_extension!(CsrfExtension);

#[cfg(test)]
mod tests;
