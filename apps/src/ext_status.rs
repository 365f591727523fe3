//! `ext status URL`: the extension builds a running server uses, read from its `/metrics`:
//! per module, the build in use (sha256, the ABI it was made for, when it was opened), the
//! builds a swap replaced (still loaded), and its swaps and rollbacks.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use beginnings::telemetry::metrics::parse_series;
use serde_json::{Map, Value};

/// What `/metrics` says of one module.
#[derive(Default)]
struct Module {
    in_use: Vec<String>,
    replaced: Vec<String>,
    /// sha256 → (ABI, opened at, seconds since the epoch).
    opened: BTreeMap<String, (String, f64)>,
    swaps: f64,
    rollbacks: f64,
}

pub fn status(url: &str) -> Result<ExitCode, String> {
    let metrics = format!("{}?format=json", url.trim_end_matches('/'));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start a runtime to ask {metrics}: {error}"))?;
    let body: Value = runtime.block_on(async {
        let answer = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|error| error.to_string())?
            .get(&metrics)
            .send()
            .await
            .map_err(|error| format!("cannot reach {metrics}: {error}"))?;
        if !answer.status().is_success() {
            return Err(format!("{metrics} answered {}", answer.status()));
        }
        (answer.json().await)
            .map_err(|error| format!("{metrics} did not answer the metrics JSON: {error}"))
    })?;
    let empty = Map::new();
    let series = |key: &str| body.get(key).and_then(Value::as_object).unwrap_or(&empty);
    let modules = modules(series("gauges"), series("counters"));
    if modules.is_empty() {
        println!("no extension builds in {metrics}");
    }
    print!("{}", report(&modules, SystemTime::now()));
    Ok(ExitCode::SUCCESS)
}

fn modules(gauges: &Map<String, Value>, counters: &Map<String, Value>) -> BTreeMap<String, Module> {
    let mut modules: BTreeMap<String, Module> = BTreeMap::new();
    let all = gauges.iter().chain(counters);
    for (name, value) in all {
        let Some((base, labels)) = parse_series(name) else {
            continue;
        };
        let label = |key: &str| {
            labels
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        let (Some(module), value) = (label("module"), value.as_f64().unwrap_or(0.0)) else {
            continue;
        };
        let entry = modules.entry(module).or_default();
        match (base, label("sha256")) {
            ("extension_build_info", Some(sha256)) if value >= 1.0 => entry.in_use.push(sha256),
            ("extension_build_info", Some(sha256)) => entry.replaced.push(sha256),
            ("extension_build_loaded_at_seconds", Some(sha256)) => {
                let abi = label("abi").unwrap_or_else(|| "?".to_string());
                entry.opened.insert(sha256, (abi, value));
            }
            ("extension_swaps_total", _) => entry.swaps = value,
            ("extension_rollbacks_total", _) => entry.rollbacks = value,
            _ => {}
        }
    }
    modules
}

fn report(modules: &BTreeMap<String, Module>, now: SystemTime) -> String {
    let now = now
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let mut out = String::new();
    for (name, module) in modules {
        out.push_str(&format!("module {name}\n"));
        for sha256 in &module.in_use {
            let opened = match module.opened.get(sha256) {
                Some((abi, at)) => {
                    format!("  abi {abi}  opened {:.0} s ago (unix {at:.0})", now - at)
                }
                None => String::new(),
            };
            out.push_str(&format!("  in use    sha256 {sha256}{opened}\n"));
        }
        for sha256 in &module.replaced {
            out.push_str(&format!("  replaced  sha256 {sha256} (still loaded)\n"));
        }
        out.push_str(&format!(
            "  swaps {}  rollbacks {}\n",
            module.swaps, module.rollbacks
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_module_shows_its_build_in_use_the_replaced_ones_and_its_counts() {
        let gauges: Map<String, Value> = serde_json::from_str(
            r#"{
              "extension_build_info{module=\"m\",sha256=\"new\"}": 1,
              "extension_build_info{module=\"m\",sha256=\"old\"}": 0,
              "extension_build_loaded_at_seconds{module=\"m\",sha256=\"new\",abi=\"1.2\"}": 100
            }"#,
        )
        .unwrap();
        let counters: Map<String, Value> = serde_json::from_str(
            r#"{"extension_swaps_total{module=\"m\"}": 1, "extension_rollbacks_total{module=\"m\"}": 0}"#,
        )
        .unwrap();
        let text = report(
            &modules(&gauges, &counters),
            UNIX_EPOCH + Duration::from_secs(130),
        );
        assert_eq!(
            text,
            "module m\n  in use    sha256 new  abi 1.2  opened 30 s ago (unix 100)\n  \
             replaced  sha256 old (still loaded)\n  swaps 1  rollbacks 0\n"
        );
    }
}
