//! Finding, checking and loading extension libraries, and creating the extensions that the
//! configuration names as `module:Type`.

mod breaker;
mod builds;
mod digests;
mod error;
mod file_checks;
mod filter;
mod guard;
mod identity;
mod inspect;
mod library;
mod note;
mod prepared;
mod services;
mod settings;
pub(crate) mod views;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use abi_stable::std_types::{RErr, ROk, RResult, RStr, RString, RVec};
use beginnings_abi::ffi::{ExtensionInstance, HookResult};
use serde_json::Value;

pub(crate) use breaker::Breaker;
pub use error::{LoadError, LoadErrorKind, LoadErrors};
pub(crate) use filter::{Capabilities, Filter, FilterState, HookFailure, RequestOutcome};
pub use inspect::{LibraryInfo, TypeSummary, inspect};
pub(crate) use services::{monotonic_ns_at, set_runtime};

use breaker::BreakerPolicy;

use crate::config::{ExtensionEntry, Location};
use crate::store::SharedStore;

/// A created extension instance and where it came from.
pub struct LoadedExtension {
    /// `module:Type`.
    pub name: String,
    pub library: PathBuf,
    /// The SHA-256 of the build its instance was created from (in lowercase hex).
    pub sha256: String,
    /// The ABI version that build was made for (`1.2`).
    pub abi: String,
    /// When this process opened that build.
    pub loaded_at: std::time::SystemTime,
    pub(crate) instance: ExtensionInstance,
    /// Lower runs earlier; equal priorities keep the listed order.
    pub priority: i64,
    pub(crate) breaker: BreakerPolicy,
    /// The route settings the extension reads, when it declared them.
    pub(crate) route_keys: Option<Vec<String>>,
    /// Where the configuration names the extension (its key under `extensions:`).
    pub(crate) location: Location,
    /// The request values its filters may set (ABI 1.1; none for a 1.0 library).
    pub(crate) values_set: Vec<String>,
    /// Whether its library can declare request values at all (built for ABI 1.1 or later).
    pub(crate) declares_values: bool,
    /// The request values its filters read that an earlier extension on the route must
    /// set (ABI 1.1; none for a 1.0 library).
    pub(crate) values_read: Vec<String>,
}

impl std::fmt::Debug for LoadedExtension {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedExtension")
            .field("name", &self.name)
            .field("library", &self.library)
            .finish_non_exhaustive()
    }
}

/// Loads every enabled extension in configuration order. Every failure is reported, not
/// just the first; any failure means nothing is served. A library whose file holds a build
/// other than the ones this process opened from it is copied to `state_dir` and opened from
/// there (see `identity`).
pub fn load_all(
    entries: &[ExtensionEntry],
    directory: &Path,
    state_dir: &Path,
    store: &Arc<SharedStore>,
) -> Result<Vec<LoadedExtension>, LoadErrors> {
    let mut judgements: HashMap<&str, Result<library::Judged, ()>> = HashMap::new();
    let mut libraries: HashMap<&str, Result<identity::Opening, ()>> = HashMap::new();
    let mut loaded = Vec::new();
    let mut errors = Vec::new();
    for entry in entries {
        let path = library::library_path(directory, &entry.module);
        let fail = |kind| LoadError {
            location: Some(entry.location.clone()),
            extension: entry.name.clone(),
            library: path.clone(),
            kind,
        };
        let (host_settings, config) = match settings::split(&entry.config) {
            Ok(split) => split,
            Err(kind) => {
                errors.push(fail(kind));
                continue;
            }
        };
        if !host_settings.enabled {
            tracing::info!(extension = %entry.name, "extension disabled by configuration");
            continue;
        }
        // Judged from the file first: nothing of a library runs before it is accepted, and
        // a type it does not export is reported before it is opened.
        let judged = match judgements.get(entry.module.as_str()) {
            Some(Ok(judged)) => judged.clone(),
            // Already reported for an earlier entry of the same module.
            Some(Err(())) => continue,
            None => {
                let judged = if path.exists() || path.is_symlink() {
                    library::judge(directory, &path, Some(state_dir))
                } else {
                    Err(LoadErrorKind::NotFound {
                        directory: directory.to_path_buf(),
                        holds: library::list_libraries(directory),
                    })
                };
                match judged {
                    Ok(judged) => {
                        judgements.insert(&entry.module, Ok(judged.clone()));
                        judged
                    }
                    Err(kind) => {
                        judgements.insert(&entry.module, Err(()));
                        errors.push(fail(kind));
                        continue;
                    }
                }
            }
        };
        // Checked before the library is opened: opening runs its constructors.
        if let Some(expected) = &host_settings.sha256
            && let Err(kind) = library::check_sha256(&judged, expected)
        {
            errors.push(fail(kind));
            continue;
        }
        if !judged.note.types.iter().any(|t| t.name == entry.type_name) {
            errors.push(fail(LoadErrorKind::UnknownType {
                type_name: entry.type_name.clone(),
                exported: judged.note.types.iter().map(|t| t.name.clone()).collect(),
            }));
            continue;
        }
        let (library, sha256, abi, loaded_at) = match libraries.get(entry.module.as_str()) {
            Some(Ok(opening)) => (
                opening.library,
                opening.sha256.clone(),
                opening.abi.clone(),
                opening.opened_at,
            ),
            Some(Err(())) => continue,
            None => match identity::open(&path, &entry.module, &judged, state_dir) {
                Ok(opening) => {
                    let opened = (
                        opening.library,
                        opening.sha256.clone(),
                        opening.abi.clone(),
                        opening.opened_at,
                    );
                    libraries.insert(&entry.module, Ok(opening));
                    opened
                }
                Err(kind) => {
                    libraries.insert(&entry.module, Err(()));
                    errors.push(fail(kind));
                    continue;
                }
            },
        };
        let instance = match create(&library, entry, &config, store) {
            Ok(instance) => instance,
            Err(kind) => {
                errors.push(fail(kind));
                continue;
            }
        };
        let route_keys = instance
            .route_keys()
            .into_option()
            .map(|keys| keys.into_iter().map(|k| k.into_string()).collect());
        let values = value_names(instance.values_set(), "sets")
            .and_then(|set| Ok((set, value_names(instance.values_read(), "reads")?)));
        let (values_set, values_read) = match values {
            Ok(values) => values,
            Err(kind) => {
                errors.push(fail(kind));
                continue;
            }
        };
        let declares_values = instance.vtable().values_set().is_some();
        loaded.push(LoadedExtension {
            name: entry.name.clone(),
            library: path,
            sha256,
            abi,
            loaded_at,
            instance,
            priority: host_settings.priority,
            breaker: host_settings.breaker,
            route_keys,
            location: entry.location.clone(),
            declares_values,
            values_set,
            values_read,
        });
    }
    if errors.is_empty() {
        // A stable sort: equal priorities keep the order of the configuration.
        loaded.sort_by_key(|extension| extension.priority);
        Ok(loaded)
    } else {
        Err(LoadErrors(errors))
    }
}

/// The request value names an extension declared (`verb`: `sets` or `reads`); none when
/// its library was built for ABI 1.0, which cannot declare them.
fn value_names(
    declared: Option<HookResult<RVec<RString>>>,
    verb: &str,
) -> Result<Vec<String>, LoadErrorKind> {
    match declared.map(RResult::into_result) {
        None => Ok(Vec::new()),
        Some(Ok(names)) => Ok(names.into_iter().map(RString::into_string).collect()),
        Some(Err(error)) => Err(LoadErrorKind::InitFailed {
            reason: format!(
                "telling which request values it {verb} failed: {}",
                error.message
            ),
        }),
    }
}

fn create(
    library: &library::Library,
    entry: &ExtensionEntry,
    config: &Value,
    store: &Arc<SharedStore>,
) -> Result<ExtensionInstance, LoadErrorKind> {
    let exported: Vec<String> = library
        .module
        .types()
        .iter()
        .map(|t| t.name.as_str().to_string())
        .collect();
    if !exported.contains(&entry.type_name) {
        return Err(LoadErrorKind::UnknownType {
            type_name: entry.type_name.clone(),
            exported,
        });
    }
    let config_json = config.to_string();
    let new_extension = library.module.new_extension();
    match new_extension(
        RStr::from_str(&entry.type_name),
        RStr::from_str(&config_json),
        services::handle_for(&entry.module, store),
    ) {
        // SAFETY: a fresh object from the library's own constructor, taken over once.
        ROk(object) => unsafe { ExtensionInstance::from_object(object) }
            .map_err(|reason| LoadErrorKind::InitFailed { reason }),
        RErr(message) => Err(LoadErrorKind::ConfigRejected {
            message: message.into_string(),
        }),
    }
}
