//! The keys of an extension's configuration that the host reads itself (`enabled`,
//! `priority`, `sha256`, `breaker`); the rest goes to the extension.

use std::time::Duration;

use serde_json::{Map, Value};

use super::LoadErrorKind;
use super::breaker::BreakerPolicy;

const HOST_KEYS: [&str; 4] = ["enabled", "priority", "sha256", "breaker"];

#[derive(Debug, Clone)]
pub(crate) struct HostSettings {
    pub enabled: bool,
    /// Lower runs earlier; extensions with equal priority keep their listed order.
    pub priority: i64,
    /// The expected SHA-256 of the library file, lowercase hex.
    pub sha256: Option<String>,
    pub breaker: BreakerPolicy,
}

fn rejected(message: String) -> LoadErrorKind {
    LoadErrorKind::ConfigRejected { message }
}

/// Splits the host's keys off an extension's configuration.
pub(crate) fn split(config: &Value) -> Result<(HostSettings, Value), LoadErrorKind> {
    let Value::Object(map) = config else {
        return Err(rejected(format!(
            "expected a mapping of settings, found {config}"
        )));
    };
    let enabled = match map.get("enabled") {
        None => true,
        Some(Value::Bool(enabled)) => *enabled,
        Some(other) => {
            return Err(rejected(format!(
                "enabled: expected true or false, found {other}"
            )));
        }
    };
    let priority = match map.get("priority") {
        None => 0,
        Some(value) => value
            .as_i64()
            .ok_or_else(|| rejected(format!("priority: expected an integer, found {value}")))?,
    };
    let sha256 = match map.get("sha256") {
        None => None,
        Some(Value::String(hex))
            if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            Some(hex.to_ascii_lowercase())
        }
        Some(other) => {
            return Err(rejected(format!(
                "sha256: expected 64 hexadecimal digits, found {other}"
            )));
        }
    };
    let breaker = match map.get("breaker") {
        None => BreakerPolicy::default(),
        Some(Value::Object(breaker)) => breaker_policy(breaker)?,
        Some(other) => {
            return Err(rejected(format!(
                "breaker: expected {{panics: N, window_seconds: S}}, found {other}"
            )));
        }
    };
    let mut rest = map.clone();
    for key in HOST_KEYS {
        rest.remove(key);
    }
    Ok((
        HostSettings {
            enabled,
            priority,
            sha256,
            breaker,
        },
        Value::Object(rest),
    ))
}

fn breaker_policy(map: &Map<String, Value>) -> Result<BreakerPolicy, LoadErrorKind> {
    let mut policy = BreakerPolicy::default();
    for (key, value) in map {
        match key.as_str() {
            "panics" => {
                policy.panics = value
                    .as_u64()
                    .filter(|n| (1..=u32::MAX as u64).contains(n))
                    .ok_or_else(|| {
                        rejected(format!(
                            "breaker.panics: expected a count >= 1, found {value}"
                        ))
                    })? as u32;
            }
            "window_seconds" => {
                let seconds = value.as_f64().filter(|s| *s > 0.0).ok_or_else(|| {
                    rejected(format!(
                        "breaker.window_seconds: expected a positive number, found {value}"
                    ))
                })?;
                policy.window = Duration::from_secs_f64(seconds);
            }
            other => {
                return Err(rejected(format!(
                    "breaker.{other}: unknown key (expected panics, window_seconds)"
                )));
            }
        }
    }
    Ok(policy)
}
