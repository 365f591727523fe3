//! `static.directories` through the real loader and a real server: types, caching headers,
//! conditional requests, ranges, gzip negotiation, directory indexes, traversal and
//! symbolic links, methods, limits and configuration errors.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use beginnings::{App, Json, Request, Router};
use beginnings_tests::{InProcessServer, build_dir, client, ensure_built};
use reqwest::blocking::Response;
use reqwest::header::{
    ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_RANGE, ETAG, IF_MODIFIED_SINCE,
    IF_NONE_MATCH, IF_RANGE, LAST_MODIFIED, RANGE,
};

const STYLE: &str = "body { color: #333; }\n";
const TEXT: &str = "0123456789abcdefghij";

/// A site in its own temporary directory: `app.yaml` plus `public/` and a `secret.txt`
/// beside it that must never be served.
struct Site {
    dir: tempfile::TempDir,
}

impl Site {
    fn new() -> Site {
        let site = Site {
            dir: tempfile::tempdir().unwrap(),
        };
        site.write("secret.txt", "top secret");
        site.write("public/css/site.css", STYLE);
        site.write("public/text.txt", TEXT);
        site.write("public/logo.png", "\u{89}PNG not really");
        site.write("public/data.unknownext", "?");
        site.write("public/index.html", "<p>root index</p>");
        site.write("public/docs/index.html", "<p>docs index</p>");
        site.write("public/empty/.keep", "");
        site
    }

    fn write(&self, name: &str, contents: impl AsRef<[u8]>) {
        let path = self.dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }

    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    fn app(&self, yaml: &str) -> App {
        std::fs::write(self.path("app.yaml"), yaml).unwrap();
        App::from_file(self.path("app.yaml"), None)
            .unwrap_or_else(|e| panic!("configuration loads: {e}"))
            .extensions_dir(build_dir())
    }

    fn serve(&self, yaml: &str) -> InProcessServer {
        InProcessServer::start(self.app(yaml).build().expect("builds"))
    }
}

const PLAIN: &str = r#"
static:
  directories:
    - url_path: /static
      directory: public
      cache_control: "public, max-age=60"
    - url_path: /assets/
      directory: public
"#;

const GZIP: &str = r#"
static:
  directories:
    - url_path: /static
      directory: public
      gzip: true
"#;

fn get(server: &InProcessServer, path: &str, headers: &[(&str, &str)]) -> Response {
    let mut request = client().get(server.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().unwrap()
}

fn header(response: &Response, name: impl reqwest::header::AsHeaderName) -> String {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[test]
fn files_have_their_type_cache_control_and_validators() {
    let site = Site::new();
    let server = site.serve(PLAIN);
    let css = get(&server, "/static/css/site.css", &[]);
    assert_eq!(css.status(), 200);
    assert_eq!(header(&css, "content-type"), "text/css; charset=utf-8");
    assert_eq!(header(&css, "cache-control"), "public, max-age=60");
    assert_eq!(header(&css, "accept-ranges"), "bytes");
    let etag = header(&css, ETAG);
    assert!(
        etag.starts_with('"') && etag.ends_with('"'),
        "strong: {etag}"
    );
    assert!(header(&css, LAST_MODIFIED).ends_with(" GMT"));
    assert!(header(&css, "vary").is_empty(), "no gzip, no Vary");
    assert_eq!(css.text().unwrap(), STYLE);

    let png = get(&server, "/static/logo.png", &[]);
    assert_eq!(header(&png, "content-type"), "image/png");
    let other = get(&server, "/static/data.unknownext", &[]);
    assert_eq!(header(&other, "content-type"), "application/octet-stream");

    let default = get(&server, "/assets/text.txt", &[]);
    assert_eq!(default.status(), 200);
    assert_eq!(header(&default, "cache-control"), "public, max-age=3600");
    assert_eq!(
        header(&default, "content-type"),
        "text/plain; charset=utf-8"
    );

    let missing = get(&server, "/static/nope.css", &[]);
    assert_eq!(missing.status(), 404);
}

#[test]
fn a_matching_etag_answers_304_and_a_stale_one_the_file() {
    let site = Site::new();
    let server = site.serve(PLAIN);
    let first = get(&server, "/static/text.txt", &[]);
    let etag = header(&first, ETAG);

    let cached = get(&server, "/static/text.txt", &[("if-none-match", &etag)]);
    assert_eq!(cached.status(), 304);
    assert_eq!(header(&cached, ETAG), etag);
    assert_eq!(header(&cached, "cache-control"), "public, max-age=60");
    assert!(cached.text().unwrap().is_empty());

    let weak = format!("\"other\", W/{etag}");
    let listed = get(&server, "/static/text.txt", &[("if-none-match", &weak)]);
    assert_eq!(listed.status(), 304, "If-None-Match compares weakly");

    let stale = get(
        &server,
        "/static/text.txt",
        &[("if-none-match", "\"stale\"")],
    );
    assert_eq!(stale.status(), 200);
    assert_eq!(stale.text().unwrap(), TEXT);

    // A changed file has a new tag: the old one no longer matches.
    std::thread::sleep(Duration::from_millis(20));
    site.write("public/text.txt", "changed, and longer than before");
    let changed = get(
        &server,
        "/static/text.txt",
        &[(IF_NONE_MATCH.as_str(), &etag)],
    );
    assert_eq!(changed.status(), 200);
    assert_ne!(header(&changed, ETAG), etag);
}

#[test]
fn if_modified_since_answers_304_unless_the_file_is_newer_or_a_tag_disagrees() {
    let site = Site::new();
    let server = site.serve(PLAIN);
    let first = get(&server, "/static/text.txt", &[]);
    let modified = header(&first, LAST_MODIFIED);

    let same = get(
        &server,
        "/static/text.txt",
        &[("if-modified-since", &modified)],
    );
    assert_eq!(same.status(), 304);
    let later = "Fri, 01 Jan 2100 00:00:00 GMT";
    assert_eq!(
        get(&server, "/static/text.txt", &[("if-modified-since", later)]).status(),
        304
    );
    let earlier = "Thu, 01 Jan 1998 00:00:00 GMT";
    let older = get(
        &server,
        "/static/text.txt",
        &[(IF_MODIFIED_SINCE.as_str(), earlier)],
    );
    assert_eq!(older.status(), 200);
    assert_eq!(older.text().unwrap(), TEXT);
    // If-None-Match wins over If-Modified-Since.
    let both = get(
        &server,
        "/static/text.txt",
        &[("if-modified-since", &modified), ("if-none-match", "\"x\"")],
    );
    assert_eq!(both.status(), 200);
}

#[test]
fn one_range_is_answered_206() {
    let site = Site::new();
    let server = site.serve(PLAIN);
    let cases = [
        ("bytes=2-5", "bytes 2-5/20", "2345"),
        ("bytes=15-", "bytes 15-19/20", "fghij"),
        ("bytes=-3", "bytes 17-19/20", "hij"),
        ("bytes=18-100", "bytes 18-19/20", "ij"),
    ];
    for (range, content_range, body) in cases {
        let part = get(&server, "/static/text.txt", &[(RANGE.as_str(), range)]);
        assert_eq!(part.status(), 206, "{range}");
        assert_eq!(header(&part, CONTENT_RANGE), content_range, "{range}");
        assert_eq!(header(&part, CONTENT_LENGTH), body.len().to_string());
        assert_eq!(part.text().unwrap(), body, "{range}");
    }
    let etag = header(&get(&server, "/static/text.txt", &[]), ETAG);
    let current = get(
        &server,
        "/static/text.txt",
        &[("range", "bytes=0-1"), (IF_RANGE.as_str(), &etag)],
    );
    assert_eq!(current.status(), 206);
    let outdated = get(
        &server,
        "/static/text.txt",
        &[("range", "bytes=0-1"), ("if-range", "\"old\"")],
    );
    assert_eq!(
        outdated.status(),
        200,
        "a stale If-Range gets the whole file"
    );
    assert_eq!(outdated.text().unwrap(), TEXT);
    let other_unit = get(&server, "/static/text.txt", &[("range", "items=0-1")]);
    assert_eq!(other_unit.status(), 200);
}

#[test]
fn several_ranges_or_one_past_the_end_are_answered_416() {
    let site = Site::new();
    let server = site.serve(PLAIN);
    for range in ["bytes=0-1,4-5", "bytes=20-", "bytes=100-200", "bytes=-0"] {
        let refused = get(&server, "/static/text.txt", &[("range", range)]);
        assert_eq!(refused.status(), 416, "{range}");
        assert_eq!(header(&refused, CONTENT_RANGE), "bytes */20", "{range}");
    }
}

#[test]
fn only_get_and_head_are_served() {
    let site = Site::new();
    let server = site.serve(PLAIN);
    let http = client();
    for method in ["POST", "PUT", "DELETE", "PATCH"] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let refused = http
            .request(method.clone(), server.url("/static/text.txt"))
            .send()
            .unwrap();
        assert_eq!(refused.status(), 405, "{method}");
        let allow = header(&refused, "allow");
        assert!(
            allow.contains("GET") && allow.contains("HEAD"),
            "{method}: {allow}"
        );
        assert!(!allow.contains("POST"), "{allow}");
    }
    assert_eq!(
        std::fs::read_to_string(site.path("public/text.txt")).unwrap(),
        TEXT
    );
}

#[test]
fn head_sends_the_headers_of_get_without_a_body() {
    let site = Site::new();
    let server = site.serve(GZIP);
    let http = client();
    let get = http.get(server.url("/static/text.txt")).send().unwrap();
    let head = http.head(server.url("/static/text.txt")).send().unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(header(&head, CONTENT_LENGTH), TEXT.len().to_string());
    assert_eq!(header(&head, ETAG), header(&get, ETAG));
    assert_eq!(header(&head, "content-type"), "text/plain; charset=utf-8");
    assert_eq!(head.bytes().unwrap().len(), 0);

    let gzip = http
        .head(server.url("/static/css/site.css"))
        .header(ACCEPT_ENCODING, "gzip")
        .send()
        .unwrap();
    assert_eq!(header(&gzip, CONTENT_ENCODING), "gzip");
    let full = http
        .get(server.url("/static/css/site.css"))
        .header(ACCEPT_ENCODING, "gzip")
        .send()
        .unwrap();
    let length = full.bytes().unwrap().len();
    assert_eq!(header(&gzip, CONTENT_LENGTH), length.to_string());
}

#[test]
fn a_precompressed_sibling_is_sent_to_clients_that_accept_gzip() {
    let site = Site::new();
    // Not real gzip: what matters is that these exact bytes are sent.
    site.write("public/app.js", "console.log('plain');");
    site.write("public/app.js.gz", b"\x1f\x8bprecompressed bytes");
    let server = site.serve(GZIP);

    let gz = get(
        &server,
        "/static/app.js",
        &[("accept-encoding", "gzip, br")],
    );
    assert_eq!(gz.status(), 200);
    assert_eq!(header(&gz, CONTENT_ENCODING), "gzip");
    assert_eq!(header(&gz, "vary"), "accept-encoding");
    assert!(header(&gz, "content-type").contains("javascript"));
    let gz_etag = header(&gz, ETAG);
    assert_eq!(gz.bytes().unwrap().as_ref(), b"\x1f\x8bprecompressed bytes");

    for accept in [None, Some("gzip;q=0"), Some("br"), Some("*;q=0")] {
        let headers: Vec<(&str, &str)> =
            accept.map(|a| ("accept-encoding", a)).into_iter().collect();
        let plain = get(&server, "/static/app.js", &headers);
        assert_eq!(plain.status(), 200);
        assert!(header(&plain, CONTENT_ENCODING).is_empty(), "{accept:?}");
        assert_eq!(header(&plain, "vary"), "accept-encoding", "{accept:?}");
        assert_ne!(
            header(&plain, ETAG),
            gz_etag,
            "each encoding has its own tag"
        );
        assert_eq!(plain.text().unwrap(), "console.log('plain');");
    }
    let any = get(&server, "/static/app.js", &[("accept-encoding", "*")]);
    assert_eq!(header(&any, CONTENT_ENCODING), "gzip");
    // The gzip answer's tag revalidates the gzip answer.
    let revalidated = get(
        &server,
        "/static/app.js",
        &[("accept-encoding", "gzip"), ("if-none-match", &gz_etag)],
    );
    assert_eq!(revalidated.status(), 304);
}

#[test]
fn text_is_compressed_on_the_fly_and_other_types_are_not() {
    let site = Site::new();
    let big = "lorem ipsum dolor sit amet ".repeat(400);
    site.write("public/big.css", &big);
    site.write("public/photo.png", big.as_bytes());
    let server = site.serve(GZIP);

    let headers = [("accept-encoding", "br;q=1.0, gzip;q=0.5")];
    let first = get(&server, "/static/big.css", &headers);
    assert_eq!(header(&first, CONTENT_ENCODING), "gzip");
    assert_eq!(header(&first, "vary"), "accept-encoding");
    let etag = header(&first, ETAG);
    let body = first.bytes().unwrap();
    assert_eq!(&body[..2], b"\x1f\x8b", "a gzip stream");
    assert!(body.len() < big.len() / 4, "{} bytes", body.len());
    let again = get(&server, "/static/big.css", &headers);
    assert_eq!(
        again.bytes().unwrap(),
        body,
        "the same bytes from the cache"
    );

    let plain = get(&server, "/static/big.css", &[]);
    assert!(header(&plain, CONTENT_ENCODING).is_empty());
    assert_ne!(header(&plain, ETAG), etag);
    assert_eq!(plain.text().unwrap(), big);

    let png = get(&server, "/static/photo.png", &headers);
    assert!(
        header(&png, CONTENT_ENCODING).is_empty(),
        "images are not compressed"
    );

    // A range is served from the uncompressed file.
    let part = get(
        &server,
        "/static/big.css",
        &[("accept-encoding", "gzip"), ("range", "bytes=0-4")],
    );
    assert_eq!(part.status(), 206);
    assert!(header(&part, CONTENT_ENCODING).is_empty());
    assert_eq!(part.text().unwrap(), "lorem");

    // Without `gzip: true` nothing is compressed and nothing varies.
    let server = site.serve(PLAIN);
    let off = get(&server, "/static/big.css", &[("accept-encoding", "gzip")]);
    assert!(header(&off, CONTENT_ENCODING).is_empty());
    assert!(header(&off, "vary").is_empty());
}

#[test]
fn directories_answer_their_index_and_redirect_to_the_trailing_slash() {
    let site = Site::new();
    let server = site.serve(PLAIN);
    let docs = get(&server, "/static/docs/", &[]);
    assert_eq!(docs.status(), 200);
    assert_eq!(header(&docs, "content-type"), "text/html; charset=utf-8");
    assert_eq!(docs.text().unwrap(), "<p>docs index</p>");
    assert_eq!(
        get(&server, "/static/", &[]).text().unwrap(),
        "<p>root index</p>"
    );

    let no_redirects = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for (path, location) in [
        ("/static/docs", "/static/docs/"),
        ("/static", "/static/"),
        ("/static/docs?x=1", "/static/docs/?x=1"),
    ] {
        let moved = no_redirects.get(server.url(path)).send().unwrap();
        assert_eq!(moved.status(), 307, "{path}");
        assert_eq!(header(&moved, "location"), location, "{path}");
    }
    assert_eq!(
        get(&server, "/static/empty/", &[]).status(),
        404,
        "no index.html"
    );
    assert_eq!(get(&server, "/static/text.txt/", &[]).status(), 404);
}

#[test]
fn a_directory_at_the_root_leaves_the_applications_routes_alone() {
    let site = Site::new();
    let yaml = "static:\n  directories:\n    - {url_path: /, directory: public}\n";
    let api = Router::new("/api").get("/ping", |_request: Request| async move {
        Json(serde_json::json!({"pong": true}))
    });
    let server = InProcessServer::start(site.app(yaml).mount(api).build().unwrap());
    assert_eq!(get(&server, "/", &[]).text().unwrap(), "<p>root index</p>");
    assert_eq!(get(&server, "/text.txt", &[]).text().unwrap(), TEXT);
    assert_eq!(
        get(&server, "/api/ping", &[]).text().unwrap(),
        r#"{"pong":true}"#
    );
}

/// Sends `path` exactly as written (no client-side normalisation) and returns the status
/// and the whole answer.
fn raw_get(server: &InProcessServer, path: &str) -> (u16, String) {
    let address = server.base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {answer:?}"));
    (status, answer)
}

#[test]
fn traversal_attempts_are_answered_404() {
    let site = Site::new();
    let server = site.serve(PLAIN);
    let (ok, answer) = raw_get(&server, "/static/text.txt");
    assert_eq!(ok, 200, "the raw client works: {answer}");
    for path in [
        "/static/../secret.txt",
        "/static/css/../../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/%2E%2E%2Fsecret.txt",
        "/static/..%2fsecret.txt",
        "/static/css/%2e%2e/%2e%2e/secret.txt",
        "/static/..%5csecret.txt",
        "/static/%5c..%5csecret.txt",
        "/static/text.txt%00.png",
        "/static/%00",
        "/static//etc/passwd",
        "/static/%2fetc%2fpasswd",
        "/static/./text.txt",
    ] {
        let (status, answer) = raw_get(&server, path);
        assert_eq!(status, 404, "{path}: {answer}");
        assert!(!answer.contains("top secret"), "{path}");
    }
    // A raw backslash is refused too, by the server's parser or by the lookup.
    let (status, answer) = raw_get(&server, "/static/..\\secret.txt");
    assert!(matches!(status, 400 | 404), "{answer}");
    assert!(!answer.contains("top secret"));
}

#[test]
fn symbolic_links_are_followed_only_inside_the_directory() {
    let site = Site::new();
    let public = site.path("public");
    std::os::unix::fs::symlink(site.path("secret.txt"), public.join("leak.txt")).unwrap();
    std::os::unix::fs::symlink(site.dir.path(), public.join("up")).unwrap();
    std::os::unix::fs::symlink(public.join("text.txt"), public.join("alias.txt")).unwrap();
    let server = site.serve(PLAIN);
    assert_eq!(get(&server, "/static/alias.txt", &[]).text().unwrap(), TEXT);
    for path in ["/static/leak.txt", "/static/up/secret.txt", "/static/up/"] {
        let refused = get(&server, path, &[]);
        assert_eq!(refused.status(), 404, "{path}");
        assert!(!refused.text().unwrap().contains("top secret"), "{path}");
    }
}

#[test]
fn files_over_max_file_size_are_answered_404() {
    let site = Site::new();
    let yaml =
        "static:\n  directories:\n    - {url_path: /s, directory: public, max_file_size: 20}\n";
    site.write("public/big.txt", "x".repeat(21));
    let server = site.serve(yaml);
    assert_eq!(get(&server, "/s/text.txt", &[]).status(), 200, "20 bytes");
    assert_eq!(get(&server, "/s/big.txt", &[]).status(), 404, "21 bytes");
}

#[test]
fn extensions_run_on_static_files() {
    ensure_built();
    let site = Site::new();
    let yaml = r#"
static:
  directories:
    - {url_path: /static, directory: public}
routes:
  patterns:
    "/static/*": {security_headers: true}
extensions:
  "security:SecurityHeadersExtension": {x_frame_options: SAMEORIGIN}
"#;
    let server = site.serve(yaml);
    for path in ["/static/text.txt", "/static/missing.txt"] {
        let answer = get(&server, path, &[]);
        assert_eq!(header(&answer, "x-frame-options"), "SAMEORIGIN", "{path}");
        assert_eq!(
            header(&answer, "x-content-type-options"),
            "nosniff",
            "{path}"
        );
    }
}

#[test]
fn an_unknown_option_is_a_configuration_error_with_its_position() {
    let site = Site::new();
    let yaml = "static:\n  directories:\n    - url_path: /static\n      directory: public\n      gzipp: true\n";
    std::fs::write(site.path("app.yaml"), yaml).unwrap();
    let error = App::from_file(site.path("app.yaml"), None)
        .err()
        .expect("the configuration is refused")
        .to_string();
    let want =
        "app.yaml:5:7: static.directories[0].gzipp: unknown key `gzipp` (did you mean `gzip`?)";
    assert!(error.contains(want), "{error}");

    let missing = "static:\n  directories:\n    - {url_path: /s, directory: nowhere}\n";
    std::fs::write(site.path("app.yaml"), missing).unwrap();
    let error = App::from_file(site.path("app.yaml"), None)
        .err()
        .expect("a missing directory is refused")
        .to_string();
    assert!(
        error.contains("static.directories[0].directory: directory ")
            && error.contains("nowhere does not exist"),
        "{error}"
    );
    assert!(Path::new(&site.path("public")).is_dir());
}

#[test]
fn a_trailing_star_pattern_covers_the_directory_index_and_the_bare_prefix() {
    ensure_built();
    let site = Site::new();
    let yaml = r#"
static:
  directories:
    - {url_path: /static, directory: public}
routes:
  patterns:
    "/static/*": {auth_required: true}
extensions:
  "auth:AuthExtension":
    jwt: {algorithms: [HS256], secret: "a-test-secret-that-is-long-enough-0123456789"}
"#;
    let server = site.serve(yaml);
    // The raw client follows no redirect: `/static` itself must be guarded, not only the
    // `/static/` it redirects to.
    for path in [
        "/static/",
        "/static",
        "/static/text.txt",
        "/static/docs/",
        "/static/missing.txt",
    ] {
        let (status, answer) = raw_get(&server, path);
        assert_eq!(status, 401, "{path}: {answer}");
        assert!(!answer.contains("root index"), "{path}: {answer}");
    }
}

#[test]
fn dotfiles_are_answered_404_unless_the_directory_serves_them() {
    let site = Site::new();
    site.write("public/.env", "SECRET_KEY=hunter2");
    site.write("public/.git/config", "[core] secret");
    site.write("public/.git/index.html", "secret index");
    site.write("public/css/.hidden.css", "secret css");
    site.write(
        "public/.well-known/security.txt",
        "Contact: mailto:security@example.com",
    );
    site.write("public/.well-known/.private", "secret inside well-known");
    std::os::unix::fs::symlink(site.path("public/.env"), site.path("public/env.txt")).unwrap();
    let refused = [
        "/static/.env",
        "/static/%2eenv",
        "/static/.git/config",
        "/static/.git/",
        "/static/.git",
        "/static/css/.hidden.css",
        "/static/.well-known/.private",
        "/static/env.txt",
    ];

    let server = site.serve(PLAIN);
    let (status, answer) = raw_get(&server, "/static/missing.txt");
    assert_eq!(status, 404, "{answer}");
    let missing_body = answer
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    for path in refused {
        let (status, answer) = raw_get(&server, path);
        assert_eq!(status, 404, "{path}: {answer}");
        assert!(!answer.contains("secret"), "{path}: {answer}");
        // The same answer as a missing file: nothing tells that the file exists.
        let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
        assert_eq!(body, missing_body, "{path}");
    }
    let well_known = get(&server, "/static/.well-known/security.txt", &[]);
    assert_eq!(well_known.status(), 200);
    assert!(well_known.text().unwrap().starts_with("Contact:"));

    let serving = r#"
static:
  directories:
    - {url_path: /static, directory: public, serve_dotfiles: true}
"#;
    let server = site.serve(serving);
    for (path, body) in [
        ("/static/.env", "SECRET_KEY=hunter2"),
        ("/static/.git/config", "[core] secret"),
        ("/static/env.txt", "SECRET_KEY=hunter2"),
        ("/static/css/.hidden.css", "secret css"),
    ] {
        let answer = get(&server, path, &[]);
        assert_eq!(answer.status(), 200, "{path}");
        assert_eq!(answer.text().unwrap(), body, "{path}");
    }
}
