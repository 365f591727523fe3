//! Application state handed to handlers by their router (`Router::with_state`, `State<S>`),
//! through a real server: a route answers with its router's state, two routers keep theirs
//! apart, the state is shared by the requests and routes of its router, and a router nested
//! into another keeps its own.

use std::sync::atomic::{AtomicU64, Ordering};

use beginnings::{Json, Request, Router, State};
use beginnings_tests::{InProcessServer, app_from_yaml, client};
use serde_json::{Value, json};

const CONFIG: &str = r#"
routes:
  patterns:
    "/*": {security_headers: true}
extensions:
  "security:SecurityHeadersExtension": {x_frame_options: DENY}
"#;

/// A shop: its name, and how many requests its routes have answered.
struct Shop {
    name: &'static str,
    served: AtomicU64,
}

impl Shop {
    fn new(name: &'static str) -> Shop {
        Shop {
            name,
            served: AtomicU64::new(0),
        }
    }
}

/// A state of another type, for a router nested under a shop's.
struct Catalogue {
    items: Vec<&'static str>,
}

async fn shop_name(shop: State<Shop>, request: Request) -> Json<Value> {
    let served = shop.served.fetch_add(1, Ordering::SeqCst) + 1;
    Json(json!({"shop": shop.name, "served": served, "path": request.uri().path()}))
}

async fn item(catalogue: State<Catalogue>, request: Request) -> Json<Value> {
    let index: usize = request.param("index").unwrap().parse().unwrap();
    Json(json!({"item": catalogue.items.get(index)}))
}

/// One shop's routes: two that read its state, one that takes none.
fn shop_routes(prefix: &str) -> Router<Shop> {
    Router::new(prefix)
        .get("/name", shop_name)
        .post("/name", shop_name)
        .get("/plain", |_request| async { "no state here" })
}

fn server() -> InProcessServer {
    let (app, _dir) = app_from_yaml(CONFIG);
    let catalogue = Router::new("/items")
        .get("/{index}", item)
        .with_state(Catalogue {
            items: vec!["kettle", "teapot"],
        });
    // The catalogue, given its own state, nests into a shop's router; a router of the same
    // state nests before the shop's state is given.
    let north = shop_routes("/north")
        .nest(catalogue)
        .nest(Router::new("/more").get("/name", shop_name))
        .with_state(Shop::new("north"));
    let south = shop_routes("/south").with_state(Shop::new("south"));
    let app = app.mount(north).mount(south);
    InProcessServer::start(app.build().expect("builds"))
}

fn get(server: &InProcessServer, path: &str) -> Value {
    let answer = client().get(server.url(path)).send().unwrap();
    assert_eq!(answer.status(), 200, "{path}");
    // The configured extensions run on a stateful route as on any other.
    assert_eq!(answer.headers()["x-frame-options"], "DENY", "{path}");
    answer.json().unwrap()
}

#[test]
fn a_route_answers_with_its_routers_state_and_two_routers_keep_theirs_apart() {
    let server = server();
    assert_eq!(get(&server, "/north/name")["shop"], "north");
    assert_eq!(get(&server, "/south/name")["shop"], "south");
    assert_eq!(get(&server, "/north/name")["shop"], "north");
    // A handler without state in a router with one.
    let plain = client().get(server.url("/south/plain")).send().unwrap();
    assert_eq!(plain.text().unwrap(), "no state here");
    server.stop();
}

#[test]
fn the_state_is_shared_by_the_requests_and_routes_of_its_router_only() {
    let server = server();
    let served = |path: &str| get(&server, path)["served"].as_u64().unwrap();
    assert_eq!(served("/north/name"), 1);
    assert_eq!(served("/north/name"), 2);
    // Another route of the same router, and another method, count in the same state.
    let posted: Value = (client().post(server.url("/north/name")).send().unwrap())
        .json()
        .unwrap();
    assert_eq!(posted["served"], 3);
    assert_eq!(served("/north/more/name"), 4);
    // The south shop's count is its own.
    assert_eq!(served("/south/name"), 1);
    assert_eq!(served("/north/name"), 5);
    server.stop();
}

#[test]
fn a_router_nested_with_its_own_state_keeps_it() {
    let server = server();
    assert_eq!(get(&server, "/north/items/1")["item"], "teapot");
    assert_eq!(get(&server, "/north/items/0")["item"], "kettle");
    let more = get(&server, "/north/more/name");
    assert_eq!(more["shop"], "north");
    assert_eq!(more["path"], "/north/more/name");
    // Nested under the north shop only.
    let missing = client().get(server.url("/south/items/0")).send().unwrap();
    assert_eq!(missing.status(), 404);
    server.stop();
}
