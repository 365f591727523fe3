//! Routing: the application's routers and handler types, the compiled route table (path ->
//! route -> what the runtime keeps per method), and the route-config resolver.

mod body;
mod body_stream;
mod handler;
mod params;
mod request_id;
mod resolve;
mod router;
mod service;
mod sse;
mod table;
mod upgrade;
mod values;
#[cfg(feature = "websocket")]
pub mod websocket;

pub use body::{Body, BoxError, Chunk};
pub use body_stream::{BodyError, BodyStream};
pub(crate) use handler::DynHandler;
pub use handler::{
    Handler, HandlerAnswer, IntoResponse, Json, Rejection, Request, Response, State, error_response,
};
pub use http::{Method, StatusCode};
pub(crate) use params::PathParams;
pub use request_id::RequestId;
pub(crate) use resolve::PathMatch;
pub use resolve::{ResolvedRouteConfig, RouteConfigResolver};
pub(crate) use router::MountDef;
pub use router::{RouteDef, Router};
pub(crate) use service::ServiceHandler;
pub(crate) use sse::EndsOnDrain;
pub use sse::{DEFAULT_KEEP_ALIVE, Event, Sse};
pub use table::RouteError;
pub(crate) use table::{MountEntry, RouteEntry, RouteMatch, RouteMethod, RouteTable, allow_value};
pub(crate) use upgrade::{ConnectionLease, WebSocketLimits};
pub use values::ExtensionValues;
pub(crate) use values::RequestValues;
