//! `serve`: the start-up sequence (logging, configuration, extensions, listener).

use anyhow::Context;
use beginnings::Router;

use crate::options::ServeOptions;

/// Installs the log subscriber: `RUST_LOG` filters, `default` otherwise. Extension logs
/// arrive through the `log` bridge with the target `ext::<module>`.
pub fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Loads the configuration, mounts `routers`, loads the extensions, binds, prints
/// `listening on http://ADDR` and serves until Ctrl-C or SIGTERM.
pub fn serve(options: &ServeOptions, routers: Vec<Router>) -> anyhow::Result<()> {
    let app = options.build.app(routers)?;
    let workers = app.config().app.workers;
    let runtime = beginnings::tokio_runtime(workers).context("cannot start the async runtime")?;
    let built = app.build()?;
    runtime.block_on(async move {
        let server = built.bind(options.bind.as_deref()).await?;
        println!("listening on http://{}", server.local_addr());
        tracing::info!(addr = %server.local_addr(), "listening");
        server.run().await?;
        Ok(())
    })
}
