//! The values extensions attach to a request, which the handler reads.

/// Values extensions attach to a request for later extensions and the handler. Names and
/// values share one text buffer kept inline, so a typical request's values (a subject, a
/// nonce) cost no allocation, and the handler's copy is a plain copy; a value set again
/// shadows the earlier one.
#[derive(Debug, Clone, Default)]
pub(crate) struct RequestValues {
    text: smallvec::SmallVec<[u8; VALUES_INLINE_TEXT]>,
    /// (name start, name end = value start, value end) in `text`, in the order set.
    entries: smallvec::SmallVec<[(u32, u32, u32); VALUES_INLINE_ENTRIES]>,
}

/// Bytes of names and values, and values, a request holds before its values allocate. Eight
/// values: the auth extension attaches five (method, subject, roles, scopes, claims), and at
/// four the fifth cost an allocation on every request, and the handler's copy another.
const VALUES_INLINE_TEXT: usize = 192;
const VALUES_INLINE_ENTRIES: usize = 8;

/// The values the extensions in front of a tower service attached to its request
/// (`auth.subject`, `csp.nonce`), given to the service in the request's extensions when
/// there are any: an axum handler reads them with `Extension<ExtensionValues>`.
///
/// ```
/// use axum::Extension;
/// use beginnings::routing::ExtensionValues;
///
/// async fn me(values: Option<Extension<ExtensionValues>>) -> String {
///     let subject = values.as_ref().and_then(|values| values.get("auth.subject"));
///     subject.unwrap_or("nobody").to_string()
/// }
/// ```
#[derive(Debug, Clone)]
pub struct ExtensionValues(pub(crate) RequestValues);

impl ExtensionValues {
    /// The value an extension set under `name` (the last one, when set twice).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name)
    }
}

impl RequestValues {
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .rev()
            .find(|(start, middle, _)| self.slice(*start, *middle) == name)
            .map(|(_, middle, end)| self.slice(*middle, *end))
    }

    /// Text `set` stored from whole `&str`s, so every recorded boundary is a char boundary.
    fn slice(&self, start: u32, end: u32) -> &str {
        std::str::from_utf8(&self.text[start as usize..end as usize]).unwrap_or("")
    }

    pub(crate) fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
        let start = self.text.len();
        let end = start + name.len() + value.len();
        let Ok(end) = u32::try_from(end) else {
            return Err(format!(
                "value {name:?} does not fit in the request's values"
            ));
        };
        self.text.extend_from_slice(name.as_bytes());
        let middle = self.text.len() as u32;
        self.text.extend_from_slice(value.as_bytes());
        self.entries.push((start as u32, middle, end));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::RequestValues;

    #[test]
    fn a_value_set_again_replaces_the_earlier_one() {
        let mut values = RequestValues::default();
        values.set("auth.subject", "ada").unwrap();
        values.set("csp.nonce", "abc").unwrap();
        values.set("auth.subject", "grace").unwrap();
        assert_eq!(values.get("auth.subject"), Some("grace"));
        assert_eq!(values.get("csp.nonce"), Some("abc"));
        assert_eq!(values.get("auth"), None);
        assert_eq!(values.get("auth.subjectgrace"), None);
    }
}
