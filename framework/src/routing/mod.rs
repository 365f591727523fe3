//! Routing: the application's routers and handler types, the compiled route table (path ->
//! route -> what the runtime keeps per method), and the route-config resolver.

mod handler;
mod params;
mod resolve;
mod router;
mod table;
mod upgrade;
mod values;
#[cfg(feature = "websocket")]
pub mod websocket;

pub(crate) use handler::DynHandler;
pub use handler::{
    Body, Handler, HandlerAnswer, IntoResponse, Json, Rejection, Request, RequestId, Response,
    State, error_response,
};
pub use http::{Method, StatusCode};
pub(crate) use params::PathParams;
pub use resolve::{ResolvedRouteConfig, RouteConfigResolver};
pub use router::{RouteDef, Router};
pub use table::RouteError;
pub(crate) use table::{RouteEntry, RouteMatch, RouteMethod, RouteTable, allow_value};
pub(crate) use upgrade::{ConnectionLease, WebSocketLimits};
pub(crate) use values::RequestValues;
