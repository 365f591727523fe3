//! A strict reader of the Prometheus text format (0.0.4), on top of the `prometheus-parse`
//! crate (which skips lines it does not understand, so it cannot tell valid from invalid).

use std::collections::{HashMap, HashSet};

use crate::client;
use prometheus_parse::{LineInfo, Scrape};

type Labels = Vec<(String, String)>;

pub struct Text {
    samples: Vec<(String, Labels, f64)>,
    types: HashMap<String, String>,
}

impl Text {
    /// The value of the sample with exactly these labels.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let mut wanted: Labels = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        wanted.sort();
        self.samples
            .iter()
            .find(|(n, l, _)| n == name && *l == wanted)
            .map(|(_, _, v)| *v)
    }

    pub fn kind(&self, family: &str) -> Option<&str> {
        self.types.get(family).map(String::as_str)
    }
}

pub fn scrape(url: &str) -> Text {
    let response = client().get(url).send().unwrap();
    assert_eq!(response.status(), 200);
    validate(&response.text().unwrap())
}

/// Checks every line against the format and the family rules; panics naming the line.
pub fn validate(text: &str) -> Text {
    let parsed = Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("parses");
    assert!(!parsed.samples.is_empty(), "no samples in {text}");
    let mut types = HashMap::new();
    let mut finished: HashSet<String> = HashSet::new();
    let mut current: Option<String> = None;
    let mut samples = Vec::new();
    for line in text.lines() {
        // The crate's sample pattern allows no `}` inside label values, which route
        // templates have (`/users/{id}`); every other line it must understand.
        let braces_in_values = match (line.find('{'), line.rfind('}')) {
            (Some(open), Some(close)) => line[open + 1..close].contains(['{', '}']),
            _ => false,
        };
        assert!(
            braces_in_values || !matches!(LineInfo::parse(line), LineInfo::Ignored),
            "prometheus-parse does not understand `{line}`"
        );
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert!(valid_name(name), "{line}");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "{line}"
            );
            assert!(
                types.insert(name.to_string(), kind.to_string()).is_none(),
                "second TYPE: {line}"
            );
            assert!(!finished.contains(name), "family {name} is not contiguous");
            if let Some(previous) = current.replace(name.to_string()) {
                finished.insert(previous);
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap();
            assert!(valid_name(name), "{line}");
            continue;
        }
        assert!(!line.starts_with('#') || line.starts_with("# "), "{line}");
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (name, labels, value) = sample(line);
        let family = family_of(&name, current.as_deref(), &types);
        if current.as_deref() != Some(family.as_str()) {
            assert!(
                !finished.contains(&family),
                "family {family} is not contiguous"
            );
            if let Some(previous) = current.replace(family.clone()) {
                finished.insert(previous);
            }
        }
        samples.push((name, labels, value));
    }
    let text = Text { samples, types };
    check_histograms(&text);
    text
}

fn family_of(name: &str, current: Option<&str>, types: &HashMap<String, String>) -> String {
    if let Some(family) = current {
        let suffixes: &[&str] = match types.get(family).map(String::as_str) {
            Some("histogram") => &["_bucket", "_sum", "_count"],
            Some("summary") => &["", "_sum", "_count"],
            _ => &[""],
        };
        if suffixes.iter().any(|s| name == format!("{family}{s}")) {
            return family.to_string();
        }
    }
    name.to_string()
}

/// Buckets never decrease with `le`, and `+Inf` equals `_count`.
fn check_histograms(text: &Text) {
    for (family, kind) in &text.types {
        if kind != "histogram" {
            continue;
        }
        let bucket_name = format!("{family}_bucket");
        let mut series: HashMap<Labels, Vec<(f64, f64)>> = HashMap::new();
        for (name, labels, value) in &text.samples {
            if *name != bucket_name {
                continue;
            }
            let le = labels.iter().find(|(k, _)| k == "le").expect("le label");
            let le: f64 = if le.1 == "+Inf" {
                f64::INFINITY
            } else {
                le.1.parse().unwrap()
            };
            let rest: Labels = labels.iter().filter(|(k, _)| k != "le").cloned().collect();
            series.entry(rest).or_default().push((le, *value));
        }
        for (labels, mut buckets) in series {
            buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
            assert!(
                buckets.windows(2).all(|w| w[0].1 <= w[1].1),
                "{family} {labels:?}"
            );
            let last = buckets.last().unwrap();
            assert!(last.0.is_infinite(), "{family} {labels:?} has +Inf");
            let count = text
                .samples
                .iter()
                .find(|(n, l, _)| *n == format!("{family}_count") && *l == labels)
                .map(|s| s.2);
            assert_eq!(
                count,
                Some(last.1),
                "{family} {labels:?}: +Inf equals _count"
            );
        }
    }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// `name{k="v",...} value`: the labels sorted, escapes undone.
fn sample(line: &str) -> (String, Labels, f64) {
    let end = line
        .find(['{', ' '])
        .unwrap_or_else(|| panic!("no value: {line}"));
    let name = &line[..end];
    assert!(valid_name(name), "invalid metric name: {line}");
    let mut rest = &line[end..];
    let mut labels = Vec::new();
    if let Some(inner) = rest.strip_prefix('{') {
        rest = inner;
        loop {
            if let Some(after) = rest.strip_prefix('}') {
                rest = after;
                break;
            }
            let (key, after) = rest.split_once("=\"").unwrap_or_else(|| panic!("{line}"));
            assert!(
                valid_name(key) && !key.contains(':'),
                "label name `{key}`: {line}"
            );
            let mut value = String::new();
            let mut chars = after.char_indices();
            let close = loop {
                match chars
                    .next()
                    .unwrap_or_else(|| panic!("unclosed value: {line}"))
                {
                    (i, '"') => break i,
                    (_, '\\') => match chars.next().map(|c| c.1) {
                        Some('n') => value.push('\n'),
                        Some(c @ ('\\' | '"')) => value.push(c),
                        other => panic!("bad escape {other:?}: {line}"),
                    },
                    (_, '\n') => panic!("raw newline: {line}"),
                    (_, c) => value.push(c),
                }
            };
            labels.push((key.to_string(), value));
            rest = &after[close + 1..];
            rest = rest.strip_prefix(',').unwrap_or(rest);
        }
    }
    let mut fields = rest.trim_start_matches(' ').split(' ');
    let value = fields.next().unwrap_or_else(|| panic!("no value: {line}"));
    let value: f64 = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        v => v
            .parse()
            .unwrap_or_else(|_| panic!("bad value `{v}`: {line}")),
    };
    if let Some(timestamp) = fields.next() {
        timestamp
            .parse::<i64>()
            .unwrap_or_else(|_| panic!("bad timestamp: {line}"));
    }
    assert!(fields.next().is_none(), "trailing text: {line}");
    labels.sort();
    (name.to_string(), labels, value)
}
