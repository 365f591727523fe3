//! The HTTP/1.1 + h2c builder every listener serves with, under the connection limits of
//! `app`.

use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;

use crate::config::AppConfig;

/// The HTTP/1.1 + h2c builder with the connection limits of `app`.
pub(crate) fn http_builder(app: &AppConfig) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .keep_alive(app.keep_alive)
        // The request line and headers must fit: larger heads are answered 431.
        .max_buf_size(app.max_header_bytes)
        // A client that does not send a whole head in time is disconnected; while a
        // kept-alive connection waits for its next request the same clock runs.
        .header_read_timeout(app.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(app.max_header_bytes).unwrap_or(u32::MAX));
    builder
}
