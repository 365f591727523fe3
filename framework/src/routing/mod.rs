//! Routing: the application's routers and handler types, the compiled route table (path ->
//! route -> what the runtime keeps per method), and the route-config resolver.

mod body;
mod handler;
mod params;
mod resolve;
mod router;
mod service;
mod table;
mod values;

pub use body::{Body, BoxError, Chunk};
pub(crate) use handler::DynHandler;
pub use handler::{
    Handler, HandlerAnswer, IntoResponse, Json, Rejection, Request, RequestId, Response, State,
    error_response,
};
pub use http::{Method, StatusCode};
pub(crate) use params::PathParams;
pub(crate) use resolve::PathMatch;
pub use resolve::{ResolvedRouteConfig, RouteConfigResolver};
pub(crate) use router::MountDef;
pub use router::{RouteDef, Router};
pub(crate) use service::ServiceHandler;
pub use table::RouteError;
pub(crate) use table::{MountEntry, RouteEntry, RouteMatch, RouteMethod, RouteTable, allow_value};
pub use values::ExtensionValues;
pub(crate) use values::RequestValues;
