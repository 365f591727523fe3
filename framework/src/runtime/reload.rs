//! Reload: the next generation is built beside the current one from the same sources and
//! swapped in atomically by the server. Requests in flight finish on the generation they
//! started on, which is then retired: its extensions' shutdown hooks run and it is freed
//! (the libraries stay loaded).
//!
//! A library whose file holds a new build is opened beside the old one (`host::identity`),
//! so the next generation's chains run the new build while the current one's run the old:
//! switching generations swaps the build. A new build whose startup hook fails never serves:
//! the reload fails, the current generation keeps its builds, and the rollback is logged in
//! one line and counted.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::Generation;
use crate::config::{self, AppConfig, LoadOptions};
use crate::error::{Error, ReloadError};
use crate::host::LoadedExtension;
use crate::routing::{MountDef, RouteDef};
use crate::store::SharedStore;
use crate::telemetry::metrics::{Registry, series_name};

/// Counter, labelled `module`: new builds of an extension library switched in by a reload.
pub(crate) const SWAPS_TOTAL: &str = "extension_swaps_total";
/// Counter, labelled `module`: new builds that failed their startup hook and were rolled
/// back (the build in use kept serving).
pub(crate) const ROLLBACKS_TOTAL: &str = "extension_rollbacks_total";
/// Gauge, labelled `module` and `sha256`: 1 for the build of the module's library in use,
/// 0 for a build a swap replaced (it stays loaded). At most the builds a process keeps of
/// a library, per module.
pub(crate) const BUILD_INFO: &str = "extension_build_info";
/// Gauge, labelled `module`, `sha256` and `abi` (the ABI version the build was made for):
/// when this process opened the build, in seconds since the Unix epoch.
pub(crate) const BUILD_LOADED_AT: &str = "extension_build_loaded_at_seconds";

/// What a reload rebuilds from: where the configuration is, the routes the application
/// registered in code, and the command-line overrides.
pub(crate) struct ReloadSource {
    pub load: Option<LoadOptions>,
    pub routes: Vec<RouteDef>,
    /// The tower services the application mounted.
    pub mounts: Vec<MountDef>,
    pub extensions_dir: Option<PathBuf>,
    pub access_log: Option<bool>,
    /// The application's templates, for error pages (made once with the application).
    pub templates: std::sync::Arc<crate::builtin::Templates>,
}

impl ReloadSource {
    /// Loads the configuration again, loads its extensions (libraries already loaded are
    /// reused, new builds opened beside them), builds every chain and starts the new
    /// extensions. Nothing of the running generation is touched.
    /// `store` is the shared store in force, which the next generation keeps when the
    /// configuration names the same one (its registry is the application's); `in_use` are
    /// the extensions of the generation in force, whose builds a failed start rolls back to.
    pub fn load_generation(
        &self,
        store: &Arc<SharedStore>,
        in_use: &[LoadedExtension],
    ) -> Result<Generation, Error> {
        let Some(load) = &self.load else {
            return Err(ReloadError::NoConfigFile.into());
        };
        let config = config::load(load)?;
        let directory = super::extensions_dir_for(self.extensions_dir.as_deref(), &config);
        let generation = Generation::assemble(
            config,
            &self.routes,
            &self.mounts,
            &directory,
            self.access_log,
            store.registry(),
            Some(store),
        )?;
        if let Err(error) = start_extensions(&generation.extensions) {
            if let Error::Startup { extension, message } = &error {
                roll_back(
                    store.registry(),
                    in_use,
                    &generation.extensions,
                    extension,
                    message,
                );
            }
            return Err(error);
        }
        Ok(generation)
    }
}

/// The module of a `module:Type` name.
pub(super) fn module_of(name: &str) -> &str {
    name.split_once(':').map_or(name, |(module, _)| module)
}

/// The build each module of `extensions` runs: `(module, sha256)`, one per module.
fn builds(extensions: &[LoadedExtension]) -> Vec<(&str, &str)> {
    let mut builds: Vec<(&str, &str)> = Vec::new();
    for extension in extensions {
        let module = module_of(&extension.name);
        if !builds.iter().any(|(known, _)| *known == module) {
            builds.push((module, &extension.sha256));
        }
    }
    builds
}

/// The modules whose build differs between `old` and `new`: `(module, old, new)`. A module
/// only `new` names is no swap.
pub(super) fn swapped<'a>(
    old: &'a [LoadedExtension],
    new: &'a [LoadedExtension],
) -> Vec<(&'a str, &'a str, &'a str)> {
    let old = builds(old);
    builds(new)
        .into_iter()
        .filter_map(|(module, sha256)| {
            let (_, before) = old.iter().find(|(known, _)| *known == module)?;
            (*before != sha256).then_some((module, *before, sha256))
        })
        .collect()
}

/// The first 12 hex digits of a digest, as the log lines quote builds.
pub(super) fn short(sha256: &str) -> &str {
    sha256.get(..12).unwrap_or(sha256)
}

fn help(base: &str) -> &'static str {
    if base == SWAPS_TOTAL {
        "new builds of the module's library switched in by a reload"
    } else {
        "new builds of the module's library that failed to start and were rolled back"
    }
}

pub(super) fn count(registry: &Registry, base: &str, module: &str) {
    let id = registry.define_counter(&series_name(base, &[("module", module)]), help(base));
    registry.counter_add(id, 1);
}

/// Defines the swap and rollback counters of every module `extensions` use, so that
/// `/metrics` shows them at 0 before the first swap.
pub(crate) fn define_swap_counters(registry: &Registry, extensions: &[LoadedExtension]) {
    for (module, _) in builds(extensions) {
        for base in [SWAPS_TOTAL, ROLLBACKS_TOTAL] {
            registry.define_counter(&series_name(base, &[("module", module)]), help(base));
        }
    }
}

/// A new generation did not start because `failed`'s startup hook said `message`: when its
/// module runs a new build there, that build is rolled back (the generation in force keeps
/// the build it has). Logged in one line and counted.
fn roll_back(
    registry: &Registry,
    in_use: &[LoadedExtension],
    next: &[LoadedExtension],
    failed: &str,
    message: &str,
) {
    let module = module_of(failed);
    let Some((_, old, new)) = swapped(in_use, next)
        .into_iter()
        .find(|(m, ..)| *m == module)
    else {
        return;
    };
    tracing::error!(
        target: "beginnings::reload",
        module,
        "rolled back: the new build of module `{module}` (sha256 {}) failed the startup hook \
         of `{failed}`: {message}; the build in use (sha256 {}) keeps serving",
        short(new),
        short(old),
    );
    count(registry, ROLLBACKS_TOTAL, module);
}

/// Marks the builds `next` uses in [`BUILD_INFO`], and those only `previous` used as
/// replaced.
pub(crate) fn record_builds(
    registry: &Registry,
    previous: &[LoadedExtension],
    next_extensions: &[LoadedExtension],
) {
    let next = builds(next_extensions);
    let replaced = builds(previous)
        .into_iter()
        .filter(|build| !next.contains(build));
    let help = "1 for the build of the module's library in use, 0 for one a swap replaced";
    for ((module, sha256), in_use) in replaced.map(|b| (b, 0)).chain(next.iter().map(|b| (*b, 1))) {
        let name = series_name(BUILD_INFO, &[("module", module), ("sha256", sha256)]);
        registry.gauge_set(registry.define_gauge(&name, help), in_use);
    }
    // The builds in use: their ABI and when they were opened (a replaced build keeps its
    // series from when it was in use).
    for extension in next_extensions {
        let labels = [
            ("module", module_of(&extension.name)),
            ("sha256", extension.sha256.as_str()),
            ("abi", extension.abi.as_str()),
        ];
        let since_epoch = extension.loaded_at.duration_since(SystemTime::UNIX_EPOCH);
        let seconds = since_epoch.map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let help = "when the process opened the build (seconds since the Unix epoch)";
        let name = series_name(BUILD_LOADED_AT, &labels);
        registry.gauge_set(registry.define_gauge(&name, help), seconds);
    }
}

/// After `next` replaced `previous`: logs and counts every module whose build changed.
pub(crate) fn record_swaps(previous: &Generation, next: &Generation) {
    let registry = next.store.registry();
    record_builds(registry, &previous.extensions, &next.extensions);
    for (module, old, new) in swapped(&previous.extensions, &next.extensions) {
        tracing::info!(
            target: "beginnings::reload",
            module,
            "swapped module `{module}` from build {} to build {}; requests in flight finish \
             on the old one",
            short(old),
            short(new),
        );
        count(registry, SWAPS_TOTAL, module);
    }
}

/// Runs the startup hooks in load order; when one fails, the ones that started are stopped.
pub(crate) fn start_extensions(extensions: &[LoadedExtension]) -> Result<(), Error> {
    for (index, extension) in extensions.iter().enumerate() {
        if let Err(message) = extension.start() {
            stop_extensions(&extensions[..index]);
            return Err(Error::Startup {
                extension: extension.name.clone(),
                message,
            });
        }
    }
    Ok(())
}

/// Runs the shutdown hooks in reverse load order.
pub(crate) fn stop_extensions(extensions: &[LoadedExtension]) {
    for extension in extensions.iter().rev() {
        if let Err(message) = extension.stop() {
            tracing::error!(extension = %extension.name, "shutdown hook failed: {message}");
        }
    }
}

/// Waits until no request uses `old` any more, then stops its extensions and frees it.
pub(crate) async fn retire(mut old: Arc<Generation>) {
    loop {
        match Arc::try_unwrap(old) {
            Ok(generation) => {
                stop_extensions(&generation.extensions);
                drop(generation);
                tracing::debug!("previous configuration retired");
                return;
            }
            Err(shared) => {
                old = shared;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Settings read once when the server starts; a reload that changes them says so.
pub(crate) fn warn_restart_needed(old: &AppConfig, new: &AppConfig) {
    let fixed = [
        ("host", old.host != new.host),
        ("port", old.port != new.port),
        ("workers", old.workers != new.workers),
        ("backlog", old.backlog != new.backlog),
        (
            "max_connections",
            old.max_connections != new.max_connections,
        ),
        ("keep_alive", old.keep_alive != new.keep_alive),
        (
            "keep_alive_timeout",
            old.keep_alive_timeout != new.keep_alive_timeout,
        ),
        (
            "header_read_timeout",
            old.header_read_timeout != new.header_read_timeout,
        ),
        (
            "max_header_bytes",
            old.max_header_bytes != new.max_header_bytes,
        ),
        ("send_timeout", old.send_timeout != new.send_timeout),
        (
            "client_body_timeout",
            old.client_body_timeout != new.client_body_timeout,
        ),
        (
            "client_body_min_rate",
            old.client_body_min_rate != new.client_body_min_rate,
        ),
        (
            "websocket_max_message_bytes",
            old.websocket_max_message_bytes != new.websocket_max_message_bytes,
        ),
        (
            "websocket_idle_timeout",
            old.websocket_idle_timeout != new.websocket_idle_timeout,
        ),
        ("log_format", old.log_format != new.log_format),
    ];
    for (key, changed) in fixed {
        if changed {
            tracing::warn!("app.{key} changed; it takes effect when the server restarts");
        }
    }
}

/// What `serve --watch` compares between two looks at `files`: each file's identity and
/// modification time. A library installed by a rename is a new file (another inode) even
/// when its modification time is older than the one it replaced; a missing file counts too.
pub(crate) fn file_stamps(files: &[PathBuf]) -> Vec<Option<(u64, u64, SystemTime)>> {
    use std::os::unix::fs::MetadataExt;
    files
        .iter()
        .map(|file| {
            let metadata = std::fs::metadata(file).ok()?;
            Some((metadata.dev(), metadata.ino(), metadata.modified().ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::ReloadSource;
    use crate::error::{Error, ReloadError};

    #[test]
    fn a_reload_without_a_configuration_file_is_refused_as_a_reload_error() {
        // What an application made with `App::new(config)` has to reload from.
        let source = ReloadSource {
            load: None,
            routes: Vec::new(),
            mounts: Vec::new(),
            extensions_dir: None,
            access_log: None,
            templates: Arc::new(crate::builtin::Templates::unconfigured()),
        };
        let registry = Arc::default();
        let store = crate::store::prepare(
            &crate::config::StoreConfig::Memory,
            crate::config::DEFAULT_STORE_TIMEOUT,
            &registry,
            None,
        )
        .unwrap();
        let Err(error) = source.load_generation(&store, &[]) else {
            panic!("nothing to reload from, yet a generation was made")
        };
        assert!(
            matches!(error, Error::Reload(ReloadError::NoConfigFile)),
            "{error:?}"
        );
        assert!(error.is_reload() && !error.is_config(), "{error:?}");
        assert_eq!(
            error.to_string(),
            "cannot reload: the application was not made from a configuration file"
        );
    }
}
