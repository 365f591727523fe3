//! The header accessors of the views: reading headers by name or prepared name, and
//! setting them from text, from prepared headers or several at once by prepared name.

use std::ffi::c_void;

use abi_stable::std_types::{RErr, RNone, ROk, ROption, RResult, RSlice, RSome, RStr, RString};
use beginnings_abi::ffi::HeaderPut;
use http::{HeaderMap, HeaderName, HeaderValue};

use super::{Side, host_panicked, side, side_mut};
use crate::host::guard::guarded;

pub(super) unsafe extern "C" fn header<S: Side>(
    this: *const c_void,
    name: RStr<'_>,
) -> ROption<RSlice<'static, u8>> {
    guarded(
        "header",
        || RNone,
        || {
            // SAFETY: as in `method`.
            let side = unsafe { side::<S>(this) };
            lend(side.headers().get(name.as_str()))
        },
    )
}

pub(super) unsafe extern "C" fn header_nth<S: Side>(
    this: *const c_void,
    name: RStr<'_>,
    index: usize,
) -> ROption<RSlice<'static, u8>> {
    guarded(
        "header_nth",
        || RNone,
        || {
            // SAFETY: as in `method`.
            let side = unsafe { side::<S>(this) };
            lend(side.headers().get_all(name.as_str()).iter().nth(index))
        },
    )
}

pub(super) unsafe extern "C" fn put_prepared<S: Side>(
    this: *mut c_void,
    id: u32,
    append: bool,
) -> bool {
    guarded(
        "put_prepared",
        || false,
        || {
            // SAFETY: as in `set_header`.
            let headers = unsafe { side_mut::<S>(this) }.headers_mut();
            crate::host::prepared::with_header(id, |name, value| {
                put(headers, name.clone(), value.clone(), append).is_ok()
            })
            .unwrap_or(false)
        },
    )
}

pub(super) unsafe extern "C" fn header_by_id<S: Side>(
    this: *const c_void,
    name: u32,
    index: usize,
) -> ROption<RSlice<'static, u8>> {
    guarded(
        "header_by_id",
        || RNone,
        || {
            // SAFETY: as in `method`.
            let side = unsafe { side::<S>(this) };
            crate::host::prepared::with_name(name, |name| {
                lend(side.headers().get_all(name).iter().nth(index))
            })
            .unwrap_or(RNone)
        },
    )
}

pub(super) unsafe extern "C" fn put_headers<S: Side>(
    this: *mut c_void,
    puts: RSlice<'_, HeaderPut<'_>>,
) -> RResult<(), RString> {
    guarded("put_headers", host_panicked, || {
        // SAFETY: as in `set_header`.
        let headers = unsafe { side_mut::<S>(this) }.headers_mut();
        for put in puts.iter() {
            let put_one = crate::host::prepared::with_name(put.name, |name| {
                parse_value(name, put.value.as_str())
                    .and_then(|value| self::put(headers, name.clone(), value, put.append))
            })
            .unwrap_or_else(|| {
                Err(format!(
                    "unknown prepared header name {} (prepare it with this host)",
                    put.name
                ))
            });
            if let Err(message) = put_one {
                return RErr(RString::from(message));
            }
        }
        ROk(())
    })
}

/// A header value found in the message, lent to the extension for the hook.
fn lend(value: Option<&HeaderValue>) -> ROption<RSlice<'static, u8>> {
    match value {
        // SAFETY: the value lives in the message; see `erase`.
        Some(value) => RSome(RSlice::from_slice(unsafe {
            &*(value.as_bytes() as *const [u8])
        })),
        None => RNone,
    }
}

/// A header name and value checked as `http` requires; the errors name what was wrong.
pub(crate) fn parse_header(name: &str, value: &str) -> Result<(HeaderName, HeaderValue), String> {
    let name = parse_name(name)?;
    let value = parse_value(&name, value)?;
    Ok((name, value))
}

/// A header name checked as `http` requires.
pub(crate) fn parse_name(name: &str) -> Result<HeaderName, String> {
    HeaderName::from_bytes(name.as_bytes()).map_err(|_| format!("invalid header name {name:?}"))
}

/// A value for header `name`, checked as `http` requires.
fn parse_value(name: &HeaderName, value: &str) -> Result<HeaderValue, String> {
    HeaderValue::from_str(value).map_err(|_| format!("invalid value for header {name}: {value:?}"))
}

/// Replaces every value of the header (`append` false) or adds one. A map that reached
/// `http`'s limit of entries refuses (its plain `insert`/`append` would panic).
fn put(
    headers: &mut HeaderMap,
    name: HeaderName,
    value: HeaderValue,
    append: bool,
) -> Result<(), String> {
    let outcome = if append {
        headers.try_append(name, value).map(drop)
    } else {
        headers.try_insert(name, value).map(drop)
    };
    outcome.map_err(|_| {
        format!(
            "too many header lines ({}): the message holds as many as it can",
            headers.len()
        )
    })
}

/// # Safety
/// As for [`side_mut`].
unsafe fn put_text<S: Side>(
    this: *mut c_void,
    name: RStr<'_>,
    value: RStr<'_>,
    append: bool,
) -> RResult<(), RString> {
    match parse_header(name.as_str(), value.as_str()) {
        Ok((name, value)) => {
            // SAFETY: guaranteed by the caller.
            put(
                unsafe { side_mut::<S>(this) }.headers_mut(),
                name,
                value,
                append,
            )
            .map_err(RString::from)
            .into()
        }
        Err(message) => RErr(RString::from(message)),
    }
}

pub(super) unsafe extern "C" fn set_header<S: Side>(
    this: *mut c_void,
    name: RStr<'_>,
    value: RStr<'_>,
) -> RResult<(), RString> {
    guarded("set_header", host_panicked, || {
        // SAFETY: as in `method`; hooks that change the message hold the view mutably.
        unsafe { put_text::<S>(this, name, value, false) }
    })
}

pub(super) unsafe extern "C" fn append_header<S: Side>(
    this: *mut c_void,
    name: RStr<'_>,
    value: RStr<'_>,
) -> RResult<(), RString> {
    guarded("append_header", host_panicked, || {
        // SAFETY: as in `set_header`.
        unsafe { put_text::<S>(this, name, value, true) }
    })
}

pub(super) unsafe extern "C" fn remove_header<S: Side>(this: *mut c_void, name: RStr<'_>) -> bool {
    guarded(
        "remove_header",
        || false,
        || {
            // SAFETY: as in `set_header`.
            let side = unsafe { side_mut::<S>(this) };
            side.headers_mut().remove(name.as_str()).is_some()
        },
    )
}
