//! What the `beginnings` command line and the demo application share: one command line
//! (`serve`, `check`, `routes`, `config show`, `ext inspect`) that runs against whatever
//! routes the binary mounts, so `beginnings-demo routes` shows the demo's own routes.

#[cfg(feature = "client")]
mod bench;
mod check;
mod cli;
#[cfg(feature = "client")]
mod ext_status;
mod inspect;
mod math;
mod new;
mod options;
mod routes;
mod serve;
mod show;
mod table;

#[cfg(feature = "client")]
pub use bench::BenchOptions;
pub use cli::{Command, ConfigCommand, ExtCommand, parse, run};
pub use options::{BuildOptions, ConfigFile, ServeOptions, ShowFormat, ShowOptions};
pub use serve::{init_logging, serve};
