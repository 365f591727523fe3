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

//! Rendering needs the `templates` feature of `beginnings` (on by default). Built without it,
//! [`Templates`] holds no template, every render fails with [`TemplateError::NotConfigured`],
//! error pages are the server's own, and a configuration with a `templates:` section does
//! not load.

// The engine behind [`Templates`]: minijinja with the `templates` feature, and without it a
// type with no values, so a `Templates` can only ever be unconfigured.
#[cfg(feature = "templates")]
#[path = "templates/engine.rs"]
mod engine;
#[cfg(not(feature = "templates"))]
#[path = "templates/no_engine.rs"]
mod engine;

use std::path::PathBuf;

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;

use crate::config::TemplatesConfig;
use crate::routing::{Body, IntoResponse, Response, error_response};
use engine::Engine;

/// The application's templates; cheap to share behind the `Arc` that
/// [`App::templates`](crate::App::templates) gives.
pub struct Templates {
    engine: Option<Engine>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates")
            .field("configured", &self.engine.is_some())
            .finish_non_exhaustive()
    }
}

/// Why a template could not be loaded or rendered.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("no `templates` section in the configuration: cannot render `{0}`")]
    NotConfigured(String),
    #[cfg(feature = "templates")]
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
    /// Templates configured for a binary built without the `templates` feature.
    #[error("{}", crate::config::needs_feature("rendering templates", "templates"))]
    FeatureMissing,
}

impl Templates {
    /// Templates from `config`; with `auto_reload: false` every template is loaded and
    /// compiled now.
    pub fn load(config: &TemplatesConfig) -> Result<Self, TemplateError> {
        Ok(Templates {
            engine: Some(Engine::load(config)?),
        })
    }

    /// No templates: every render fails with [`TemplateError::NotConfigured`].
    pub fn unconfigured() -> Self {
        Templates { engine: None }
    }

    pub fn is_configured(&self) -> bool {
        self.engine.is_some()
    }

    /// Whether the template `name` exists (and compiles).
    pub fn contains(&self, name: &str) -> bool {
        self.engine
            .as_ref()
            .is_some_and(|engine| engine.contains(name))
    }

    /// Renders `name` with `context` (anything `Serialize`, e.g. `serde_json::json!({..})`).
    pub fn render_to_string(
        &self,
        name: &str,
        context: impl Serialize,
    ) -> Result<String, TemplateError> {
        let Some(engine) = &self.engine else {
            return Err(TemplateError::NotConfigured(name.to_owned()));
        };
        engine.render(name, context)
    }

    /// Renders `name` into a `200` answer whose `Content-Type` follows the template's
    /// extension (`text/html; charset=utf-8` for `.html`).
    pub fn render(&self, name: &str, context: impl Serialize) -> Result<Response, TemplateError> {
        let page = self.render_to_string(name, context)?;
        let mut response = Response::new(Body::from(Bytes::from(page)));
        let content_type = content_type(name);
        if let Ok(value) = HeaderValue::from_str(&content_type) {
            response.headers_mut().insert(header::CONTENT_TYPE, value);
        }
        Ok(response)
    }

    /// The page of `errors/<status>.html`, when that template exists; a template that exists
    /// but fails is logged and treated as absent, so an error page never hides the error.
    pub fn error_page(&self, status: StatusCode, message: &str) -> Option<String> {
        self.engine.as_ref()?.error_page(status, message)
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

fn content_type(name: &str) -> String {
    let mime = mime_guess::from_path(strip_template_suffix(name)).first_or_text_plain();
    if mime.type_() == mime_guess::mime::TEXT && mime.get_param("charset").is_none() {
        format!("{}; charset=utf-8", mime.essence_str())
    } else {
        mime.essence_str().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_follow_the_extension() {
        assert_eq!(content_type("page.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("page.html.jinja"), "text/html; charset=utf-8");
        assert_eq!(content_type("notes"), "text/plain; charset=utf-8");
    }
}
