//! What the `beginnings` command line and the demo application share: the serve options and
//! the start-up sequence (logging, configuration, extensions, listener).

use std::path::PathBuf;

use anyhow::Context;
use beginnings::{App, Router};
use clap::Args;

/// Options every serving binary takes.
#[derive(Debug, Clone, Args)]
pub struct ServeOptions {
    /// The configuration file.
    #[arg(long, short, default_value = "config/app.yaml")]
    pub config: PathBuf,
    /// The profile overlaid on the configuration (`app.<profile>.yaml` beside it).
    #[arg(long, env = "BEGINNINGS_ENV")]
    pub profile: Option<String>,
    /// Where the extension libraries are; overrides `app.extensions_dir`.
    #[arg(long, env = "BEGINNINGS_EXTENSIONS_DIR")]
    pub extensions_dir: Option<PathBuf>,
    /// Listen address as HOST:PORT; overrides `app.host` and `app.port` (port 0 picks one).
    #[arg(long)]
    pub bind: Option<String>,
}

/// Installs the log subscriber: `RUST_LOG` filters, `info` by default. Extension logs
/// arrive through the `log` bridge with the target `ext::<module>`.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Loads the configuration, mounts `routers`, loads the extensions, binds, prints
/// `listening on http://ADDR` and serves until Ctrl-C or SIGTERM.
pub fn serve(options: &ServeOptions, routers: Vec<Router>) -> anyhow::Result<()> {
    let mut app = App::from_file(&options.config, options.profile.as_deref())?;
    if let Some(directory) = &options.extensions_dir {
        app = app.extensions_dir(directory);
    }
    for router in routers {
        app = app.mount(router);
    }
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
