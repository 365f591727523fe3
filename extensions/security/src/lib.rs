//! `security:SecurityHeadersExtension`: adds the standard security headers to every answer of
//! the routes it applies to, including early answers from other extensions and errors.
//!
//! ```yaml
//! extensions:
//!   "security:SecurityHeadersExtension":
//!     x_frame_options: SAMEORIGIN          # default DENY
//!     strict_transport_security: null      # null drops a header
//!     hsts_always: true                    # behind a TLS-terminating proxy
//!     content_security_policy:
//!       default-src: ["'self'"]
//!       img-src: ["'self'", "data:"]
//!     nonce: true                          # per-request nonce in script-src/style-src
//!     permissions_policy: {camera: [], geolocation: [self]}
//!     cross_origin_opener_policy: same-origin
//! routes:
//!   patterns:
//!     "/public/*": {security_headers: false}   # switched off for these routes
//! ```

mod config;
mod filter;

use beginnings_abi::{Error, Extension, Host, Route, export_extension};
use serde::Deserialize;

pub use config::SecurityHeadersConfig;
pub use filter::{NONCE_VALUE, SecurityHeadersFilter};

/// The route setting that switches the extension off for a route.
pub const ROUTE_SWITCH: &str = "security_headers";

pub struct SecurityHeadersExtension {
    headers: std::sync::Arc<filter::Prepared>,
}

impl Extension for SecurityHeadersExtension {
    const DESCRIPTION: &'static str = "adds X-Content-Type-Options, X-Frame-Options, Referrer-Policy and Strict-Transport-Security";

    const CONFIG_SUMMARY: &'static str = "x_content_type_options = nosniff; x_frame_options = DENY; \
        referrer_policy = strict-origin-when-cross-origin; strict_transport_security = \
        max-age=31536000; includeSubDomains (each a string, or null to drop the header); \
        hsts_always = false; content_security_policy: {directive: [sources]}; report_only = false; \
        report_uri; nonce = false; permissions_policy: {feature: [allowlist]}; \
        cross_origin_opener_policy, cross_origin_embedder_policy, cross_origin_resource_policy";
    type Config = SecurityHeadersConfig;
    type RouteConfig = RouteSettings;
    type Filter = SecurityHeadersFilter;

    fn new(config: SecurityHeadersConfig, host: Host) -> Result<Self, Error> {
        Ok(SecurityHeadersExtension {
            headers: std::sync::Arc::new(filter::Prepared::new(config.render()?, &host)?),
        })
    }

    fn filter(
        &self,
        route: &Route<'_, RouteSettings>,
    ) -> Result<Option<SecurityHeadersFilter>, Error> {
        if !route.settings.security_headers.unwrap_or(true) {
            return Ok(None);
        }
        Ok(Some(SecurityHeadersFilter::new(self.headers.clone())))
    }

    /// The CSP nonce, with `nonce: true`, for templates and the extensions after this one.
    fn values_set(&self) -> Vec<String> {
        vec![NONCE_VALUE.to_string()]
    }
}

/// The route settings the extension reads.
#[derive(Debug, Default, Deserialize)]
pub struct RouteSettings {
    /// `false` switches the extension off for the route (default on).
    #[serde(default)]
    pub security_headers: Option<bool>,
}

export_extension!(SecurityHeadersExtension);

#[cfg(test)]
#[test]
fn the_documented_keys_are_the_keys_it_reads() {
    let docs = include_str!("../../../docs/extensions.md");
    beginnings_abi::testing::check_documented_keys::<SecurityHeadersExtension>(
        docs,
        "security:SecurityHeadersExtension",
    )
    .unwrap_or_else(|problems| panic!("docs/extensions.md: {problems}"));
}
