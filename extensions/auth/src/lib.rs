//! `auth:AuthExtension`: bearer JWT and API-key authentication, with per-route roles and
//! scopes. Routes that do not set `auth_required: true` are left alone.
//!
//! ```yaml
//! extensions:
//!   "auth:AuthExtension":
//!     jwt:
//!       algorithms: [HS256]                  # pinned; `none` is never accepted
//!       secret: "${JWT_SECRET}"              # HS*; RS*/PS*/ES*/EdDSA take public_key or public_key_file
//!       issuer: https://id.example.com
//!       audience: orders-api
//!       leeway_seconds: 60
//!     api_keys:
//!       header: X-API-Key
//!       keys:
//!         - {name: ci, sha256: "<64 hex digits>", roles: [deployer], scopes: [orders:read]}
//!     cache_tokens: true
//!     login_url: /login
//! routes:
//!   patterns:
//!     "/api/*":   {auth_required: true, scopes: [orders:read]}
//!     "/admin/*": {auth_required: true, roles: [admin]}
//! ```
//!
//! An authenticated request carries the request values `auth.method` (`jwt` or `api_key`),
//! `auth.subject`, `auth.roles` and `auth.scopes` (comma-separated) and `auth.claims`
//! (JSON text). A token whose `token_type` or `typ` claim is `refresh` is refused.

mod answer;
mod api_key;
mod authenticator;
mod cache;
mod config;
mod filter;
mod identity;
mod jwt;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use beginnings_abi::json::Value;
use beginnings_abi::{Error, Extension, Host, Route, export_extension, log};

pub use config::AuthConfig;
pub use filter::{AuthFilter, settings};
pub use identity::values;
pub use jwt::TOKEN_TYPE_CLAIMS;

use authenticator::Authenticator;

pub struct AuthExtension {
    shared: Arc<Authenticator>,
    warned_unguarded: AtomicBool,
}

impl Extension for AuthExtension {
    const NAME: &'static str = "AuthExtension";
    const DESCRIPTION: &'static str =
        "bearer JWT and API-key authentication with per-route roles and scopes";
    const CONFIG_SUMMARY: &'static str = "jwt: {algorithms: [string], secret | public_key | \
        public_key_file, issuer, audience, leeway_seconds = 60, require_exp = true, \
        roles_claims = [roles], scopes_claims = [scope, scp, permissions]}; api_keys: {header = \
        x-api-key, keys: [{name, sha256, roles, scopes}]}; realm = api; cache_tokens = false; \
        cache_max_entries = 10000; cache_ttl_seconds = 300; login_url; login_return_param = next";
    const ROUTE_KEYS: Option<&'static [&'static str]> = Some(&settings::ALL);

    type Config = AuthConfig;
    type Filter = AuthFilter;

    fn new(config: AuthConfig, host: Host) -> Result<Self, Error> {
        Ok(AuthExtension {
            shared: Arc::new(Authenticator::new(config, host)?),
            warned_unguarded: AtomicBool::new(false),
        })
    }

    fn applies(&self, route: &Route<'_>) -> bool {
        // A malformed flag is reported when the filter is built; until then it counts as
        // "required", so a typo never opens a route.
        let required = route.flag(settings::AUTH_REQUIRED, false).unwrap_or(true);
        if !required
            && [settings::ROLES, settings::SCOPES, settings::PERMISSIONS]
                .iter()
                .any(|key| route.config.contains_key(*key))
            && !self.warned_unguarded.swap(true, Ordering::Relaxed)
        {
            log::warn!(
                "route {} sets roles, scopes or permissions without auth_required: true; such \
                 routes are not checked",
                route.path
            );
        }
        required
    }

    fn filter(&self, route: &Route<'_>) -> Result<AuthFilter, Error> {
        route.flag(settings::AUTH_REQUIRED, false)?;
        AuthFilter::new(self.shared.clone(), route)
    }

    fn command(&self, name: &str, _argument: Value) -> Result<Value, Error> {
        self.shared.command(name)
    }
}

export_extension!(AuthExtension);
