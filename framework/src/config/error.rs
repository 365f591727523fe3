//! Configuration errors: where a problem is (file, line, column, key path) and what it is.

use std::fmt;
use std::path::PathBuf;

/// A position in a configuration file, 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// One thing wrong with a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub location: Option<Location>,
    /// Dotted path to the offending key, e.g. `routes.patterns."/api/*".timeout`; empty when
    /// the problem concerns a whole file.
    pub key_path: String,
    pub message: String,
}

impl Problem {
    pub fn new(
        location: Option<Location>,
        key_path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            location,
            key_path: key_path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(location) = &self.location {
            write!(f, "{location}: ")?;
        }
        if !self.key_path.is_empty() {
            write!(f, "{}: ", self.key_path)?;
        }
        f.write_str(&self.message)
    }
}

/// Every problem found while loading a configuration. A configuration with problems never
/// yields a `Config`, so a server never starts on a half-understood file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

impl ConfigError {
    pub fn single(problem: Problem) -> Self {
        Self {
            problems: vec![problem],
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

/// What a configuration that uses a part of Beginnings this binary was built without is told:
/// `what` (`postgres://`, `redis://`, `rendering templates`) and the cargo feature of
/// `beginnings` that brings it.
pub fn needs_feature(what: &str, feature: &str) -> String {
    format!(
        "{what} needs the beginnings feature \"{feature}\", which this binary was built without \
         (add \"{feature}\" to the features of its `beginnings` dependency)"
    )
}

/// Appends one segment to a dotted key path, quoting segments that would otherwise be
/// ambiguous to read (route paths contain `/`, `*` and `.`).
pub fn push_key(path: &str, segment: &str) -> String {
    let mut out = String::with_capacity(path.len() + segment.len() + 3);
    out.push_str(path);
    if !path.is_empty() {
        out.push('.');
    }
    let needs_quotes = segment.is_empty()
        || segment
            .chars()
            .any(|c| matches!(c, '/' | '*' | '.' | '"') || c.is_whitespace());
    if needs_quotes {
        out.push('"');
        for c in segment.chars() {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
    } else {
        out.push_str(segment);
    }
    out
}

/// Appends a sequence index to a key path: `include[2]`.
pub fn push_index(path: &str, index: usize) -> String {
    format!("{path}[{index}]")
}

/// The closest candidate to a misspelt key, if one is close enough to be a plausible typo.
pub fn did_you_mean<'a>(input: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let limit = (input.chars().count() / 3).max(1);
    candidates
        .iter()
        .map(|c| (edit_distance(&input.to_ascii_lowercase(), c), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// "unknown key" message with a hint when a known key is a near miss.
pub fn unknown_key_message(key: &str, candidates: &[&str]) -> String {
    match did_you_mean(key, candidates) {
        Some(hint) => format!("unknown key `{key}` (did you mean `{hint}`?)"),
        None => format!(
            "unknown key `{key}` (expected one of: {})",
            candidates.join(", ")
        ),
    }
}

/// Edit distance counting a swap of two neighbours as one edit, the commonest typo.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_segments_are_quoted_when_ambiguous() {
        let cases = [
            ("", "app", "app"),
            ("app", "port", "app.port"),
            ("routes.patterns", "/api/*", "routes.patterns.\"/api/*\""),
            ("x", "a.b", "x.\"a.b\""),
            ("x", "POST /users", "x.\"POST /users\""),
            ("extensions", "cors:Cors", "extensions.cors:Cors"),
            ("x", "", "x.\"\""),
        ];
        for (path, seg, want) in cases {
            assert_eq!(push_key(path, seg), want);
        }
        assert_eq!(push_index("include", 2), "include[2]");
    }

    #[test]
    fn did_you_mean_finds_near_misses_only() {
        let keys = [
            "name",
            "host",
            "port",
            "workers",
            "debug",
            "extensions_dir",
            "access_log",
        ];
        assert_eq!(did_you_mean("prot", &keys), Some("port"));
        assert_eq!(did_you_mean("worker", &keys), Some("workers"));
        assert_eq!(did_you_mean("extension_dir", &keys), Some("extensions_dir"));
        assert_eq!(did_you_mean("Debug", &keys), Some("debug"));
        assert_eq!(did_you_mean("templates", &keys), None);
    }

    #[test]
    fn display_joins_location_path_and_message() {
        let loc = Location {
            file: "config/app.yaml".into(),
            line: 14,
            column: 5,
        };
        let p = Problem::new(
            Some(loc),
            "routes.patterns.\"/api/*\".timeout",
            "expected integer",
        );
        assert_eq!(
            p.to_string(),
            "config/app.yaml:14:5: routes.patterns.\"/api/*\".timeout: expected integer"
        );
        let err = ConfigError {
            problems: vec![
                p.clone(),
                Problem::new(None, "", "config file not found: x.yaml"),
            ],
        };
        assert_eq!(err.to_string().lines().count(), 2);
        assert!(err.to_string().ends_with("\nconfig file not found: x.yaml"));
    }
}
