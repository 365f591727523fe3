//! The metrics on a listener of their own (`app.metrics.bind`): scrapers reach them on an
//! internal address while the public port serves only the application.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::StatusCode;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::connection::Stop;
use crate::builtin::metrics_response;
use crate::config::AppConfig;
use crate::routing::{Request, error_response};
use crate::telemetry::metrics::Registry;

/// Serves `GET <path>` on `listener` until the server stops; no extensions, no access log.
pub(crate) fn spawn(
    listener: TcpListener,
    app: &AppConfig,
    registry: Arc<Registry>,
    mut stopping: watch::Receiver<Stop>,
) {
    let path = app.metrics.path.clone();
    let builders =
        super::protocol::http_builders(app).with_hyper_head_timeout(app.header_read_timeout);
    let first_wait = app.header_read_timeout;
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = stopping.wait_for(|stop| *stop != Stop::Serve) => break,
            };
            let Ok((stream, _peer)) = accepted else {
                continue;
            };
            let (path, registry) = (path.clone(), registry.clone());
            let service = hyper::service::service_fn(move |request: hyper::Request<_>| {
                let (path, registry) = (path.clone(), registry.clone());
                async move {
                    let (parts, _body) = request.into_parts();
                    let answer = if parts.uri.path() == path {
                        metrics_response(
                            &registry,
                            &Request {
                                parts,
                                body: Bytes::new(),
                                stream: None,
                                params: Default::default(),
                                request_id: None,
                                values: Default::default(),
                            },
                        )
                    } else {
                        error_response(StatusCode::NOT_FOUND, "not found")
                    };
                    Ok::<_, Infallible>(answer)
                }
            });
            let (builders, mut stop) = (builders.clone(), stopping.clone());
            tokio::spawn(async move {
                let first = super::protocol::first_bytes(&stream, first_wait, &mut stop).await;
                if let Some(protocol) = first {
                    let _ = builders
                        .serve(protocol, TokioIo::new(stream), service)
                        .await;
                }
            });
        }
    });
}
