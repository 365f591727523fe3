//! The `templates:` section: where the application's Jinja2-style templates are.
//!
//! ```yaml
//! templates:
//!   directory: templates   # relative to this configuration file; `templates` by default
//!   auto_reload: false     # true: a changed file is picked up on the next render
//! ```

use std::path::{Path, PathBuf};

use super::error::{Location, needs_feature, push_key, unknown_key_message};
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
    if !cfg!(feature = "templates") {
        let message = needs_feature("rendering templates", "templates");
        ctx.report(entry.key_span, "templates", message);
        return None;
    }
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

#[cfg(test)]
mod tests {
    use super::super::load_str_with_env;

    /// Runs in both builds: with the `templates` feature the section is taken, without it the
    /// configuration is refused at the section, naming the feature.
    #[test]
    fn templates_need_the_templates_feature() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("pages")).unwrap();
        let file = dir.path().join("app.yaml");
        let yaml = "app:\n  name: blog\ntemplates:\n  directory: pages\n";
        match load_str_with_env(yaml, &file, &|_| None) {
            Ok(config) if cfg!(feature = "templates") => {
                assert_eq!(
                    config.templates.unwrap().directory,
                    dir.path().join("pages")
                );
            }
            outcome => assert_eq!(
                outcome.unwrap_err().to_string(),
                format!(
                    "{}:3:1: templates: rendering templates needs the beginnings feature \
                     \"templates\", which this binary was built without (add \"templates\" to \
                     the features of its `beginnings` dependency)",
                    file.display()
                )
            ),
        }
    }
}
