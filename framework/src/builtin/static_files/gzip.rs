//! gzip for static files: what the client accepts, which types are worth compressing, and
//! a bounded cache of files compressed on the fly.

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use http::{HeaderMap, header};
use parking_lot::Mutex;

/// Files larger than this are sent as they are rather than compressed on the fly.
pub(crate) const MAX_ON_THE_FLY: u64 = 8 * 1024 * 1024;
/// Compressed bytes kept per served directory; the oldest entries go first.
const CACHE_BYTES: usize = 32 * 1024 * 1024;

/// Whether `Accept-Encoding` accepts gzip: `gzip` (or `x-gzip`) with a quality above 0, or
/// `*` above 0 where gzip is not named.
pub(crate) fn accepts_gzip(headers: &HeaderMap) -> bool {
    let (mut gzip, mut any) = (None::<f32>, None::<f32>);
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim();
            let quality = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .map(|q| q.trim().parse::<f32>().unwrap_or(0.0))
                .next()
                .unwrap_or(1.0);
            let slot =
                if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
                    &mut gzip
                } else if coding == "*" {
                    &mut any
                } else {
                    continue;
                };
            *slot = Some(slot.map_or(quality, |q| q.max(quality)));
        }
    }
    gzip.or(any).is_some_and(|q| q > 0.0)
}

/// Text-like types; images, archives and fonts are compressed already.
pub(crate) fn compressible(essence: &str) -> bool {
    essence.starts_with("text/")
        || essence.ends_with("+json")
        || essence.ends_with("+xml")
        || matches!(
            essence,
            "application/javascript"
                | "application/json"
                | "application/xml"
                | "application/wasm"
                | "image/svg+xml"
                | "image/x-icon"
                | "font/ttf"
                | "font/otf"
        )
}

/// Files compressed on the fly, keyed by real path and checked against size and
/// modification time, so a changed file is compressed again.
#[derive(Debug, Default)]
pub(crate) struct GzipCache {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<PathBuf, Entry>,
    order: VecDeque<PathBuf>,
    bytes: usize,
}

#[derive(Debug)]
struct Entry {
    len: u64,
    modified: Option<SystemTime>,
    gzipped: Bytes,
}

impl GzipCache {
    /// The gzip form of the file at `real` (`len` bytes, modified at `modified`), from the
    /// cache or compressed now on a blocking thread.
    pub async fn get(
        &self,
        real: &Path,
        len: u64,
        modified: Option<SystemTime>,
    ) -> std::io::Result<Bytes> {
        if let Some(entry) = self.inner.lock().entries.get(real)
            && entry.len == len
            && entry.modified == modified
        {
            return Ok(entry.gzipped.clone());
        }
        let plain = tokio::fs::read(real).await?;
        let gzipped = tokio::task::spawn_blocking(move || {
            let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
            encoder.write_all(&plain)?;
            encoder.finish()
        })
        .await
        .map_err(std::io::Error::other)??;
        let gzipped = Bytes::from(gzipped);
        self.insert(real, len, modified, gzipped.clone());
        Ok(gzipped)
    }

    fn insert(&self, real: &Path, len: u64, modified: Option<SystemTime>, gzipped: Bytes) {
        if gzipped.len() > CACHE_BYTES {
            return;
        }
        let mut inner = self.inner.lock();
        if let Some(old) = inner.entries.remove(real) {
            inner.bytes -= old.gzipped.len();
            inner.order.retain(|p| p != real);
        }
        while inner.bytes + gzipped.len() > CACHE_BYTES {
            let Some(oldest) = inner.order.pop_front() else {
                break;
            };
            if let Some(old) = inner.entries.remove(&oldest) {
                inner.bytes -= old.gzipped.len();
            }
        }
        inner.bytes += gzipped.len();
        inner.order.push_back(real.to_path_buf());
        inner.entries.insert(
            real.to_path_buf(),
            Entry {
                len,
                modified,
                gzipped,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn accepts(value: &'static str) -> bool {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static(value));
        accepts_gzip(&headers)
    }

    #[test]
    fn quality_values_decide() {
        assert!(accepts("gzip"));
        assert!(accepts("br, gzip;q=0.5"));
        assert!(accepts("*"));
        assert!(accepts("X-GZIP"));
        assert!(!accepts("gzip;q=0"));
        assert!(!accepts("gzip;q=0, *"));
        assert!(!accepts("*;q=0"));
        assert!(!accepts("br, deflate"));
        assert!(!accepts("identity"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[tokio::test]
    async fn the_cache_gives_gzip_of_the_current_file() {
        use std::io::Read;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.css");
        let cache = GzipCache::default();
        let mut last = None;
        for text in ["first version ", "second, longer version "] {
            let plain = text.repeat(50);
            std::fs::write(&path, &plain).unwrap();
            let metadata = std::fs::metadata(&path).unwrap();
            let (len, modified) = (metadata.len(), metadata.modified().ok());
            let gzipped = cache.get(&path, len, modified).await.unwrap();
            let mut unzipped = String::new();
            flate2::read::GzDecoder::new(&gzipped[..])
                .read_to_string(&mut unzipped)
                .unwrap();
            assert_eq!(unzipped, plain);
            assert_ne!(
                last.as_ref(),
                Some(&gzipped),
                "a changed file is compressed again"
            );
            last = Some(gzipped);
        }
        assert_eq!(cache.inner.lock().entries.len(), 1);
    }
}
