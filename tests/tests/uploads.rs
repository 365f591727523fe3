//! A handler that takes a `BodyStream` reads an upload as it arrives: 64 MiB hashed chunk by
//! chunk through a real server with the process's memory bounded, the route's
//! `max_body_bytes` enforced mid-stream (413), and the body buffered as before when an
//! extension on the route reads request bodies.

use std::io::Read;

use beginnings::routing::{BodyError, BodyStream};
use beginnings::telemetry::process_memory;
use beginnings::{Request, Router};
use beginnings_tests::{InProcessServer, app_from_yaml, client};
use sha2::{Digest, Sha256};

const UPLOAD: u64 = 64 * 1024 * 1024;
/// The most this process (server and client) may grow while the upload goes through.
const MAX_GROWTH_KB: u64 = 16 * 1024;

/// Hashes the body as it arrives: answers `<sha256 hex> <length> <chunks>`.
async fn hash_upload(_request: Request, mut body: BodyStream) -> Result<String, BodyError> {
    let (mut hasher, mut length, mut chunks) = (Sha256::new(), 0usize, 0usize);
    while let Some(chunk) = body.chunk().await {
        let chunk = chunk?;
        hasher.update(&chunk);
        length += chunk.len();
        chunks += 1;
    }
    Ok(format!("{:x} {length} {chunks}", hasher.finalize()))
}

fn server(yaml: &str) -> InProcessServer {
    let (app, _dir) = app_from_yaml(yaml);
    let router = Router::new("/files")
        .post("/upload", hash_upload)
        .get("/upload", |_request: Request| async { "the upload form" });
    InProcessServer::start(app.mount(router).build().unwrap())
}

/// `len` bytes of a fixed pseudo-random sequence, made as they are read; samples this
/// process's resident memory every 4 MiB.
struct Generated {
    state: u64,
    left: u64,
    made: u64,
    peak_rss_kb: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Generated {
    fn new(len: u64) -> Self {
        Generated {
            state: 0x9e37_79b9_7f4a_7c15,
            left: len,
            made: 0,
            peak_rss_kb: Default::default(),
        }
    }
}

impl Read for Generated {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let n = buffer.len().min(self.left as usize).min(64 * 1024);
        for byte in &mut buffer[..n] {
            // xorshift64
            self.state ^= self.state << 13;
            self.state ^= self.state >> 7;
            self.state ^= self.state << 17;
            *byte = self.state as u8;
        }
        if self.made / (4 << 20) != (self.made + n as u64) / (4 << 20) {
            let rss = rss_kb();
            self.peak_rss_kb
                .fetch_max(rss, std::sync::atomic::Ordering::Relaxed);
        }
        self.left -= n as u64;
        self.made += n as u64;
        Ok(n)
    }
}

fn rss_kb() -> u64 {
    process_memory().expect("/proc/self/status").rss_bytes / 1024
}

fn expected_hash(len: u64) -> String {
    let mut generated = Generated::new(len);
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = generated.read(&mut buffer).unwrap();
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    format!("{:x}", hasher.finalize())
}

fn slow_client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(300))
        .build()
        .unwrap()
}

#[test]
fn an_upload_of_64_mib_is_hashed_as_it_arrives_with_memory_bounded() {
    let server = server("app:\n  max_body_bytes: 134217728\n");
    let want = expected_hash(UPLOAD);
    // Warm the server and the client's connection pool on a small upload first.
    let client = slow_client();
    let small = client
        .post(server.url("/files/upload"))
        .body("warm")
        .send()
        .unwrap();
    assert_eq!(small.status(), 200);
    let before = rss_kb();

    let upload = Generated::new(UPLOAD);
    let peak = upload.peak_rss_kb.clone();
    let response = client
        .post(server.url("/files/upload"))
        .body(reqwest::blocking::Body::sized(upload, UPLOAD))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer = response.text().unwrap();
    let fields: Vec<&str> = answer.split(' ').collect();
    assert_eq!(fields[0], want, "the handler hashed exactly what was sent");
    assert_eq!(fields[1], UPLOAD.to_string());
    let chunks: usize = fields[2].parse().unwrap();

    let peak = peak
        .load(std::sync::atomic::Ordering::Relaxed)
        .max(rss_kb());
    let growth = peak.saturating_sub(before);
    eprintln!(
        "64 MiB upload: process RSS {before} kB before, {peak} kB at most while uploading \
         (growth {growth} kB), {chunks} chunks"
    );
    assert!(
        growth < MAX_GROWTH_KB,
        "memory grew by {growth} kB during the upload"
    );
    assert!(chunks > 64, "read in many chunks, not whole: {chunks}");
}

#[test]
fn a_streamed_body_past_max_body_bytes_is_refused_413() {
    let server = server("app:\n  max_body_bytes: 1048576\n");
    // Sent without a length (chunked), so only reading it finds it too large.
    let response = slow_client()
        .post(server.url("/files/upload"))
        .body(reqwest::blocking::Body::new(Generated::new(
            4 * 1024 * 1024,
        )))
        .send()
        .unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(response.headers()["connection"], "close");
    let body: serde_json::Value = response.json().unwrap();
    assert_eq!(
        body["error"]["message"],
        "request body larger than 1048576 bytes"
    );

    // Within the limit, the same route takes it.
    let response = client()
        .post(server.url("/files/upload"))
        .body(reqwest::blocking::Body::new(Generated::new(512 * 1024)))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer = response.text().unwrap();
    assert!(answer.starts_with(&expected_hash(512 * 1024)), "{answer}");
}

#[test]
fn an_extension_that_reads_bodies_gets_the_body_buffered_and_the_handler_one_chunk() {
    // csrf reads form bodies for its token field, so the route's body is read whole first.
    let server = server(
        "extensions:\n  \"csrf:CsrfExtension\":\n    secret: test-secret-0123456789abcdef-0123456789\n",
    );
    let page = client().get(server.url("/files/upload")).send().unwrap();
    assert_eq!(page.status(), 200);
    let cookie = page
        .headers()
        .get("set-cookie")
        .map(|value| {
            value
                .to_str()
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .to_owned()
        })
        .expect("csrf issues its cookie on a safe request");
    let token = cookie.strip_prefix("csrf_token=").unwrap().to_owned();

    let len = 2 * 1024 * 1024 / 4;
    let response = client()
        .post(server.url("/files/upload"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &token)
        .body(reqwest::blocking::Body::new(Generated::new(len)))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer = response.text().unwrap();
    assert_eq!(answer, format!("{} {len} 1", expected_hash(len)));
}
