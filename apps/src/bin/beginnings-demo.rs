//! The demo application: a small blog (users and posts in SQLite, a JSON API, login tokens,
//! HTML pages) served by the Beginnings runtime with the extensions its configuration names.

#[path = "../demo/mod.rs"]
mod demo;

use std::process::ExitCode;

use beginnings_apps::{Command, ServeOptions, parse, run};
use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "beginnings-demo",
    version,
    about = "The Beginnings demo: a small blog with a JSON API and HTML pages",
    // Without a subcommand the demo serves, taking the serve flags directly, as it always has.
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeOptions,
}

/// The allocator of the `beginnings` command line (see there why).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = match parse::<Cli>() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let command = cli.command.unwrap_or(Command::Serve(cli.serve));
    run(&command, || {
        // The routes sign login tokens with the auth extension's secret and render the
        // configured templates, so they read the configuration the command will serve. One
        // that does not load is reported by the command itself.
        let file = match &command {
            Command::Serve(options) => Some(&options.build.file),
            Command::Check(options) | Command::Routes(options) => Some(&options.file),
            _ => None,
        };
        let app = file.and_then(|file| file.load().ok());
        demo::routers(app.as_ref())
    })
}
