//! `routes`: every route with its resolved configuration, where that came from, and the
//! extensions its chain runs.

use std::process::ExitCode;

use beginnings::{RouteSummary, Router};

use crate::options::BuildOptions;
use crate::table;

const HEADER: [&str; 5] = ["METHOD", "PATH", "CHAIN", "MATCHED", "SETTINGS"];

pub fn routes(options: &BuildOptions, routers: Vec<Router>) -> anyhow::Result<ExitCode> {
    let runtime = options.build(routers)?;
    let rows: Vec<Vec<String>> = runtime.routes().iter().map(row).collect();
    print!("{}", table::render(&HEADER, &rows));
    Ok(ExitCode::SUCCESS)
}

fn row(route: &RouteSummary) -> Vec<String> {
    let chain = if route.chain.is_empty() {
        "-".to_owned()
    } else {
        route.chain.join(" -> ")
    };
    vec![
        route.method.to_string(),
        route.path.clone(),
        chain,
        matched(route),
        // Route settings can carry credentials (an upstream token), so they are masked as
        // `config show` masks them.
        beginnings::config::redacted(&serde_json::Value::Object(route.config.settings.clone()))
            .to_string(),
    ]
}

/// The patterns that matched, in the order they were applied, followed by the other layers
/// that set something (`exact`, `methods`, `code`); `global_defaults` applies to every route
/// and would only add noise.
fn matched(route: &RouteSummary) -> String {
    let mut layers: Vec<String> = route.config.matched_patterns.clone();
    for source in route.config.sources.values() {
        let other_layer = source.starts_with("exact ")
            || source.starts_with("methods ")
            || source.as_str() == "code";
        if other_layer && !layers.contains(source) {
            layers.push(source.clone());
        }
    }
    if layers.is_empty() {
        "-".to_owned()
    } else {
        layers.join(", ")
    }
}
