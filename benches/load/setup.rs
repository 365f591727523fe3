//! What the run needs before any server starts: release builds, the configuration's
//! extension libraries (and which are missing, and why), and the configurations to serve.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use beginnings::config::{Config, ExtensionEntry, LoadOptions};

/// The configuration scenario C serves; `disabled` is its profile for scenario E.
pub const CONFIG: &str = "config/benchmark.yaml";
pub const DISABLED_PROFILE: &str = "disabled";

/// A library the configuration names that is not there, and why.
pub struct Missing {
    pub extension: String,
    pub library: PathBuf,
    pub why: String,
}

fn cargo_build(root: &Path, args: &[&str]) -> anyhow::Result<bool> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(root)
        .args(["build", "--release"])
        .args(args)
        .status()
        .context("cannot run cargo")?;
    Ok(status.success())
}

pub fn load_config(root: &Path) -> anyhow::Result<Config> {
    let options = LoadOptions {
        path: root.join(CONFIG),
        profile: None,
    };
    beginnings::config::load(&options).with_context(|| format!("cannot load {CONFIG}"))
}

pub fn enabled(config: &Config) -> Vec<&ExtensionEntry> {
    config.extensions.iter().filter(|e| e.enabled).collect()
}

/// Builds the servers and every extension package the configuration names, each on its
/// own so one that does not build leaves the others measurable. Returns the build failures.
pub fn build(root: &Path, config: &Config) -> anyhow::Result<Vec<String>> {
    let servers = [
        "-p",
        "beginnings-benches",
        "--bin",
        "baseline",
        "--bin",
        "axum-baseline",
        "--bin",
        "beginnings-bench-app",
    ];
    if !cargo_build(root, &servers)? {
        bail!("building the servers failed");
    }
    let mut failed = Vec::new();
    for entry in enabled(config) {
        let manifest = root
            .join("extensions")
            .join(&entry.module)
            .join("Cargo.toml");
        if manifest.exists() && !cargo_build(root, &["-p", &entry.module])? {
            failed.push(entry.module.clone());
        }
    }
    Ok(failed)
}

/// The enabled extensions whose library is not in `libraries`.
pub fn missing(
    root: &Path,
    config: &Config,
    libraries: &Path,
    build_failed: &[String],
) -> Vec<Missing> {
    enabled(config)
        .into_iter()
        .filter_map(|entry| {
            let library = libraries.join(format!("lib{}.so", entry.module));
            if library.exists() {
                return None;
            }
            let package = root.join("extensions").join(&entry.module);
            let why = if build_failed.contains(&entry.module) {
                format!("extensions/{} did not build", entry.module)
            } else if !package.join("Cargo.toml").exists() {
                format!("there is no package extensions/{} yet", entry.module)
            } else {
                "not built (run without --no-build)".to_string()
            };
            Some(Missing {
                extension: entry.name.clone(),
                library,
                why,
            })
        })
        .collect()
}

/// The configuration file and profile scenario C serves: the benchmark configuration as it
/// is, or, when libraries are missing, a copy in `work_dir` with a profile that switches
/// those extensions off so the others can still be measured.
pub fn scenario_c_config(
    root: &Path,
    work_dir: &Path,
    missing: &[Missing],
) -> anyhow::Result<(PathBuf, Option<String>)> {
    if missing.is_empty() {
        return Ok((root.join(CONFIG), None));
    }
    let copy = work_dir.join("benchmark.yaml");
    std::fs::copy(root.join(CONFIG), &copy)?;
    let mut overlay = String::from("extensions:\n");
    for gone in missing {
        overlay.push_str(&format!("  \"{}\": {{enabled: false}}\n", gone.extension));
    }
    std::fs::write(work_dir.join("benchmark.available.yaml"), overlay)?;
    Ok((copy, Some("available".to_string())))
}
