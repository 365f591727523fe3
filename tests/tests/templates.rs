//! `templates:` through the real loader and a real server: rendering from async handlers
//! with autoescape, auto reload on and off, error page templates, load errors.

use std::sync::Arc;

use beginnings::builtin::Templates;
use beginnings::routing::StatusCode;
use beginnings::{App, Rejection, Request, Router};
use beginnings_tests::{InProcessServer, build_dir, client};
use serde_json::json;

/// An application directory: `app.yaml` and `templates/`.
struct Site {
    dir: tempfile::TempDir,
}

impl Site {
    fn new(files: &[(&str, &str)]) -> Site {
        let site = Site {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir_all(site.dir.path().join("templates")).unwrap();
        for (name, contents) in files {
            site.write(name, contents);
        }
        site
    }

    fn write(&self, name: &str, contents: &str) {
        let path = self.dir.path().join("templates").join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }

    fn load(&self, yaml: &str) -> Result<App, beginnings::Error> {
        let path = self.dir.path().join("app.yaml");
        std::fs::write(&path, yaml).unwrap();
        App::from_file(path, None).map(|app| app.extensions_dir(build_dir()))
    }

    fn app(&self, yaml: &str) -> App {
        self.load(yaml)
            .unwrap_or_else(|e| panic!("configuration loads: {e}"))
    }
}

/// `GET /page/{name}` renders the template `name` with a title full of markup.
fn pages(templates: Arc<Templates>) -> Router {
    Router::new("").get("/page/{name}", move |request: Request| {
        let templates = templates.clone();
        async move {
            let name = request.param("name").unwrap_or_default().to_owned();
            templates.render(
                &name,
                json!({"title": "<b>Tom & \"Jerry\"</b>", "items": ["a", "b"]}),
            )
        }
    })
}

fn serve(app: App) -> InProcessServer {
    let templates = app.templates();
    InProcessServer::start(app.mount(pages(templates)).build().expect("builds"))
}

fn page(server: &InProcessServer, name: &str) -> (u16, String, String) {
    let answer = client()
        .get(server.url(&format!("/page/{name}")))
        .send()
        .unwrap();
    let status = answer.status().as_u16();
    let content_type = answer
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, answer.text().unwrap())
}

#[test]
fn html_is_escaped_text_is_not_and_layouts_are_inherited() {
    let site = Site::new(&[
        (
            "base.html",
            "<title>{% block title %}{% endblock %}</title>{% block body %}{% endblock %}",
        ),
        (
            "page.html",
            "{% extends \"base.html\" %}{% block title %}{{ title }}{% endblock %}\
             {% block body %}{% for i in items %}<li>{{ i }}</li>{% endfor %}{{ '<br>'|safe }}{% endblock %}",
        ),
        ("feed.xml", "<t>{{ title }}</t>"),
        ("note.txt", "{{ title }}"),
    ]);
    let server = serve(site.app("templates:\n  directory: templates\n"));

    let (status, content_type, body) = page(&server, "page.html");
    assert_eq!(status, 200);
    assert_eq!(content_type, "text/html; charset=utf-8");
    assert!(
        body.starts_with("<title>&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;&#x2f;b&gt;</title>"),
        "{body}"
    );
    assert!(body.contains("<li>a</li><li>b</li><br>"), "{body}");

    let (_, _, xml) = page(&server, "feed.xml");
    assert!(xml.contains("&lt;b&gt;"), "{xml}");
    let (_, content_type, text) = page(&server, "note.txt");
    assert_eq!(content_type, "text/plain; charset=utf-8");
    assert_eq!(
        text, "<b>Tom & \"Jerry\"</b>",
        "no escaping outside html/xml"
    );

    // A template that does not exist is a 500 in the JSON error shape, details logged.
    let (status, content_type, body) = page(&server, "missing.html");
    assert_eq!(status, 500);
    assert_eq!(content_type, "application/json");
    assert!(!body.contains("missing.html"), "{body}");
}

#[test]
fn with_auto_reload_a_changed_template_is_used_on_the_next_render() {
    let site = Site::new(&[
        ("layout.html", "[v1 layout]{% block main %}{% endblock %}"),
        (
            "page.html",
            "{% extends 'layout.html' %}{% block main %}v1{% endblock %}",
        ),
    ]);
    let server = serve(site.app("templates:\n  auto_reload: true\n"));
    assert_eq!(page(&server, "page.html").2, "[v1 layout]v1");

    site.write(
        "page.html",
        "{% extends 'layout.html' %}{% block main %}version two{% endblock %}",
    );
    assert_eq!(page(&server, "page.html").2, "[v1 layout]version two");
    site.write(
        "layout.html",
        "[layout, version two]{% block main %}{% endblock %}",
    );
    assert_eq!(
        page(&server, "page.html").2,
        "[layout, version two]version two"
    );
    // A template added while running is found too.
    site.write("added.html", "added");
    assert_eq!(page(&server, "added.html").2, "added");
}

#[test]
fn without_auto_reload_templates_are_loaded_once() {
    let site = Site::new(&[("page.html", "v1")]);
    let server = serve(site.app("templates:\n  auto_reload: false\n"));
    assert_eq!(page(&server, "page.html").2, "v1");
    site.write("page.html", "version two, longer");
    assert_eq!(page(&server, "page.html").2, "v1");
    std::fs::remove_file(site.dir.path().join("templates/page.html")).unwrap();
    assert_eq!(page(&server, "page.html").2, "v1", "loaded at startup");
}

#[test]
fn error_templates_answer_html_clients() {
    let site = Site::new(&[
        (
            "errors/404.html",
            "<h1>custom {{ status }} {{ reason }}</h1><p>{{ message }}</p>",
        ),
        ("errors/500.html", "<h1>sorry: {{ message }}</h1>"),
    ]);
    let app = site.app("templates: {}\n");
    let failing = Router::new("").get("/fail", |_request: Request| async move {
        Rejection::new(StatusCode::INTERNAL_SERVER_ERROR, "<db> is down")
    });
    let server = InProcessServer::start(app.mount(failing).build().unwrap());
    let http = client();
    let browser = "text/html,application/xhtml+xml,*/*;q=0.8";

    let missing = http
        .get(server.url("/nowhere"))
        .header("accept", browser)
        .send()
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    assert_eq!(
        missing.text().unwrap(),
        "<h1>custom 404 Not Found</h1><p>not found</p>"
    );

    let failed = http
        .get(server.url("/fail"))
        .header("accept", browser)
        .send()
        .unwrap();
    assert_eq!(failed.status(), 500);
    assert_eq!(failed.text().unwrap(), "<h1>sorry: &lt;db&gt; is down</h1>");

    // API clients keep the JSON error shape.
    let api = http
        .get(server.url("/nowhere"))
        .header("accept", "application/json")
        .send()
        .unwrap();
    assert_eq!(api.headers()["content-type"], "application/json");
    assert!(api.text().unwrap().contains(r#""status":404"#));

    // A status without a template gets the built-in page.
    let not_allowed = http
        .post(server.url("/fail"))
        .header("accept", browser)
        .send()
        .unwrap();
    assert_eq!(not_allowed.status(), 405);
    assert!(
        not_allowed
            .text()
            .unwrap()
            .contains("405 Method Not Allowed")
    );
}

#[test]
fn without_error_templates_the_builtin_page_is_used() {
    let site = Site::new(&[("page.html", "x")]);
    let server = serve(site.app("templates: {}\n"));
    let missing = client()
        .get(server.url("/nowhere"))
        .header("accept", "text/html")
        .send()
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert!(missing.text().unwrap().contains("<h1>404 Not Found</h1>"));
}

#[test]
fn a_template_that_does_not_compile_stops_the_start() {
    let site = Site::new(&[("ok.html", "fine"), ("broken.html", "{% if %}")]);
    let error = site
        .app("templates:\n  directory: templates\n")
        .build()
        .err()
        .expect("a broken template is refused")
        .to_string();
    assert!(
        error.contains("app.yaml:2:14: templates: template `broken.html`"),
        "{error}"
    );
    // With auto reload the template is only compiled when used.
    let server = serve(site.app("templates:\n  auto_reload: true\n"));
    assert_eq!(page(&server, "ok.html").2, "fine");
    assert_eq!(page(&server, "broken.html").0, 500);
}

#[test]
fn unknown_keys_and_missing_directories_are_configuration_errors() {
    let site = Site::new(&[]);
    let error = site
        .load("templates:\n  auto_relaod: true\n")
        .err()
        .expect("refused")
        .to_string();
    assert!(
        error.contains(
            "app.yaml:2:3: templates.auto_relaod: unknown key `auto_relaod` (did you mean `auto_reload`?)"
        ),
        "{error}"
    );
    let error = site
        .load("templates:\n  directory: views\n")
        .err()
        .expect("refused")
        .to_string();
    assert!(
        error.contains("templates.directory: template directory ")
            && error.contains("views does not exist"),
        "{error}"
    );
}

#[test]
fn rendering_without_a_templates_section_fails_clearly() {
    let app = Site::new(&[]).app("app: {}\n");
    let error = app
        .templates()
        .render_to_string("page.html", json!({}))
        .unwrap_err()
        .to_string();
    assert!(error.contains("no `templates` section"), "{error}");
}
