//! A YAML tree that remembers where every key and value was written.
//!
//! Configuration files are parsed into this tree rather than straight into typed structs so
//! that includes and profiles can be merged first and every later error can still name the
//! file, line and column the offending value came from.

use std::path::PathBuf;

use serde_json::Value;

use super::error::Location;

/// A compact position: an index into [`Files`] plus line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub file: u32,
    pub line: u32,
    pub column: u32,
}

/// The files that contributed to a configuration, indexed by [`Span::file`].
#[derive(Debug, Default, Clone)]
pub(crate) struct Files {
    pub paths: Vec<PathBuf>,
}

impl Files {
    pub fn add(&mut self, path: PathBuf) -> u32 {
        self.paths.push(path);
        u32::try_from(self.paths.len() - 1).expect("fewer than 2^32 configuration files")
    }

    pub fn location(&self, span: Span) -> Location {
        Location {
            file: self.paths[span.file as usize].clone(),
            line: span.line as usize,
            column: span.column as usize,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub kind: Kind,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(Text),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
    /// A value whose interpolation failed; the failure is already reported, so validation
    /// skips it instead of piling a second error onto the same key.
    Invalid,
}

#[derive(Debug, Clone)]
pub(crate) struct Text {
    pub value: String,
    /// Written without quotes or block indicators. Only a plain `${VAR}` is typed by YAML
    /// rules after substitution; a quoted one stays a string, which is how a user keeps an
    /// all-digit secret a string.
    pub plain: bool,
    /// The whole value was exactly one `${..}` reference.
    pub whole_var: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub key: String,
    pub key_span: Span,
    pub value: Node,
}

impl Node {
    pub fn empty_map(span: Span) -> Self {
        Self {
            kind: Kind::Map(Vec::new()),
            span,
        }
    }

    pub fn type_name(&self) -> &'static str {
        match &self.kind {
            Kind::Null => "null",
            Kind::Bool(_) => "boolean",
            Kind::Int(_) | Kind::UInt(_) => "integer",
            Kind::Float(_) => "float",
            Kind::Str(_) => "string",
            Kind::Seq(_) => "list",
            Kind::Map(_) => "mapping",
            Kind::Invalid => "invalid value",
        }
    }

    /// The type with its article, for messages: "an integer", "a list".
    pub fn described(&self) -> String {
        match self.type_name() {
            name @ ("integer" | "invalid value") => format!("an {name}"),
            "null" => "null".to_owned(),
            name => format!("a {name}"),
        }
    }

    pub fn as_map(&self) -> Option<&[Entry]> {
        match &self.kind {
            Kind::Map(entries) => Some(entries),
            _ => None,
        }
    }

    #[cfg(test)]
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.as_map()?.iter().find(|e| e.key == key)
    }

    /// An integer, also from a `${VAR}` whose value reads as one (the schema asks for it).
    pub fn as_int(&self) -> Option<i128> {
        match &self.kind {
            Kind::Int(i) => Some(i128::from(*i)),
            Kind::UInt(u) => Some(i128::from(*u)),
            Kind::Str(t) if t.whole_var => t.value.trim().parse().ok(),
            _ => None,
        }
    }

    /// A boolean, also from a `${VAR}` whose value reads as one.
    pub fn as_bool(&self) -> Option<bool> {
        match &self.kind {
            Kind::Bool(b) => Some(*b),
            Kind::Str(t) if t.whole_var => parse_bool(t.value.trim()),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Str(t) => Some(&t.value),
            _ => None,
        }
    }

    pub fn is_invalid(&self) -> bool {
        matches!(self.kind, Kind::Invalid)
    }

    /// The JSON form handed to route settings, extensions and `config show`.
    pub fn to_json(&self) -> Value {
        match &self.kind {
            Kind::Null | Kind::Invalid => Value::Null,
            Kind::Bool(b) => Value::Bool(*b),
            Kind::Int(i) => Value::from(*i),
            Kind::UInt(u) => Value::from(*u),
            Kind::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Kind::Str(t) if t.whole_var && t.plain => resolve_plain(&t.value),
            Kind::Str(t) => Value::String(t.value.clone()),
            Kind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            Kind::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|e| (e.key.clone(), e.value.to_json()))
                    .collect(),
            ),
        }
    }
}

pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// Types a substituted plain value the way YAML would have typed it had it been written
/// literally: `port: ${PORT:-8000}` reads like `port: 8000`.
fn resolve_plain(s: &str) -> Value {
    if let Some(b) = parse_bool(s) {
        return Value::Bool(b);
    }
    if matches!(s, "null" | "Null" | "NULL" | "~") {
        return Value::Null;
    }
    if let Ok(i) = s.parse::<i64>() {
        return Value::from(i);
    }
    if let Ok(u) = s.parse::<u64>() {
        return Value::from(u);
    }
    let looks_numeric = s.bytes().any(|b| b.is_ascii_digit())
        && s.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    if looks_numeric
        && let Ok(f) = s.parse::<f64>()
        && let Some(n) = serde_json::Number::from_f64(f)
    {
        return Value::Number(n);
    }
    Value::String(s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_whole_variables_are_typed_like_yaml() {
        let cases = [
            ("8000", serde_json::json!(8000)),
            ("-3", serde_json::json!(-3)),
            ("1.5", serde_json::json!(1.5)),
            ("true", serde_json::json!(true)),
            ("null", serde_json::json!(null)),
            ("12ab", serde_json::json!("12ab")),
            ("inf", serde_json::json!("inf")),
            ("", serde_json::json!("")),
        ];
        for (s, want) in cases {
            assert_eq!(resolve_plain(s), want, "{s}");
        }
    }
}
