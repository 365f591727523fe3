//! What [`export_extension!`](crate::export_extension) expands to, kept out of the macro
//! so that the generated code stays a few lines.

use std::panic::{AssertUnwindSafe, catch_unwind};

use abi_stable::{
    prefix_type::PrefixTypeTrait,
    std_types::{RErr, ROk, RResult, RSlice, RStr, RString},
};

use super::adapter::{extension_object, panic_text};
use super::{Extension, Host};
use crate::ffi::{
    ABI_VERSION, AbiVersion, ExtensionModule, ExtensionModule_Ref, ExtensionObject, HostHandle,
    TypeInfo,
};

/// The `TypeInfo` of an extension type named `name`, for the library's list of exported types.
pub const fn type_info<E: Extension>(name: &'static str) -> TypeInfo {
    TypeInfo {
        name: RStr::from_str(name),
        description: RStr::from_str(E::DESCRIPTION),
        config_summary: RStr::from_str(E::CONFIG_SUMMARY),
    }
}

/// The oldest host a library built with this SDK accepts unless it asks for a newer one
/// (`export_extension!(..; min_host_minor = N)`): everything newer than it is queried.
pub const MIN_HOST: AbiVersion = AbiVersion::new(ABI_VERSION.major, 0);

/// The host version a library declares it needs: this SDK's minimum, or a later minor the
/// author asked for (never past the ABI this SDK was built for).
pub const fn min_host(minor: Option<u16>) -> AbiVersion {
    match minor {
        Some(minor) => {
            assert!(
                minor <= ABI_VERSION.minor,
                "min_host_minor is newer than the ABI this SDK speaks"
            );
            AbiVersion::new(ABI_VERSION.major, minor)
        }
        None => MIN_HOST,
    }
}

/// Builds the root module. `panic_unwind` is evaluated in the extension's crate by the macro,
/// since the panic strategy is the library's, not this crate's.
pub fn root_module(
    types: &'static [TypeInfo],
    min_host: AbiVersion,
    panic_unwind: bool,
    new_extension: extern "C" fn(
        RStr<'_>,
        RStr<'_>,
        HostHandle,
    ) -> RResult<ExtensionObject, RString>,
) -> ExtensionModule_Ref {
    ExtensionModule {
        abi: ABI_VERSION,
        min_host,
        sdk_version: RStr::from_str(env!("BEGINNINGS_SDK_VERSION")),
        panic_unwind,
        types: RSlice::from_slice(types),
        new_extension,
    }
    .leak_into_prefix()
}

#[doc(hidden)]
#[macro_export]
macro_rules! __panic_strategy_is_unwind {
    () => {
        cfg!(panic = "unwind")
    };
}

pub use crate::__panic_strategy_is_unwind as panic_strategy_is_unwind;

/// Creates an instance of `E` from its JSON configuration. A configuration error names the
/// key path (`allow_origins[1]: invalid type: integer, expected a string`).
pub fn new_extension<E: Extension>(
    config_json: RStr<'_>,
    host: HostHandle,
) -> RResult<ExtensionObject, RString> {
    super::host::install_bridges(Host::new(host));
    create_extension::<E>(config_json, host)
}

/// Creates an instance of `E` without touching the library's global logger and panic hook
/// (the in-process test host shares them with the test binary).
pub(crate) fn create_extension<E: Extension>(
    config_json: RStr<'_>,
    host: HostHandle,
) -> RResult<ExtensionObject, RString> {
    let host = Host::new(host);
    let outcome = catch_unwind(AssertUnwindSafe(|| -> Result<ExtensionObject, String> {
        let deserializer = &mut serde_json::Deserializer::from_str(config_json.as_str());
        let config: E::Config = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let path = e.path().to_string();
            let inner = without_position(&e.into_inner());
            if path == "." || path.is_empty() {
                inner
            } else {
                format!("{path}: {inner}")
            }
        })?;
        let extension = E::new(config, host).map_err(|e| e.to_string())?;
        Ok(extension_object(extension))
    }));
    match outcome {
        Ok(Ok(extension)) => ROk(extension),
        Ok(Err(message)) => RErr(RString::from(message)),
        Err(payload) => RErr(RString::from(format!(
            "panicked while starting: {}",
            panic_text(payload.as_ref())
        ))),
    }
}

/// A serde_json message without its "at line 1 column 21": the position is in the JSON text
/// the host made from the YAML, which means nothing to the user; the key path says where.
fn without_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    text.strip_suffix(&suffix)
        .map(str::to_string)
        .unwrap_or(text)
}

/// The error for a `Type` the library does not export, listing those it does.
pub fn unknown_type(type_name: RStr<'_>, types: &[TypeInfo]) -> RResult<ExtensionObject, RString> {
    let exported: Vec<&str> = types.iter().map(|t| t.name.as_str()).collect();
    RErr(RString::from(format!(
        "type `{type_name}` is not exported by this library (it exports: {})",
        exported.join(", ")
    )))
}

/// Exports extension types from a `cdylib` crate, each named in configuration by its Rust
/// type name (`cors:CorsExtension`). Use it once per library:
///
/// ```ignore
/// beginnings_abi::export_extension!(CorsExtension, PreflightCacheExtension);
/// ```
///
/// A library that cannot work without a service added in a later minor version of the ABI
/// says so, and hosts older than that refuse it with one line instead of loading it:
///
/// ```ignore
/// beginnings_abi::export_extension!(CorsExtension; min_host_minor = 1);
/// ```
///
/// Besides the root module, the macro writes the library's ABI note (see
/// [`crate::ffi::note`]), which the host reads before it opens the file.
#[macro_export]
macro_rules! export_extension {
    ($($extension:ident),+ $(,)?) => {
        $crate::export_extension!(@export [$($extension),+] ::core::option::Option::None);
    };
    ($($extension:ident),+ ; min_host_minor = $minor:expr) => {
        $crate::export_extension!(@export [$($extension),+] ::core::option::Option::Some($minor));
    };
    (@export [$($extension:ident),+] $minor:expr) => {
        const _: () = {
            use $crate::sdk::__private as __beginnings;

            static TYPES: &[__beginnings::TypeInfo] =
                &[$($crate::sdk::__private::type_info::<$extension>(stringify!($extension))),+];

            const MIN_HOST: __beginnings::AbiVersion = __beginnings::min_host($minor);
            const PANIC_UNWIND: bool = __beginnings::panic_strategy_is_unwind!();
            const NOTE_STRINGS: &[&str] = &[$(
                stringify!($extension),
                <$extension as $crate::Extension>::DESCRIPTION,
                <$extension as $crate::Extension>::CONFIG_SUMMARY,
            )+];
            const NOTE_LEN: usize = __beginnings::note::note_len(NOTE_STRINGS);

            /// What the host reads from the file before it opens it.
            #[used]
            #[unsafe(link_section = ".note.beginnings")]
            static ABI_NOTE: __beginnings::note::Note<NOTE_LEN> = __beginnings::note::build(
                __beginnings::ABI_VERSION,
                MIN_HOST,
                PANIC_UNWIND,
                NOTE_STRINGS,
            );

            extern "C" fn new_extension(
                type_name: __beginnings::RStr<'_>,
                config_json: __beginnings::RStr<'_>,
                host: __beginnings::HostHandle,
            ) -> __beginnings::RResult<__beginnings::ExtensionObject, __beginnings::RString> {
                $(
                    if type_name.as_str() == stringify!($extension) {
                        return __beginnings::new_extension::<$extension>(config_json, host);
                    }
                )+
                __beginnings::unknown_type(type_name, TYPES)
            }

            fn root_module() -> __beginnings::ExtensionModule_Ref {
                // Keeps the note in the library whatever the linker collects.
                ::core::hint::black_box(&ABI_NOTE);
                __beginnings::root_module(TYPES, MIN_HOST, PANIC_UNWIND, new_extension)
            }

            extern "C" fn load_root_module() -> __beginnings::RootModuleResult {
                __beginnings::__call_root_module_loader(root_module)
            }

            /// The library header `abi_stable` looks up when the host loads this library.
            // The symbol name is `abi_stable`'s mangled root-module name for 0.11
            // (`beginnings_abi` checks it against `ROOT_MODULE_LOADER_NAME` in its tests).
            #[unsafe(export_name = "_1as_0lib_1header_0root_bmodule_bloader")]
            static LIB_HEADER: __beginnings::LibHeader = unsafe {
                __beginnings::LibHeader::from_constructor::<__beginnings::ExtensionModule_Ref>(
                    load_root_module,
                    __beginnings::CheckTypeLayout::Yes,
                )
            };
        };
    };
}

#[cfg(test)]
mod tests {
    /// `export_extension!` spells the header symbol out (an attribute cannot take a
    /// constant); it must be the name `abi_stable` looks up.
    #[test]
    fn exported_header_symbol_is_the_one_abi_stable_looks_up() {
        let macro_source = include_str!("export.rs");
        let symbol = abi_stable::library::ROOT_MODULE_LOADER_NAME;
        assert!(
            macro_source.contains(&format!("#[unsafe(export_name = \"{symbol}\")]")),
            "export_extension! must export `{symbol}`"
        );
    }

    #[test]
    fn json_positions_are_dropped_from_configuration_errors() {
        let error = serde_json::from_str::<u32>("\"text\"").unwrap_err();
        assert_eq!(
            super::without_position(&error),
            "invalid type: string \"text\", expected u32"
        );
    }
}
