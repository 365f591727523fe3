//! The subcommands both binaries offer, and running one of them.

use std::path::PathBuf;
use std::process::ExitCode;

use beginnings::Router;
use beginnings::config::LogFormat;
use clap::{Parser, Subcommand};

#[cfg(feature = "client")]
use crate::bench::{self, BenchOptions};
#[cfg(feature = "client")]
use crate::ext_status;
use crate::options::{BuildOptions, ServeOptions, ShowOptions};
use crate::serve::{init_logging, serve};
use crate::{check, inspect, new, routes, show};

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load the configuration and extensions and serve this binary's routes.
    Serve(ServeOptions),
    /// Load the configuration and every extension and build every route's chain: print every
    /// problem (exit 1) or a one-line summary (exit 0).
    Check(BuildOptions),
    /// Show every route: its chain of extensions, the patterns that matched it, and its
    /// resolved settings.
    Routes(BuildOptions),
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Inspect extension libraries.
    #[command(subcommand)]
    Ext(ExtCommand),
    /// Start something new.
    #[command(subcommand)]
    New(NewCommand),
    /// Load-test a running server: concurrency, success and failure counts, latency
    /// percentiles and requests/s over wall time.
    #[cfg(feature = "client")]
    Bench(BenchOptions),
}

#[derive(Debug, Subcommand)]
pub enum NewCommand {
    /// Write an extension crate (Cargo.toml, src/lib.rs with a documented filter, config and
    /// tests on the SDK's test host, README) that builds and loads without edits.
    Extension {
        /// The module name: lowercase letters, digits and `_` (it becomes lib<NAME>.so).
        name: String,
        /// The directory to write the crate into (as <DIR>/<NAME>).
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// The Beginnings SDK crate (`abi/` of this source tree by default).
        #[arg(long)]
        sdk: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration (files, includes and profile merged, `${VAR}`
    /// interpolated) with secrets replaced by "***".
    Show(ShowOptions),
}

#[derive(Debug, Subcommand)]
pub enum ExtCommand {
    /// Open an extension library with every check the loader makes and print what it exports.
    Inspect {
        /// The library, e.g. target/debug/libsecurity.so.
        file: PathBuf,
    },
    /// Show the extension builds a running server uses, from its metrics: per module the
    /// build in use (sha256, ABI, when opened), the builds swaps replaced, swaps and rollbacks.
    #[cfg(feature = "client")]
    Status {
        /// The server's metrics route, e.g. http://127.0.0.1:8000/metrics.
        url: String,
    },
}

/// Parses the command line. A usage error exits 1 like every other failure (clap would use
/// 2), so scripts see one failure code; `--help` and `--version` exit 0.
pub fn parse<P: Parser>() -> Result<P, ExitCode> {
    P::try_parse().map_err(|error| {
        let _ = error.print();
        if error.use_stderr() {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        }
    })
}

/// Runs `command` against the routes `routers` returns (called only by the commands that need
/// them) and turns the outcome into the exit code: 0 on success, 1 on any failure, with the
/// error on stderr.
pub fn run(command: &Command, routers: impl FnOnce() -> Vec<Router>) -> ExitCode {
    // Serving logs what it does (its subscriber is installed once the configuration says
    // in which format); the inspection commands print a report, so only warnings and
    // errors from the runtime belong next to it.
    if !matches!(command, Command::Serve(_)) {
        init_logging("warn", LogFormat::Text);
    }
    let outcome = match command {
        Command::Serve(options) => serve(options, routers()).map(|()| ExitCode::SUCCESS),
        Command::Check(options) => Ok(check::check(options, routers())),
        Command::Routes(options) => routes::routes(options, routers()),
        Command::Config(ConfigCommand::Show(options)) => show::show(options),
        Command::Ext(ExtCommand::Inspect { file }) => Ok(inspect::inspect(file)),
        #[cfg(feature = "client")]
        Command::Ext(ExtCommand::Status { url }) => {
            ext_status::status(url).map_err(anyhow::Error::msg)
        }
        #[cfg(feature = "client")]
        Command::Bench(options) => bench::bench(options),
        Command::New(NewCommand::Extension { name, dir, sdk }) => {
            new::new_extension(name, dir, sdk.as_deref()).map(|root| {
                println!("wrote {}", root.display());
                println!(
                    "next: cd {} && cargo test && cargo build --release",
                    root.display()
                );
                ExitCode::SUCCESS
            })
        }
    };
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
