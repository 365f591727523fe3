//! The request id the server assigns is the one handlers see and the response carries.

use beginnings::{Json, Request, Router};
use beginnings_tests::{InProcessServer, app_from_yaml, client};

#[test]
fn handlers_see_the_request_id_the_response_echoes() {
    let (app, _dir) = app_from_yaml("app: {name: ids, access_log: false}\n");
    let router = Router::new("").get("/id", |request: Request| {
        let id = request.request_id().map(str::to_string);
        async move { Json(serde_json::json!({"id": id})) }
    });
    let server = InProcessServer::start(app.mount(router).build().unwrap());
    let http = client();

    let kept = http
        .get(server.url("/id"))
        .header("x-request-id", "from-client.1")
        .send()
        .unwrap();
    assert_eq!(kept.headers()["x-request-id"], "from-client.1");
    assert_eq!(
        kept.json::<serde_json::Value>().unwrap()["id"],
        "from-client.1"
    );

    let made = http.get(server.url("/id")).send().unwrap();
    let echoed = made.headers()["x-request-id"].to_str().unwrap().to_string();
    let seen = made.json::<serde_json::Value>().unwrap()["id"].clone();
    assert_eq!(
        seen,
        echoed.as_str(),
        "the handler saw the id the response carries"
    );

    let other = http.get(server.url("/id")).send().unwrap();
    assert_ne!(
        other.headers()["x-request-id"],
        echoed.as_str(),
        "ids differ"
    );
}
