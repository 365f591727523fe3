//! `config show`: the effective configuration, secrets masked.

use std::process::ExitCode;

use anyhow::Context;

use crate::options::{ShowFormat, ShowOptions};

pub fn show(options: &ShowOptions) -> anyhow::Result<ExitCode> {
    let app = options.file.load()?;
    // Redacted before any formatting so no output path can see a secret.
    let effective = beginnings::config::redacted(&app.config().effective);
    let text = match options.format {
        ShowFormat::Yaml => {
            serde_saphyr::to_string(&effective).context("cannot write the configuration as YAML")?
        }
        ShowFormat::Json => serde_json::to_string_pretty(&effective)? + "\n",
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}
