//! The tower ecosystem both ways, on one configuration (`config/mount_axum.yaml`):
//!
//! * a Beginnings app (on `app.port`, 8000) serves its own route `/hello` and mounts an axum
//!   router under `/legacy` (`Router::nest_service`); the extensions the configuration's
//!   patterns give `/legacy/**` (security headers, auth) run in front of it;
//! * a plain axum app (on `app.port + 1`, 8001, served by `axum::serve`) nests the same router
//!   under `/legacy` and runs the same extensions in front through
//!   `beginnings::tower::ExtensionLayer`.
//!
//! ```text
//! cargo build --workspace
//! cargo run -p beginnings-apps --example mount_axum [-- path/to/config.yaml]
//! curl -i localhost:8000/legacy/public/hello      # the axum handler, with security headers
//! curl -i localhost:8000/legacy/hello             # 401 from the auth extension
//! curl -i localhost:8001/legacy/hello             # the same 401, in front of axum::serve
//! ```

use anyhow::Context;
use axum::http::Uri;
use axum::routing::get;
use beginnings::tower::ExtensionLayer;
use beginnings::{App, Router};

/// An application written for axum, kept as it is.
fn legacy() -> axum::Router {
    axum::Router::new()
        .route("/hello", get(|| async { "hello from axum" }))
        .route(
            "/public/hello",
            get(|| async { "hello to everyone from axum" }),
        )
        // The prefix is taken off: `/legacy/public/where` arrives as `/public/where`.
        .route(
            "/public/where",
            get(|uri: Uri| async move { uri.to_string() }),
        )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt::init();
    let config = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "config/mount_axum.yaml".into());

    // One way: the axum router mounted in a Beginnings app.
    let router = Router::new("")
        .get("/hello", |_request| async { "hello from Beginnings" })
        .nest_service("/legacy", legacy());
    let app = App::from_file(&config, None)?.mount(router);
    let port = app.config().app.port;
    let server = app.build()?.bind(None).await?;
    println!(
        "Beginnings with axum under /legacy: http://{}",
        server.local_addr()
    );

    // The other way: the configuration's extensions in front of a plain axum app.
    let layer = ExtensionLayer::from_config(&config)?;
    let plain = axum::Router::new().nest("/legacy", legacy()).layer(layer);
    let next = port
        .checked_add(1)
        .context("app.port leaves no port after it")?;
    let addr = format!("127.0.0.1:{next}");
    let listener =
        (tokio::net::TcpListener::bind(&addr).await).with_context(|| format!("binding {addr}"))?;
    println!("axum behind the extension layer: http://{addr}");

    tokio::select! {
        served = server.run() => served?,
        served = axum::serve(listener, plain) => served?,
    }
    Ok(())
}
