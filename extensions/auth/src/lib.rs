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
//!     revocation: true                       # check bearer tokens against the shared store
//!     revoke_path: /auth/revoke              # POST here revokes a token (mount a route there)
//!     revoke_role: admin
//! routes:
//!   patterns:
//!     "/api/*":   {auth_required: true, scopes: [orders:read]}
//!     "/admin/*": {auth_required: true, roles: [admin]}
//! ```
//!
//! An authenticated request carries the request values `auth.method` (`jwt` or `api_key`),
//! `auth.subject`, `auth.roles` and `auth.scopes` (comma-separated) and `auth.claims`
//! (JSON text). A token whose `token_type` or `typ` claim is `refresh` is refused.
//!
//! With `revocation: true` every bearer token is looked up in the revocation list in the
//! host's shared store (`app.shared_store`), so a token revoked through one instance is
//! refused by all; the request hook is then asynchronous. A store failure answers 503
//! (`on_store_error: closed`, the default) rather than letting a revoked token pass.

mod answer;
mod api_key;
mod authenticator;
mod cache;
mod config;
mod filter;
mod identity;
mod jwt;
mod revocation;
mod revoke;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use beginnings_abi::json::Value;
use beginnings_abi::{Error, Extension, Host, Route, export_extension, log};

pub use config::AuthConfig;
pub use filter::{AuthFilter, RouteSettings, settings};
pub use identity::values;
pub use jwt::TOKEN_TYPE_CLAIMS;

use authenticator::Authenticator;

pub struct AuthExtension {
    shared: Arc<Authenticator>,
    warned_unguarded: AtomicBool,
}

impl Extension for AuthExtension {
    const DESCRIPTION: &'static str =
        "bearer JWT and API-key authentication with per-route roles and scopes";
    const CONFIG_SUMMARY: &'static str = "jwt: {algorithms: [string], secret | public_key | \
        public_key_file, issuer, audience, leeway_seconds = 60, require_exp = true, \
        roles_claims = [roles], scopes_claims = [scope, scp, permissions]}; api_keys: {header = \
        x-api-key, keys: [{name, sha256, roles, scopes}]}; realm = api; cache_tokens = false; \
        cache_max_entries = 10000; cache_ttl_seconds = 300; login_url; login_return_param = next; \
        revocation = false; revocation_ttl_seconds = 86400; on_store_error = closed|open; \
        revoke_path; revoke_role";

    type Config = AuthConfig;
    type RouteConfig = RouteSettings;
    type Filter = AuthFilter;

    fn new(config: AuthConfig, host: Host) -> Result<Self, Error> {
        Ok(AuthExtension {
            shared: Arc::new(Authenticator::new(config, host)?),
            warned_unguarded: AtomicBool::new(false),
        })
    }

    fn filter(&self, route: &Route<'_, RouteSettings>) -> Result<Option<AuthFilter>, Error> {
        // A malformed `auth_required` never gets here: it fails to deserialize, so a typo
        // never opens a route.
        let required = route.settings.auth_required.unwrap_or(false);
        // The revoke endpoint is answered here whatever the route's own settings say. Its
        // filter depends on the settings only: the call itself is recognized per request.
        if !required && !self.is_revoke_route(route.path) {
            if route.settings.names_requirements()
                && !self.warned_unguarded.swap(true, Ordering::Relaxed)
            {
                log::warn!(
                    "route {} sets roles, scopes or permissions without auth_required: true; \
                     such routes are not checked",
                    route.path
                );
            }
            return Ok(None);
        }
        AuthFilter::new(self.shared.clone(), route).map(Some)
    }

    fn command(&self, name: &str, argument: Value) -> Result<Value, Error> {
        self.shared.command(name, &argument)
    }

    /// Every authenticated request carries who it is (see [`values`]), for the extensions
    /// after this one and the handler.
    fn values_set(&self) -> Vec<String> {
        [
            values::METHOD,
            values::SUBJECT,
            values::ROLES,
            values::SCOPES,
            values::CLAIMS,
        ]
        .map(String::from)
        .to_vec()
    }
}

impl AuthExtension {
    fn is_revoke_route(&self, path: &str) -> bool {
        self.shared
            .revocation
            .as_ref()
            .and_then(|r| r.endpoint.as_ref())
            .is_some_and(|(revoke_path, _)| revoke_path == path)
    }
}

export_extension!(AuthExtension);
