//! An extension built against the ABI 1.3 SDK, one minor newer than
//! the host. Every hook leaves a trace the
//! compatibility test reads: the request hook (asynchronous, waiting on the host's `sleep`)
//! adds `x-compat-request`, the response hook adds `x-compat-response` with what the
//! per-request state carried, start-up logs a line, and the command answers its tag.

use std::time::Duration;

use beginnings_abi::json::{Map, Value, json};
use beginnings_abi::{
    Action, Error, Extension, Filter, Hooks, Host, NoRouteSettings, Request, Response, Route,
    export_extension,
};

pub struct CompatExtension {
    tag: String,
    host: Host,
}

impl Extension for CompatExtension {
    const DESCRIPTION: &'static str = "compatibility fixture built against ABI 1.3";
    type Config = Map<String, Value>;
    type RouteConfig = NoRouteSettings;
    type Filter = CompatFilter;

    fn new(config: Map<String, Value>, host: Host) -> Result<Self, Error> {
        let tag = config
            .get("tag")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::new("tag: a string is required"))?
            .to_string();
        Ok(CompatExtension { tag, host })
    }

    fn filter(&self, _route: &Route<'_, NoRouteSettings>) -> Result<Option<CompatFilter>, Error> {
        Ok(Some(CompatFilter {
            tag: self.tag.clone(),
            host: self.host,
        }))
    }

    fn command(&self, name: &str, _argument: Value) -> Result<Value, Error> {
        Ok(json!({"command": name, "tag": self.tag, "built_for": "1.3"}))
    }

    fn on_startup(&self) -> Result<(), Error> {
        beginnings_abi::log::info!("compat fixture {} started (built for ABI 1.3)", self.tag);
        Ok(())
    }
}

pub struct CompatFilter {
    tag: String,
    host: Host,
}

impl Filter for CompatFilter {
    /// When the request hook ran, for the response hook.
    type State = u64;

    fn hooks(&self) -> Hooks {
        Hooks::none().request_async().response()
    }

    async fn on_request_async<'a>(
        &'a self,
        state: &'a mut u64,
        request: &'a mut Request<'_>,
    ) -> Result<Action, Error> {
        self.host.sleep(Duration::from_millis(1)).await;
        *state = self.host.monotonic_ns().max(1);
        request.set_header("x-compat-request", &self.tag)?;
        Ok(Action::Continue)
    }

    fn on_response(&self, state: &mut u64, response: &mut Response<'_>) -> Result<(), Error> {
        let kept = if *state > 0 { "state-kept" } else { "state-lost" };
        let name = format!("x-compat-response-{}", self.tag);
        response.set_header(&name, kept)?;
        // A service added in ABI 1.3: on an older host it is "unsupported", never a panic.
        let echoed = match self.host.echo("hello") {
            Ok(text) => text,
            Err(unsupported) => unsupported.to_string(),
        };
        response.set_header(&format!("x-compat-echo-{}", self.tag), &echoed)
    }

    /// A hook added in ABI 1.3; an older host never calls it.
    fn on_complete(&self) {
        beginnings_abi::log::info!("request complete");
    }
}

#[cfg(not(feature = "needs-1_3"))]
export_extension!(CompatExtension);
#[cfg(feature = "needs-1_3")]
export_extension!(CompatExtension; min_host_minor = 3);
