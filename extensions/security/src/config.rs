use std::collections::BTreeMap;

use beginnings_abi::Error;
use serde::{Deserialize, Deserializer};

/// The extension's configuration. For the single-valued headers `null` drops the header and
/// leaving the key out keeps the default.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityHeadersConfig {
    #[serde(
        default = "defaults::content_type_options",
        deserialize_with = "nullable"
    )]
    pub x_content_type_options: Option<String>,
    #[serde(default = "defaults::frame_options", deserialize_with = "nullable")]
    pub x_frame_options: Option<String>,
    #[serde(default = "defaults::referrer_policy", deserialize_with = "nullable")]
    pub referrer_policy: Option<String>,
    #[serde(
        default = "defaults::strict_transport_security",
        deserialize_with = "nullable"
    )]
    pub strict_transport_security: Option<String>,
    /// HSTS tells browsers to use HTTPS only; sent on requests that arrived over TLS, or on
    /// every answer when the server sits behind a TLS-terminating proxy and this is true.
    #[serde(default)]
    pub hsts_always: bool,
    /// Content-Security-Policy directives: `{default-src: ["'self'"], img-src: ["'self'", "data:"]}`.
    #[serde(default)]
    pub content_security_policy: Option<BTreeMap<String, Vec<String>>>,
    /// Send the policy as `Content-Security-Policy-Report-Only` (violations are reported,
    /// nothing is blocked).
    #[serde(default)]
    pub report_only: bool,
    /// Added to the policy as `report-uri`.
    #[serde(default)]
    pub report_uri: Option<String>,
    /// A fresh nonce per request, added to `script-src` and `style-src` and handed to the
    /// handler and templates as the request value `csp.nonce`.
    #[serde(default)]
    pub nonce: bool,
    /// Permissions-Policy features: `{camera: [], geolocation: [self]}`.
    #[serde(default)]
    pub permissions_policy: Option<BTreeMap<String, Vec<String>>>,
    #[serde(default, deserialize_with = "nullable")]
    pub cross_origin_opener_policy: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub cross_origin_embedder_policy: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub cross_origin_resource_policy: Option<String>,
}

mod defaults {
    pub fn content_type_options() -> Option<String> {
        Some("nosniff".into())
    }
    pub fn frame_options() -> Option<String> {
        Some("DENY".into())
    }
    pub fn referrer_policy() -> Option<String> {
        Some("strict-origin-when-cross-origin".into())
    }
    pub fn strict_transport_security() -> Option<String> {
        Some("max-age=31536000; includeSubDomains".into())
    }
}

fn nullable<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Option::<String>::deserialize(deserializer)
}

/// The headers, validated and rendered once at start-up.
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    /// Sent on every answer.
    pub always: Vec<(&'static str, String)>,
    /// HSTS, sent on TLS requests (or always, with `hsts_always`).
    pub hsts: Option<String>,
    pub hsts_always: bool,
    /// The CSP header name and the policy with `{nonce}` where the nonce goes.
    pub csp: Option<(&'static str, String)>,
    pub nonce: bool,
}

/// The placeholder the per-request nonce replaces in the rendered policy.
pub const NONCE_SLOT: &str = "{nonce}";

fn check_value(key: &str, value: &str) -> Result<(), Error> {
    let visible = value
        .bytes()
        .all(|b| b == b'\t' || (0x20..0x7f).contains(&b));
    if value.is_empty() || !visible {
        return Err(Error::new(format!(
            "{key}: {value:?} is not a valid header value (use visible ASCII, or null to drop the header)"
        )));
    }
    Ok(())
}

fn check_token(key: &str, token: &str) -> Result<(), Error> {
    let safe = |b: u8| b.is_ascii_graphic() && b != b';' && b != b',';
    if token.is_empty() || !token.bytes().all(safe) {
        return Err(Error::new(format!(
            "{key}: {token:?} is not a valid token (visible ASCII without `;` or `,`)"
        )));
    }
    Ok(())
}

impl SecurityHeadersConfig {
    pub fn render(self) -> Result<Rendered, Error> {
        let single = [
            (
                "x_content_type_options",
                "x-content-type-options",
                self.x_content_type_options,
            ),
            ("x_frame_options", "x-frame-options", self.x_frame_options),
            ("referrer_policy", "referrer-policy", self.referrer_policy),
            (
                "cross_origin_opener_policy",
                "cross-origin-opener-policy",
                self.cross_origin_opener_policy,
            ),
            (
                "cross_origin_embedder_policy",
                "cross-origin-embedder-policy",
                self.cross_origin_embedder_policy,
            ),
            (
                "cross_origin_resource_policy",
                "cross-origin-resource-policy",
                self.cross_origin_resource_policy,
            ),
        ];
        let mut rendered = Rendered {
            hsts_always: self.hsts_always,
            nonce: self.nonce,
            ..Rendered::default()
        };
        for (key, header, value) in single {
            if let Some(value) = value {
                check_value(key, &value)?;
                rendered.always.push((header, value));
            }
        }
        if let Some(hsts) = self.strict_transport_security {
            check_value("strict_transport_security", &hsts)?;
            rendered.hsts = Some(hsts);
        }
        if let Some(features) = self.permissions_policy {
            let mut parts = Vec::with_capacity(features.len());
            for (feature, allow) in &features {
                check_token(&format!("permissions_policy.{feature}"), feature)?;
                for (index, origin) in allow.iter().enumerate() {
                    check_token(&format!("permissions_policy.{feature}[{index}]"), origin)?;
                }
                parts.push(format!("{feature}=({})", allow.join(" ")));
            }
            rendered
                .always
                .push(("permissions-policy", parts.join(", ")));
        }
        let mut directives = self.content_security_policy.unwrap_or_default();
        if self.nonce {
            // Nonces only make sense in a policy; default to allowing same-origin scripts.
            for directive in ["script-src", "style-src"] {
                directives
                    .entry(directive.to_string())
                    .or_insert_with(|| vec!["'self'".to_string()])
                    .push(format!("'nonce-{NONCE_SLOT}'"));
            }
        }
        if let Some(uri) = self.report_uri {
            directives.insert("report-uri".into(), vec![uri]);
        }
        if !directives.is_empty() {
            let mut policy = Vec::with_capacity(directives.len());
            for (name, sources) in &directives {
                check_token(&format!("content_security_policy.{name}"), name)?;
                for (index, source) in sources.iter().enumerate() {
                    check_token(&format!("content_security_policy.{name}[{index}]"), source)?;
                }
                policy.push(if sources.is_empty() {
                    name.clone()
                } else {
                    format!("{name} {}", sources.join(" "))
                });
            }
            let header = if self.report_only {
                "content-security-policy-report-only"
            } else {
                "content-security-policy"
            };
            rendered.csp = Some((header, policy.join("; ")));
        } else if self.report_only {
            return Err(Error::new(
                "report_only: there is no content_security_policy to report on",
            ));
        }
        Ok(rendered)
    }
}
