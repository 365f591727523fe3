//! The root module every extension library exports.

use abi_stable::{
    StableAbi, declare_root_module_statics,
    library::RootModule,
    sabi_types::VersionStrings,
    std_types::{RResult, RSlice, RStr, RString},
};

use super::{ExtensionBox, HostHandle};

/// Bumped when the host and old libraries can no longer talk at all, even through prefix
/// appends. A library whose epoch differs from the host's is refused before anything else.
pub const ABI_EPOCH: u32 = 1;

/// One `Type` a library exports, as named in configuration (`module:Type`).
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy)]
pub struct TypeInfo {
    pub name: RStr<'static>,
    pub description: RStr<'static>,
    /// A short summary of the configuration keys, for `beginnings ext inspect`.
    pub config_summary: RStr<'static>,
}

/// The root module of an extension library (a prefix type: append-only).
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = ExtensionModule_Ref)))]
#[sabi(missing_field(panic))]
pub struct ExtensionModule {
    /// Must equal the host's [`ABI_EPOCH`].
    pub abi_epoch: u32,
    /// The version of `beginnings-abi` the library was built with.
    pub sdk_version: RStr<'static>,
    /// Whether the library was built with `panic = "unwind"`. Libraries built with
    /// `panic = "abort"` cannot turn a panic into an error and are refused.
    pub panic_unwind: bool,
    /// The types this library exports.
    pub types: RSlice<'static, TypeInfo>,
    /// Creates an instance of `type_name` from its configuration, given as JSON text.
    /// The error is a one-line message, with the key path when the configuration is wrong.
    #[sabi(last_prefix_field)]
    pub new_extension: extern "C" fn(
        type_name: RStr<'_>,
        config_json: RStr<'_>,
        host: HostHandle,
    ) -> RResult<ExtensionBox, RString>,
}

impl RootModule for ExtensionModule_Ref {
    declare_root_module_statics! {ExtensionModule_Ref}

    const BASE_NAME: &'static str = "beginnings_extension";
    const NAME: &'static str = "beginnings extension";
    /// The interface version; `abi_stable` refuses a library whose major differs.
    const VERSION_STRINGS: VersionStrings = VersionStrings::new("1.0.0");
}
