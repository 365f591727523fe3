//! Refused request bodies are read and thrown away for a bounded while before the connection
//! closes, as nginx's lingering close does: a client still sending a body the server already
//! refused (413) then reads that answer instead of a reset that loses it.

use std::time::Duration;

use http_body_util::BodyExt;

use super::body::RequestBody;

/// At most this much of a refused body is read (and discarded) after the answer.
pub(crate) const LINGER_BYTES: usize = 16 * 1024 * 1024;
/// For at most this long.
pub(crate) const LINGER_TIME: Duration = Duration::from_secs(5);

/// Reads what is left of `body` in the background, within [`LINGER_BYTES`] and
/// [`LINGER_TIME`], then drops it (which lets the connection close).
pub(crate) fn linger<B: RequestBody>(body: B) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    runtime.spawn(async move {
        let mut body = body;
        let mut left = LINGER_BYTES;
        let _ = tokio::time::timeout(LINGER_TIME, async {
            while let Some(Ok(frame)) = body.frame().await {
                let Some(data) = frame.data_ref() else {
                    continue;
                };
                if data.len() >= left {
                    break;
                }
                left -= data.len();
            }
        })
        .await;
    });
}
