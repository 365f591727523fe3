//! `beginnings ext inspect FILE.so`: what a library says about itself, read from the file
//! alone (its ABI note). The library is never opened, so none of its code runs: inspecting
//! is safe on a file nobody has vetted yet.

use std::path::{Path, PathBuf};

use beginnings_abi::ffi::ABI_VERSION;

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
    /// The ABI the library was built for (`1.0`).
    pub abi: String,
    /// The oldest host ABI it accepts.
    pub min_host: String,
    /// The ABI of this host.
    pub host_abi: String,
    pub panic_unwind: bool,
    pub types: Vec<TypeSummary>,
}

/// Makes every check of the loader that needs no code of the library (file safety, ABI
/// note, version, panic strategy) and reads what it exports from its note.
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
    let note = library::judge(directory, path, None).map_err(fail)?.note;
    Ok(LibraryInfo {
        path: path.to_path_buf(),
        abi: note.abi.to_string(),
        min_host: note.min_host.to_string(),
        host_abi: ABI_VERSION.to_string(),
        panic_unwind: note.panic_unwind,
        types: note
            .types
            .into_iter()
            .map(|t| TypeSummary {
                name: t.name,
                description: t.description,
                config_summary: t.config_summary,
            })
            .collect(),
    })
}
