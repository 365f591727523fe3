//! The table and the verdicts on the targets, printed as Markdown so the README can quote a
//! run as it is.

use std::time::Duration;

use crate::wrk::Figures;

pub struct Measured {
    pub figures: Figures,
    pub cpu_us_per_request: f64,
    pub cpu_seconds: f64,
}

pub struct Row {
    pub id: &'static str,
    pub what: String,
    pub outcome: Result<Measured, String>,
}

pub struct Run {
    pub duration: Duration,
    pub connections: u32,
    pub rows: Vec<Row>,
    /// The extensions scenario C ran through.
    pub loaded: Vec<String>,
    /// The configured extensions it could not run through, with why.
    pub missing: Vec<String>,
    /// The headers C's answer carried that show the extensions ran.
    pub evidence: Vec<String>,
    pub servers: Vec<ServerFigures>,
}

pub struct ServerFigures {
    pub name: String,
    /// From spawn to the first 200 on `/health`.
    pub startup: Duration,
    /// `VmHWM` at the end of the run.
    pub peak_rss_kib: u64,
    /// Resident memory at the end of the run: anonymous (heap, stacks) and file-backed
    /// (the executable's and the libraries' pages).
    pub anon_kib: u64,
    pub file_kib: u64,
}

fn mb(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

impl Run {
    fn cpu(&self, id: &str) -> Option<f64> {
        self.rows
            .iter()
            .find(|row| row.id == id)
            .and_then(|row| row.outcome.as_ref().ok())
            .map(|measured| measured.cpu_us_per_request)
    }
}

/// Which baseline each scenario is compared to: the same request on bare hyper.
fn baseline_of(id: &str) -> Option<&'static str> {
    match id {
        "S" | "R" => Some("S0"),
        "C" | "E" => Some("U0"),
        _ => None,
    }
}

fn ms(us: u64) -> String {
    format!("{:.2} ms", us as f64 / 1000.0)
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}

pub fn print(run: &Run) {
    println!();
    println!(
        "Load benchmark: wrk, 1 thread, {} connections, {} s per scenario after 1 s of warm-up; \
         servers pinned to core 0, wrk to core 1.",
        run.connections,
        run.duration.as_secs()
    );
    println!();
    println!(
        "| scenario | server and request | requests/s | p50 | p99 | server CPU per request | ratio to bare hyper |"
    );
    println!("|---|---|---:|---:|---:|---:|---|");
    for row in &run.rows {
        match &row.outcome {
            Ok(measured) => {
                let ratio = baseline_of(row.id)
                    .and_then(|base| Some((base, run.cpu(base)?)))
                    .map(|(base, cpu)| format!("{:.2}x {base}", measured.cpu_us_per_request / cpu))
                    .unwrap_or_else(|| "1.00 (baseline)".to_string());
                println!(
                    "| {} | {} | {:.0} | {} | {} | {:.2} µs | {} |",
                    row.id,
                    row.what,
                    measured.figures.requests_per_second(),
                    ms(measured.figures.p50_us),
                    ms(measured.figures.p99_us),
                    measured.cpu_us_per_request,
                    ratio
                );
            }
            Err(error) => println!("| {} | {} | failed: {error} | | | | |", row.id, row.what),
        }
    }
    println!();
    println!(
        "C ran through {} extension(s): {}.",
        run.loaded.len(),
        run.loaded.join(", ")
    );
    if !run.missing.is_empty() {
        println!("C could not run through: {}.", run.missing.join("; "));
    }
    println!("C's answers carried: {}.", run.evidence.join(", "));
    for server in &run.servers {
        println!(
            "{}: first 200 on /health {:.1} ms after start; peak RSS (VmHWM) {:.1} MB \
             (at the end: {:.1} MB anonymous, {:.1} MB mapped files)",
            server.name,
            server.startup.as_secs_f64() * 1000.0,
            mb(server.peak_rss_kib),
            mb(server.anon_kib),
            mb(server.file_kib)
        );
    }
    for row in &run.rows {
        if let Ok(measured) = &row.outcome {
            println!(
                "{}: {} requests, {:.2} s of server CPU",
                row.id, measured.figures.requests, measured.cpu_seconds
            );
        }
    }
    targets(run);
}

fn targets(run: &Run) {
    println!();
    println!("Targets (server CPU per request, this run):");
    if let (Some(s), Some(s0)) = (run.cpu("S"), run.cpu("S0")) {
        let ratio = s / s0;
        println!(
            "- S within 5% of bare hyper: S/S0 = {ratio:.3}: {}",
            verdict(ratio <= 1.05)
        );
    }
    if let (Some(r), Some(s0)) = (run.cpu("R"), run.cpu("S0")) {
        let ratio = r / s0;
        println!(
            "- R, a mounted route with no extension, within 15% of bare hyper: R/S0 = {ratio:.3}: {}",
            verdict(ratio <= 1.15)
        );
    }
    if let (Some(c), Some(s0), Some(u0)) = (run.cpu("C"), run.cpu("S0"), run.cpu("U0")) {
        let ratio = c / s0;
        println!(
            "- C at most 1.3x bare hyper's S: C/S0 = {ratio:.3}: {} (same route on bare hyper: C/U0 = {:.3})",
            verdict(ratio <= 1.3),
            c / u0
        );
    }
    if let (Some(c), Some(e)) = (run.cpu("C"), run.cpu("E")) {
        let count = run.loaded.len().max(1);
        let each = (c - e) / count as f64;
        println!(
            "- under 0.4 µs per extension: (C - E) / {count} = {each:.3} µs: {}",
            verdict(each < 0.4)
        );
    }
    if let (Some(e), Some(s), Some(u0), Some(s0)) =
        (run.cpu("E"), run.cpu("S"), run.cpu("U0"), run.cpu("S0"))
    {
        // E runs the users handler and S does not, so "costs what S costs" is read against
        // bare hyper: the runtime's overhead on E's route over its overhead on S's.
        let normalised = (e / u0) / (s / s0);
        println!(
            "- E within 5% of S: E/U0 over S/S0 = {normalised:.3}: {} (unnormalised E/S = {:.3}; E - U0 = {:.2} µs, S - S0 = {:.2} µs)",
            verdict(normalised <= 1.05),
            e / s,
            e - u0,
            s - s0
        );
    }
    if let Some(server) = run.servers.get(1) {
        let startup_ms = server.startup.as_secs_f64() * 1000.0;
        println!(
            "- {}: first 200 under 15 ms: {startup_ms:.1} ms: {}",
            server.name,
            verdict(startup_ms < 15.0)
        );
        let peak = mb(server.peak_rss_kib);
        println!(
            "- {}: peak RSS under 10 MB: {peak:.1} MB: {}",
            server.name,
            verdict(peak < 10.0)
        );
    }
}
