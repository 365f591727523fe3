//! The template engine: minijinja over the template directory.

use std::path::Path;

use http::StatusCode;
use minijinja::value::{Serde, Value};
use minijinja::{AutoEscape, Environment, ErrorKind, path_loader};
use serde::Serialize;

use super::{TemplateError, strip_template_suffix};
use crate::config::TemplatesConfig;

pub(super) struct Engine {
    env: Environment<'static>,
}

impl Engine {
    /// The environment for `config`; with `auto_reload: false` every template is loaded and
    /// compiled now.
    pub(super) fn load(config: &TemplatesConfig) -> Result<Self, TemplateError> {
        let mut env = Environment::new();
        env.set_loader(path_loader(&config.directory));
        env.set_auto_reload(config.auto_reload);
        env.set_auto_escape_callback(auto_escape);
        if !config.auto_reload {
            let mut names = Vec::new();
            collect_names(&config.directory, "", &mut names)?;
            for name in names {
                env.get_template(&name)
                    .map_err(|source| TemplateError::Template { name, source })?;
            }
        }
        Ok(Engine { env })
    }

    pub(super) fn contains(&self, name: &str) -> bool {
        self.env.get_template(name).is_ok()
    }

    pub(super) fn render(
        &self,
        name: &str,
        context: impl Serialize,
    ) -> Result<String, TemplateError> {
        let wrap = |source| TemplateError::Template {
            name: name.to_owned(),
            source,
        };
        self.env
            .get_template(name)
            .map_err(wrap)?
            .render(Value::from(Serde(context)))
            .map_err(wrap)
    }

    pub(super) fn error_page(&self, status: StatusCode, message: &str) -> Option<String> {
        let name = format!("errors/{}.html", status.as_u16());
        let template = match self.env.get_template(&name) {
            Ok(template) => template,
            Err(error) if error.kind() == ErrorKind::TemplateNotFound => return None,
            Err(error) => {
                tracing::error!(template = %name, "error page template failed: {error:#}");
                return None;
            }
        };
        let context = serde_json::json!({
            "status": status.as_u16(),
            "reason": status.canonical_reason().unwrap_or("Error"),
            "message": message,
        });
        template
            .render(Value::from(Serde(context)))
            .inspect_err(|error| {
                tracing::error!(template = %name, "error page template failed: {error:#}");
            })
            .ok()
    }
}

fn auto_escape(name: &str) -> AutoEscape {
    match strip_template_suffix(name).rsplit_once('.').map(|(_, e)| e) {
        Some(ext)
            if ["html", "htm", "xml"]
                .iter()
                .any(|x| ext.eq_ignore_ascii_case(x)) =>
        {
            AutoEscape::Html
        }
        _ => AutoEscape::None,
    }
}

/// Every template name below `dir` (dot files and dot folders skipped), at startup.
fn collect_names(dir: &Path, prefix: &str, names: &mut Vec<String>) -> Result<(), TemplateError> {
    let wrap = |source| TemplateError::Directory {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(wrap)? {
        let entry = entry.map_err(wrap)?;
        let Ok(file_name) = entry.file_name().into_string() else {
            continue;
        };
        if file_name.starts_with('.') {
            continue;
        }
        let name = format!("{prefix}{file_name}");
        // Follows symbolic links, as the loader does.
        let metadata = std::fs::metadata(entry.path()).map_err(wrap)?;
        if metadata.is_dir() {
            collect_names(&entry.path(), &format!("{name}/"), names)?;
        } else if metadata.is_file() {
            names.push(name);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_follows_the_extension() {
        assert!(matches!(auto_escape("a/b.html"), AutoEscape::Html));
        assert!(matches!(auto_escape("feed.xml.j2"), AutoEscape::Html));
        assert!(matches!(auto_escape("mail.txt"), AutoEscape::None));
    }
}
