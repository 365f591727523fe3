//! Reload: the next generation is built beside the current one from the same sources and
//! swapped in atomically by the server. Requests in flight finish on the generation they
//! started on, which is then retired: its extensions' shutdown hooks run and it is freed
//! (the libraries stay loaded).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::Generation;
use crate::config::{self, AppConfig, LoadOptions};
use crate::error::{Error, ReloadError};
use crate::host::LoadedExtension;
use crate::routing::RouteDef;
use crate::store::SharedStore;

/// What a reload rebuilds from: where the configuration is, the routes the application
/// registered in code, and the command-line overrides.
pub(crate) struct ReloadSource {
    pub load: Option<LoadOptions>,
    pub routes: Vec<RouteDef>,
    pub extensions_dir: Option<PathBuf>,
    pub access_log: Option<bool>,
    /// The application's templates, for error pages (made once with the application).
    pub templates: std::sync::Arc<crate::builtin::Templates>,
}

impl ReloadSource {
    /// Loads the configuration again, loads its extensions (libraries already loaded are
    /// reused), builds every chain and starts the new extensions. Nothing of the running
    /// generation is touched.
    /// `store` is the shared store in force, which the next generation keeps when the
    /// configuration names the same one (its registry is the application's).
    pub fn load_generation(&self, store: &Arc<SharedStore>) -> Result<Generation, Error> {
        let Some(load) = &self.load else {
            return Err(ReloadError::NoConfigFile.into());
        };
        let config = config::load(load)?;
        let directory = super::extensions_dir_for(self.extensions_dir.as_deref(), &config);
        let generation = Generation::assemble(
            config,
            &self.routes,
            &directory,
            self.access_log,
            store.registry(),
            Some(store),
        )?;
        start_extensions(&generation.extensions)?;
        Ok(generation)
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
        ("log_format", old.log_format != new.log_format),
    ];
    for (key, changed) in fixed {
        if changed {
            tracing::warn!("app.{key} changed; it takes effect when the server restarts");
        }
    }
}

/// The latest modification time among `files` (a missing file counts as changed).
pub(crate) fn newest_change(files: &[PathBuf]) -> Option<SystemTime> {
    files
        .iter()
        .map(|file| {
            std::fs::metadata(file)
                .and_then(|m| m.modified())
                .unwrap_or(SystemTime::UNIX_EPOCH)
        })
        .max()
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
        let Err(error) = source.load_generation(&store) else {
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
