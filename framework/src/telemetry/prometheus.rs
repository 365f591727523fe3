//! The registry in the Prometheus text exposition format (version 0.0.4).
//!
//! The performance monitor's request series come out under the conventional names
//! `http_requests_total{method,route,status}` and `http_request_duration_seconds` (a
//! histogram with buckets); every other counter, gauge and histogram of the registry follows
//! under its own name, grouped into one family per base name. Histograms of unknown unit
//! are exposed as summaries (quantiles, sum, count).

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;

use super::memory::process_memory;
use super::metrics::{REQUEST_DURATION_US, REQUESTS_TOTAL, Registry, escape_label, parse_series};

/// The `Content-Type` of the text format.
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Bucket bounds of `http_request_duration_seconds`, in microseconds (100 µs to 10 s).
const DURATION_BOUNDS_US: [u64; 16] = [
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000, 5_000_000, 10_000_000,
];

type Labels = Vec<(String, String)>;

/// One metric family: its help, type and samples (suffix, labels, value).
struct Family {
    help: String,
    kind: &'static str,
    samples: Vec<(&'static str, Labels, String)>,
}

/// The whole registry, plus the process's resident memory, as Prometheus text.
pub fn render_prometheus(registry: &Registry) -> String {
    let mut families: BTreeMap<String, Family> = BTreeMap::new();
    let mut add = |name: String, help: &str, kind: &'static str, sample| {
        let family = families.entry(name).or_insert_with(|| Family {
            help: help.to_string(),
            kind,
            samples: Vec::new(),
        });
        // A name used by two kinds (a counter and a gauge) would make the text invalid;
        // the first kind keeps it.
        if family.kind == kind {
            family.samples.push(sample);
        }
    };

    for (name, value) in registry.counters() {
        let Some((base, labels)) = parse_series(&name) else {
            continue;
        };
        let help = registry.help(&name).unwrap_or_default();
        let family = if base.ends_with(REQUESTS_TOTAL) && has_request_labels(&labels) {
            (REQUESTS_TOTAL.to_string(), REQUESTS_HELP.to_string())
        } else {
            let base = metric_name(base);
            let base = if base.ends_with("_total") {
                base
            } else {
                format!("{base}_total")
            };
            (base, help)
        };
        add(
            family.0,
            &family.1,
            "counter",
            ("", clean(labels), value.to_string()),
        );
    }
    for (name, help, value) in registry.gauges() {
        let Some((base, labels)) = parse_series(&name) else {
            continue;
        };
        add(
            metric_name(base),
            &help,
            "gauge",
            ("", clean(labels), value.to_string()),
        );
    }
    for (snapshot, buckets) in registry.histograms_bucketed(&DURATION_BOUNDS_US) {
        let Some((base, labels)) = parse_series(&snapshot.name) else {
            continue;
        };
        let labels = clean(labels);
        let sum = snapshot.mean * snapshot.count as f64;
        if base.ends_with(REQUEST_DURATION_US) && has_request_labels(&labels) {
            let name = "http_request_duration_seconds".to_string();
            for (bound, count) in DURATION_BOUNDS_US.iter().zip(&buckets) {
                let le = seconds(*bound);
                add(
                    name.clone(),
                    DURATION_HELP,
                    "histogram",
                    bucket(&labels, le, *count),
                );
            }
            let all = bucket(&labels, "+Inf".to_string(), snapshot.count);
            add(name.clone(), DURATION_HELP, "histogram", all);
            let total = ("_sum", labels.clone(), seconds(sum as u64));
            add(name.clone(), DURATION_HELP, "histogram", total);
            let count = ("_count", labels, snapshot.count.to_string());
            add(name, DURATION_HELP, "histogram", count);
        } else {
            let name = metric_name(base);
            let help = registry.help(&snapshot.name).unwrap_or_default();
            for (quantile, value) in [("0.5", snapshot.p50), ("0.95", snapshot.p95)]
                .into_iter()
                .chain([("0.99", snapshot.p99)])
            {
                let mut with = labels.clone();
                with.push(("quantile".into(), quantile.into()));
                add(
                    name.clone(),
                    &help,
                    "summary",
                    ("", with, value.to_string()),
                );
            }
            add(
                name.clone(),
                &help,
                "summary",
                ("_sum", labels.clone(), sum.to_string()),
            );
            let count = ("_count", labels, snapshot.count.to_string());
            add(name, &help, "summary", count);
        }
    }
    if let Some(memory) = process_memory() {
        let rss = ("", Vec::new(), memory.rss_bytes.to_string());
        add(
            "process_resident_memory_bytes".into(),
            RSS_HELP,
            "gauge",
            rss,
        );
        let peak = ("", Vec::new(), memory.peak_rss_bytes.to_string());
        add(
            "process_resident_memory_peak_bytes".into(),
            PEAK_HELP,
            "gauge",
            peak,
        );
    }
    write_families(&families)
}

const REQUESTS_HELP: &str = "Requests answered, by method, route template and status (as sampled by the performance monitor).";
const DURATION_HELP: &str = "Request latency by method and route template, from the host's start on the request to the monitor's response hook (as sampled).";
const RSS_HELP: &str = "Resident set size of the process.";
const PEAK_HELP: &str = "Peak resident set size of the process.";

fn write_families(families: &BTreeMap<String, Family>) -> String {
    // The sample names of histograms and summaries (`x_sum`) must not also name a family.
    let taken: HashSet<String> = families
        .iter()
        .filter(|(_, family)| matches!(family.kind, "histogram" | "summary"))
        .flat_map(|(name, _)| ["_sum", "_count", "_bucket"].map(|s| format!("{name}{s}")))
        .collect();
    let mut out = String::new();
    for (name, family) in families {
        if taken.contains(name) {
            continue;
        }
        let _ = writeln!(out, "# HELP {name} {}", escape_help(&family.help));
        let _ = writeln!(out, "# TYPE {name} {}", family.kind);
        for (suffix, labels, value) in &family.samples {
            let _ = writeln!(out, "{name}{suffix}{} {value}", render_labels(labels));
        }
    }
    out
}

fn has_request_labels(labels: &Labels) -> bool {
    labels.iter().any(|(k, _)| k == "method") && labels.iter().any(|(k, _)| k == "route")
}

fn bucket(labels: &Labels, le: String, count: u64) -> (&'static str, Labels, String) {
    let mut with = labels.clone();
    with.push(("le".into(), le));
    ("_bucket", with, count.to_string())
}

/// Microseconds as seconds, without trailing zeros (`250` gives `0.00025`).
fn seconds(micros: u64) -> String {
    let text = format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000);
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Label names made valid (`[a-zA-Z_][a-zA-Z0-9_]*`); `le` and `quantile` are reserved.
fn clean(labels: Labels) -> Labels {
    labels
        .into_iter()
        .map(|(key, value)| (metric_name(&key).replace(':', "_"), value))
        .filter(|(key, _)| key != "le" && key != "quantile" && !key.starts_with("__"))
        .collect()
}

/// A metric name made valid (`[a-zA-Z_:][a-zA-Z0-9_:]*`): other characters become `_`.
fn metric_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

fn render_labels(labels: &Labels) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let pairs: Vec<String> = labels
        .iter()
        .map(|(key, value)| format!("{key}=\"{}\"", escape_label(value)))
        .collect();
    format!("{{{}}}", pairs.join(","))
}

fn escape_help(help: &str) -> String {
    help.replace('\\', "\\\\").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_plain_decimals() {
        assert_eq!(seconds(250), "0.00025");
        assert_eq!(seconds(1_000_000), "1");
        assert_eq!(seconds(2_500_000), "2.5");
    }

    #[test]
    fn names_are_made_valid() {
        assert_eq!(metric_name("ext_a.b-c"), "ext_a_b_c");
        assert_eq!(metric_name("9x"), "_9x");
    }
}
