//! Route patterns from `routes.patterns`, compiled once at startup.
//!
//! * a trailing `/*` matches a prefix and everything below it, at any depth: `/api/*`
//!   matches `/api/x`, `/api/v1/users/42` and `/api` itself (what guards a subtree guards
//!   its root too: `/static/*` covers the directory index `/static/` and `/static`);
//! * `*` anywhere else matches exactly one segment: `/api/*/users`;
//! * `**` matches any number of segments, including none: `/api/**` matches `/api` too;
//! * trailing slashes do not matter: `/api/` is `/api`.
//!
//! Patterns are matched against route *templates* (`/users/{id}`), so a `{param}` segment can
//! only be matched by a wildcard: a literal never equals "whatever the client sends".

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    /// `*` in the middle: exactly one segment.
    One,
    /// `**`: zero or more segments.
    Any,
    /// Trailing `*`: zero or more segments, so the prefix itself matches.
    Rest,
}

/// A compiled route pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    source: String,
    segments: Vec<Segment>,
    literal_segments: usize,
    literal_chars: usize,
    /// No `*` or `**` at all: the pattern names one template.
    literal_only: bool,
}

/// Why a pattern can never match a route.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PatternError(String);

impl Pattern {
    pub fn parse(raw: &str) -> Result<Self, PatternError> {
        let parts = split_checked(raw, true)?;
        let last = parts.len().saturating_sub(1);
        let mut segments = Vec::with_capacity(parts.len());
        let (mut literal_segments, mut literal_chars) = (0, 0);
        for (i, part) in parts.iter().enumerate() {
            segments.push(match *part {
                "*" if i == last => Segment::Rest,
                "*" => Segment::One,
                "**" => Segment::Any,
                literal => {
                    literal_segments += 1;
                    literal_chars += literal.len();
                    Segment::Literal(literal.to_owned())
                }
            });
        }
        let literal_only = literal_segments == segments.len();
        Ok(Self {
            source: raw.to_owned(),
            segments,
            literal_segments,
            literal_chars,
            literal_only,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Ordering key: more literal segments, then more literal characters, is more specific;
    /// at a tie, a pattern without wildcards beats one with them (`/api` over `/api/*`,
    /// which both match `/api`).
    pub fn specificity(&self) -> (usize, usize, bool) {
        (self.literal_segments, self.literal_chars, self.literal_only)
    }

    /// Matches a route template such as `/api/users/{id}` (the resolver uses
    /// [`Pattern::matches_segments`]).
    #[cfg(test)]
    pub fn matches(&self, path: &str) -> bool {
        let segments: Vec<&str> = path_segments(path).collect();
        self.matches_segments(&segments)
    }

    /// Matches a template already split with [`path_segments`]; the resolver splits once and
    /// tries every pattern.
    pub fn matches_segments(&self, path: &[&str]) -> bool {
        match_from(&self.segments, path)
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

fn match_from(pattern: &[Segment], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((Segment::Literal(lit), rest)) => {
            path.first().is_some_and(|seg| seg == lit) && match_from(rest, &path[1..])
        }
        Some((Segment::One, rest)) => !path.is_empty() && match_from(rest, &path[1..]),
        Some((Segment::Rest, _)) => true,
        Some((Segment::Any, rest)) => (0..=path.len()).any(|skip| match_from(rest, &path[skip..])),
    }
}

/// The segments of a route template; trailing and doubled slashes are ignored.
pub fn path_segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

/// `/api/users/` -> `/api/users`; `/` stays `/`.
pub fn normalize_path(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// Validates a key of `routes.exact` and returns it normalised. Exact paths are compared with
/// the route template as registered, so `{id}` is allowed here and matches `{id}` only.
pub fn parse_exact(raw: &str) -> Result<String, PatternError> {
    split_checked(raw, false)?;
    Ok(normalize_path(raw))
}

/// Methods accepted in `routes.methods` keys.
pub const METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT",
];

/// Splits a `routes.methods` key, `"POST /api/users"`, into method and normalised path.
pub fn parse_method_key(raw: &str) -> Result<(String, String), PatternError> {
    let Some((method, path)) = raw.trim().split_once(' ') else {
        return Err(PatternError(format!(
            "expected `METHOD /path`, e.g. `POST /api/users`, found `{raw}`"
        )));
    };
    if !METHODS.contains(&method) {
        let upper = method.to_ascii_uppercase();
        let hint = if METHODS.contains(&upper.as_str()) {
            format!(" (write `{upper}`)")
        } else {
            format!(" (expected one of {})", METHODS.join(", "))
        };
        return Err(PatternError(format!("unknown method `{method}`{hint}")));
    }
    Ok((method.to_owned(), parse_exact(path.trim())?))
}

/// Splits and checks a path; `wildcards` says whether `*`/`**` are allowed (patterns) or not
/// (exact paths). Every rejection here is a path that could never match a route.
fn split_checked(raw: &str, wildcards: bool) -> Result<Vec<&str>, PatternError> {
    let fail = |why: String| Err(PatternError(why));
    if !raw.starts_with('/') {
        return fail(format!(
            "`{raw}` can never match: a route path starts with `/`"
        ));
    }
    if let Some(c) = raw
        .chars()
        .find(|c| matches!(c, '?' | '#') || c.is_whitespace())
    {
        return fail(format!(
            "`{raw}` can never match: `{c}` cannot appear in a route path"
        ));
    }
    let body = raw.trim_end_matches('/');
    let parts: Vec<&str> = if body.is_empty() {
        Vec::new()
    } else {
        body[1..].split('/').collect()
    };
    for part in &parts {
        if part.is_empty() {
            return fail(format!(
                "`{raw}` can never match: it has an empty segment (`//`)"
            ));
        }
        let is_wildcard = *part == "*" || *part == "**";
        if is_wildcard && !wildcards {
            return fail(format!(
                "`{raw}`: wildcards belong in routes.patterns; exact paths are literal"
            ));
        }
        if !is_wildcard && part.contains('*') {
            return fail(format!(
                "`{raw}` can never match: `*` and `**` must be a whole segment, not part of `{part}`"
            ));
        }
        if wildcards && (part.contains('{') || part.contains('}')) {
            return fail(format!(
                "`{raw}` can never match: a route parameter like `{part}` is matched by `*` or `**`, never by a literal"
            ));
        }
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_table() {
        // (pattern, path, matches)
        let cases = [
            // trailing /*: the prefix itself and everything below it
            ("/api/*", "/api/x", true),
            ("/api/*", "/api/v1/users/42", true),
            ("/api/*", "/api/users/{id}", true),
            ("/api/*", "/api", true),
            ("/api/*", "/api/", true),
            ("/static/*", "/static/{*path}", true),
            ("/api/*", "/apix/y", false),
            ("/api/*", "/apix", false),
            ("/api/*", "/ap", false),
            ("/api/*", "/", false),
            ("/api/*", "/other/api/x", false),
            ("/*", "/anything/at/all", true),
            ("/*", "/", true),
            // * elsewhere: exactly one segment
            ("/api/*/users", "/api/v1/users", true),
            ("/api/*/users", "/api/{version}/users", true),
            ("/api/*/users", "/api/v1/v2/users", false),
            ("/api/*/users", "/api/users", false),
            ("/api/*/users", "/api/v1/users/42", false),
            // ** any number of segments, including none
            ("/api/**", "/api", true),
            ("/api/**", "/api/a/b/c", true),
            ("/**/health", "/health", true),
            ("/**/health", "/a/b/health", true),
            ("/**/health", "/a/b/health/x", false),
            ("/a/**/z", "/a/z", true),
            ("/a/**/z", "/a/b/c/z", true),
            ("/a/**/z", "/a/b/c", false),
            ("/**", "/", true),
            // literals match literally, and never a parameter
            ("/api/users", "/api/users", true),
            ("/api/users", "/api/users/", true),
            ("/api/users/", "/api/users", true),
            ("/api/users", "/api/users/1", false),
            ("/api/users", "/api/{users}", false),
            ("/api/users", "/API/users", false),
            ("/", "/", true),
            ("/", "/x", false),
            // trailing slash on the pattern is normalised
            ("/api/*/", "/api/x", true),
            ("/api/*/", "/api", true),
            ("/api/*/", "/apix", false),
        ];
        for (pattern, path, want) in cases {
            let p = Pattern::parse(pattern).unwrap();
            assert_eq!(p.matches(path), want, "{pattern} vs {path}");
        }
    }

    #[test]
    fn specificity_table() {
        // each pair: (less specific, more specific)
        let cases = [
            ("/*", "/api/*"),
            ("/api/*", "/api/v1/*"),
            ("/api/**", "/api/users"),
            ("/**/health", "/api/*/health"),
            ("/a/*", "/abc/*"),
            ("/api/*/users", "/api/v1/users"),
            // both match `/api`: the one naming it exactly wins
            ("/api/*", "/api"),
            ("/api/**", "/api"),
            ("/**/api", "/api"),
        ];
        for (low, high) in cases {
            let (l, h) = (Pattern::parse(low).unwrap(), Pattern::parse(high).unwrap());
            assert!(l.specificity() < h.specificity(), "{low} < {high}");
        }
        assert_eq!(
            Pattern::parse("/a/*").unwrap().specificity(),
            Pattern::parse("/a/**").unwrap().specificity()
        );
    }

    #[test]
    fn patterns_that_can_never_match_are_rejected() {
        let cases = [
            ("api/*", "a route path starts with `/`"),
            ("", "a route path starts with `/`"),
            ("/api//x", "empty segment"),
            ("/api/v*", "must be a whole segment"),
            ("/api/***", "must be a whole segment"),
            ("/users/{id}", "never by a literal"),
            ("/a?b", "`?` cannot appear"),
            ("/a b", "cannot appear"),
        ];
        for (pattern, want) in cases {
            let err = Pattern::parse(pattern).unwrap_err().to_string();
            assert!(err.contains(want), "{pattern}: {err}");
        }
    }

    #[test]
    fn exact_and_method_keys() {
        assert_eq!(parse_exact("/api/users/").unwrap(), "/api/users");
        assert_eq!(parse_exact("/users/{id}").unwrap(), "/users/{id}");
        assert_eq!(parse_exact("/").unwrap(), "/");
        assert!(
            parse_exact("/api/*")
                .unwrap_err()
                .to_string()
                .contains("wildcards belong in routes.patterns")
        );
        assert_eq!(
            parse_method_key("POST /api/users").unwrap(),
            ("POST".to_owned(), "/api/users".to_owned())
        );
        let cases = [
            ("post /x", "unknown method `post` (write `POST`)"),
            ("FETCH /x", "unknown method `FETCH` (expected one of"),
            ("/x", "expected `METHOD /path`"),
            ("GET x", "starts with `/`"),
        ];
        for (key, want) in cases {
            let err = parse_method_key(key).unwrap_err().to_string();
            assert!(err.contains(want), "{key}: {err}");
        }
    }
}
