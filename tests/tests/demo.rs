//! The demo application as its users meet it: the `beginnings-demo` binary with the demo's
//! migrations, templates, stylesheet and extensions, its data in a real SQLite file that
//! outlives the server process.

use std::path::Path;
use std::process::Command;

use beginnings_tests::{TestServer, build_dir, client, ensure_built, workspace_root};
use reqwest::blocking::{Client, Response};
use serde_json::{Value, json};

/// The demo's own configuration, with its database in `data_dir` and every other path made
/// absolute (the server runs from a temporary directory).
fn demo_yaml(data_dir: &Path) -> String {
    let config = workspace_root().join("config");
    format!(
        r#"
database:
  url: "sqlite://{data}/demo.db"
  migrations: "{config}/migrations"
  pool_size: 2
templates:
  directory: "{config}/templates"
static:
  directories:
    - url_path: /static
      directory: "{config}/static"
routes:
  methods:
    "POST /api/v1/posts": {{auth_required: true}}
    "PUT /api/v1/posts/{{id}}": {{auth_required: true}}
    "DELETE /api/v1/posts/{{id}}": {{auth_required: true}}
    "PUT /api/v1/users/{{id}}": {{auth_required: true}}
extensions:
  "security:SecurityHeadersExtension": {{}}
  "auth:AuthExtension":
    jwt:
      algorithms: [HS256]
      secret: "{secret}"
      issuer: beginnings-demo
"#,
        data = data_dir.display(),
        config = config.display(),
        secret = SECRET,
    )
}

const SECRET: &str = "a-test-secret-that-is-long-enough-0123456789";

/// An HS256 token the demo's auth configuration accepts, with `claims` (plus `iss` and `exp`).
fn signed(mut claims: Value) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    claims["iss"] = json!("beginnings-demo");
    claims["exp"] = json!(now + 600);
    let key = jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes());
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).unwrap()
}

fn json_of(response: Response) -> Value {
    response.json().expect("a JSON body")
}

fn login(http: &Client, server: &TestServer, email: &str, password: &str) -> Response {
    http.post(server.url("/api/v1/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .unwrap()
}

fn token(http: &Client, server: &TestServer) -> String {
    let answer = login(http, server, "bob@example.com", "bob-password");
    assert_eq!(answer.status(), 200);
    json_of(answer)["access_token"].as_str().unwrap().to_owned()
}

#[test]
fn data_outlives_a_restart_of_the_server() {
    let data = tempfile::tempdir().unwrap();
    let yaml = demo_yaml(&data.path().join("nested"));
    let http = client();
    let (user_id, post_id) = {
        let server = TestServer::start(&yaml);
        let seeded = json_of(http.get(server.url("/api/v1/posts")).send().unwrap());
        assert_eq!(seeded.as_array().unwrap().len(), 2, "{seeded}");
        let user = http
            .post(server.url("/api/v1/users"))
            .json(&json!({"name": "Carol", "email": "Carol@Example.com", "password": "carol-password"}))
            .send()
            .unwrap();
        assert_eq!(user.status(), 201);
        let user = json_of(user);
        assert_eq!(user["email"], "carol@example.com");
        assert!(user.get("password_hash").is_none(), "{user}");

        let answer = login(&http, &server, "carol@example.com", "carol-password");
        assert_eq!(answer.status(), 200);
        let bearer = json_of(answer)["access_token"].as_str().unwrap().to_owned();
        let post = http
            .post(server.url("/api/v1/posts"))
            .bearer_auth(&bearer)
            .json(&json!({"title": "Kept", "body": "across restarts"}))
            .send()
            .unwrap();
        assert_eq!(post.status(), 201);
        let post = json_of(post);
        assert_eq!(
            post["author_id"], user["id"],
            "the author is the logged-in user"
        );
        (user["id"].as_i64().unwrap(), post["id"].as_i64().unwrap())
    };
    assert!(data.path().join("nested/demo.db").is_file());

    let server = TestServer::start(&yaml);
    let post = json_of(
        http.get(server.url(&format!("/api/v1/posts/{post_id}")))
            .send()
            .unwrap(),
    );
    assert_eq!(post["title"], "Kept");
    assert_eq!(post["author"], "Carol");
    let user = json_of(
        http.get(server.url(&format!("/api/v1/users/{user_id}")))
            .send()
            .unwrap(),
    );
    assert_eq!(user["name"], "Carol");
    let posts = json_of(http.get(server.url("/api/v1/posts")).send().unwrap());
    assert_eq!(
        posts.as_array().unwrap().len(),
        3,
        "the seeds ran once: {posts}"
    );
}

#[test]
fn writing_posts_takes_a_token_and_only_the_author_changes_a_post() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start(&demo_yaml(data.path()));
    let http = client();
    let anonymous = http
        .post(server.url("/api/v1/posts"))
        .json(&json!({"title": "t", "body": "b"}))
        .send()
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        login(&http, &server, "bob@example.com", "wrong").status(),
        401
    );
    assert_eq!(
        login(&http, &server, "nobody@example.com", "bob-password").status(),
        401
    );

    let bob = token(&http, &server);
    let created = http
        .post(server.url("/api/v1/posts"))
        .bearer_auth(&bob)
        .json(&json!({"title": "Bob's", "body": "first"}))
        .send()
        .unwrap();
    assert_eq!(created.status(), 201);
    let id = json_of(created)["id"].as_i64().unwrap();
    let edited = http
        .put(server.url(&format!("/api/v1/posts/{id}")))
        .bearer_auth(&bob)
        .json(&json!({"body": "edited"}))
        .send()
        .unwrap();
    assert_eq!(edited.status(), 200);
    let edited = json_of(edited);
    assert_eq!(
        (edited["title"].as_str(), edited["body"].as_str()),
        (Some("Bob's"), Some("edited"))
    );

    // Post 1 is Alice's.
    let not_his = http
        .delete(server.url("/api/v1/posts/1"))
        .bearer_auth(&bob)
        .send()
        .unwrap();
    assert_eq!(not_his.status(), 403);
    let deleted = http
        .delete(server.url(&format!("/api/v1/posts/{id}")))
        .bearer_auth(&bob)
        .send()
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let gone = http
        .get(server.url(&format!("/api/v1/posts/{id}")))
        .send()
        .unwrap();
    assert_eq!(gone.status(), 404);
}

#[test]
fn validation_errors_are_422_naming_the_field() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start(&demo_yaml(data.path()));
    let http = client();
    let bob = token(&http, &server);
    let cases = [
        ("/api/v1/users", json!({"email": "x@example.com"}), "name"),
        ("/api/v1/users", json!({"name": "X"}), "email"),
        (
            "/api/v1/users",
            json!({"name": "  ", "email": "x@example.com"}),
            "name",
        ),
        (
            "/api/v1/users",
            json!({"name": 5, "email": "x@example.com"}),
            "name",
        ),
        (
            "/api/v1/users",
            json!({"name": "X", "email": "not-an-address"}),
            "email",
        ),
        (
            "/api/v1/users",
            json!({"name": "X", "email": "x@example.com", "password": "short"}),
            "password",
        ),
        ("/api/v1/posts", json!({"body": "no title"}), "title"),
        ("/api/v1/posts", json!({"title": "no body"}), "body"),
    ];
    for (path, body, field) in cases {
        let answer = http
            .post(server.url(path))
            .bearer_auth(&bob)
            .json(&body)
            .send()
            .unwrap();
        assert_eq!(answer.status(), 422, "{path} {body}");
        let error = json_of(answer);
        assert_eq!(error["error"]["field"], field, "{path} {body}: {error}");
        assert_eq!(error["error"]["status"], 422);
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.starts_with(&format!("{field}: ")), "{message}");
    }
    let taken = http
        .post(server.url("/api/v1/users"))
        .json(&json!({"name": "Alice again", "email": "alice@example.com"}))
        .send()
        .unwrap();
    assert_eq!(taken.status(), 409);
    assert_eq!(json_of(taken)["error"]["field"], "email");
    let bad_page = http
        .get(server.url("/api/v1/posts?per_page=0"))
        .send()
        .unwrap();
    assert_eq!(bad_page.status(), 422);
    assert_eq!(json_of(bad_page)["error"]["field"], "per_page");
    let not_json = http
        .post(server.url("/api/v1/users"))
        .body("{")
        .send()
        .unwrap();
    assert_eq!(not_json.status(), 400);
}

#[test]
fn lists_are_paged_with_links() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start(&demo_yaml(data.path()));
    let http = client();
    for n in 0..5 {
        let created = http
            .post(server.url("/api/v1/users"))
            .json(&json!({"name": format!("User {n}"), "email": format!("user{n}@example.com")}))
            .send()
            .unwrap();
        assert_eq!(created.status(), 201);
    }
    let page = http
        .get(server.url("/api/v1/users?page=2&per_page=3"))
        .send()
        .unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["x-total-count"], "7");
    let link = page.headers()["link"].to_str().unwrap().to_owned();
    assert!(
        link.contains("</api/v1/users?page=3&per_page=3>; rel=\"next\""),
        "{link}"
    );
    assert!(
        link.contains("</api/v1/users?page=1&per_page=3>; rel=\"prev\""),
        "{link}"
    );
    let names: Vec<String> = json_of(page)
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["User 1", "User 2", "User 3"]);
    let last = http
        .get(server.url("/api/v1/users?page=3&per_page=3"))
        .send()
        .unwrap();
    assert!(
        last.headers()
            .get("link")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("prev")
    );
    assert_eq!(json_of(last).as_array().unwrap().len(), 1);
}

#[test]
fn pages_render_posts_with_the_stylesheet() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start(&demo_yaml(data.path()));
    let http = client();
    let index = http.get(server.url("/")).send().unwrap();
    assert_eq!(index.status(), 200);
    assert!(
        index.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = index.text().unwrap();
    assert!(html.contains("Hello, Beginnings"), "{html}");
    assert!(html.contains("href=\"/static/style.css\""), "{html}");
    let post = http.get(server.url("/posts/2")).send().unwrap();
    assert_eq!(post.status(), 200);
    assert!(post.text().unwrap().contains("Configuration first"));
    let css = http.get(server.url("/static/style.css")).send().unwrap();
    assert_eq!(css.status(), 200);
    assert!(
        css.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    let missing = http.get(server.url("/posts/999")).send().unwrap();
    assert_eq!(missing.status(), 404);
}

#[test]
fn the_shipped_configuration_loads_every_extension() {
    ensure_built();
    let output = Command::new(build_dir().join("beginnings-demo"))
        .current_dir(workspace_root())
        .args(["check", "--config", "config/app.yaml"])
        .env_remove("BEGINNINGS_EXTENSIONS_DIR")
        .env_remove("BEGINNINGS_ENV")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    // monitor, security, cors, auth and rate_limit.
    assert!(stdout.contains("5 extensions"), "{stdout}");
}

fn bearer_of(http: &Client, server: &TestServer, email: &str, password: &str) -> String {
    let answer = login(http, server, email, password);
    assert_eq!(answer.status(), 200, "{email}");
    json_of(answer)["access_token"].as_str().unwrap().to_owned()
}

fn put_user(http: &Client, server: &TestServer, id: i64, bearer: Option<&str>, body: Value) -> u16 {
    let mut request = http
        .put(server.url(&format!("/api/v1/users/{id}")))
        .json(&body);
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    request.send().unwrap().status().as_u16()
}

#[test]
fn a_user_is_changed_only_by_that_user_or_an_admin() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start(&demo_yaml(data.path()));
    let http = client();
    // Alice (1) is the admin, Bob (2) a member.
    let takeover = json!({"password": "taken-over-password"});
    assert_eq!(put_user(&http, &server, 1, None, takeover.clone()), 401);
    let bob = bearer_of(&http, &server, "bob@example.com", "bob-password");
    assert_eq!(
        put_user(&http, &server, 1, Some(&bob), takeover.clone()),
        403
    );
    assert_eq!(
        login(&http, &server, "alice@example.com", "taken-over-password").status(),
        401,
        "the admin's password is unchanged"
    );
    bearer_of(&http, &server, "alice@example.com", "alice-password");

    let own = json!({"name": "Robert"});
    assert_eq!(put_user(&http, &server, 2, Some(&bob), own), 200);
    let alice = bearer_of(&http, &server, "alice@example.com", "alice-password");
    assert_eq!(
        put_user(&http, &server, 2, Some(&alice), json!({"name": "Bobby"})),
        200,
        "an admin changes any user"
    );
    let bob_now = json_of(http.get(server.url("/api/v1/users/2")).send().unwrap());
    assert_eq!(bob_now["name"], "Bobby");

    // Where the configuration forgets to require a login, the handler still does.
    let open = demo_yaml(data.path()).replace(
        "    \"PUT /api/v1/users/{id}\": {auth_required: true}\n",
        "",
    );
    assert_ne!(open, demo_yaml(data.path()));
    drop(server);
    let server = TestServer::start(&open);
    assert_eq!(put_user(&http, &server, 1, None, takeover), 401);
    assert_eq!(
        login(&http, &server, "alice@example.com", "taken-over-password").status(),
        401
    );
}

#[test]
fn the_shipped_configuration_requires_a_login_to_change_a_user() {
    ensure_built();
    let output = Command::new(build_dir().join("beginnings-demo"))
        .current_dir(workspace_root())
        .args(["routes", "--config", "config/app.yaml"])
        .env_remove("BEGINNINGS_EXTENSIONS_DIR")
        .env_remove("BEGINNINGS_ENV")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    let row = stdout
        .lines()
        .find(|line| line.starts_with("PUT ") && line.contains(" /api/v1/users/{id} "))
        .unwrap_or_else(|| panic!("no PUT /api/v1/users/{{id}}:\n{stdout}"));
    assert!(row.contains("\"auth_required\":true"), "{row}");
}

#[test]
fn a_token_without_a_numeric_subject_is_refused() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start(&demo_yaml(data.path()));
    let http = client();
    let no_subject = signed(json!({"roles": ["admin"]}));
    let not_a_number = signed(json!({"sub": "alice", "roles": ["admin"]}));
    for bearer in [&no_subject, &not_a_number] {
        let post = http
            .post(server.url("/api/v1/posts"))
            .bearer_auth(bearer)
            .json(&json!({"title": "Forged", "body": "as Alice", "author_id": 1}))
            .send()
            .unwrap();
        let status = post.status().as_u16();
        assert!(
            matches!(status, 401 | 403),
            "{status}: {}",
            post.text().unwrap()
        );
        let changed = put_user(&http, &server, 1, Some(bearer), json!({"name": "Mallory"}));
        assert!(matches!(changed, 401 | 403), "{changed}");
        let deleted = http
            .delete(server.url("/api/v1/posts/1"))
            .bearer_auth(bearer)
            .send()
            .unwrap()
            .status()
            .as_u16();
        assert!(matches!(deleted, 401 | 403), "{deleted}");
    }
    let posts = json_of(http.get(server.url("/api/v1/posts")).send().unwrap());
    assert_eq!(
        posts.as_array().unwrap().len(),
        2,
        "nothing was written: {posts}"
    );
    let alice = json_of(http.get(server.url("/api/v1/users/1")).send().unwrap());
    assert_eq!(alice["name"], "Alice");

    // A well-formed token of the same shape works: the refusal is about the subject.
    let bob = signed(json!({"sub": "2", "roles": ["member"]}));
    let post = http
        .post(server.url("/api/v1/posts"))
        .bearer_auth(&bob)
        .json(&json!({"title": "Mine", "body": "as Bob"}))
        .send()
        .unwrap();
    assert_eq!(post.status(), 201);
    assert_eq!(json_of(post)["author_id"], 2);
}

/// The shipped `config/` copied to `<temporary>/config`, so the demo's relative paths
/// (`../data/demo.db`) stay inside the temporary directory.
fn shipped_config_copy() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let status = Command::new("cp")
        .arg("-r")
        .arg(workspace_root().join("config"))
        .arg(root.path())
        .status()
        .unwrap();
    assert!(status.success());
    root
}

#[test]
fn the_production_profile_refuses_to_start_without_its_jwt_secret() {
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    ensure_built();
    let root = shipped_config_copy();
    let config = root.path().join("config/app.yaml");
    let extensions = build_dir();
    let demo = |args: &[&str]| {
        let mut command = Command::new(build_dir().join("beginnings-demo"));
        command
            .current_dir(root.path())
            .args(args)
            .arg("--config")
            .arg(&config)
            .arg("--extensions-dir")
            .arg(&extensions)
            .env_remove("BEGINNINGS_EXTENSIONS_DIR")
            .env_remove("BEGINNINGS_ENV")
            .env_remove("DEMO_JWT_SECRET");
        command
    };

    // Serving: the process must stop on its own, naming the variable.
    let mut child = demo(&["--bind", "127.0.0.1:0", "--profile", "production"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the production profile started without DEMO_JWT_SECRET");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let served = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&served.stderr);
    assert!(!served.status.success(), "{stderr}");
    assert!(stderr.contains("DEMO_JWT_SECRET"), "{stderr}");
    assert!(stderr.contains("app.production.yaml"), "{stderr}");

    let refused = demo(&["check", "--profile", "production"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{stderr}");
    assert!(stderr.contains("`DEMO_JWT_SECRET` is not set"), "{stderr}");

    // With the secret set, production loads; development keeps its default for local use.
    let passed = demo(&["check", "--profile", "production"])
        .env(
            "DEMO_JWT_SECRET",
            "a-production-secret-of-enough-length-0123456789",
        )
        .output()
        .unwrap();
    assert!(
        passed.status.success(),
        "{}",
        String::from_utf8_lossy(&passed.stderr)
    );
    let development = demo(&["check"]).output().unwrap();
    assert!(
        development.status.success(),
        "{}",
        String::from_utf8_lossy(&development.stderr)
    );
}
