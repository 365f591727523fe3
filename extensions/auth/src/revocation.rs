//! The revocation list, kept in the host's shared store so that a token revoked through one
//! instance is refused by all of them. Entries expire when the token would have anyway.

use std::sync::Arc;
use std::time::Duration;

use beginnings_abi::json::{Value, json};
use beginnings_abi::{Counter, Error, Host, SharedStore, StoreError};
use sha2::{Digest, Sha256};

use crate::config::{AuthConfig, StorePolicy};
use crate::identity::{Identity, Method};
use crate::jwt::JwtVerifier;
use crate::revoke::Target;

/// How long the `revoke` command waits for the store before giving up.
const COMMAND_WAIT: Duration = Duration::from_secs(5);

pub struct Revocation {
    store: SharedStore,
    host: Host,
    default_ttl: u64,
    leeway: u64,
    pub on_error: StorePolicy,
    /// The path answered by the extension, and the role its callers need.
    pub endpoint: Option<(String, String)>,
    pub store_errors: Counter,
}

/// One entry of the list: its key and how long it must last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub ttl_seconds: u64,
}

impl Revocation {
    pub fn new(config: &AuthConfig, host: Host) -> Result<Option<Self>, Error> {
        let endpoint = match (&config.revoke_path, &config.revoke_role) {
            (None, None) => None,
            (Some(_), None) => {
                return Err(Error::new(
                    "revoke_role: required with revoke_path (the role allowed to revoke tokens)",
                ));
            }
            (None, Some(_)) => {
                return Err(Error::new("revoke_role: set, but revoke_path is not"));
            }
            (Some(path), Some(role)) => {
                if !path.starts_with('/') {
                    return Err(Error::new(format!(
                        "revoke_path: {path:?} must be a path starting with `/`"
                    )));
                }
                if role.is_empty() {
                    return Err(Error::new("revoke_role: must not be empty"));
                }
                Some((path.clone(), role.clone()))
            }
        };
        if !config.revocation {
            return match endpoint {
                Some(_) => Err(Error::new("revoke_path: needs revocation: true")),
                None => Ok(None),
            };
        }
        let Some(jwt) = &config.jwt else {
            return Err(Error::new(
                "revocation: revokes bearer tokens, but no jwt section is configured",
            ));
        };
        if config.revocation_ttl_seconds == 0 {
            return Err(Error::new("revocation_ttl_seconds: must be at least 1"));
        }
        Ok(Some(Revocation {
            store: host.store(),
            host,
            default_ttl: config.revocation_ttl_seconds,
            leeway: jwt.leeway_seconds,
            on_error: config.on_store_error,
            endpoint,
            store_errors: host.counter(
                "revocation_store_errors",
                "revocation checks or revocations the shared store could not answer",
            ),
        }))
    }

    /// The list key a request's token is checked under: its `jti` when it has one (so one
    /// revocation covers every copy of the token), else the token's SHA-256.
    pub fn key_of(identity: &Identity, token: &str) -> Option<String> {
        if identity.method != Method::Jwt {
            return None;
        }
        Some(match &identity.jti {
            Some(jti) => jti_key(jti),
            None => token_key(token),
        })
    }

    pub async fn is_revoked(&self, key: &str) -> Result<bool, StoreError> {
        let found = self.store.get(key).await.map(|value| value.is_some());
        if found.is_err() {
            self.store_errors.add(1);
        }
        found
    }

    /// The entry that revokes `target`; `None` when the token has expired already (nothing
    /// left to revoke). A token is revoked only if this server would accept it, so nobody
    /// can fill the list with made-up tokens of far-away expiry.
    pub fn entry(&self, target: &Target, verifier: &JwtVerifier) -> Result<Option<Entry>, String> {
        match target {
            Target::Jti { jti, ttl } => Ok(Some(Entry {
                key: jti_key(jti),
                ttl_seconds: ttl.unwrap_or(self.default_ttl).max(1),
            })),
            Target::Token(token) => {
                let verified = match verifier.verify(token) {
                    Ok(verified) => verified,
                    Err("the token has expired") => return Ok(None),
                    Err(reason) => return Err(format!("cannot revoke the token: {reason}")),
                };
                let now = self.host.unix_time_ns() / 1_000_000_000;
                // The token is accepted until `exp` plus the leeway; the entry outlives that.
                let ttl_seconds = match verified.expires_at {
                    Some(exp) => exp.saturating_add(self.leeway + 1).saturating_sub(now),
                    None => self.default_ttl,
                };
                let key = match &verified.identity.jti {
                    Some(jti) => jti_key(jti),
                    None => token_key(token),
                };
                Ok(Some(Entry {
                    key,
                    ttl_seconds: ttl_seconds.max(1),
                }))
            }
        }
    }

    pub async fn store(&self, entry: &Entry) -> Result<(), StoreError> {
        let revoked_at = (self.host.unix_time_ns() / 1_000_000_000).to_string();
        let ttl = Duration::from_secs(entry.ttl_seconds);
        let stored = self.store.set(&entry.key, &revoked_at, Some(ttl)).await;
        if stored.is_err() {
            self.store_errors.add(1);
        }
        stored
    }

    /// The `revoke` command: stores the entry and waits for the store's answer. The
    /// command is synchronous, so the write runs on the host's runtime while this thread
    /// waits; call it off the runtime's worker threads (or use `revoke_path`).
    pub fn command(
        self: &Arc<Self>,
        argument: &Value,
        verifier: &JwtVerifier,
    ) -> Result<Value, Error> {
        let target = Target::from_argument(argument)?;
        let Some(entry) = self.entry(&target, verifier).map_err(Error::new)? else {
            return Ok(json!({"revoked": false, "reason": "the token has expired"}));
        };
        let (sender, receiver) = std::sync::mpsc::sync_channel(1);
        let (revocation, job) = (self.clone(), entry.clone());
        let started = self.host.spawn(async move {
            let _ = sender.send(revocation.store(&job).await);
        });
        if !started {
            return Err(Error::new(
                "revoke: the host runs no runtime yet (start the server first)",
            ));
        }
        match receiver.recv_timeout(COMMAND_WAIT) {
            Ok(Ok(())) => Ok(json!({
                "revoked": true,
                "key": entry.key,
                "ttl_seconds": entry.ttl_seconds,
            })),
            Ok(Err(error)) => Err(Error::new(format!("revoke: {error}"))),
            Err(_) => Err(Error::new(format!(
                "revoke: no answer from the shared store within {COMMAND_WAIT:?}"
            ))),
        }
    }
}

fn jti_key(jti: &str) -> String {
    format!("revoked:jti:{jti}")
}

fn token_key(token: &str) -> String {
    format!(
        "revoked:sha256:{}",
        hex::encode(Sha256::digest(token.as_bytes()))
    )
}
