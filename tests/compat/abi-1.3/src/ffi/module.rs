//! The root module every extension library exports: the frozen core of the ABI.
//!
//! `abi_stable` checks the layout of this module (and of what it names: the type list, the
//! constructor's signature, the two-pointer handles) when a library is opened. It never
//! changes within a major version: whatever may grow lives behind the handles, in the
//! versioned tables of [`super::table`].

use abi_stable::{
    StableAbi, declare_root_module_statics,
    library::RootModule,
    sabi_types::VersionStrings,
    std_types::{RResult, RSlice, RStr, RString},
};

use super::{AbiVersion, ExtensionObject, HostHandle};

/// The ABI this crate defines. A host of `major.m` serves libraries built for `major.k`
/// whose declared minimum host minor is at most `m`.
///
/// * 1.0: the frozen core and the first tables.
/// * 1.1: `values_set` and `values_read` appended to the extension table.
/// * 1.2: `prepare_header_name` appended to the host services; `peer`, `header_by_id` and
///   `put_headers` to the message table (typed peer address, header names checked once).
/// * 1.3 (a future release, for the compatibility fixtures): `echo` appended to the host
///   services, `on_complete` to the filter table.
pub const ABI_VERSION: AbiVersion = AbiVersion::new(1, 3);

/// One `Type` a library exports, as named in configuration (`module:Type`).
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy)]
pub struct TypeInfo {
    pub name: RStr<'static>,
    pub description: RStr<'static>,
    /// A short summary of the configuration keys, for `beginnings ext inspect`.
    pub config_summary: RStr<'static>,
}

/// The root module of an extension library. Frozen: no field is ever added, removed or
/// changed within a major version (it is an `abi_stable` prefix type only because
/// `abi_stable` loads root modules that way).
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = ExtensionModule_Ref)))]
#[sabi(missing_field(panic))]
pub struct ExtensionModule {
    /// The ABI the library was built for.
    pub abi: AbiVersion,
    /// The oldest host ABI the library accepts (same major, minor at most `abi.minor`).
    pub min_host: AbiVersion,
    /// The version of the SDK the library was built with (informative only).
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
    ) -> RResult<ExtensionObject, RString>,
}

impl RootModule for ExtensionModule_Ref {
    declare_root_module_statics! {ExtensionModule_Ref}

    const BASE_NAME: &'static str = "beginnings_extension";
    const NAME: &'static str = "beginnings extension";
    /// `abi_stable`'s own version check compares majors only; it is the ABI major.
    const VERSION_STRINGS: VersionStrings = VersionStrings::new("1.0.0");
}
