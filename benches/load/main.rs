//! The load benchmark: Beginnings against bare hyper and axum, in one run on one machine.
//!
//! ```text
//! cargo run --release -p beginnings-benches --bin load            # 3 passes of 10 s per scenario
//! cargo run --release -p beginnings-benches --bin load -- --quick # 1 pass of 3 s
//! ```
//!
//! It builds the release binaries and the extension libraries `config/benchmark.yaml`
//! names, starts five servers serving the same two routes with the same answers, each pinned
//! to core 0: bare hyper (`benches/baseline`), axum with no middleware and axum through five
//! tower layers (`benches/axum_baseline`), and Beginnings (`benches/app`) with the five
//! extensions disabled (the configuration's `disabled` profile) and with them on. It drives
//! each with `wrk` pinned to core 1 and reads every server's CPU time, user and system
//! apart, from `/proc/<pid>/stat`. Scenarios, each `GET`:
//!
//! | id | server | request |
//! |---|---|---|
//! | S0, SA0, SA, SE, S | bare hyper, axum, axum + 5 layers, Beginnings none, Beginnings five | `/health` (Beginnings' built-in probe; outside axum's layers) |
//! | R | Beginnings, five | `/status`, a mounted route with no extension |
//! | U0, UA0 | bare hyper, axum | `/api/v1/users/1`, no middleware |
//! | CA | axum + 5 layers | the same through 1% timing, security headers, CORS, a counter, a bearer check |
//! | C, E | Beginnings | the same through the five extensions; with them `enabled: false` |
//!
//! Every request of every scenario carries the same headers (an `Origin` and a bearer
//! token). Each scenario runs `--passes` times, interleaved, and the pass with the median
//! user CPU per request is reported. Then each server is started afresh and held 4,000 idle
//! keep-alive connections, for its memory per connection. The machine is noisy: the ratios
//! within one run are the result.

mod checks;
mod compare;
mod connections;
mod http;
mod link_order;
mod report;
mod server;
mod setup;
mod wrk;

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use beginnings_benches::token;
use clap::Parser;

use checks::{STATUS_PATH, USER_PATH};
use report::{Measured, Row, Run};
use server::{Server, Spec};
use wrk::Wrk;

/// The servers run on this core, the load generator on the other.
const SERVER_CORE: &str = "0";
/// Each server is started this many times more, the five in turn, for the median of its
/// start to first 200: the first start of a run, right after the build, is one sample of a
/// process whose files were just written.
const RESTARTS: usize = 5;
const LOAD_CORE: &str = "1";
/// Used when the configuration has no `cors:*` origin to send.
const FALLBACK_ORIGIN: &str = "https://app.example.com";
/// Signs the bearer token when the configuration has no HS256 secret (the axum baseline
/// checks a token whatever the configuration says).
const FALLBACK_SECRET: &str = "load-benchmark";

#[derive(Debug, Parser)]
#[command(
    name = "load",
    about = "Beginnings against bare hyper and axum: CPU per request, latency, startup, memory"
)]
struct Options {
    /// Seconds of load per scenario and pass.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Times each scenario runs; the pass with the median user CPU per request is reported.
    /// Default 3, or 1 with --quick.
    #[arg(long)]
    passes: Option<usize>,
    /// One pass of three seconds per scenario.
    #[arg(long)]
    quick: bool,
    /// Connections kept open by the load generator.
    #[arg(long, default_value_t = 64)]
    connections: u32,
    /// Idle keep-alive connections held open to each server for its memory per connection
    /// (0: skip).
    #[arg(long, default_value_t = 4000)]
    idle_connections: usize,
    /// Use the release binaries and libraries as they are.
    #[arg(long)]
    no_build: bool,
    /// Record which functions the application and its extension libraries run (under
    /// valgrind's callgrind), write each one's `link-order.txt` and measure nothing: the next
    /// build links those functions first.
    #[arg(long)]
    write_link_order: bool,
}

/// The five servers, in the order of the side-by-side table.
pub struct Lineup<T> {
    pub bare: T,
    pub axum: T,
    pub axum_layers: T,
    pub disabled: T,
    pub full: T,
}

impl<T> Lineup<T> {
    pub fn all_mut(&mut self) -> [&mut T; 5] {
        [
            &mut self.bare,
            &mut self.axum,
            &mut self.axum_layers,
            &mut self.disabled,
            &mut self.full,
        ]
    }

    pub fn all(&self) -> [&T; 5] {
        [
            &self.bare,
            &self.axum,
            &self.axum_layers,
            &self.disabled,
            &self.full,
        ]
    }

    fn try_map<U>(&self, f: impl Fn(&T) -> anyhow::Result<U>) -> anyhow::Result<Lineup<U>> {
        Ok(Lineup {
            bare: f(&self.bare)?,
            axum: f(&self.axum)?,
            axum_layers: f(&self.axum_layers)?,
            disabled: f(&self.disabled)?,
            full: f(&self.full)?,
        })
    }
}

fn main() -> ExitCode {
    match run(&Options::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("load: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(options: &Options) -> anyhow::Result<()> {
    let root = beginnings_tests::workspace_root();
    let release = beginnings_tests::build_dir().with_file_name("release");
    let duration = Duration::from_secs(if options.quick { 3 } else { options.duration });
    let passes = options
        .passes
        .unwrap_or(if options.quick { 1 } else { 3 })
        .max(1);
    if std::thread::available_parallelism().map_or(1, usize::from) < 2 {
        bail!("the load benchmark needs two cores: one for the server, one for wrk");
    }
    // Before any server starts, so each inherits the limit.
    let open_files = (options.idle_connections > 0)
        .then(|| connections::raise_open_files(options.idle_connections));

    let config = setup::load_config(&root)?;
    let build_failed = if options.no_build {
        Vec::new()
    } else {
        setup::build(&root, &config)?
    };
    let missing = setup::missing(&root, &config, &release, &build_failed);
    for gone in &missing {
        eprintln!(
            "missing library {} for {}: {}; scenario C runs without it",
            gone.library.display(),
            gone.extension,
            gone.why
        );
    }
    let loaded: Vec<String> = setup::enabled(&config)
        .into_iter()
        .filter(|entry| !missing.iter().any(|gone| gone.extension == entry.name))
        .map(|entry| entry.name.clone())
        .collect();

    let work = tempfile::tempdir()?;
    let wrk = Wrk::new(work.path(), options.connections, LOAD_CORE)?;
    let (headers, bearer) = request_headers(&config)?;
    let (c_config, c_profile) = setup::scenario_c_config(&root, work.path(), &missing)?;
    let specs = specs(
        &root,
        &release,
        &c_config,
        c_profile.as_deref(),
        &bearer,
        loaded.len(),
    );
    let modules: Vec<String> = setup::enabled(&config)
        .into_iter()
        .filter(|entry| !missing.iter().any(|gone| gone.extension == entry.name))
        .map(|entry| entry.module.clone())
        .collect();
    let linked = link_order::linked(&root, &release, &modules);
    if options.write_link_order {
        return link_order::write(&specs.full, &linked, &wrk, &headers, work.path());
    }
    let servers = specs.try_map(|spec| spec.start(SERVER_CORE, work.path()))?;

    let evidence = check_answers(&servers, &headers, &loaded)?;
    let ticks = server::clock_ticks_per_second();
    let plan = plan(&servers);
    let mut passes_of: Vec<Vec<anyhow::Result<Measured>>> = plan.iter().map(|_| vec![]).collect();
    for pass in 1..=passes {
        for ((id, server, path, what), results) in plan.iter().zip(&mut passes_of) {
            eprintln!(
                "pass {pass}/{passes}, scenario {id}: {what} ({}s)",
                duration.as_secs()
            );
            let outcome = measure(&wrk, server, path, &headers, duration, ticks);
            if let Err(error) = &outcome {
                eprintln!("scenario {id} failed: {error:#}");
            }
            results.push(outcome);
        }
    }
    let rows = plan
        .iter()
        .zip(passes_of)
        .map(|((id, _, _, what), results)| Row {
            id,
            what: what.to_string(),
            outcome: report::median(results),
        })
        .collect();
    let mut figures = servers.try_map(|server| Ok(report::ServerFigures::of(server)))?;
    drop(servers);
    let restarts_dir = work.path().join("restarts");
    std::fs::create_dir_all(&restarts_dir)?;
    let restarts = restart_times(&specs, &restarts_dir)?;
    for (figures, restarts) in figures.all_mut().into_iter().zip(restarts.all()) {
        figures.restarts.clone_from(restarts);
    }

    let connection_memory = match open_files {
        None => None,
        Some(Err(error)) => {
            eprintln!("memory per connection skipped: {error:#}");
            None
        }
        Some(Ok(_)) => {
            let log_dir = work.path().join("connections");
            std::fs::create_dir_all(&log_dir)?;
            Some(specs.try_map(|spec| {
                eprintln!(
                    "memory per connection: {} idle connections to {}",
                    options.idle_connections, spec.name
                );
                Ok(connections::measure(
                    spec,
                    SERVER_CORE,
                    &log_dir,
                    options.idle_connections,
                    USER_PATH,
                    &headers,
                )
                .map_err(|error| format!("{error:#}")))
            })?)
        }
    };

    let run = Run {
        duration,
        passes,
        connections: options.connections,
        rows,
        loaded,
        missing: missing
            .iter()
            .map(|gone| format!("{} ({})", gone.extension, gone.why))
            .collect(),
        evidence,
        servers: figures,
        connection_memory,
        link_order: link_order::coverage(&linked),
    };
    report::print(&run);
    compare::print(&run);
    Ok(())
}

/// How to start each server: the two baselines with no argument but the token, Beginnings
/// with the benchmark configuration (as it is, and its `disabled` profile).
fn specs(
    root: &Path,
    release: &Path,
    c_config: &Path,
    c_profile: Option<&str>,
    bearer: &str,
    extensions: usize,
) -> Lineup<Spec> {
    let beginnings = |config: &Path, profile: Option<&str>| {
        let mut args = vec![
            "--config".to_string(),
            config.display().to_string(),
            "--extensions-dir".to_string(),
            release.display().to_string(),
            "--no-access-log".to_string(),
        ];
        if let Some(profile) = profile {
            args.extend(["--profile".to_string(), profile.to_string()]);
        }
        args
    };
    let app = release.join("beginnings-bench-app");
    let axum = release.join("axum-baseline");
    Lineup {
        bare: Spec::new("bare hyper", release.join("baseline"), vec![]),
        axum: Spec::new("axum, no middleware", axum.clone(), vec![]),
        axum_layers: Spec::new(
            "axum + 5 tower layers",
            axum,
            vec!["--layers".to_string(), bearer.to_string()],
        ),
        disabled: Spec::new(
            "Beginnings, no extension",
            app.clone(),
            beginnings(&root.join(setup::CONFIG), Some(setup::DISABLED_PROFILE)),
        ),
        full: Spec::new(
            &format!("Beginnings, {extensions} .so extensions"),
            app,
            beginnings(c_config, c_profile),
        ),
    }
}

/// The scenarios, in the order each pass runs them: id, server, path, what it measures.
fn plan(servers: &Lineup<Server>) -> Vec<(&'static str, &Server, &'static str, &'static str)> {
    vec![
        ("S0", &servers.bare, "/health", "bare hyper: GET /health"),
        ("SA0", &servers.axum, "/health", "axum: GET /health"),
        (
            "SA",
            &servers.axum_layers,
            "/health",
            "axum + 5 layers: GET /health (outside the layers)",
        ),
        (
            "SE",
            &servers.disabled,
            "/health",
            "Beginnings, the five disabled: GET /health",
        ),
        (
            "S",
            &servers.full,
            "/health",
            "Beginnings: GET /health, the built-in probe (answered ahead of the routes)",
        ),
        (
            "R",
            &servers.full,
            STATUS_PATH,
            "Beginnings: GET /status, a mounted route with no extension",
        ),
        (
            "U0",
            &servers.bare,
            USER_PATH,
            "bare hyper: GET /api/v1/users/1",
        ),
        (
            "UA0",
            &servers.axum,
            USER_PATH,
            "axum: users route, no middleware",
        ),
        (
            "CA",
            &servers.axum_layers,
            USER_PATH,
            "axum: users route through 5 tower layers",
        ),
        (
            "C",
            &servers.full,
            USER_PATH,
            "Beginnings: users route through the extensions",
        ),
        (
            "E",
            &servers.disabled,
            USER_PATH,
            "Beginnings: users route, the five disabled",
        ),
    ]
}

/// Checks every server's answers against bare hyper's; returns the headers C's answer
/// carried that show the extensions ran.
fn check_answers(
    servers: &Lineup<Server>,
    headers: &[(String, String)],
    loaded: &[String],
) -> anyhow::Result<Vec<String>> {
    let expected = http::exchange(servers.bare.addr, "GET", USER_PATH, headers, &[])?;
    if expected.status != 200 {
        bail!("the baseline answered {USER_PATH} with {}", expected.status);
    }
    let health = http::exchange(servers.bare.addr, "GET", "/health", headers, &[])?;
    for server in servers.all() {
        checks::untouched(server, "/health", headers, &health)?;
    }
    checks::untouched(&servers.full, STATUS_PATH, headers, &health)?;
    checks::user_route(&servers.axum, headers, &expected, &[])?;
    checks::user_route(
        &servers.axum_layers,
        headers,
        &expected,
        &checks::AXUM_LAYERS,
    )?;
    checks::user_route(&servers.disabled, headers, &expected, &[])?;
    checks::user_route(&servers.full, headers, &expected, &checks::modules(loaded))
}

/// The headers every request of every scenario carries: the configured CORS origin and a
/// bearer token signed with the configuration's HS256 secret. Returns them and the token.
fn request_headers(
    config: &beginnings::config::Config,
) -> anyhow::Result<(Vec<(String, String)>, String)> {
    let origin = config
        .extensions
        .iter()
        .filter(|entry| entry.enabled && entry.module == "cors")
        .find_map(|entry| {
            let origins = entry.config.get("allow_origins")?;
            let first = origins
                .as_array()
                .and_then(|list| list.first())
                .unwrap_or(origins);
            first
                .as_str()
                .filter(|origin| *origin != "*")
                .map(String::from)
        })
        .unwrap_or_else(|| FALLBACK_ORIGIN.to_string());
    let secret = token::auth_secret(config).unwrap_or_else(|| FALLBACK_SECRET.to_string());
    let bearer = token::bearer(&secret)?;
    let headers = vec![
        ("origin".to_string(), origin),
        ("authorization".to_string(), format!("Bearer {bearer}")),
        ("accept".to_string(), "application/json".to_string()),
    ];
    Ok((headers, bearer))
}

/// A warm-up second, then `duration` of load with the server's CPU time read around it.
fn measure(
    wrk: &Wrk,
    server: &Server,
    path: &str,
    headers: &[(String, String)],
    duration: Duration,
    ticks_per_second: u64,
) -> anyhow::Result<Measured> {
    let url = format!("http://{}{path}", server.addr);
    wrk.run(&url, headers, Duration::from_secs(1))
        .context("warm-up")?;
    let before = server.cpu_ticks()?;
    let figures = wrk.run(&url, headers, duration)?;
    let after = server.cpu_ticks()?;
    let seconds = |ticks: u64| ticks as f64 / ticks_per_second as f64;
    let user_seconds = seconds(after.user - before.user);
    let cpu_seconds = user_seconds + seconds(after.system - before.system);
    let per_request = |seconds: f64| seconds * 1e6 / figures.requests.max(1) as f64;
    Ok(Measured {
        figures,
        cpu_us_per_request: per_request(cpu_seconds),
        user_us_per_request: per_request(user_seconds),
        cpu_seconds,
    })
}

/// Starts every server [`RESTARTS`] times, in turn, and stops it at its first 200: the time
/// each start took.
fn restart_times(specs: &Lineup<Spec>, log_dir: &Path) -> anyhow::Result<Lineup<Vec<Duration>>> {
    let mut times = specs.try_map(|_| Ok(Vec::with_capacity(RESTARTS)))?;
    for round in 1..=RESTARTS {
        eprintln!("start to first 200: round {round}/{RESTARTS}");
        for (spec, times) in specs.all().into_iter().zip(times.all_mut()) {
            times.push(spec.start(SERVER_CORE, log_dir)?.startup);
        }
    }
    Ok(times)
}
