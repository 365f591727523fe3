use beginnings_abi::Error;
use serde::{Deserialize, Deserializer};

/// Each header's value; `null` in YAML drops the header, leaving the key out keeps the default.
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

impl SecurityHeadersConfig {
    /// The headers to add, checked once here so the filter never meets an invalid value.
    pub fn into_headers(self) -> Result<Vec<(&'static str, String)>, Error> {
        let candidates = [
            (
                "x_content_type_options",
                "x-content-type-options",
                self.x_content_type_options,
            ),
            ("x_frame_options", "x-frame-options", self.x_frame_options),
            ("referrer_policy", "referrer-policy", self.referrer_policy),
            (
                "strict_transport_security",
                "strict-transport-security",
                self.strict_transport_security,
            ),
        ];
        let mut headers = Vec::with_capacity(candidates.len());
        for (key, header, value) in candidates {
            let Some(value) = value else { continue };
            if value.is_empty()
                || !value
                    .bytes()
                    .all(|b| b == b'\t' || (0x20..0x7f).contains(&b))
            {
                return Err(Error::new(format!(
                    "{key}: {value:?} is not a valid header value (use visible ASCII, or null to drop the header)"
                )));
            }
            headers.push((header, value));
        }
        Ok(headers)
    }
}
