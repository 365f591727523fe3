//! The stable interface between the Beginnings runtime and its extensions, and the SDK
//! extension authors write against.
//!
//! * [`ffi`]: the `#[repr(C)]`, layout-checked types that cross the library boundary.
//! * [`sdk`]: safe traits ([`sdk::Extension`], [`sdk::Filter`]) and the
//!   [`export_extension!`] macro. An author writes no `unsafe` and sees no `abi_stable` type.
//! * [`testing`]: an in-process host to test an extension without a server or a `.so`.

pub mod ffi;
pub mod sdk;
pub mod testing;

pub use sdk::*;
