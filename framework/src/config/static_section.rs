//! The `static:` section: directories served as files under URL prefixes.
//!
//! ```yaml
//! static:
//!   directories:
//!     - url_path: /static            # required; the URL prefix
//!       directory: static            # required; relative to this configuration file
//!       cache_control: "public, max-age=3600"
//!       gzip: false                  # serve file.gz siblings or compress text on the fly
//!       max_file_size: 10485760      # bytes; larger files are answered 404 (no limit when absent)
//!       serve_dotfiles: false        # `.env`, `.git/` and other hidden paths answer 404
//! ```
//!
//! Every key is checked: an unknown one is an error naming it, so a typo never silently
//! turns static serving off.

use std::path::{Path, PathBuf};

use super::error::{Location, push_index, push_key, unknown_key_message};
use super::node::{Entry, Kind, Node};
use super::validate::{Ctx, set_bool, set_string};

/// `static:`, validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StaticConfig {
    pub directories: Vec<StaticDirectory>,
}

/// One entry of `static.directories`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticDirectory {
    /// The URL prefix without a trailing slash (`/static`), or `/`.
    pub url_path: String,
    /// Already resolved against the main configuration file's directory.
    pub directory: PathBuf,
    pub cache_control: String,
    pub gzip: bool,
    /// Files larger than this many bytes are not served.
    pub max_file_size: Option<u64>,
    /// Serve paths with a segment starting with `.`; off by default (`.well-known` is
    /// served either way).
    pub serve_dotfiles: bool,
    /// Where the entry was written.
    pub location: Location,
}

/// `Cache-Control` of static files unless `cache_control` says otherwise.
pub const DEFAULT_CACHE_CONTROL: &str = "public, max-age=3600";

pub(crate) const STATIC_KEYS: &[&str] = &["directories"];
pub(crate) const DIRECTORY_KEYS: &[&str] = &[
    "url_path",
    "directory",
    "cache_control",
    "gzip",
    "max_file_size",
    "serve_dotfiles",
];

pub(crate) fn static_section(
    entry: Option<&Entry>,
    base_dir: &Path,
    ctx: &mut Ctx<'_>,
) -> Option<StaticConfig> {
    let entry = entry?;
    let mut config = StaticConfig::default();
    let fields = ctx.map_entries(entry, "static", "a mapping with `directories`")?;
    for field in fields {
        let path = push_key("static", &field.key);
        if field.value.is_invalid() {
            continue;
        }
        match field.key.as_str() {
            "directories" => match &field.value.kind {
                Kind::Seq(items) => {
                    for (index, item) in items.iter().enumerate() {
                        let item_path = push_index(&path, index);
                        if let Some(directory) = directory(item, &item_path, base_dir, ctx) {
                            if config
                                .directories
                                .iter()
                                .any(|d| d.url_path == directory.url_path)
                            {
                                let message =
                                    format!("url_path `{}` is served twice", directory.url_path);
                                ctx.report(item.span, &item_path, message);
                            }
                            config.directories.push(directory);
                        }
                    }
                }
                Kind::Null => {}
                _ => ctx.wrong_type(field, &path, "a list of directories"),
            },
            other => ctx.report(
                field.key_span,
                &path,
                unknown_key_message(other, STATIC_KEYS),
            ),
        }
    }
    Some(config)
}

fn directory(
    item: &Node,
    path: &str,
    base_dir: &Path,
    ctx: &mut Ctx<'_>,
) -> Option<StaticDirectory> {
    let Some(fields) = item.as_map() else {
        let message = format!(
            "expected a mapping with url_path and directory, found {}",
            item.described()
        );
        ctx.report(item.span, path, message);
        return None;
    };
    let mut out = StaticDirectory {
        url_path: String::new(),
        directory: PathBuf::new(),
        cache_control: DEFAULT_CACHE_CONTROL.to_owned(),
        gzip: false,
        max_file_size: None,
        serve_dotfiles: false,
        location: ctx.location(item.span),
    };
    let mut ok = true;
    let (mut url_seen, mut dir_seen) = (false, false);
    for field in fields {
        let key_path = push_key(path, &field.key);
        if field.value.is_invalid() {
            ok = false;
            continue;
        }
        let before = ctx.problems.len();
        match field.key.as_str() {
            "url_path" => {
                url_seen = true;
                let mut raw = String::new();
                set_string(&mut raw, field, &key_path, ctx);
                if !raw.is_empty() {
                    match url_prefix(&raw) {
                        Ok(prefix) => out.url_path = prefix,
                        Err(message) => ctx.report(field.value.span, &key_path, message),
                    }
                }
            }
            "directory" => {
                dir_seen = true;
                let mut raw = String::new();
                set_string(&mut raw, field, &key_path, ctx);
                if !raw.is_empty() {
                    out.directory = base_dir.join(&raw);
                    if !out.directory.is_dir() {
                        let why = if out.directory.exists() {
                            "is not a directory"
                        } else {
                            "does not exist"
                        };
                        let message = format!("directory {} {why}", out.directory.display());
                        ctx.report(field.value.span, &key_path, message);
                    }
                }
            }
            "cache_control" => {
                set_string(&mut out.cache_control, field, &key_path, ctx);
                if http::HeaderValue::from_str(&out.cache_control).is_err() {
                    ctx.report(
                        field.value.span,
                        &key_path,
                        "not a valid header value (visible ASCII only)",
                    );
                }
            }
            "gzip" => set_bool(&mut out.gzip, field, &key_path, ctx),
            "serve_dotfiles" => set_bool(&mut out.serve_dotfiles, field, &key_path, ctx),
            "max_file_size" => match (&field.value.kind, field.value.as_int()) {
                (Kind::Null, _) => out.max_file_size = None,
                (_, Some(n)) if n >= 1 => out.max_file_size = u64::try_from(n).ok(),
                (_, Some(n)) => ctx.report(
                    field.value.span,
                    &key_path,
                    format!("max_file_size must be at least 1 byte, found {n}"),
                ),
                (_, None) => ctx.wrong_type(field, &key_path, "integer (bytes)"),
            },
            other => ctx.report(
                field.key_span,
                &key_path,
                unknown_key_message(other, DIRECTORY_KEYS),
            ),
        }
        ok &= ctx.problems.len() == before;
    }
    for (seen, key) in [(url_seen, "url_path"), (dir_seen, "directory")] {
        if !seen {
            ctx.report(item.span, path, format!("missing required key `{key}`"));
            ok = false;
        }
    }
    ok.then_some(out)
}

/// `/static/` -> `/static`; refuses what could not be a literal route prefix.
fn url_prefix(raw: &str) -> Result<String, String> {
    if !raw.starts_with('/') {
        return Err(format!("expected a path starting with `/`, found `{raw}`"));
    }
    let trimmed = raw.trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok("/".to_owned());
    }
    for segment in trimmed[1..].split('/') {
        let bad = segment.is_empty()
            || segment == "."
            || segment == ".."
            || segment
                .chars()
                .any(|c| matches!(c, '{' | '}' | '*' | '?' | '#' | '%') || c.is_whitespace());
        if bad {
            return Err(format!(
                "`{raw}` is not a plain URL prefix (no empty, `.` or `..` segments, no `{{`, `}}`, `*`, `?`, `#`, `%` or spaces)"
            ));
        }
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::url_prefix;

    #[test]
    fn url_prefixes_are_normalised_or_refused() {
        assert_eq!(url_prefix("/static/").unwrap(), "/static");
        assert_eq!(url_prefix("/").unwrap(), "/");
        assert_eq!(url_prefix("/a/b").unwrap(), "/a/b");
        for bad in ["static", "/a//b", "/a/../b", "/{x}", "/a/*", "/a b"] {
            assert!(url_prefix(bad).is_err(), "{bad}");
        }
    }
}
