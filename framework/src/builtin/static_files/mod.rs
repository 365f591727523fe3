//! Static files: each entry of `static.directories` becomes ordinary routes, so extensions
//! (security headers, CORS, rate limits) run on them like on any route.
//!
//! ```yaml
//! static:
//!   directories:
//!     - url_path: /static
//!       directory: static                     # relative to the configuration file
//!       cache_control: "public, max-age=3600" # the default
//!       gzip: true                            # default false
//!       max_file_size: 10485760               # bytes; no limit when absent
//!       serve_dotfiles: false                 # the default: `.env`, `.git/` answer 404
//! ```
//!
//! Routes for `url_path: /static`: `GET /static/{*path}` and `GET /static/` (HEAD is
//! answered by GET, OPTIONS by the runtime, any other method 405 with `Allow`), and
//! `GET /static`, which redirects to `/static/`. Route settings reach them through patterns
//! such as `/static/*`.
//!
//! Answers:
//! * `200` with `Content-Type` from the extension (`; charset=utf-8` for text),
//!   `Cache-Control`, a strong `ETag`, `Last-Modified` and `Accept-Ranges: bytes`;
//! * `304` when `If-None-Match` matches the `ETag`, or, without `If-None-Match`, when
//!   `If-Modified-Since` is not older than the file;
//! * `206` with `Content-Range` for one `bytes=` range (`If-Range` honoured); `416` with
//!   `Content-Range: bytes */<length>` for several ranges or one beyond the end; a `Range`
//!   in another unit or malformed is ignored;
//! * with `gzip: true` and a client accepting gzip (quality values honoured): the
//!   precompressed sibling `<file>.gz` when there is one (streamed from disk like any
//!   file), else, for text-like types up to 8 MiB, the file compressed on the fly (held
//!   whole in memory and kept in a cache of 32 MiB per directory), with
//!   `Content-Encoding: gzip` and an `ETag` of its own. Every answer of such a directory
//!   carries `Vary: Accept-Encoding`. A `Range` request is answered from the uncompressed
//!   file;
//! * a directory: its `index.html`; asked for without the trailing slash, `307` to the path
//!   with it (relative links in the page resolve against it);
//! * `404` (the same answer as for an unknown path) for a missing file, a directory without
//!   `index.html`, a path refused as traversal (see [`resolve`]), a file whose real location
//!   is outside the directory, a hidden file (a segment starting with `.`, `.well-known`
//!   excepted) unless `serve_dotfiles: true`, anything but a regular file, and a file larger than
//!   `max_file_size` — the file is treated as absent rather than answered 413, which is
//!   about request bodies.
//!
//! Files are read with tokio's file system calls (a thread pool, not the request's worker)
//! and sent from disk in chunks of 128 KiB as the client takes them, ranges too: an answer
//! holds about one chunk in memory whatever the file's size (a file of 1 GiB is served with
//! the server's memory flat, `tests/tests/streaming_static.rs`). Only gzip made on the fly is
//! held whole, which is why it stops at 8 MiB.

mod conditional;
mod gzip;
mod range;
mod resolve;
mod stream;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use http::{HeaderMap, HeaderValue, Method, StatusCode, header};

use self::conditional::Validators;
use self::range::Ranged;
use self::resolve::{Dotfiles, FoundFile, Resolved};
use crate::config::{StaticConfig, StaticDirectory};
use crate::routing::{Body, Request, Response, RouteDef, Router, error_response};

/// The routes serving every configured directory.
pub(crate) fn static_routes(config: &StaticConfig) -> Vec<RouteDef> {
    config
        .directories
        .iter()
        .flat_map(directory_routes)
        .collect()
}

fn directory_routes(directory: &StaticDirectory) -> Vec<RouteDef> {
    let mount = Arc::new(Mount::new(directory));
    let prefix = if directory.url_path == "/" {
        ""
    } else {
        directory.url_path.as_str()
    };
    let files = mount.clone();
    let index = mount.clone();
    let mut router = Router::new("")
        .get(&format!("{prefix}/{{*path}}"), move |request: Request| {
            let mount = files.clone();
            async move {
                let raw = request.param("path").unwrap_or_default().to_owned();
                mount.serve(&request, &raw).await
            }
        })
        .get("/", move |request: Request| {
            let mount = index.clone();
            async move { mount.serve(&request, "/").await }
        });
    if !prefix.is_empty() {
        router = router.get(
            prefix,
            |request: Request| async move { add_slash(&request) },
        );
    }
    let mut routes = router.into_routes();
    // The router drops trailing slashes; the directory's own index needs one.
    routes[1].path = format!("{prefix}/");
    routes
}

/// One served directory.
struct Mount {
    /// Canonical, so real paths of files can be checked against it.
    root: PathBuf,
    cache_control: HeaderValue,
    gzip: bool,
    max_file_size: Option<u64>,
    dotfiles: Dotfiles,
    cache: gzip::GzipCache,
}

/// Which bytes answer.
enum Encoding {
    Identity,
    /// `<file>.gz`, at its real path.
    Precompressed(PathBuf),
    OnTheFly,
}

impl Mount {
    fn new(directory: &StaticDirectory) -> Self {
        let root = std::fs::canonicalize(&directory.directory).unwrap_or_else(|error| {
            tracing::warn!(directory = %directory.directory.display(), "static directory: {error}");
            directory.directory.clone()
        });
        Mount {
            root,
            cache_control: HeaderValue::from_str(&directory.cache_control)
                .unwrap_or_else(|_| HeaderValue::from_static(crate::config::DEFAULT_CACHE_CONTROL)),
            gzip: directory.gzip,
            max_file_size: directory.max_file_size,
            dotfiles: if directory.serve_dotfiles {
                Dotfiles::Serve
            } else {
                Dotfiles::Refuse
            },
            cache: gzip::GzipCache::default(),
        }
    }

    async fn serve(&self, request: &Request, raw: &str) -> Response {
        let file = match resolve::resolve(&self.root, raw, self.dotfiles).await {
            Resolved::File(file) => file,
            Resolved::AddSlash => return add_slash(request),
            Resolved::NotFound => return not_found(),
        };
        let len = file.metadata.len();
        if self.max_file_size.is_some_and(|max| len > max) {
            return not_found();
        }
        let mime = mime_guess::from_path(&file.requested).first_or_octet_stream();
        let asked = request.headers();
        let ranged = asked.contains_key(header::RANGE);
        let encoding = if self.gzip && !ranged && gzip::accepts_gzip(asked) {
            self.encoding(&file, mime.essence_str()).await
        } else {
            Encoding::Identity
        };
        // The length of the `.gz` sibling, when it answers.
        let mut gz_len = 0;
        let validators = match &encoding {
            Encoding::Identity => Validators::of(&file.metadata, None),
            Encoding::OnTheFly => Validators::of(&file.metadata, Some("gzip")),
            Encoding::Precompressed(gz) => match tokio::fs::metadata(gz).await {
                Ok(metadata) => {
                    gz_len = metadata.len();
                    Validators::of(&metadata, Some("gz"))
                }
                Err(_) => return not_found(),
            },
        };

        let mut headers = HeaderMap::new();
        headers.insert(header::CACHE_CONTROL, self.cache_control.clone());
        if self.gzip {
            headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        }
        validators.headers(&mut headers);
        if validators.not_modified(asked) {
            return answer(StatusCode::NOT_MODIFIED, headers, Body::empty());
        }
        headers.insert(header::CONTENT_TYPE, content_type(&mime));
        headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        let head = request.method() == Method::HEAD;

        if let Encoding::Identity = encoding
            && let Some(range) = asked.get(header::RANGE).and_then(|v| v.to_str().ok())
            && validators.range_applies(asked)
        {
            match range::parse(range, len) {
                Ranged::Whole => {}
                Ranged::Part { start, end } => {
                    let content_range = format!("bytes {start}-{end}/{len}");
                    headers.insert(header::CONTENT_RANGE, header_value(&content_range));
                    let count = end - start + 1;
                    if head {
                        return head_answer(StatusCode::PARTIAL_CONTENT, headers, count);
                    }
                    return match stream::file_body(&file.real, start, count).await {
                        Ok(body) => answer(StatusCode::PARTIAL_CONTENT, headers, body),
                        Err(error) => unreadable(&file.real, &error),
                    };
                }
                Ranged::Unsatisfiable => {
                    let mut response =
                        error_response(StatusCode::RANGE_NOT_SATISFIABLE, "range not satisfiable");
                    let content_range = header_value(&format!("bytes */{len}"));
                    response
                        .headers_mut()
                        .insert(header::CONTENT_RANGE, content_range);
                    return response;
                }
            }
        }

        let body = match &encoding {
            Encoding::Identity if head => return head_answer(StatusCode::OK, headers, len),
            Encoding::Identity => stream::file_body(&file.real, 0, len).await,
            Encoding::Precompressed(gz) => {
                headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                if head {
                    return head_answer(StatusCode::OK, headers, gz_len);
                }
                stream::file_body(gz, 0, gz_len).await
            }
            Encoding::OnTheFly => {
                headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                let modified = file.metadata.modified().ok();
                match self.cache.get(&file.real, len, modified).await {
                    Ok(gzipped) if head => {
                        return head_answer(StatusCode::OK, headers, gzipped.len() as u64);
                    }
                    gzipped => gzipped.map(Body::from),
                }
            }
        };
        match body {
            Ok(body) => answer(StatusCode::OK, headers, body),
            Err(error) => unreadable(&file.real, &error),
        }
    }

    /// gzip for a client that accepts it: the `.gz` sibling, else on the fly when the
    /// type is worth it and the file small enough.
    async fn encoding(&self, file: &FoundFile, essence: &str) -> Encoding {
        let mut sibling = file.requested.clone().into_os_string();
        sibling.push(".gz");
        if let Some((real, metadata)) =
            resolve::inside(&self.root, Path::new(&sibling), self.dotfiles).await
            && metadata.is_file()
        {
            return Encoding::Precompressed(real);
        }
        if gzip::compressible(essence) && file.metadata.len() <= gzip::MAX_ON_THE_FLY {
            Encoding::OnTheFly
        } else {
            Encoding::Identity
        }
    }
}

fn content_type(mime: &mime_guess::Mime) -> HeaderValue {
    let essence = mime.essence_str();
    let text = mime.type_() == mime_guess::mime::TEXT || essence == "application/javascript";
    if text {
        header_value(&format!("{essence}; charset=utf-8"))
    } else {
        header_value(essence)
    }
}

fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn answer(status: StatusCode, headers: HeaderMap, body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

/// HEAD: the length the GET would send, no body (the server sends none for HEAD).
fn head_answer(status: StatusCode, mut headers: HeaderMap, len: u64) -> Response {
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    answer(status, headers, Body::empty())
}

fn not_found() -> Response {
    error_response(StatusCode::NOT_FOUND, "not found")
}

/// A file that vanished or became unreadable between lookup and read.
fn unreadable(path: &Path, error: &std::io::Error) -> Response {
    tracing::warn!(file = %path.display(), "static file could not be read: {error}");
    not_found()
}

/// `307` to the same path with a trailing slash, query kept.
fn add_slash(request: &Request) -> Response {
    let uri = request.uri();
    let location = match uri.query() {
        Some(query) => format!("{}/?{query}", uri.path()),
        None => format!("{}/", uri.path()),
    };
    let mut response = answer(
        StatusCode::TEMPORARY_REDIRECT,
        HeaderMap::new(),
        Body::empty(),
    );
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}
