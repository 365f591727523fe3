//! The stable interface between the Beginnings runtime and its extensions, and the SDK
//! extension authors write against.
//!
//! * [`ffi`]: the `#[repr(C)]`, layout-checked types that cross the library boundary.
//! * [`sdk`]: safe traits ([`sdk::Extension`], [`sdk::Filter`]) and the
//!   [`export_extension!`] macro. An author writes no `unsafe` and sees no `abi_stable` type.
//! * `testing` (feature `testing`, for an extension's tests): an in-process host to test an
//!   extension without a server or a `.so`.

pub mod ffi;
pub mod sdk;
#[cfg(feature = "testing")]
pub mod testing;

pub use sdk::*;

/// The extension authoring guide (`docs/extension-development.md`); its examples compile
/// as this crate's documentation tests.
#[doc = include_str!("../../docs/extension-development.md")]
#[cfg(doctest)]
pub struct ExtensionDevelopmentGuide;
