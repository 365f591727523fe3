//! The `templates:` section: where the application's Jinja2-style templates are.
//!
//! ```yaml
//! templates:
//!   directory: templates   # relative to this configuration file; `templates` by default
//!   auto_reload: false     # true: a changed file is picked up on the next render
//! ```

use std::path::{Path, PathBuf};

use super::error::{Location, push_key, unknown_key_message};
use super::node::Entry;
use super::validate::{Ctx, set_bool, set_string};

/// `templates:`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplatesConfig {
    /// Already resolved against the main configuration file's directory.
    pub directory: PathBuf,
    pub auto_reload: bool,
    /// Where the section was written, for errors found while loading the templates.
    pub location: Location,
}

pub(crate) const TEMPLATES_KEYS: &[&str] = &["directory", "auto_reload"];

pub(crate) fn templates_section(
    entry: Option<&Entry>,
    base_dir: &Path,
    ctx: &mut Ctx<'_>,
) -> Option<TemplatesConfig> {
    let entry = entry?;
    let fields = ctx.map_entries(entry, "templates", "a mapping")?;
    let mut config = TemplatesConfig {
        directory: base_dir.join("templates"),
        auto_reload: false,
        location: ctx.location(entry.key_span),
    };
    let mut directory_span = entry.key_span;
    let mut directory_path = "templates".to_owned();
    for field in fields {
        let path = push_key("templates", &field.key);
        if field.value.is_invalid() {
            continue;
        }
        match field.key.as_str() {
            "directory" => {
                let mut raw = String::new();
                set_string(&mut raw, field, &path, ctx);
                if !raw.is_empty() {
                    config.directory = base_dir.join(raw);
                    directory_span = field.value.span;
                    config.location = ctx.location(field.value.span);
                    directory_path = path;
                }
            }
            "auto_reload" => set_bool(&mut config.auto_reload, field, &path, ctx),
            other => ctx.report(
                field.key_span,
                &path,
                unknown_key_message(other, TEMPLATES_KEYS),
            ),
        }
    }
    if !config.directory.is_dir() {
        let why = if config.directory.exists() {
            "is not a directory"
        } else {
            "does not exist"
        };
        let message = format!("template directory {} {why}", config.directory.display());
        ctx.report(directory_span, &directory_path, message);
    }
    Some(config)
}
