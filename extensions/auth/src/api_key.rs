//! API keys: configured as SHA-256 digests, matched in constant time.

use std::sync::Arc;

use beginnings_abi::Error;
use beginnings_abi::json::json;
use sha2::{Digest, Sha256};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

use crate::config::ApiKeysConfig;
use crate::identity::{Identity, Method};

pub struct ApiKeyStore {
    /// The header name, lowercase.
    header: String,
    keys: Vec<([u8; 32], Arc<Identity>)>,
}

impl ApiKeyStore {
    pub fn new(config: ApiKeysConfig) -> Result<Self, Error> {
        let header = config.header.to_ascii_lowercase();
        if header.is_empty() || !header.bytes().all(is_token_byte) {
            return Err(Error::new(format!(
                "api_keys.header: {:?} is not a valid header name",
                config.header
            )));
        }
        if config.keys.is_empty() {
            return Err(Error::new("api_keys.keys: list at least one key"));
        }
        let mut keys: Vec<([u8; 32], Arc<Identity>)> = Vec::with_capacity(config.keys.len());
        for (index, key) in config.keys.into_iter().enumerate() {
            if key.name.is_empty() {
                return Err(Error::new(format!(
                    "api_keys.keys[{index}].name: must not be empty"
                )));
            }
            let mut digest = [0u8; 32];
            if key.sha256.len() != 64 || hex::decode_to_slice(&key.sha256, &mut digest).is_err() {
                return Err(Error::new(format!(
                    "api_keys.keys[{index}].sha256: expected the key's SHA-256 as 64 hexadecimal \
                     digits (printf %s \"$KEY\" | sha256sum); keys are never configured in plain text"
                )));
            }
            if let Some(other) = keys.iter().position(|(known, _)| *known == digest) {
                return Err(Error::new(format!(
                    "api_keys.keys[{index}].sha256: the same digest as api_keys.keys[{other}]"
                )));
            }
            let claims = json!({"name": key.name, "roles": key.roles, "scopes": key.scopes});
            let identity = Identity::new(
                Method::ApiKey,
                Some(key.name),
                key.roles,
                key.scopes,
                &claims,
            );
            keys.push((digest, Arc::new(identity)));
        }
        Ok(ApiKeyStore { header, keys })
    }

    pub fn header(&self) -> &str {
        &self.header
    }

    /// The identity of a presented key. Every stored digest is compared, each in constant
    /// time, so the time taken says nothing about which digest (or how much of it) matched.
    pub fn find(&self, presented: &str) -> Option<Arc<Identity>> {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let mut matched = Choice::from(0);
        let mut index = 0u32;
        for (position, (known, _)) in self.keys.iter().enumerate() {
            let equal = known.ct_eq(&digest);
            // Key counts are tiny; a position always fits.
            index.conditional_assign(&(position as u32), equal);
            matched |= equal;
        }
        bool::from(matched).then(|| self.keys[index as usize].1.clone())
    }
}

/// RFC 9110 `tchar`.
fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}
