//! Headers extensions prepare once: checked at start-up, kept for the process, set per
//! request by id with a reference-count bump instead of parsing and copying.

use http::{HeaderName, HeaderValue};
use parking_lot::RwLock;

/// Every prepared header; equal ones share an id, so reloads do not grow the table.
static PREPARED: RwLock<Vec<(HeaderName, HeaderValue)>> = RwLock::new(Vec::new());

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
