//! Static files are sent from disk in chunks: a 1 GiB file goes through a real server while
//! the server's memory stays flat, and byte ranges of it come back exact.

use std::io::{Read, Seek, SeekFrom, Write};
use std::time::Duration;

use beginnings_tests::TestServer;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_RANGE, RANGE};

const GIB: u64 = 1024 * 1024 * 1024;
/// Where the sparse file holds real bytes, so a range has something to tell apart.
const MARK_AT: u64 = 700 * 1024 * 1024 + 3;
const MARK: &[u8] = b"beginnings streams";
/// The most the server's resident memory may grow while sending the whole file.
const MAX_GROWTH_KB: u64 = 16 * 1024;

/// A 1 GiB sparse file (no disk blocks but the mark's) in a served directory.
fn site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("public")).unwrap();
    let mut file = std::fs::File::create(dir.path().join("public/big.bin")).unwrap();
    file.set_len(GIB).unwrap();
    file.seek(SeekFrom::Start(MARK_AT)).unwrap();
    file.write_all(MARK).unwrap();
    std::fs::write(dir.path().join("public/small.txt"), "small").unwrap();
    dir
}

fn serve(site: &tempfile::TempDir) -> TestServer {
    let public = site.path().join("public");
    TestServer::start_binary(
        "beginnings",
        &format!(
            "static:\n  directories:\n    - url_path: /files\n      directory: {}\n",
            public.display()
        ),
        &[],
    )
}

fn slow_client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap()
}

#[test]
fn a_file_of_a_gibibyte_is_sent_with_the_servers_memory_flat() {
    let site = site();
    let server = serve(&site);
    let client = slow_client();
    // Warm the server's pools and buffers on a small answer before the baseline.
    let small = client.get(server.url("/files/small.txt")).send().unwrap();
    assert_eq!(small.text().unwrap(), "small");
    let before = server.rss_kb();

    let mut response = client.get(server.url("/files/big.bin")).send().unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_LENGTH], GIB.to_string().as_str());
    assert_eq!(response.headers()[ACCEPT_RANGES], "bytes");
    let mut buffer = vec![0u8; 256 * 1024];
    let (mut read, mut peak, mut next_sample) = (0u64, before, 0u64);
    let mut mark = Vec::new();
    loop {
        let n = response.read(&mut buffer).unwrap();
        if n == 0 {
            break;
        }
        let (from, to) = (read, read + n as u64);
        // Keep the bytes of the mark as they pass.
        for offset in from.max(MARK_AT)..to.min(MARK_AT + MARK.len() as u64) {
            mark.push(buffer[(offset - from) as usize]);
        }
        read = to;
        if read >= next_sample {
            peak = peak.max(server.rss_kb());
            next_sample += 32 * 1024 * 1024;
        }
    }
    peak = peak.max(server.rss_kb());
    assert_eq!(read, GIB, "the whole file arrives");
    assert_eq!(mark, MARK, "the bytes arrive in order");
    let growth = peak - before;
    eprintln!(
        "1 GiB static file: server RSS {before} kB before, {peak} kB at most while sending \
         (growth {growth} kB)"
    );
    assert!(
        growth < MAX_GROWTH_KB,
        "the server's memory grew by {growth} kB sending the file"
    );
}

#[test]
fn a_range_of_the_big_file_is_exact() {
    let site = site();
    let server = serve(&site);
    let client = slow_client();
    let last = MARK_AT + MARK.len() as u64 - 1;
    let response = client
        .get(server.url("/files/big.bin"))
        .header(RANGE, format!("bytes={MARK_AT}-{last}"))
        .send()
        .unwrap();
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        response.headers()[CONTENT_RANGE],
        format!("bytes {MARK_AT}-{last}/{GIB}").as_str()
    );
    assert_eq!(
        response.headers()[CONTENT_LENGTH],
        MARK.len().to_string().as_str()
    );
    assert_eq!(response.bytes().unwrap(), MARK);

    // The last bytes, by suffix: zeros after the mark, the file's true end.
    let response = client
        .get(server.url("/files/big.bin"))
        .header(RANGE, "bytes=-4")
        .send()
        .unwrap();
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        response.headers()[CONTENT_RANGE],
        format!("bytes {}-{}/{GIB}", GIB - 4, GIB - 1).as_str()
    );
    assert_eq!(response.bytes().unwrap().as_ref(), [0, 0, 0, 0]);

    let response = client
        .get(server.url("/files/big.bin"))
        .header(RANGE, format!("bytes={GIB}-"))
        .send()
        .unwrap();
    assert_eq!(response.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        response.headers()[CONTENT_RANGE],
        format!("bytes */{GIB}").as_str()
    );
}
