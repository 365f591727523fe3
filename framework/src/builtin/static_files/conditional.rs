//! Validators (`ETag`, `Last-Modified`) and the conditional request headers
//! (`If-None-Match`, `If-Modified-Since`, `If-Range`).

use std::fs::Metadata;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderValue, header};

/// The validators of one representation of a file.
#[derive(Debug, Clone)]
pub(crate) struct Validators {
    /// A strong entity tag with its quotes: `"1f4-17c2a9e3b0d1c000"`.
    pub etag: String,
    /// Whole seconds, as HTTP dates carry them.
    pub modified: Option<SystemTime>,
}

impl Validators {
    /// From size and modification time (to the nanosecond): a change to the file changes the
    /// tag. `variant` tells encodings of the same file apart (`gz`).
    pub fn of(metadata: &Metadata, variant: Option<&str>) -> Self {
        let modified = metadata.modified().ok();
        let nanos = modified
            .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        let suffix = variant.map(|v| format!("-{v}")).unwrap_or_default();
        Validators {
            etag: format!("\"{:x}-{nanos:x}{suffix}\"", metadata.len()),
            modified: modified.map(whole_seconds),
        }
    }

    pub fn headers(&self, headers: &mut HeaderMap) {
        if let Ok(value) = HeaderValue::from_str(&self.etag) {
            headers.insert(header::ETAG, value);
        }
        if let Some(modified) = self.modified
            && let Ok(value) = HeaderValue::from_str(&httpdate::fmt_http_date(modified))
        {
            headers.insert(header::LAST_MODIFIED, value);
        }
    }

    /// Whether the client's copy is current, so `304 Not Modified` answers. `If-None-Match`
    /// wins over `If-Modified-Since` when both are sent.
    pub fn not_modified(&self, request: &HeaderMap) -> bool {
        if let Some(value) = request.get(header::IF_NONE_MATCH) {
            let Ok(value) = value.to_str() else {
                return false;
            };
            return value
                .split(',')
                .map(str::trim)
                .any(|tag| tag == "*" || opaque(tag) == opaque(&self.etag));
        }
        match (
            self.modified,
            http_date(request.get(header::IF_MODIFIED_SINCE)),
        ) {
            (Some(modified), Some(since)) => modified <= since,
            _ => false,
        }
    }

    /// Whether a `Range` may be answered: no `If-Range`, or one naming this very version
    /// (strong tag comparison, or the exact `Last-Modified` date).
    pub fn range_applies(&self, request: &HeaderMap) -> bool {
        let Some(value) = request.get(header::IF_RANGE) else {
            return true;
        };
        let Ok(text) = value.to_str() else {
            return false;
        };
        let text = text.trim();
        if text.starts_with('"') {
            return text == self.etag;
        }
        if text.starts_with("W/") {
            return false;
        }
        matches!((self.modified, http_date(Some(value))), (Some(m), Some(d)) if m == d)
    }
}

/// The tag without a weak marker: `If-None-Match` compares weakly.
fn opaque(tag: &str) -> &str {
    tag.strip_prefix("W/").unwrap_or(tag)
}

fn http_date(value: Option<&HeaderValue>) -> Option<SystemTime> {
    httpdate::parse_http_date(value?.to_str().ok()?.trim()).ok()
}

fn whole_seconds(time: SystemTime) -> SystemTime {
    match time.duration_since(UNIX_EPOCH) {
        Ok(since) => UNIX_EPOCH + Duration::from_secs(since.as_secs()),
        Err(_) => time,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validators() -> Validators {
        Validators {
            etag: "\"a-1\"".to_owned(),
            modified: Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
        }
    }

    fn request(pairs: &[(header::HeaderName, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(name.clone(), HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn tags_compare_weakly_and_tags_win_over_dates() {
        let v = validators();
        assert!(v.not_modified(&request(&[(header::IF_NONE_MATCH, "\"x\", W/\"a-1\"")])));
        assert!(v.not_modified(&request(&[(header::IF_NONE_MATCH, "*")])));
        let stale_tag_fresh_date = request(&[
            (header::IF_NONE_MATCH, "\"x\""),
            (header::IF_MODIFIED_SINCE, "Wed, 15 Nov 2023 00:00:00 GMT"),
        ]);
        assert!(!v.not_modified(&stale_tag_fresh_date));
        let date = |d| request(&[(header::IF_MODIFIED_SINCE, d)]);
        assert!(v.not_modified(&date("Tue, 14 Nov 2023 22:13:20 GMT")));
        assert!(!v.not_modified(&date("Tue, 14 Nov 2023 22:13:19 GMT")));
        assert!(!v.not_modified(&date("yesterday")));
    }

    #[test]
    fn if_range_needs_a_strong_match() {
        let v = validators();
        assert!(v.range_applies(&request(&[])));
        assert!(v.range_applies(&request(&[(header::IF_RANGE, "\"a-1\"")])));
        assert!(!v.range_applies(&request(&[(header::IF_RANGE, "W/\"a-1\"")])));
        assert!(!v.range_applies(&request(&[(header::IF_RANGE, "\"b\"")])));
        let date = "Tue, 14 Nov 2023 22:13:20 GMT";
        assert!(v.range_applies(&request(&[(header::IF_RANGE, date)])));
    }
}
