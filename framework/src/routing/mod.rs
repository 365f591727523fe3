//! Routing: the application's routers, the compiled route table (path -> route, with its
//! prebuilt chain per method), and the route-config resolver.

mod handler;
mod params;
pub mod pattern;
pub mod resolve;
mod router;
mod table;

pub(crate) use handler::DynHandler;
pub use handler::{
    Body, IntoResponse, Json, Rejection, Request, RequestId, Response, error_response,
};
pub use http::{Method, StatusCode};
pub(crate) use params::PathParams;
pub use resolve::{ResolvedRouteConfig, RouteConfigResolver};
pub use router::{RouteDef, Router};
pub(crate) use table::{MethodEntry, RouteEntry, RouteMatch, RouteTable, allow_header};
