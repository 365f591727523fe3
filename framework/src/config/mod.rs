//! Configuration: files, includes, profile overlays, `${VAR}` interpolation, validation and
//! the typed model.
//!
//! Loading runs in fixed steps: read the main file and its includes (deep-merged, the
//! including file winning), overlay `app.<profile>.yaml` and its includes, interpolate the
//! merged tree, then validate it into [`Config`]. Every problem of a step is collected before
//! the load fails, so a user fixes a configuration in one pass instead of one error at a time.

mod app_section;
mod database_section;
mod error;
mod interpolate;
mod keys;
mod load;
mod merge;
mod model;
mod node;
mod parse;
pub(crate) mod pattern;
mod redact;
mod route_settings;
mod routes;
mod shared_store;
mod static_section;
mod templates_section;
mod validate;

#[cfg(test)]
mod tests_errors;
#[cfg(test)]
mod tests_files;
#[cfg(test)]
mod tests_includes;
#[cfg(test)]
mod tests_route_settings;
#[cfg(test)]
mod tests_support;

use std::io;
use std::path::{Path, PathBuf};

pub use database_section::{DEFAULT_DATABASE_URL, DatabaseConfig, DatabaseUrl};
pub use error::{ConfigError, Location, Problem, needs_feature, push_key};
pub use interpolate::EnvLookup;
pub use keys::known_keys;
pub use load::canonical_profile;
pub use merge::deep_merge;
pub use model::{
    AppConfig, Config, ConfigForm, ExtensionEntry, LogFormat, MIN_HEADER_BYTES, MetricsConfig,
    RouteSettings, RoutesConfig,
};
pub use redact::redacted;
pub(crate) use route_settings::Refusal;
pub use route_settings::{FailurePolicy, HostRouteSettings, OnError, RouteTimeout};
#[cfg(not(feature = "redis"))]
pub(crate) use shared_store::redis_missing;
pub use shared_store::{DEFAULT_STORE_TIMEOUT, StoreConfig};
pub use static_section::{DEFAULT_CACHE_CONTROL, StaticConfig, StaticDirectory};
pub use templates_section::TemplatesConfig;

use load::{Loader, overlay_path, take_key};
use node::{Files, Kind, Node};
use validate::Ctx;

/// The environment variable that selects a profile when none is given explicitly.
pub const PROFILE_ENV: &str = "BEGINNINGS_ENV";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadOptions {
    pub path: PathBuf,
    /// `None` reads [`PROFILE_ENV`].
    pub profile: Option<String>,
}

/// Loads, merges, interpolates and validates the configuration at `opts.path`, reading the
/// process environment for `${VAR}` and [`PROFILE_ENV`].
pub fn load(opts: &LoadOptions) -> Result<Config, ConfigError> {
    load_with_env(opts, &|name| std::env::var(name).ok())
}

/// [`load`] with the environment supplied by the caller (tests, tools that render a
/// configuration for another machine).
///
/// A profile named explicitly in `opts.profile` must have its overlay file, since a missing one
/// is almost always a typo; a profile that comes from [`PROFILE_ENV`] may have none, since that
/// variable is often set machine-wide.
pub fn load_with_env(opts: &LoadOptions, env: EnvLookup<'_>) -> Result<Config, ConfigError> {
    let (profile, explicit) = match &opts.profile {
        Some(raw) => (Some(raw.clone()), true),
        None => (env(PROFILE_ENV).filter(|v| !v.trim().is_empty()), false),
    };
    let profile = profile
        .map(|raw| {
            canonical_profile(&raw).map_err(|message| {
                let key = if explicit { "" } else { PROFILE_ENV };
                ConfigError::single(Problem::new(None, key, message))
            })
        })
        .transpose()?;

    let (mut loader, canonical) = Loader::new(&opts.path).map_err(ConfigError::single)?;
    let mut root = loader.load_file(&opts.path, &canonical);
    if let Some(profile) = &profile {
        let overlay = overlay_path(&opts.path, profile);
        match overlay.canonicalize() {
            Ok(canonical) => {
                if let (Some(base), Some(over)) =
                    (root.as_mut(), loader.load_file(&overlay, &canonical))
                {
                    merge::merge_node(base, over);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound && !explicit => {}
            Err(e) => {
                let why = if e.kind() == io::ErrorKind::NotFound {
                    "not found".to_owned()
                } else {
                    e.to_string()
                };
                let message = format!(
                    "profile `{profile}`: overlay file {}: {why}",
                    overlay.display()
                );
                loader.problems.push(Problem::new(None, "", message));
            }
        }
    }
    let root = match root {
        Some(root) if loader.problems.is_empty() => root,
        _ => {
            return Err(ConfigError {
                problems: loader.problems,
            });
        }
    };
    let base_dir = validate::base_dir(&opts.path);
    finish(
        root,
        &loader.files,
        loader.contributed,
        profile,
        &base_dir,
        env,
        false,
    )
}

/// Loads a configuration from a string: no includes and no profile. `file_name` is only used
/// in error locations and to resolve a relative `extensions_dir`.
pub fn load_str(yaml: &str, file_name: &Path) -> Result<Config, ConfigError> {
    load_str_with_env(yaml, file_name, &|name| std::env::var(name).ok())
}

/// [`load_str`] with the environment supplied by the caller.
pub fn load_str_with_env(
    yaml: &str,
    file_name: &Path,
    env: EnvLookup<'_>,
) -> Result<Config, ConfigError> {
    let mut files = Files::default();
    let id = files.add(file_name.to_path_buf());
    let mut root = parse::parse(yaml, id, file_name).map_err(ConfigError::single)?;
    if matches!(root.kind, Kind::Null) {
        root = Node::empty_map(node::Span {
            file: id,
            line: 1,
            column: 1,
        });
    }
    if !matches!(root.kind, Kind::Map(_)) {
        let message = format!(
            "expected a mapping at the top of the file, found {}",
            root.described()
        );
        return Err(ConfigError::single(Problem::new(
            Some(files.location(root.span)),
            "",
            message,
        )));
    }
    let base_dir = validate::base_dir(file_name);
    finish(
        root,
        &files,
        vec![file_name.to_path_buf()],
        None,
        &base_dir,
        env,
        true,
    )
}

fn finish(
    mut root: Node,
    files: &Files,
    contributed: Vec<PathBuf>,
    profile: Option<String>,
    base_dir: &Path,
    env: EnvLookup<'_>,
    string_source: bool,
) -> Result<Config, ConfigError> {
    let mut problems = Vec::new();
    if !string_source {
        // Includes are resolved by now; the key is not part of the effective configuration.
        take_key(&mut root, "include");
    }
    interpolate::interpolate_tree(&mut root, &String::new, env, files, &mut problems);

    let mut ctx = Ctx { files, problems };
    let top = validate::top_level(&root, &mut ctx, string_source);
    let find = |key: &str| top.iter().copied().find(|e| e.key == key);
    let app = app_section::app(find("app"), base_dir, &mut ctx);
    let form = routes::detect_form(find("routes"), find("global"));
    let routes = routes::routes(find("routes"), find("global"), form, &mut ctx);
    let extensions = validate::extensions(find("extensions"), &mut ctx);
    let static_files = static_section::static_section(find("static"), base_dir, &mut ctx);
    let templates = templates_section::templates_section(find("templates"), base_dir, &mut ctx);
    let database = database_section::database(find("database"), base_dir, &mut ctx);

    if !ctx.problems.is_empty() {
        return Err(ConfigError {
            problems: ctx.problems,
        });
    }
    Ok(Config {
        app,
        routes,
        extensions,
        static_files,
        templates,
        database,
        files: contributed,
        form,
        profile,
        effective: root.to_json(),
    })
}
