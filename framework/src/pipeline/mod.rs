//! Per-route chains: built once at startup, run on every request of the route.

mod breaker;
mod chain;
mod host;
mod prepared;
mod probe;
mod run;
mod values;

pub(crate) use crate::loader::views::RequestValues;
pub use breaker::BreakerPolicy;
pub use chain::Chain;
pub(crate) use chain::ChainBuilder;
pub(crate) use host::{HostChains, HostEntry};
pub(crate) use prepared::get as prepared_header;
pub(crate) use prepared::prepare as prepare_header;
pub(crate) use prepared::{names as prepared_names, prepare_name as prepare_header_name};
pub use probe::{ChainProbe, ProbedRequest};
pub(crate) use run::{Answer, Incoming, run};
pub use values::ValueOrderError;
