//! `cors:CorsExtension` against a real browser: a page served by one server (origin A) calls
//! `fetch()` against other servers (other ports, so other origins) that run the extension,
//! and headless Chromium decides what the page may read. The page writes one line per call
//! into the DOM, which Chromium prints (`--dump-dom`).
//!
//! Needs Chromium (`apt-get install -y chromium`); without it the test fails and says so.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use beginnings::{IntoResponse, Request, Router};
use beginnings_tests::{InProcessServer, app_from_yaml};

/// The longest a Chromium run may take before it is killed and the test fails.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(90);

const PAGE: &str = r#"<!doctype html>
<html><head><title>cors check</title></head>
<body><pre id="out">running</pre>
<script>
const q = new URLSearchParams(location.search);
const json = {"content-type": "application/json", "x-token": "1"};
const calls = [
  ["creds_plain", q.get("creds"), {}],
  ["creds_credentials", q.get("creds"), {credentials: "include"}],
  ["creds_preflight", q.get("creds"), {method: "PUT", headers: json, body: "{}", credentials: "include"}],
  ["creds_bad_method", q.get("creds"), {method: "DELETE"}],
  ["creds_bad_header", q.get("creds"), {headers: {"x-other": "1"}}],
  ["plain_plain", q.get("plain"), {}],
  ["plain_credentials", q.get("plain"), {credentials: "include"}],
  ["star_plain", q.get("star"), {}],
  ["star_credentials", q.get("star"), {credentials: "include"}],
  ["other_plain", q.get("other"), {}],
];
(async () => {
  const lines = [];
  for (const [name, base, init] of calls) {
    try {
      const response = await fetch(base + "/api/data", init);
      await response.text();
      lines.push(`${name}=allowed:${response.status}:${response.headers.get("x-total-count") ?? "-"}`);
    } catch (e) {
      lines.push(`${name}=blocked`);
    }
  }
  lines.push("done");
  document.getElementById("out").textContent = lines.join("\n");
})();
</script></body></html>"#;

/// What the browser must decide for each call of the page.
const EXPECTED: &[&str] = &[
    "creds_plain=allowed:200:42",
    "creds_credentials=allowed:200:42",
    "creds_preflight=allowed:200:42",
    "creds_bad_method=blocked",
    "creds_bad_header=blocked",
    "plain_plain=allowed:200:-",
    "plain_credentials=blocked",
    "star_plain=allowed:200:-",
    "star_credentials=blocked",
    "other_plain=blocked",
    "done",
];

fn page_server() -> InProcessServer {
    let (app, _dir) = app_from_yaml("app:\n  name: page\n");
    let router = Router::new("").get("/page", |_request: Request| async move {
        let mut response = PAGE.into_response();
        let html = "text/html; charset=utf-8".parse().unwrap();
        response.headers_mut().insert("content-type", html);
        response
    });
    InProcessServer::start(app.mount(router).build().unwrap())
}

fn api_server(cors: &str) -> InProcessServer {
    let yaml = format!("extensions:\n  \"cors:CorsExtension\": {cors}\n");
    let (app, _dir) = app_from_yaml(&yaml);
    let data = |_request: Request| async move {
        let mut response = "data".into_response();
        response
            .headers_mut()
            .insert("x-total-count", "42".parse().unwrap());
        response
    };
    let router = Router::new("/api")
        .get("/data", data)
        .put("/data", data)
        .delete("/data", data);
    InProcessServer::start(app.mount(router).build().unwrap())
}

fn chromium() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "chromium is not installed, and this test needs a real browser: \
                 run `apt-get update && apt-get install -y chromium` (Debian) and test again"
            )
        })
}

/// Runs headless Chromium on `url` and returns the DOM it printed.
fn dump_dom(url: &str) -> String {
    let profile = tempfile::tempdir().expect("profile directory");
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--virtual-time-budget=10000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(["--dump-dom", url])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so its helper processes are stopped with it.
        .process_group(0)
        .spawn()
        .expect("chromium starts");
    let pid = child.id();
    let mut stdout = child.stdout.take().expect("stdout piped");
    let mut stderr = child.stderr.take().expect("stderr piped");
    let out = thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + BROWSER_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break Some(status);
        }
        if Instant::now() > deadline {
            break None;
        }
        thread::sleep(Duration::from_millis(50));
    };
    // Whatever of the group is left (helpers after a normal exit, everything after a timeout).
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid}")])
        .stderr(Stdio::null())
        .status();
    let _ = child.kill();
    let _ = child.wait();
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    match status {
        None => panic!("chromium did not finish within {BROWSER_TIMEOUT:?}; stderr:\n{err}"),
        Some(status) if !status.success() => {
            panic!("chromium failed ({status}); stdout:\n{out}\nstderr:\n{err}")
        }
        Some(_) => out,
    }
}

#[test]
fn the_browser_accepts_exactly_what_the_configuration_allows() {
    let page = page_server();
    let origin = page.base.clone();
    let allowed = format!(
        "allow_methods: [GET, PUT], allow_headers: [content-type, x-token], \
         expose_headers: [x-total-count], allow_origins: [\"{origin}\"]"
    );
    let creds = api_server(&format!("{{{allowed}, allow_credentials: true}}"));
    let plain = api_server(&format!("{{allow_origins: [\"{origin}\"]}}"));
    let star = api_server("{allow_origins: \"*\"}");
    let other =
        api_server("{allow_origins: [\"https://elsewhere.test\"], allow_credentials: true}");

    let url = format!(
        "{}?creds={}&plain={}&star={}&other={}",
        page.url("/page"),
        creds.base,
        plain.base,
        star.base,
        other.base
    );
    let dom = dump_dom(&url);
    let start = dom
        .find("<pre id=\"out\">")
        .map(|i| i + "<pre id=\"out\">".len());
    let end = dom.find("</pre>");
    let (Some(start), Some(end)) = (start, end) else {
        panic!("the page's output is missing from the DOM:\n{dom}");
    };
    let lines: Vec<&str> = dom[start..end].lines().collect();
    assert_eq!(lines, EXPECTED, "the DOM Chromium printed:\n{dom}");
}
