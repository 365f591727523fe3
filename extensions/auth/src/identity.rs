//! Who a request was authenticated as, and the request values that hand it on.

use beginnings_abi::json::Value;
use beginnings_abi::{Error, Request};

/// The request value names the extension sets on every authenticated request.
pub mod values {
    /// `jwt` or `api_key`.
    pub const METHOD: &str = "auth.method";
    /// The JWT `sub` claim, or the API key's name; absent when the token has no `sub`.
    pub const SUBJECT: &str = "auth.subject";
    /// The roles, comma-separated (empty when none).
    pub const ROLES: &str = "auth.roles";
    /// The scopes and permissions, comma-separated (empty when none).
    pub const SCOPES: &str = "auth.scopes";
    /// The verified JWT claims as JSON text; for an API key `{"name", "roles", "scopes"}`.
    pub const CLAIMS: &str = "auth.claims";
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Jwt,
    ApiKey,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Jwt => "jwt",
            Method::ApiKey => "api_key",
        }
    }
}

/// An authenticated principal, built once per verified token or configured key and shared
/// (through the token cache) by every request that presents the same credentials.
#[derive(Debug)]
pub struct Identity {
    pub method: Method,
    pub subject: Option<String>,
    pub roles: Vec<String>,
    pub scopes: Vec<String>,
    /// The JWT `jti` claim: what a revocation by token id names.
    pub jti: Option<String>,
    roles_text: String,
    scopes_text: String,
    claims_text: String,
}

impl Identity {
    pub fn new(
        method: Method,
        subject: Option<String>,
        roles: Vec<String>,
        scopes: Vec<String>,
        claims: &Value,
    ) -> Self {
        let roles = dedup(roles);
        let scopes = dedup(scopes);
        Identity {
            method,
            subject,
            roles_text: roles.join(","),
            scopes_text: scopes.join(","),
            roles,
            scopes,
            jti: claims
                .get("jti")
                .and_then(Value::as_str)
                .map(str::to_string),
            claims_text: claims.to_string(),
        }
    }

    /// Hands the identity to later extensions and the handler.
    pub fn attach(&self, request: &mut Request<'_>) -> Result<(), Error> {
        request.set_value(values::METHOD, self.method.as_str())?;
        if let Some(subject) = &self.subject {
            request.set_value(values::SUBJECT, subject)?;
        }
        request.set_value(values::ROLES, &self.roles_text)?;
        request.set_value(values::SCOPES, &self.scopes_text)?;
        request.set_value(values::CLAIMS, &self.claims_text)
    }
}

/// The strings a claim carries: an array of strings, or one string of names separated by
/// spaces (the OAuth `scope` form) or commas.
pub fn claim_strings(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Value::String(text) => text
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|part| !part.is_empty())
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

fn dedup(items: Vec<String>) -> Vec<String> {
    let mut unique: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        if !unique.contains(&item) {
            unique.push(item);
        }
    }
    unique
}
