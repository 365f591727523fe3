//! Parsing YAML text into the spanned [`Node`] tree.

use std::fmt;
use std::path::Path;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use super::error::{Location, Problem};
use super::node::{Entry, Kind, Node, Span, Text};

/// Parses one YAML document. `file` is the index the spans will carry and `display` the path
/// used in the error if the text is not valid YAML.
pub(crate) fn parse(text: &str, file: u32, display: &Path) -> Result<Node, Problem> {
    let mut options = serde_saphyr::Options::default();
    options.with_snippet = false;
    options.null_as_string = true;
    let raw: Raw = serde_saphyr::from_str_with_options(text, options).map_err(|e| {
        let location = e.location().filter(|l| l.line() > 0).map(|l| Location {
            file: display.to_path_buf(),
            line: l.line() as usize,
            column: l.column() as usize,
        });
        Problem::new(location, "", format!("invalid yaml: {}", clean_message(&e)))
    })?;
    Ok(convert(raw.0, text, file))
}

/// The parser's message without its own position prefix and tuning advice; the position is
/// given by the [`Problem`] in the project's format.
fn clean_message(e: &serde_saphyr::Error) -> String {
    let full = e.without_snippet().to_string();
    let mut msg = full.trim().trim_start_matches("error: ");
    if let Some(rest) = msg.strip_prefix("line ")
        && let Some(idx) = rest.find(": ")
        && rest[..idx].contains("column")
    {
        msg = &rest[idx + 2..];
    }
    let msg = msg.split(", set DuplicateKeyPolicy").next().unwrap_or(msg);
    msg.lines().next().unwrap_or("").to_owned()
}

fn span_of(loc: &serde_saphyr::Location, file: u32) -> Span {
    Span {
        file,
        line: u32::try_from(loc.line()).unwrap_or(u32::MAX),
        column: u32::try_from(loc.column()).unwrap_or(u32::MAX),
    }
}

/// Whether a scalar was written plain: not quoted, not tagged, not a block scalar. Only
/// strings that may hold `${..}` are asked, the others never need it.
fn is_plain(text: &str, loc: &serde_saphyr::Location) -> bool {
    let Some(start) = loc
        .span()
        .byte_offset()
        .and_then(|o| usize::try_from(o).ok())
    else {
        return true;
    };
    let bytes = text.as_bytes();
    if matches!(bytes.get(start), Some(b'"' | b'\'' | b'!')) {
        return false;
    }
    // A block scalar's span starts at its content; its `|` or `>` header (with optional
    // chomping and indentation indicators) is the last thing before it.
    let before = bytes[..start.min(bytes.len())].trim_ascii_end();
    let header = before
        .iter()
        .rev()
        .find(|b| !matches!(b, b'-' | b'+' | b'0'..=b'9'));
    !matches!(header, Some(b'|' | b'>'))
}

fn convert(raw: Spanned<RawKind>, text: &str, file: u32) -> Node {
    let span = span_of(&raw.referenced, file);
    let kind = match raw.value {
        RawKind::Null => Kind::Null,
        RawKind::Bool(b) => Kind::Bool(b),
        RawKind::Int(i) => Kind::Int(i),
        RawKind::UInt(u) => Kind::UInt(u),
        RawKind::Float(f) => Kind::Float(f),
        RawKind::Str(value) => {
            let plain = value.contains('$') && is_plain(text, &raw.defined);
            Kind::Str(Text {
                value,
                plain,
                whole_var: false,
            })
        }
        RawKind::Seq(items) => Kind::Seq(
            items
                .into_iter()
                .map(|n| convert(n.0, text, file))
                .collect(),
        ),
        RawKind::Map(entries) => Kind::Map(
            entries
                .into_iter()
                .map(|(k, v)| Entry {
                    key: k.value,
                    key_span: span_of(&k.referenced, file),
                    value: convert(v.0, text, file),
                })
                .collect(),
        ),
    };
    Node { kind, span }
}

/// The parser-facing tree: what the YAML deserializer hands over, before file ids and
/// quoting information are attached.
struct Raw(Spanned<RawKind>);

enum RawKind {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Raw>),
    Map(Vec<(Spanned<String>, Raw)>),
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Spanned::<RawKind>::deserialize(d).map(Raw)
    }
}

impl<'de> Deserialize<'de> for RawKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = RawKind;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any yaml value")
    }
    fn visit_unit<E>(self) -> Result<RawKind, E> {
        Ok(RawKind::Null)
    }
    fn visit_none<E>(self) -> Result<RawKind, E> {
        Ok(RawKind::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<RawKind, D::Error> {
        RawKind::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<RawKind, E> {
        Ok(RawKind::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<RawKind, E> {
        Ok(RawKind::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<RawKind, E> {
        Ok(RawKind::UInt(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<RawKind, E> {
        Ok(RawKind::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<RawKind, E> {
        Ok(RawKind::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<RawKind, E> {
        Ok(RawKind::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawKind, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(RawKind::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawKind, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0));
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            let value: Raw = map.next_value()?;
            entries.push((key, value));
        }
        Ok(RawKind::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Node {
        parse(text, 0, Path::new("t.yaml")).unwrap()
    }

    #[test]
    fn keys_and_values_carry_line_and_column() {
        let n = p("app:\n  port: 8000\n  name: \"x\"\n");
        let app = n.get("app").unwrap();
        assert_eq!((app.key_span.line, app.key_span.column), (1, 1));
        let port = app.value.get("port").unwrap();
        assert_eq!((port.key_span.line, port.key_span.column), (2, 3));
        assert_eq!((port.value.span.line, port.value.span.column), (2, 9));
        assert_eq!(port.value.as_int(), Some(8000));
    }

    #[test]
    fn quoting_is_remembered() {
        let n = p("a: ${X}\nb: \"${X}\"\nc: '${X}'\nd: |\n  ${X}\n");
        let plain = |k: &str| match &n.get(k).unwrap().value.kind {
            Kind::Str(t) => t.plain,
            other => panic!("{other:?}"),
        };
        assert!(plain("a"));
        assert!(!plain("b"));
        assert!(!plain("c"));
        assert!(!plain("d"));
    }

    #[test]
    fn parse_errors_name_file_line_and_column() {
        let cases = [
            (
                "a: 1\na: 2\n",
                "t.yaml:2:1: invalid yaml: duplicate mapping key: a",
            ),
            ("a: [1\nb: 2\n", "t.yaml:2:2: invalid yaml: "),
        ];
        for (text, want) in cases {
            let err = parse(text, 0, Path::new("t.yaml")).unwrap_err().to_string();
            assert!(err.starts_with(want), "{err:?} should start with {want:?}");
        }
    }

    #[test]
    fn empty_document_is_null_and_anchors_expand() {
        assert!(matches!(p("").kind, Kind::Null));
        assert!(matches!(p("# nothing\n").kind, Kind::Null));
        let n = p("a: &x {k: 1}\nb: *x\nc:\n  <<: *x\n  z: 2\n");
        assert_eq!(
            n.to_json(),
            serde_json::json!({"a": {"k": 1}, "b": {"k": 1}, "c": {"k": 1, "z": 2}})
        );
    }
}
