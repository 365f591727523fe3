//! A file (or a byte range of it) sent from disk in chunks as the client takes them, so an
//! answer holds one chunk in memory whatever the file's size.

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures_util::Stream;
use http_body::{Frame, SizeHint};
use tokio::fs::File;
use tokio::io::{AsyncReadExt, AsyncSeekExt, Take};
use tokio_util::io::ReaderStream;

use crate::routing::Body;

/// Bytes read from disk per chunk: large enough that a big file takes few trips to tokio's
/// blocking pool, small enough that many downloads at once stay cheap.
const CHUNK_BYTES: usize = 128 * 1024;

/// `count` bytes of the file at `path` from `start`, as a body of exactly that length (the
/// server sends it as `Content-Length`). The file is opened now, so a file that vanished
/// is an error here, before any answer is made.
pub(super) async fn file_body(path: &Path, start: u64, count: u64) -> io::Result<Body> {
    let mut file = File::open(path).await?;
    if start > 0 {
        file.seek(io::SeekFrom::Start(start)).await?;
    }
    Ok(Body::new(FileChunks {
        chunks: ReaderStream::with_capacity(file.take(count), CHUNK_BYTES),
        remaining: count,
    }))
}

struct FileChunks {
    chunks: ReaderStream<Take<File>>,
    /// Bytes still owed: the length promised in `Content-Length`.
    remaining: u64,
}

impl http_body::Body for FileChunks {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        if this.remaining == 0 {
            return Poll::Ready(None);
        }
        Poll::Ready(match ready!(Pin::new(&mut this.chunks).poll_next(cx)) {
            Some(Ok(chunk)) => {
                this.remaining = this.remaining.saturating_sub(chunk.len() as u64);
                Some(Ok(Frame::data(chunk)))
            }
            Some(Err(error)) => Some(Err(error)),
            // Truncated while being sent: fail the answer rather than send fewer bytes than
            // its `Content-Length` promised.
            None => {
                this.remaining = 0;
                Some(Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "static file became shorter while it was being sent",
                )))
            }
        })
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body::Body as _;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn a_range_is_read_in_chunks_of_its_exact_length() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.bin");
        let contents: Vec<u8> = (0..3 * CHUNK_BYTES).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &contents).unwrap();

        let (start, count) = (1000, 2 * CHUNK_BYTES as u64 + 7);
        let mut body = file_body(&path, start, count).await.unwrap();
        assert_eq!(body.size_hint().exact(), Some(count));
        let mut read = Vec::new();
        let mut frames = 0;
        while let Some(frame) = body.frame().await {
            read.extend_from_slice(&frame.unwrap().into_data().unwrap());
            frames += 1;
        }
        assert_eq!(read, &contents[1000..1000 + count as usize]);
        assert!(frames >= 3, "sent in chunks, not whole: {frames} frame(s)");
    }

    #[tokio::test]
    async fn a_file_shorter_than_promised_fails_the_answer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("short.txt");
        std::fs::write(&path, "only this").unwrap();
        let error = file_body(&path, 0, 100)
            .await
            .unwrap()
            .collect()
            .await
            .unwrap_err();
        assert!(error.to_string().contains("shorter"), "{error}");
    }
}
