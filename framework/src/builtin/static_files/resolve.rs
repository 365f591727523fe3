//! From the URL's tail to a file inside the served directory, or nothing.
//!
//! The tail is percent-decoded once and then split, so `%2e%2e`, `%2f` and `%5c` are judged
//! as what they decode to. Refused (answered 404, like a missing file): `.` and `..`
//! segments, empty segments (`//etc/passwd`), backslashes, NUL and other control
//! characters, text that is not UTF-8, and any path whose real location — symbolic links
//! followed — is outside the directory.
//!
//! Unless the directory sets `serve_dotfiles: true`, hidden files are refused the same way:
//! any segment starting with `.` (`.env`, `.git/config`, `css/.cache`), in the path as asked
//! for or in the real location a symbolic link leads to, so a deployment that copies a
//! checkout does not publish its secrets. `.well-known` as the first segment stays
//! reachable (RFC 8615: ACME challenges, `security.txt`); dotfiles inside it do not.

use std::fs::Metadata;
use std::path::{Path, PathBuf};

use percent_encoding::percent_decode_str;

/// What a request path names.
#[derive(Debug)]
pub(crate) enum Resolved {
    File(Box<FoundFile>),
    /// A directory asked for without its trailing slash: relative links in its
    /// `index.html` only work from `dir/`, so the client is sent there.
    AddSlash,
    NotFound,
}

#[derive(Debug)]
pub(crate) struct FoundFile {
    /// The path as asked for (its extension gives the content type).
    pub requested: PathBuf,
    /// Where it really is, symbolic links followed.
    pub real: PathBuf,
    pub metadata: Metadata,
}

/// The decoded segments of `raw`, and whether it ended with `/`; `None` when refused.
pub(crate) fn segments(raw: &str) -> Option<(Vec<String>, bool)> {
    let decoded = percent_decode_str(raw).decode_utf8().ok()?;
    if decoded.chars().any(|c| c == '\\' || c.is_control()) {
        return None;
    }
    let (body, trailing_slash) = match decoded.strip_suffix('/') {
        Some(body) => (body, true),
        None => (decoded.as_ref(), false),
    };
    if body.is_empty() {
        return Some((Vec::new(), trailing_slash));
    }
    let mut out = Vec::new();
    for segment in body.split('/') {
        if segment.is_empty() || segment == "." || segment == ".." {
            return None;
        }
        out.push(segment.to_owned());
    }
    Some((out, trailing_slash))
}

/// Whether hidden files are served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dotfiles {
    Refuse,
    Serve,
}

/// Whether `segments` (relative to the served directory) name a hidden file or pass
/// through a hidden directory; `.well-known` at the top is not hidden.
fn hidden<'a>(segments: impl IntoIterator<Item = &'a str>) -> bool {
    segments
        .into_iter()
        .enumerate()
        .any(|(i, segment)| segment.starts_with('.') && !(i == 0 && segment == ".well-known"))
}

/// Resolves `raw` (the route's `{*path}`, still percent-encoded) below `root`, which is
/// already canonical.
pub(crate) async fn resolve(root: &Path, raw: &str, dotfiles: Dotfiles) -> Resolved {
    let Some((segments, trailing_slash)) = segments(raw) else {
        return Resolved::NotFound;
    };
    if dotfiles == Dotfiles::Refuse && hidden(segments.iter().map(String::as_str)) {
        return Resolved::NotFound;
    }
    let requested: PathBuf = segments.iter().fold(root.to_path_buf(), |p, s| p.join(s));
    let Some((real, metadata)) = inside(root, &requested, dotfiles).await else {
        return Resolved::NotFound;
    };
    if metadata.is_dir() {
        if !trailing_slash {
            return Resolved::AddSlash;
        }
        let index = requested.join("index.html");
        return match inside(root, &index, dotfiles).await {
            Some((real, metadata)) if metadata.is_file() => Resolved::File(Box::new(FoundFile {
                requested: index,
                real,
                metadata,
            })),
            _ => Resolved::NotFound,
        };
    }
    if trailing_slash || !metadata.is_file() {
        return Resolved::NotFound;
    }
    Resolved::File(Box::new(FoundFile {
        requested,
        real,
        metadata,
    }))
}

/// The real path and metadata of `path`, when it exists and really is inside `root` (and,
/// unless `dotfiles` serves them, is not hidden there).
pub(crate) async fn inside(
    root: &Path,
    path: &Path,
    dotfiles: Dotfiles,
) -> Option<(PathBuf, Metadata)> {
    let real = tokio::fs::canonicalize(path).await.ok()?;
    let below = real.strip_prefix(root).ok()?;
    if dotfiles == Dotfiles::Refuse
        && hidden(
            below
                .components()
                .map(|c| c.as_os_str().to_str().unwrap_or(".")),
        )
    {
        return None;
    }
    let metadata = tokio::fs::metadata(&real).await.ok()?;
    Some((real, metadata))
}

#[cfg(test)]
mod tests {
    use super::{hidden, segments};

    #[test]
    fn hidden_segments() {
        for (path, want) in [
            (".env", true),
            (".git/config", true),
            ("css/.cache/x.css", true),
            (".well-known/security.txt", false),
            (".well-known/.secret", true),
            ("a/.well-known/x", true),
            ("a.b/c..d/e.", false),
            ("", false),
        ] {
            assert_eq!(hidden(path.split('/')), want, "{path}");
        }
    }

    #[test]
    fn traversal_and_odd_characters_are_refused() {
        for raw in [
            "../secret",
            "a/../../secret",
            "%2e%2e/secret",
            "%2E%2E%2Fsecret",
            "a/%2e%2e/%2e%2e/secret",
            "..%5csecret",
            "a\\b",
            "a%00.txt",
            "/etc/passwd",
            "%2fetc/passwd",
            "a//b",
            "./a",
            "%ff",
        ] {
            assert!(segments(raw).is_none(), "{raw}");
        }
        assert_eq!(
            segments("css/site%20main.css").unwrap(),
            (vec!["css".to_owned(), "site main.css".to_owned()], false)
        );
        assert_eq!(segments("docs/").unwrap(), (vec!["docs".to_owned()], true));
        assert_eq!(segments("").unwrap(), (vec![], false));
        assert_eq!(segments("..a/b..").unwrap().0, ["..a", "b.."]);
    }
}
