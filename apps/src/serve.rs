//! `serve`: the start-up sequence (configuration, logging, extensions, listener).

use anyhow::Context;
use beginnings::Router;
use beginnings::config::LogFormat;

use crate::options::ServeOptions;

/// Installs the log subscriber: `RUST_LOG` filters, `default` otherwise; lines as text, or
/// one JSON object per line. Extension logs arrive through the `log` bridge with the target
/// `ext::<module>`; the access log has the target `beginnings::access`.
pub fn init_logging(default: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
    };
}

/// Loads the configuration, mounts `routers`, loads the extensions, binds, prints
/// `listening on http://ADDR` and serves until Ctrl-C or SIGTERM; SIGHUP reloads.
pub fn serve(options: &ServeOptions, routers: Vec<Router>) -> anyhow::Result<()> {
    let mut app = options.build.app(routers)?;
    init_logging("info", app.config().app.log_format);
    if options.no_access_log {
        app = app.access_log(false);
    }
    let addr = options.bind.clone().or_else(|| {
        options
            .port
            .map(|port| format!("{}:{port}", app.config().app.host))
    });
    let workers = app.config().app.workers;
    let runtime = beginnings::tokio_runtime(workers).context("cannot start the async runtime")?;
    let built = app.build()?;
    runtime.block_on(async move {
        let server = built
            .bind(addr.as_deref())
            .await?
            .watch_config(options.watch)
            .catch_signals();
        if let Some(metrics) = server.metrics_addr() {
            println!("metrics on http://{metrics}");
        }
        println!("listening on http://{}", server.local_addr());
        tracing::info!(addr = %server.local_addr(), "listening");
        server.run().await?;
        Ok(())
    })
}
