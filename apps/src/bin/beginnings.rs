//! The `beginnings` command line.

use std::process::ExitCode;

use beginnings_apps::{ServeOptions, init_logging, serve};
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "beginnings",
    version,
    about = "Serve and inspect Beginnings applications"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Load the configuration and extensions and serve (routes come from the application
    /// binary; this serves the built-in /health and whatever the extensions answer).
    Serve(ServeOptions),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let result = match &cli.command {
        Command::Serve(options) => serve(options, vec![beginnings::builtin::health_router()]),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
