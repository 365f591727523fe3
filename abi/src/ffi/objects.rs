//! The objects an extension library hands to the host: an extension instance, and the
//! filters it builds, one per distinct route configuration.

use abi_stable::{
    StableAbi, sabi_trait,
    std_types::{RBox, ROption, RResult, RSlice, RStr, RString, Tuple2},
};

use super::MessageView;

/// Hook capability bits a filter reports, so the host skips hooks a filter does not have.
pub mod caps {
    pub const ON_REQUEST: u32 = 1;
    pub const ON_RESPONSE: u32 = 1 << 1;
}

/// An answer a request hook gives instead of letting the request reach the handler.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: abi_stable::std_types::RVec<Tuple2<RString, RString>>,
    pub body: abi_stable::std_types::RVec<u8>,
}

/// Why a hook failed: an error it returned, or a panic the SDK caught.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct HookError {
    pub panicked: bool,
    pub message: RString,
}

/// The result of a request hook: `RNone` continues, `RSome(reply)` answers early.
pub type HookResult<T> = RResult<T, HookError>;

/// An extension instance, created from its configuration.
#[sabi_trait]
pub trait FfiExtension: Send + Sync {
    /// Whether the extension takes part in a route (path template, methods, resolved route
    /// configuration as JSON). Asked at startup, never per request.
    fn applies(
        &self,
        path: RStr<'_>,
        methods: RSlice<'_, RStr<'_>>,
        route_config_json: RStr<'_>,
    ) -> HookResult<bool>;

    /// Builds the filter for one distinct route configuration.
    fn new_filter(&self, path: RStr<'_>, route_config_json: RStr<'_>) -> HookResult<FilterBox>;

    /// Answers a command from the application (`name`, JSON argument) with JSON.
    #[sabi(last_prefix_field)]
    fn command(&self, name: RStr<'_>, argument_json: RStr<'_>) -> HookResult<RString>;
}

/// The per-route filter: synchronous phase hooks over borrowed views.
#[sabi_trait]
pub trait FfiFilter: Send + Sync {
    /// Which hooks this filter implements (see [`caps`]).
    fn caps(&self) -> u32;

    /// Runs before the handler; `RSome` answers the request without calling the handler.
    fn on_request(&self, request: MessageView<'_>) -> HookResult<ROption<Reply>>;

    /// Runs after the handler (or an early answer), in reverse chain order.
    #[sabi(last_prefix_field)]
    fn on_response(&self, response: MessageView<'_>) -> HookResult<()>;
}

/// An owned extension instance as it crosses the boundary.
pub type ExtensionBox = FfiExtension_TO<'static, RBox<()>>;
/// An owned filter as it crosses the boundary.
pub type FilterBox = FfiFilter_TO<'static, RBox<()>>;
