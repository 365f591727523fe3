//! What the file-based configuration tests share: writing files, loading them without the
//! process environment, reading the problems and the files that contributed.

use std::fs;
use std::path::{Path, PathBuf};

use super::{Config, ConfigError, LoadOptions, load_with_env};

pub(super) fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, text).unwrap();
    path
}

pub(super) fn no_env(_: &str) -> Option<String> {
    None
}

pub(super) fn load_at(path: &Path, profile: Option<&str>) -> Result<Config, ConfigError> {
    load_with_env(
        &LoadOptions {
            path: path.to_path_buf(),
            profile: profile.map(str::to_owned),
        },
        &no_env,
    )
}

pub(super) fn problems(result: Result<Config, ConfigError>) -> Vec<String> {
    result
        .unwrap_err()
        .problems
        .iter()
        .map(ToString::to_string)
        .collect()
}

pub(super) fn names(config: &Config, dir: &Path) -> Vec<String> {
    config
        .files
        .iter()
        .map(|f| f.strip_prefix(dir).unwrap().display().to_string())
        .collect()
}
