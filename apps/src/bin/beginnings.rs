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

/// jemalloc rather than the C library's allocator: the same allocations touch fewer pages,
/// an idle kept-alive connection costs 8.1 KiB rather than 12.6, and a request fewer
/// instructions (docs/performance.md, "Advice that holds here").
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = match parse::<Cli>() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    run(&cli.command, || vec![beginnings::builtin::health_router()])
}
