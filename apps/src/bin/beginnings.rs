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

/// jemalloc rather than the C library's allocator: it keeps hyper's two 8 KB buffers of
/// every connection on page boundaries, where the C library's headers put them astride
/// pages an idle connection then keeps resident (docs/performance.md).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = match parse::<Cli>() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    run(&cli.command, || vec![beginnings::builtin::health_router()])
}
