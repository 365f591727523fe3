//! The safe side of the ABI: what an extension author writes against.
//!
//! ```ignore
//! use beginnings_abi::{
//!     Action, Error, Extension, Filter, Hooks, Host, NoRouteSettings, Request, Route,
//!     export_extension,
//! };
//!
//! #[derive(serde::Deserialize)]
//! struct Config { greeting: String }
//!
//! struct Hello { greeting: String }
//! impl Extension for Hello {
//!     type Config = Config;
//!     type RouteConfig = NoRouteSettings;
//!     type Filter = HelloFilter;
//!     fn new(config: Config, _host: Host) -> Result<Self, Error> { Ok(Hello { greeting: config.greeting }) }
//!     fn filter(&self, _route: &Route<'_, NoRouteSettings>) -> Result<Option<HelloFilter>, Error> {
//!         Ok(Some(HelloFilter(self.greeting.clone())))
//!     }
//! }
//! struct HelloFilter(String);
//! impl Filter for HelloFilter {
//!     type State = ();
//!     fn hooks(&self) -> Hooks { Hooks::none().request() }
//!     fn on_request(&self, _state: &mut (), request: &mut Request<'_>) -> Result<Action, Error> {
//!         request.set_header("x-greeting", &self.0)?;
//!         Ok(Action::Continue)
//!     }
//! }
//! export_extension!(Hello);
//! ```

mod adapter;
mod error;
pub(crate) mod export;
mod host;
mod memory;
mod message;
mod reply;
pub(crate) mod route_keys;
mod store;
mod traits;

pub use error::Error;
pub use host::{Counter, Gauge, Histogram, Host, PreparedHeader, PreparedName};
pub use memory::{ProcessMemory, memory_figure, process_memory};
pub use message::{Request, Response};
pub use reply::{Action, Reply, error_body};
pub use store::{Rate, SharedStore, StoreError, Take, gcra_step};
pub use traits::{Extension, Filter, Hooks, NoRouteSettings, Route};

/// Logging macros; inside an extension they write to the host's log.
pub use log;
/// JSON values, as extension commands and route settings use them.
pub use serde_json as json;

#[doc(hidden)]
pub mod __private {
    pub use super::export::{
        min_host, new_extension, panic_strategy_is_unwind, root_module, type_info, unknown_type,
    };
    pub use crate::ffi::{
        ABI_VERSION, AbiVersion, ExtensionModule_Ref, ExtensionObject, HostHandle, TypeInfo, note,
    };
    pub use abi_stable::library::{
        __call_root_module_loader, CheckTypeLayout, LibHeader, RootModuleResult,
    };
    pub use abi_stable::std_types::{RResult, RStr, RString};
}
