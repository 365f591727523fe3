//! The stable interface between the Beginnings runtime and its extensions, and the SDK
//! extension authors write against.
//!
//! * [`ffi`]: the `#[repr(C)]`, layout-checked types that cross the library boundary.
//! * [`sdk`]: safe traits ([`sdk::Extension`], [`sdk::Filter`]) and the
//!   [`export_extension!`] macro. An author writes no `unsafe` and sees no `abi_stable` type.

pub mod ffi;
pub mod sdk;

pub use sdk::*;
