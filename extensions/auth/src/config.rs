//! The configuration as written under `extensions: "auth:AuthExtension":`.

use std::path::PathBuf;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// Bearer JWT verification; absent means bearer tokens are refused.
    #[serde(default)]
    pub jwt: Option<JwtConfig>,
    /// API keys; absent means the API-key header is ignored.
    #[serde(default)]
    pub api_keys: Option<ApiKeysConfig>,
    /// The `realm` of every `WWW-Authenticate` challenge.
    #[serde(default = "defaults::realm")]
    pub realm: String,
    /// Keep verified tokens so each token's signature is checked once.
    #[serde(default)]
    pub cache_tokens: bool,
    #[serde(default = "defaults::cache_max_entries")]
    pub cache_max_entries: usize,
    /// How long a verified token stays cached; never beyond its `exp`.
    #[serde(default = "defaults::cache_ttl_seconds")]
    pub cache_ttl_seconds: u64,
    /// Where requests that prefer HTML are sent when they lack valid credentials.
    #[serde(default)]
    pub login_url: Option<String>,
    /// The query parameter of `login_url` that carries the path to return to.
    #[serde(default = "defaults::login_return_param")]
    pub login_return_param: String,
    /// Check every bearer token against the revocation list in the host's shared store.
    #[serde(default)]
    pub revocation: bool,
    /// How long a revocation by `jti` (or of a token without `exp`) is kept.
    #[serde(default = "defaults::revocation_ttl_seconds")]
    pub revocation_ttl_seconds: u64,
    /// What a request gets when the revocation list cannot be read.
    #[serde(default)]
    pub on_store_error: StorePolicy,
    /// A path the extension answers itself: `POST` revokes a token (needs `revoke_role`).
    #[serde(default)]
    pub revoke_path: Option<String>,
    /// The role a caller of `revoke_path` needs.
    #[serde(default)]
    pub revoke_role: Option<String>,
}

/// `on_store_error: open | closed`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StorePolicy {
    /// Accept the token unchecked: a revoked token may pass while the store is down.
    Open,
    /// Answer 503: a revoked token never passes silently.
    #[default]
    Closed,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtConfig {
    /// The accepted `alg` values; a token whose header names another is refused.
    pub algorithms: Vec<String>,
    /// The shared secret (its UTF-8 bytes) for HS256, HS384 and HS512.
    #[serde(default)]
    pub secret: Option<String>,
    /// An inline PEM public key for RS*, PS*, ES* or EdDSA.
    #[serde(default)]
    pub public_key: Option<String>,
    /// A file holding the PEM public key (read once at start-up).
    #[serde(default)]
    pub public_key_file: Option<PathBuf>,
    /// Accepted issuers; when set, `iss` is required and must be one of them.
    #[serde(default)]
    pub issuer: Option<OneOrMany>,
    /// Accepted audiences; when set, `aud` is required and must name one of them.
    #[serde(default)]
    pub audience: Option<OneOrMany>,
    /// Clock skew allowed on `exp` and `nbf`, in seconds.
    #[serde(default = "defaults::leeway_seconds")]
    pub leeway_seconds: u64,
    /// Whether a token without `exp` is refused.
    #[serde(default = "defaults::yes")]
    pub require_exp: bool,
    /// Claims whose values are the subject's roles (all present are merged).
    #[serde(default = "defaults::roles_claims")]
    pub roles_claims: Vec<String>,
    /// Claims whose values are the subject's scopes or permissions (all are merged).
    #[serde(default = "defaults::scopes_claims")]
    pub scopes_claims: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeysConfig {
    /// The request header carrying the key.
    #[serde(default = "defaults::api_key_header")]
    pub header: String,
    pub keys: Vec<ApiKeyConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyConfig {
    /// Who the key belongs to; becomes `auth.subject`.
    pub name: String,
    /// The SHA-256 of the key, 64 hexadecimal digits; the key itself is never configured.
    pub sha256: String,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
}

/// A string or a list of strings.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(one) => vec![one],
            OneOrMany::Many(many) => many,
        }
    }
}

mod defaults {
    pub fn realm() -> String {
        "api".into()
    }
    pub fn cache_max_entries() -> usize {
        10_000
    }
    pub fn cache_ttl_seconds() -> u64 {
        300
    }
    pub fn login_return_param() -> String {
        "next".into()
    }
    pub fn leeway_seconds() -> u64 {
        60
    }
    pub fn yes() -> bool {
        true
    }
    pub fn roles_claims() -> Vec<String> {
        vec!["roles".into()]
    }
    pub fn scopes_claims() -> Vec<String> {
        vec!["scope".into(), "scp".into(), "permissions".into()]
    }
    pub fn revocation_ttl_seconds() -> u64 {
        86_400
    }
    pub fn api_key_header() -> String {
        "x-api-key".into()
    }
}

/// Characters allowed inside a quoted `WWW-Authenticate` parameter (RFC 6750 §3).
pub fn is_quotable(text: &str) -> bool {
    text.bytes()
        .all(|b| matches!(b, 0x20 | 0x21 | 0x23..=0x5b | 0x5d..=0x7e))
}
