//! Per-route chains: built once at startup, run on every request of the route.

mod body;
mod build;
mod error;
mod host_chains;
mod limits;
mod linger;
mod probe;
mod run;
mod stats;
mod values;

pub(crate) use body::refuse_declared;
pub use build::Chain;
pub(crate) use build::ChainBuilder;
pub(crate) use error::ChainError;
pub use error::PipelineError;
pub(crate) use host_chains::{HostChains, HostEntry};
pub(crate) use limits::{BodyPace, RouteLimits};
pub use probe::{ChainProbe, ProbedRequest};
pub(crate) use run::{Answer, Incoming, run};
pub use values::ValueOrderError;
