//! The `beginnings` command line: serves and inspects an application whose routes are the
//! runtime's built-ins.

use std::process::ExitCode;

use beginnings_apps::{Command, parse, run};
use clap::Parser;

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

fn main() -> ExitCode {
    let cli = match parse::<Cli>() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    run(&cli.command, || vec![beginnings::builtin::health_router()])
}
