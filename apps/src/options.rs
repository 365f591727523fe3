//! The options the subcommands share: which configuration, which profile, where the
//! extension libraries are, where to listen.

use std::path::PathBuf;

use beginnings::{App, Router, Runtime};
use clap::{Args, ValueEnum};

/// Which configuration to read.
#[derive(Debug, Clone, Args)]
pub struct ConfigFile {
    /// The configuration file.
    #[arg(long, short, default_value = "config/app.yaml")]
    pub config: PathBuf,
    /// The profile overlaid on the configuration (`app.<profile>.yaml` beside it);
    /// BEGINNINGS_ENV when not given.
    // Not a clap `env`: the runtime reads BEGINNINGS_ENV itself and, unlike an explicit
    // --profile, lets a machine-wide value have no overlay file.
    #[arg(long)]
    pub profile: Option<String>,
}

/// A configuration plus where its extensions are: enough to build the application.
#[derive(Debug, Clone, Args)]
pub struct BuildOptions {
    #[command(flatten)]
    pub file: ConfigFile,
    /// Where the extension libraries are; overrides `app.extensions_dir`.
    #[arg(long, env = "BEGINNINGS_EXTENSIONS_DIR")]
    pub extensions_dir: Option<PathBuf>,
}

/// Options every serving binary takes.
#[derive(Debug, Clone, Args)]
pub struct ServeOptions {
    #[command(flatten)]
    pub build: BuildOptions,
    /// Listen address as HOST:PORT; overrides `app.host` and `app.port` (port 0 picks one).
    #[arg(long)]
    pub bind: Option<String>,
    /// Listen port; overrides `app.port` (`--bind` wins over it).
    #[arg(long)]
    pub port: Option<u16>,
    /// Log no line per request, whatever `app.access_log` says.
    #[arg(long)]
    pub no_access_log: bool,
    /// Reload when a configuration file or an extension library in use changes (as SIGHUP
    /// does).
    #[arg(long)]
    pub watch: bool,
}

/// `config show` options.
#[derive(Debug, Clone, Args)]
pub struct ShowOptions {
    #[command(flatten)]
    pub file: ConfigFile,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ShowFormat::Yaml)]
    pub format: ShowFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ShowFormat {
    Yaml,
    Json,
}

impl ConfigFile {
    pub fn load(&self) -> Result<App, beginnings::Error> {
        App::from_file(&self.config, self.profile.as_deref())
    }
}

impl BuildOptions {
    /// Loads the configuration and mounts `routers`, without loading extensions yet.
    pub fn app(&self, routers: Vec<Router>) -> Result<App, beginnings::Error> {
        let mut app = self.file.load()?;
        if let Some(directory) = &self.extensions_dir {
            app = app.extensions_dir(directory);
        }
        Ok(routers.into_iter().fold(app, App::mount))
    }

    /// Loads the configuration, every extension, and builds every route's chain.
    pub fn build(&self, routers: Vec<Router>) -> Result<Runtime, beginnings::Error> {
        self.app(routers)?.build()
    }
}
