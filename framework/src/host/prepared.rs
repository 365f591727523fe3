//! Headers and header names extensions prepare once: checked at start-up, kept for the
//! process, used per request by id: a pointer copied instead of text parsed and copied.

use std::cell::RefCell;

use http::{HeaderName, HeaderValue};
use parking_lot::RwLock;

use crate::grow_only;

/// Every prepared header; equal ones share an id, so reloads do not grow the table.
static PREPARED: RwLock<Vec<(HeaderName, HeaderValue)>> = RwLock::new(Vec::new());

/// Every prepared header name (ABI 1.2); equal ones share an id.
static NAMES: RwLock<Vec<HeaderName>> = RwLock::new(Vec::new());

pub(crate) fn prepare(name: &str, value: &str) -> Result<u32, String> {
    let (name, value) = crate::host::views::parse_header(name, value)?;
    Ok(intern(
        &mut PREPARED.write(),
        (name, value),
        |(name, value)| (kept_name(&name), kept_value(value)),
    ))
}

/// The id of `entry` in `table`: the id of an equal entry already there, else of `entry`
/// added as `keep` makes it.
fn intern<T: PartialEq>(table: &mut Vec<T>, entry: T, keep: impl FnOnce(T) -> T) -> u32 {
    if let Some(id) = table.iter().position(|known| *known == entry) {
        return id as u32;
    }
    table.push(keep(entry));
    (table.len() - 1) as u32
}

// A prepared header is kept for the rest of the process (equal ones share an entry), so its
// text is made `'static`: setting it on an answer then copies a pointer, where a shared
// buffer would cost two atomic reference-count changes per header per request.

fn kept_name(name: &HeaderName) -> HeaderName {
    let text: &'static str = Box::leak(name.as_str().into());
    // `as_str` is the checked, lowercase form `from_static` accepts.
    HeaderName::from_static(text)
}

fn kept_value(value: HeaderValue) -> HeaderValue {
    let Ok(text) = value.to_str() else {
        // Not visible ASCII (`from_static` takes only that): kept as it was checked.
        return value;
    };
    let text: &'static str = Box::leak(text.into());
    let mut kept = HeaderValue::from_static(text);
    kept.set_sensitive(value.is_sensitive());
    kept
}

thread_local! {
    // Each thread's copy of the two tables (`crate::grow_only`): a read lock cost two atomic
    // operations for every header an extension set (nine on each request of the
    // benchmark's five).
    static HEADERS: RefCell<Vec<(HeaderName, HeaderValue)>> = const { RefCell::new(Vec::new()) };
    static HEADER_NAMES: RefCell<Vec<HeaderName>> = const { RefCell::new(Vec::new()) };
}

/// `read` given the prepared header `id`; none for an unknown id.
pub(crate) fn with_header<R>(
    id: u32,
    read: impl FnOnce(&HeaderName, &HeaderValue) -> R,
) -> Option<R> {
    grow_only::read(&HEADERS, &PREPARED, id, |(name, value)| read(name, value))
}

pub(crate) fn prepare_name(name: &str) -> Result<u32, String> {
    let name = crate::host::views::parse_name(name)?;
    Ok(intern(&mut NAMES.write(), name, |name| kept_name(&name)))
}

/// `read` given the prepared header name `id` (its clone copies a pointer: the text is
/// `'static`); none for an unknown id.
pub(crate) fn with_name<R>(id: u32, read: impl FnOnce(&HeaderName) -> R) -> Option<R> {
    grow_only::read(&HEADER_NAMES, &NAMES, id, read)
}
