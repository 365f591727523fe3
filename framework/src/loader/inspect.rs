//! `beginnings ext inspect FILE.so`: what a library says about itself, after the same checks
//! the loader makes.

use std::path::{Path, PathBuf};

use abi_stable::library::RootModule;
use beginnings_abi::ffi::{ABI_EPOCH, ExtensionModule_Ref};

use super::error::{LoadError, LoadErrorKind};
use super::library;

/// One exported type.
#[derive(Debug, Clone)]
pub struct TypeSummary {
    pub name: String,
    pub description: String,
    pub config_summary: String,
}

/// What `ext inspect` prints for a library that loads.
#[derive(Debug, Clone)]
pub struct LibraryInfo {
    pub path: PathBuf,
    pub abi_epoch: u32,
    pub host_abi_epoch: u32,
    /// The interface version the host speaks (the library passed the version check).
    pub interface_version: String,
    pub sdk_version: String,
    pub panic_unwind: bool,
    pub types: Vec<TypeSummary>,
}

/// Opens `path` with every check of the loader (file safety, header, version, layout,
/// epoch, panic strategy) and reads what it exports.
pub fn inspect(path: &Path) -> Result<LibraryInfo, Box<LoadError>> {
    let fail = |kind| {
        Box::new(LoadError {
            location: None,
            // The library is the subject here; no configuration entry names it.
            extension: String::new(),
            library: path.to_path_buf(),
            kind,
        })
    };
    if !path.exists() {
        return Err(fail(LoadErrorKind::Open {
            reason: "no such file".into(),
        }));
    }
    let directory = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let opened = library::open(directory, path).map_err(fail)?;
    let module = opened.module;
    Ok(LibraryInfo {
        path: path.to_path_buf(),
        abi_epoch: module.abi_epoch(),
        host_abi_epoch: ABI_EPOCH,
        interface_version: ExtensionModule_Ref::VERSION_STRINGS
            .version
            .as_str()
            .to_string(),
        sdk_version: module.sdk_version().as_str().to_string(),
        panic_unwind: module.panic_unwind(),
        types: module
            .types()
            .iter()
            .map(|t| TypeSummary {
                name: t.name.as_str().to_string(),
                description: t.description.as_str().to_string(),
                config_summary: t.config_summary.as_str().to_string(),
            })
            .collect(),
    })
}
