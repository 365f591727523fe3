//! The `#[repr(C)]` types that cross the boundary between the host and an extension library.
//!
//! Everything here derives `StableAbi`, so `abi_stable` compares the layout the host was built
//! with against the one the library was built with when the library is loaded. Modules and
//! vtables are prefix types: fields may only be appended after the `last_prefix_field`.
//! Extension authors never touch these types; the [`crate::sdk`] wraps them.

// `abi_stable` names generated prefix references `Type_Ref`, and `#[sabi_trait]` emits impls
// inside a generated module; both are its conventions, not ours to rename.
#![allow(non_camel_case_types, non_local_definitions)]

mod host;
mod module;
mod objects;
mod view;

pub use host::{HostHandle, HostServices, HostServices_Ref, LogLevel, StoreFuture, TakeOutcome};
pub use module::{ABI_EPOCH, ExtensionModule, ExtensionModule_Ref, TypeInfo};
pub use objects::{
    ExtensionBox, FfiExtension, FfiExtension_TO, FfiFilter, FfiFilter_TO, FilterBox, HookError,
    HookResult, Reply, RequestFuture, StatePtr, caps,
};
pub use view::{MessageVTable, MessageVTable_Ref, MessageView};
