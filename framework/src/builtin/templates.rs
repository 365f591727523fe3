//! Templates: Jinja2-style templates (minijinja) from the `templates.directory`, rendered by
//! handlers and used for error pages.
//!
//! ```yaml
//! templates:
//!   directory: templates
//!   auto_reload: false
//! ```
//!
//! Names are paths below the directory with `/` (`posts/show.html`); files and folders
//! whose names start with a dot are never loaded. `.html`, `.htm` and `.xml` templates (also
//! with a trailing `.j2`, `.jinja` or `.jinja2`) escape every value they print; mark trusted
//! markup with `|safe`. With `auto_reload: false` every template is loaded and compiled when
//! the application is made, so a syntax error stops the start and rendering never reads a
//! file; with `auto_reload: true` a template is read on first use and read again whenever
//! its file changed (one `stat` per template a render uses; meant for development).
//!
//! An application takes the templates from [`App::templates`](crate::App::templates) and
//! renders in its handlers:
//!
//! ```no_run
//! # fn app() -> beginnings::App { unimplemented!() }
//! use beginnings::{Request, Router};
//! use serde_json::json;
//!
//! let app = app();
//! let templates = app.templates();
//! let pages = Router::new("").get("/posts/{id}", move |request: Request| {
//!     let templates = templates.clone();
//!     async move {
//!         let id = request.param("id").unwrap_or_default().to_owned();
//!         templates.render("post.html", json!({"title": format!("post {id}")}))
//!     }
//! });
//! let app = app.mount(pages);
//! ```
//!
//! Error pages: when a client prefers HTML and an answer carries the JSON error shape, the
//! server renders `errors/<status>.html` (for instance `errors/404.html`, `errors/500.html`)
//! with `status`, `reason` and `message`, where that template exists; otherwise its own
//! small page.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use minijinja::value::{Serde, Value};
use minijinja::{AutoEscape, Environment, ErrorKind, path_loader};
use serde::Serialize;

use crate::config::TemplatesConfig;
use crate::routing::{Body, IntoResponse, Response, error_response};

/// The application's templates; cheap to share behind the `Arc` that
/// [`App::templates`](crate::App::templates) gives.
pub struct Templates {
    env: Option<Environment<'static>>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates")
            .field("configured", &self.env.is_some())
            .finish_non_exhaustive()
    }
}

/// Why a template could not be loaded or rendered.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("no `templates` section in the configuration: cannot render `{0}`")]
    NotConfigured(String),
    #[error("template `{name}`: {source:#}")]
    Template {
        name: String,
        #[source]
        source: minijinja::Error,
    },
    #[error("template directory {}: {source}", path.display())]
    Directory {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Templates {
    /// Templates from `config`; with `auto_reload: false` every template is loaded and
    /// compiled now.
    pub fn load(config: &TemplatesConfig) -> Result<Self, TemplateError> {
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
        Ok(Templates { env: Some(env) })
    }

    /// No templates: every render fails with [`TemplateError::NotConfigured`].
    pub fn unconfigured() -> Self {
        Templates { env: None }
    }

    pub fn is_configured(&self) -> bool {
        self.env.is_some()
    }

    /// Whether the template `name` exists (and compiles).
    pub fn contains(&self, name: &str) -> bool {
        self.env
            .as_ref()
            .is_some_and(|env| env.get_template(name).is_ok())
    }

    /// Renders `name` with `context` (anything `Serialize`, e.g. `serde_json::json!({..})`).
    pub fn render_to_string(
        &self,
        name: &str,
        context: impl Serialize,
    ) -> Result<String, TemplateError> {
        let Some(env) = &self.env else {
            return Err(TemplateError::NotConfigured(name.to_owned()));
        };
        let wrap = |source| TemplateError::Template {
            name: name.to_owned(),
            source,
        };
        env.get_template(name)
            .map_err(wrap)?
            .render(Value::from(Serde(context)))
            .map_err(wrap)
    }

    /// Renders `name` into a `200` answer whose `Content-Type` follows the template's
    /// extension (`text/html; charset=utf-8` for `.html`).
    pub fn render(&self, name: &str, context: impl Serialize) -> Result<Response, TemplateError> {
        let page = self.render_to_string(name, context)?;
        let mut response = Response::new(Body::new(Bytes::from(page)));
        let content_type = content_type(name);
        if let Ok(value) = HeaderValue::from_str(&content_type) {
            response.headers_mut().insert(header::CONTENT_TYPE, value);
        }
        Ok(response)
    }

    /// The page of `errors/<status>.html`, when that template exists; a template that exists
    /// but fails is logged and treated as absent, so an error page never hides the error.
    pub fn error_page(&self, status: StatusCode, message: &str) -> Option<String> {
        let env = self.env.as_ref()?;
        let name = format!("errors/{}.html", status.as_u16());
        let template = match env.get_template(&name) {
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

/// A failed render answers 500 in the JSON error shape; the details go to the log only,
/// since they name files and template internals.
impl IntoResponse for TemplateError {
    fn into_response(self) -> Response {
        tracing::error!("{self}");
        error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the page could not be rendered",
        )
    }
}

/// Suffixes that only say "this is a template", ignored when choosing escaping and type.
const TEMPLATE_SUFFIXES: &[&str] = &[".j2", ".jinja2", ".jinja"];

fn strip_template_suffix(name: &str) -> &str {
    TEMPLATE_SUFFIXES
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))
        .unwrap_or(name)
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

fn content_type(name: &str) -> String {
    let mime = mime_guess::from_path(strip_template_suffix(name)).first_or_text_plain();
    if mime.type_() == mime_guess::mime::TEXT && mime.get_param("charset").is_none() {
        format!("{}; charset=utf-8", mime.essence_str())
    } else {
        mime.essence_str().to_owned()
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
    fn escaping_and_types_follow_the_extension() {
        assert!(matches!(auto_escape("a/b.html"), AutoEscape::Html));
        assert!(matches!(auto_escape("feed.xml.j2"), AutoEscape::Html));
        assert!(matches!(auto_escape("mail.txt"), AutoEscape::None));
        assert_eq!(content_type("page.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("page.html.jinja"), "text/html; charset=utf-8");
        assert_eq!(content_type("notes"), "text/plain; charset=utf-8");
    }
}
