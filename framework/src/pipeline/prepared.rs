//! Headers and header names extensions prepare once: checked at start-up, kept for the
//! process, used per request by id with a reference-count bump instead of parsing and copying.

use http::{HeaderName, HeaderValue};
use parking_lot::{RwLock, RwLockReadGuard};

/// Every prepared header; equal ones share an id, so reloads do not grow the table.
static PREPARED: RwLock<Vec<(HeaderName, HeaderValue)>> = RwLock::new(Vec::new());

/// Every prepared header name (ABI 1.2); equal ones share an id.
static NAMES: RwLock<Vec<HeaderName>> = RwLock::new(Vec::new());

pub(crate) fn prepare(name: &str, value: &str) -> Result<u32, String> {
    let (name, value) = crate::loader::views::parse_header(name, value)?;
    let mut table = PREPARED.write();
    if let Some(id) = table.iter().position(|(n, v)| *n == name && *v == value) {
        return Ok(id as u32);
    }
    table.push((name, value));
    Ok((table.len() - 1) as u32)
}

pub(crate) fn get(id: u32) -> Option<(HeaderName, HeaderValue)> {
    PREPARED.read().get(id as usize).cloned()
}

pub(crate) fn prepare_name(name: &str) -> Result<u32, String> {
    let name = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("invalid header name {name:?}"))?;
    let mut table = NAMES.write();
    if let Some(id) = table.iter().position(|known| *known == name) {
        return Ok(id as u32);
    }
    table.push(name);
    Ok((table.len() - 1) as u32)
}

/// The prepared header names, read in place: a lookup by id clones nothing.
pub(crate) fn names() -> RwLockReadGuard<'static, Vec<HeaderName>> {
    NAMES.read()
}
