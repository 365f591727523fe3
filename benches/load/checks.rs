//! What each server must answer before it is measured: the bare-hyper baseline's body, the
//! headers of exactly the middlewares it runs, and a 401 without the token where one is
//! checked. A benchmark of wrong answers would measure the wrong thing.

use anyhow::bail;

use crate::http;
use crate::server::Server;

pub const USER_PATH: &str = "/api/v1/users/1";
/// Scenario R: a route the benchmark application mounts, with no extension on it.
pub const STATUS_PATH: &str = "/status";

/// What each middleware visibly adds to an answer, by Beginnings' module name (the axum
/// baseline's layers add the same).
const EVIDENCE: [(&str, &str); 3] = [
    ("security", "x-content-type-options"),
    ("cors", "access-control-allow-origin"),
    ("rate_limit", "ratelimit-limit"),
];

/// The modules of the extension names `module:Class` given.
pub fn modules(extensions: &[String]) -> Vec<&str> {
    extensions
        .iter()
        .filter_map(|name| name.split(':').next())
        .collect()
}

/// The middlewares the axum baseline's `--layers` runs, by the module they stand for.
pub const AXUM_LAYERS: [&str; 5] = ["monitor", "security", "cors", "rate_limit", "auth"];

/// Checks the answer the scenarios measure: 200, the baseline's body, and the headers of
/// exactly the middlewares of `modules`. Returns the headers found.
pub fn user_route(
    server: &Server,
    headers: &[(String, String)],
    expected: &http::Answer,
    modules: &[&str],
) -> anyhow::Result<Vec<String>> {
    let answer = http::exchange(server.addr, "GET", USER_PATH, headers, &[])?;
    if answer.status != 200 || answer.body != expected.body {
        bail!(
            "{}: {USER_PATH} answered {} `{}`, bare hyper 200 `{}`",
            server.name,
            answer.status,
            answer.text(),
            expected.text()
        );
    }
    let mut found = Vec::new();
    for (module, header) in EVIDENCE {
        match (modules.contains(&module), answer.header(header)) {
            (true, Some(_)) => found.push(header.to_string()),
            (false, None) => {}
            (true, None) => bail!(
                "{}: {module} is loaded but the answer has no {header}",
                server.name
            ),
            (false, Some(_)) => bail!(
                "{}: {module} is off but the answer has {header}",
                server.name
            ),
        }
    }
    if modules.contains(&"auth") {
        let refused = http::exchange(server.addr, "GET", USER_PATH, &without_token(headers), &[])?;
        if refused.status != 401 {
            bail!(
                "{}: {USER_PATH} without a token answered {}, not 401",
                server.name,
                refused.status
            );
        }
        found.push("401 without the token".to_string());
    }
    Ok(found)
}

/// `headers` without the bearer token: a request the auth extension refuses.
pub fn without_token(headers: &[(String, String)]) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(name, _)| name != "authorization")
        .cloned()
        .collect()
}

/// Checks an answer to `GET path` that no middleware touches: 200 and the body of bare
/// hyper's `/health`, with no middleware's header.
pub fn untouched(
    server: &Server,
    path: &str,
    headers: &[(String, String)],
    expected: &http::Answer,
) -> anyhow::Result<()> {
    let answer = http::exchange(server.addr, "GET", path, headers, &[])?;
    if answer.status != 200 || answer.body != expected.body {
        bail!(
            "{}: {path} answered {} `{}`, bare hyper's /health 200 `{}`",
            server.name,
            answer.status,
            answer.text(),
            expected.text()
        );
    }
    for (module, header) in EVIDENCE {
        if answer.header(header).is_some() {
            bail!(
                "{}: {path} should run no middleware but has {module}'s {header}",
                server.name
            );
        }
    }
    Ok(())
}
