//! The scenario table and each server's start-up and memory, printed as Markdown so the
//! documentation can quote a run as it is (`compare` prints the side-by-side table and the
//! targets).

use std::time::Duration;

use crate::Lineup;
use crate::connections::ConnectionMemory;
use crate::server::Server;
use crate::wrk::Figures;

pub struct Measured {
    pub figures: Figures,
    /// User plus system CPU time per request.
    pub cpu_us_per_request: f64,
    /// User CPU time per request: the server's own work, steadier run to run than the
    /// kernel's loopback TCP work, which is the same for every server.
    pub user_us_per_request: f64,
    pub cpu_seconds: f64,
}

/// The pass with the median user CPU per request (the lower of the two middle ones for an
/// even count), so one slow or fast pass of a noisy machine does not decide the figure.
pub fn median(passes: Vec<anyhow::Result<Measured>>) -> Result<Measured, String> {
    let mut failures = Vec::new();
    let mut measured: Vec<Measured> = passes
        .into_iter()
        .filter_map(|pass| {
            pass.map_err(|error| failures.push(format!("{error:#}")))
                .ok()
        })
        .collect();
    if measured.is_empty() {
        return Err(failures.join("; "));
    }
    measured.sort_by(|a, b| a.user_us_per_request.total_cmp(&b.user_us_per_request));
    Ok(measured.swap_remove((measured.len() - 1) / 2))
}

pub struct Row {
    pub id: &'static str,
    pub what: String,
    pub outcome: Result<Measured, String>,
}

pub struct Run {
    pub duration: Duration,
    pub passes: usize,
    pub connections: u32,
    pub rows: Vec<Row>,
    /// The extensions scenario C ran through.
    pub loaded: Vec<String>,
    /// The configured extensions it could not run through, with why.
    pub missing: Vec<String>,
    /// The headers C's answer carried that show the extensions ran.
    pub evidence: Vec<String>,
    pub servers: Lineup<ServerFigures>,
    /// Measured on servers started afresh; `None` when skipped.
    pub connection_memory: Option<Lineup<Result<ConnectionMemory, String>>>,
    /// How each file linked in profile order took its list.
    pub link_order: Vec<crate::link_order::Coverage>,
}

pub struct ServerFigures {
    pub name: String,
    /// From spawn to the first 200 on `/health`, at the run's first start.
    pub first_start: Duration,
    /// The same at each later start (`RESTARTS`).
    pub restarts: Vec<Duration>,
    /// `VmHWM` at the end of the run.
    pub peak_rss_kib: u64,
    /// Resident memory at the end of the run: anonymous (heap, stacks) and file-backed
    /// (the executable's and the libraries' pages).
    pub anon_kib: u64,
    pub file_kib: u64,
}

impl ServerFigures {
    pub fn of(server: &Server) -> ServerFigures {
        ServerFigures {
            name: server.name.clone(),
            first_start: server.startup,
            restarts: Vec::new(),
            peak_rss_kib: server.peak_rss_kib().unwrap_or(0),
            anon_kib: server.status_kib("RssAnon").unwrap_or(0),
            file_kib: server.status_kib("RssFile").unwrap_or(0),
        }
    }
}

impl ServerFigures {
    /// Start to first 200: the median of the later starts, or the first when there are none.
    pub fn startup(&self) -> Duration {
        let mut times = self.restarts.clone();
        times.sort();
        times
            .get(times.len() / 2)
            .copied()
            .unwrap_or(self.first_start)
    }
}

pub fn mb(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

impl Run {
    pub fn measured(&self, id: &str) -> Option<&Measured> {
        self.rows
            .iter()
            .find(|row| row.id == id)
            .and_then(|row| row.outcome.as_ref().ok())
    }

    /// User plus system CPU per request of scenario `id`.
    fn cpu(&self, id: &str) -> Option<f64> {
        self.measured(id)
            .map(|measured| measured.cpu_us_per_request)
    }

    /// User CPU per request of scenario `id`.
    pub fn user(&self, id: &str) -> Option<f64> {
        self.measured(id)
            .map(|measured| measured.user_us_per_request)
    }
}

/// Which baseline each scenario is compared to: the same request on bare hyper.
fn baseline_of(id: &str) -> Option<&'static str> {
    match id {
        "SA0" | "SA" | "SE" | "S" | "R" => Some("S0"),
        "UA0" | "CA" | "C" | "E" => Some("U0"),
        _ => None,
    }
}

fn ms(us: u64) -> String {
    format!("{:.2} ms", us as f64 / 1000.0)
}

pub fn print(run: &Run) {
    println!();
    println!(
        "Load benchmark: wrk, 1 thread, {} connections, {} s per scenario after 1 s of warm-up, \
         {} pass(es), the median pass by user CPU shown; servers pinned to core 0, wrk to core 1.",
        run.connections,
        run.duration.as_secs(),
        run.passes
    );
    println!();
    println!(
        "| scenario | server and request | requests/s | p50 | p99 | server CPU per request | of which user | ratio to bare hyper (all CPU) |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---|");
    for row in &run.rows {
        match &row.outcome {
            Ok(measured) => {
                let ratio = baseline_of(row.id)
                    .and_then(|base| Some((base, run.cpu(base)?)))
                    .map(|(base, cpu)| format!("{:.2}x {base}", measured.cpu_us_per_request / cpu))
                    .unwrap_or_else(|| "1.00 (baseline)".to_string());
                println!(
                    "| {} | {} | {:.0} | {} | {} | {:.2} µs | {:.2} µs | {} |",
                    row.id,
                    row.what,
                    measured.figures.requests_per_second(),
                    ms(measured.figures.p50_us),
                    ms(measured.figures.p99_us),
                    measured.cpu_us_per_request,
                    measured.user_us_per_request,
                    ratio
                );
            }
            Err(error) => println!("| {} | {} | failed: {error} | | | | | |", row.id, row.what),
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
    println!("C's answers showed: {}.", run.evidence.join(", "));
    for server in run.servers.all() {
        println!(
            "{}: first 200 on /health {:.1} ms after start (median of {} later starts: {}; \
             the first start, after the build: {:.1} ms); peak RSS (VmHWM) {:.1} MB \
             (at the end: {:.1} MB anonymous, {:.1} MB mapped files)",
            server.name,
            server.startup().as_secs_f64() * 1000.0,
            server.restarts.len(),
            server
                .restarts
                .iter()
                .map(|time| format!("{:.1}", time.as_secs_f64() * 1000.0))
                .collect::<Vec<_>>()
                .join(", "),
            server.first_start.as_secs_f64() * 1000.0,
            mb(server.peak_rss_kib),
            mb(server.anon_kib),
            mb(server.file_kib)
        );
    }
    if !run.link_order.is_empty() {
        let files: Vec<String> = run
            .link_order
            .iter()
            .map(|file| {
                format!(
                    "{} {} of {}, {} laid out first",
                    file.file, file.found, file.listed, file.laid_out_first
                )
            })
            .collect();
        println!(
            "Link order, the functions of each link-order.txt the build defines and of those \
             the ones it laid out first: {} (few found: rerun with --write-link-order; few laid \
             out first: linked without the list).",
            files.join(", ")
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
}
