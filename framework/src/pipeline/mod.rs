//! Per-route chains: built once at startup, run on every request of the route.

mod chain;
mod run;
mod views;

pub use chain::Chain;
pub(crate) use chain::ChainBuilder;
pub(crate) use run::run;
