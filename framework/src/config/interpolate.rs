//! `${VAR}` and `${VAR:-default}` substitution in string values.
//!
//! Runs on the merged tree, after includes and the profile overlay, so a value that an overlay
//! replaces never has to resolve. Keys are never interpolated: they name settings, and a
//! setting whose name depends on the environment cannot be validated.

use super::error::{Problem, push_index, push_key};
use super::node::{Entry, Files, Kind, Node, Text};

/// Looks a variable up; `load` passes the process environment, tests pass a table.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Interpolates every string value under `node`. `path` builds the node's key path; it is
/// only called when a value fails, so a large tree pays nothing for naming its keys.
pub(crate) fn interpolate_tree(
    node: &mut Node,
    path: &dyn Fn() -> String,
    env: EnvLookup<'_>,
    files: &Files,
    problems: &mut Vec<Problem>,
) {
    match &mut node.kind {
        Kind::Map(entries) => {
            for entry in entries {
                let Entry { key, value, .. } = entry;
                let child = || push_key(&path(), key);
                interpolate_tree(value, &child, env, files, problems);
            }
        }
        Kind::Seq(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                let child = || push_index(&path(), i);
                interpolate_tree(item, &child, env, files, problems);
            }
        }
        Kind::Str(text) if text.value.contains('$') => match expand(&text.value, env) {
            Ok(Expanded { value, whole_var }) => {
                *text = Text {
                    value,
                    plain: text.plain,
                    whole_var,
                };
            }
            Err(messages) => {
                let location = files.location(node.span);
                let key_path = path();
                for message in messages {
                    problems.push(Problem::new(
                        Some(location.clone()),
                        key_path.clone(),
                        message,
                    ));
                }
                node.kind = Kind::Invalid;
            }
        },
        _ => {}
    }
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Expanded {
    pub value: String,
    /// The input was exactly one `${..}` reference.
    pub whole_var: bool,
}

/// Expands one string; on failure returns every problem in it, not just the first.
pub(crate) fn expand(input: &str, env: EnvLookup<'_>) -> Result<Expanded, Vec<String>> {
    let mut out = String::with_capacity(input.len());
    let mut errors = Vec::new();
    let mut references = 0usize;
    let mut literal_text = false;
    let mut rest = input;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        literal_text |= pos > 0;
        let after = &rest[pos + 1..];
        if let Some(escaped) = after.strip_prefix("${") {
            // `$${` is how a literal `${` is written.
            out.push_str("${");
            literal_text = true;
            rest = escaped;
        } else if let Some(body_and_rest) = after.strip_prefix('{') {
            let Some(end) = body_and_rest.find('}') else {
                errors.push(format!("unterminated `${{` in `{input}`"));
                return Err(errors);
            };
            references += 1;
            match reference(&body_and_rest[..end], env) {
                Ok(value) => out.push_str(&value),
                Err(message) => errors.push(message),
            }
            rest = &body_and_rest[end + 1..];
        } else {
            out.push('$');
            literal_text = true;
            rest = after;
        }
    }
    out.push_str(rest);
    literal_text |= !rest.is_empty();
    if errors.is_empty() {
        Ok(Expanded {
            value: out,
            whole_var: references == 1 && !literal_text,
        })
    } else {
        Err(errors)
    }
}

fn reference(body: &str, env: EnvLookup<'_>) -> Result<String, String> {
    let (name, default) = match body.split_once(":-") {
        Some((name, default)) => (name, Some(default)),
        None => (body, None),
    };
    if !is_var_name(name) {
        return Err(format!(
            "invalid variable reference `${{{body}}}` (write `${{NAME}}` or `${{NAME:-default}}`)"
        ));
    }
    match (env(name), default) {
        // Shell semantics: `:-` also replaces a variable that is set but empty.
        (Some(value), Some(default)) if value.is_empty() => Ok(default.to_owned()),
        (Some(value), _) => Ok(value),
        (None, Some(default)) => Ok(default.to_owned()),
        (None, None) => Err(format!(
            "environment variable `{name}` is not set and has no default (write `${{{name}:-default}}` to give one)"
        )),
    }
}

fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse::parse;
    use std::path::{Path, PathBuf};

    fn env(name: &str) -> Option<String> {
        match name {
            "HOST" => Some("example.com".into()),
            "PORT" => Some("9000".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn expansion_table() {
        // (input, Ok((value, whole_var)) or Err(first message prefix))
        let ok = |v: &str, w: bool| Ok::<_, &str>((v.to_owned(), w));
        let cases = [
            ("plain", ok("plain", false)),
            ("${HOST}", ok("example.com", true)),
            (
                "http://${HOST}:${PORT}/",
                ok("http://example.com:9000/", false),
            ),
            ("${MISSING:-fallback}", ok("fallback", true)),
            ("${MISSING:-}", ok("", true)),
            ("${EMPTY:-d}", ok("d", true)),
            ("${EMPTY}", ok("", true)),
            ("${PORT:-8000}", ok("9000", true)),
            ("${MISSING:-a:-b}", ok("a:-b", true)),
            ("$${HOST}", ok("${HOST}", false)),
            ("cost: $5", ok("cost: $5", false)),
            ("$", ok("$", false)),
            ("a$${b}${HOST}", ok("a${b}example.com", false)),
            (
                "${MISSING}",
                Err("environment variable `MISSING` is not set and has no default"),
            ),
            ("${HOST", Err("unterminated `${` in `${HOST`")),
            ("${1X}", Err("invalid variable reference `${1X}`")),
            ("${A-b}", Err("invalid variable reference `${A-b}`")),
            ("${}", Err("invalid variable reference `${}`")),
        ];
        for (input, want) in cases {
            let got = expand(input, &env);
            match (got, want) {
                (Ok(e), Ok((value, whole))) => {
                    assert_eq!(
                        (e.value.as_str(), e.whole_var),
                        (value.as_str(), whole),
                        "{input}"
                    )
                }
                (Err(msgs), Err(prefix)) => {
                    assert!(msgs[0].starts_with(prefix), "{input}: {msgs:?}")
                }
                (got, want) => panic!("{input}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn every_missing_variable_in_a_value_is_reported() {
        let errs = expand("${A}-${B}", &env).unwrap_err();
        assert_eq!(errs.len(), 2);
    }

    #[test]
    fn tree_errors_name_the_key_path_and_location() {
        let mut files = Files::default();
        files.add(PathBuf::from("config/app.yaml"));
        let mut node = parse(
            "app:\n  host: ${HOST}\n  name: ${NAME}\nlist:\n  - ${NOPE}\n",
            0,
            Path::new("x"),
        )
        .unwrap();
        let mut problems = Vec::new();
        interpolate_tree(&mut node, &String::new, &env, &files, &mut problems);
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(text.len(), 2);
        assert!(
            text[0].starts_with(
                "config/app.yaml:3:9: app.name: environment variable `NAME` is not set"
            ),
            "{}",
            text[0]
        );
        assert!(
            text[1].starts_with("config/app.yaml:5:5: list[0]: environment variable `NOPE`"),
            "{}",
            text[1]
        );
        assert_eq!(
            node.get("app")
                .unwrap()
                .value
                .get("host")
                .unwrap()
                .value
                .as_str(),
            Some("example.com")
        );
        assert!(
            node.get("app")
                .unwrap()
                .value
                .get("name")
                .unwrap()
                .value
                .is_invalid()
        );
    }
}
