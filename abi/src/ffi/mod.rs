//! The `#[repr(C)]` types that cross the boundary between the host and an extension library.
//!
//! Two kinds of types live here (`docs/abi.md` says why):
//! * the **frozen core**, checked by `abi_stable` when a library is opened: the root
//!   module, the type list and the two-pointer handles;
//! * **versioned tables** ([`table`]), which start with their own length and grow only by
//!   appending: host services, message views, extension and filter functions.
//!
//! Extension authors never touch these types; the [`crate::sdk`] wraps them.

// `abi_stable` names generated prefix references `Type_Ref`; not ours to rename.
#![allow(non_camel_case_types)]

mod host;
mod instances;
pub mod layout;
mod module;
pub mod note;
mod objects;
pub(crate) mod table;
mod view;

pub use host::{HostHandle, HostServices, HostServicesRef, LogLevel, StoreFuture, TakeOutcome};
pub use instances::{ExtensionInstance, FilterInstance};
pub use module::{ABI_VERSION, ExtensionModule, ExtensionModule_Ref, TypeInfo};
pub use objects::{
    ExtensionObject, ExtensionVTable, ExtensionVTableRef, FilterObject, FilterVTable,
    FilterVTableRef, HookError, HookResult, Reply, RequestFuture, StatePtr, caps,
};
pub use table::{AbiVersion, TableHeader};
pub use view::{HeaderPut, MessageVTable, MessageVTableRef, MessageView, PeerAddress};
