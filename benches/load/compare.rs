//! The side-by-side table of the five servers and the verdict on each target, every ratio
//! taken within this run.

use crate::Lineup;
use crate::connections::ConnectionMemory;
use crate::report::{Run, ServerFigures, mb};

/// The compass beyond the first target: five extensions at 0.7x axum's five layers.
const COMPASS: f64 = 0.7;
const PER_EXTENSION_US: f64 = 0.3;
const NO_EXTENSION_OVER_AXUM: f64 = 1.1;
const PROBE_OVER_BARE: f64 = 1.15;
const PEAK_RSS_MB: f64 = 8.0;
const STARTUP_MS: f64 = 12.0;
const PER_CONNECTION_KB: f64 = 12.0;

/// Each row of the side-by-side table: its label and its S and C scenarios.
const ROWS: [(&str, &str, &str); 5] = [
    ("bare hyper", "S0", "U0"),
    ("axum, no middleware", "SA0", "UA0"),
    ("axum + 5 tower layers", "SA", "CA"),
    ("Beginnings, no extension", "SE", "E"),
    ("Beginnings, 5 `.so` extensions", "S", "C"),
];

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}

fn us(value: Option<f64>) -> String {
    value.map_or("failed".to_string(), |value| format!("{value:.2}"))
}

fn per_connection(memory: Option<&Result<ConnectionMemory, String>>) -> String {
    match memory {
        Some(Ok(memory)) => format!("{:.1} KB", memory.per_connection_kib()),
        Some(Err(_)) => "failed".to_string(),
        None => "not measured".to_string(),
    }
}

pub fn print(run: &Run) {
    let memory = run.connection_memory.as_ref().map(Lineup::all);
    println!();
    println!(
        "| server | S `/health` user µs/req | C `/api/v1/users/1` user µs/req | C req/s | peak RSS | start to first 200 | memory per connection |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (index, ((label, s, c), server)) in ROWS.iter().zip(run.servers.all()).enumerate() {
        let rate = run.measured(c).map_or("failed".to_string(), |measured| {
            format!("{:.0}k", measured.figures.requests_per_second() / 1000.0)
        });
        println!(
            "| {label} | {} ({s}) | {} ({c}) | {rate} | {:.1} MB | {:.1} ms | {} |",
            us(run.user(s)),
            us(run.user(c)),
            mb(server.peak_rss_kib),
            server.startup().as_secs_f64() * 1000.0,
            per_connection(memory.map(|all| all[index])),
        );
    }
    if let Some(memory) = &run.connection_memory {
        connection_details(memory);
    }
    targets(run);
}

fn connection_details(memory: &Lineup<Result<ConnectionMemory, String>>) {
    println!();
    println!(
        "Memory per connection: each server started afresh, one request answered, then N \
         HTTP/1.1 keep-alive connections opened, one GET /api/v1/users/1 answered on each, all \
         held open idle; (VmRSS after - VmRSS before) / N."
    );
    for result in memory.all() {
        match result {
            Ok(memory) => println!(
                "- {}: {} connections opened and answered in {:.2} s, {} still open at the reading; \
                 VmRSS {:.1} MB before, {:.1} MB after: {:.1} KB each",
                memory.server,
                memory.connections,
                memory.opening.as_secs_f64(),
                memory.still_open,
                mb(memory.before_kib),
                mb(memory.after_kib),
                memory.per_connection_kib()
            ),
            Err(error) => println!("- failed: {error}"),
        }
    }
}

fn targets(run: &Run) {
    println!();
    println!("Targets (user CPU per request, ratios within this run):");
    if let (Some(c), Some(ca)) = (run.user("C"), run.user("CA")) {
        let ratio = c / ca;
        println!(
            "- C with five extensions at most axum + 5 tower layers: C/CA = {ratio:.3} \
             ({c:.2} / {ca:.2} µs): {}; compass {COMPASS}x: {}",
            verdict(ratio <= 1.0),
            if ratio <= COMPASS {
                "reached"
            } else {
                "not yet"
            }
        );
    }
    let count = run.loaded.len().max(1);
    if let (Some(c), Some(e)) = (run.user("C"), run.user("E")) {
        let each = (c - e) / count as f64;
        let axum = match (run.user("CA"), run.user("UA0")) {
            (Some(ca), Some(ua0)) => format!(
                "; axum's layers (CA - UA0) / 5 = {:.3} µs",
                (ca - ua0) / 5.0
            ),
            _ => String::new(),
        };
        println!(
            "- each extension at most {PER_EXTENSION_US} µs: (C - E) / {count} = {each:.3} µs: {}{axum}",
            verdict(each <= PER_EXTENSION_US)
        );
    }
    if let (Some(e), Some(ua0)) = (run.user("E"), run.user("UA0")) {
        let ratio = e / ua0;
        println!(
            "- no extension within {NO_EXTENSION_OVER_AXUM}x axum without middleware: E/UA0 = {ratio:.3}: {}",
            verdict(ratio <= NO_EXTENSION_OVER_AXUM)
        );
    }
    if let (Some(s), Some(s0)) = (run.user("S"), run.user("S0")) {
        let ratio = s / s0;
        let disabled = run
            .user("SE")
            .map(|se| format!(" (no extension: SE/S0 = {:.3})", se / s0))
            .unwrap_or_default();
        println!(
            "- S within {PROBE_OVER_BARE}x bare hyper: S/S0 = {ratio:.3}: {}{disabled}",
            verdict(ratio <= PROBE_OVER_BARE)
        );
    }
    let full: &ServerFigures = &run.servers.full;
    let peak = mb(full.peak_rss_kib);
    println!(
        "- {}: peak RSS at most {PEAK_RSS_MB} MB: {peak:.1} MB: {}",
        full.name,
        verdict(peak <= PEAK_RSS_MB)
    );
    let startup = full.startup().as_secs_f64() * 1000.0;
    println!(
        "- {}: start to first 200 at most {STARTUP_MS} ms: {startup:.1} ms: {}",
        full.name,
        verdict(startup <= STARTUP_MS)
    );
    if let Some(Ok(memory)) = run.connection_memory.as_ref().map(|all| &all.full) {
        let each = memory.per_connection_kib();
        let all_open = memory.still_open == memory.connections;
        println!(
            "- {}: memory per connection at most {PER_CONNECTION_KB} KB: {each:.1} KB: {}{}",
            memory.server,
            verdict(each <= PER_CONNECTION_KB),
            if all_open {
                ""
            } else {
                " (some connections were closed: the figure is low)"
            }
        );
    }
}
