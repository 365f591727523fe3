//! The load benchmark: Beginnings against a bare-hyper baseline, in one run on one machine.
//!
//! ```text
//! cargo run --release -p beginnings-benches --bin load            # 10 s per scenario
//! cargo run --release -p beginnings-benches --bin load -- --quick # 3 s per scenario
//! ```
//!
//! It builds the release binaries and the extension libraries `config/benchmark.yaml`
//! names, starts the baseline (`benches/baseline`) and the same two routes on Beginnings
//! (`benches/app`) twice (with the five extensions, and with them disabled: the `disabled`
//! profile), each pinned to core 0,
//! drives each with `wrk` pinned to core 1, and reads every server's CPU time from
//! `/proc/<pid>/stat`. Scenarios: S0 and S `GET /health` (bare hyper, Beginnings: the
//! built-in probe, answered ahead of every route); R `GET /status` on Beginnings, a mounted
//! route with the same answer and no extension; U0 `GET /api/v1/users/1` on bare hyper; C the same route
//! through the five extensions (monitor at 1% sampling, security headers, CORS with an
//! `Origin`, a rate limit never reached, a valid bearer token); E the same route with the
//! five `enabled: false`. Every request of every scenario carries the same headers. The
//! machine is noisy: the ratios to the baseline of the same run are the result.

mod http;
mod report;
mod server;
mod setup;
mod token;
mod wrk;

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;

use report::{Row, Run};
use server::Server;
use wrk::Wrk;

/// The servers run on this core, the load generator on the other.
const SERVER_CORE: &str = "0";
const LOAD_CORE: &str = "1";
const USER_PATH: &str = "/api/v1/users/1";
/// Scenario R: a route the benchmark application mounts, with no extension on it.
const STATUS_PATH: &str = "/status";
/// Used when the configuration has no `cors:*` origin to send.
const FALLBACK_ORIGIN: &str = "https://app.example.com";

#[derive(Debug, Parser)]
#[command(
    name = "load",
    about = "Beginnings against bare hyper: CPU per request, latency, startup, memory"
)]
struct Options {
    /// Seconds of load per scenario.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Three seconds per scenario.
    #[arg(long)]
    quick: bool,
    /// Connections kept open by the load generator.
    #[arg(long, default_value_t = 64)]
    connections: u32,
    /// Use the release binaries and libraries as they are.
    #[arg(long)]
    no_build: bool,
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
    if std::thread::available_parallelism().map_or(1, usize::from) < 2 {
        bail!("the load benchmark needs two cores: one for the server, one for wrk");
    }

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
    let headers = request_headers(&config)?;

    let (c_config, c_profile) = setup::scenario_c_config(&root, work.path(), &missing)?;
    let serve_args = |config: &Path, profile: Option<&str>| {
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
    let baseline = Server::start(
        "bare hyper",
        &release.join("baseline"),
        &[],
        SERVER_CORE,
        work.path(),
    )?;
    let full = Server::start(
        "Beginnings, extensions on",
        &app,
        &serve_args(&c_config, c_profile.as_deref()),
        SERVER_CORE,
        work.path(),
    )?;
    let disabled = Server::start(
        "Beginnings, extensions disabled",
        &app,
        &serve_args(&root.join(setup::CONFIG), Some(setup::DISABLED_PROFILE)),
        SERVER_CORE,
        work.path(),
    )?;

    let expected = http::exchange(baseline.addr, "GET", USER_PATH, &headers, &[])?;
    if expected.status != 200 {
        bail!("the baseline answered {USER_PATH} with {}", expected.status);
    }
    let evidence = prepare(&full, &headers, &expected, &loaded)?;
    let health = http::exchange(baseline.addr, "GET", "/health", &headers, &[])?;
    prepare_status(&full, &headers, &health)?;
    prepare(&disabled, &headers, &expected, &[])?;

    let ticks = server::clock_ticks_per_second();
    let plan: [(&str, &Server, &str, &str); 6] = [
        ("S0", &baseline, "/health", "bare hyper: GET /health"),
        (
            "S",
            &full,
            "/health",
            "Beginnings: GET /health, the built-in probe (answered ahead of the routes)",
        ),
        (
            "R",
            &full,
            STATUS_PATH,
            "Beginnings: GET /status, a mounted route with no extension",
        ),
        (
            "U0",
            &baseline,
            USER_PATH,
            "bare hyper: GET /api/v1/users/1",
        ),
        (
            "C",
            &full,
            USER_PATH,
            "Beginnings: users route through the extensions",
        ),
        (
            "E",
            &disabled,
            USER_PATH,
            "Beginnings: users route, the five disabled",
        ),
    ];
    let mut rows = Vec::new();
    for (id, server, path, what) in plan {
        eprintln!("scenario {id}: {what} ({}s)", duration.as_secs());
        let outcome = measure(&wrk, server, path, &headers, duration, ticks);
        if let Err(error) = &outcome {
            eprintln!("scenario {id} failed: {error:#}");
        }
        rows.push(Row {
            id,
            what: what.to_string(),
            outcome: outcome.map_err(|error| format!("{error:#}")),
        });
    }

    let run = Run {
        duration,
        connections: options.connections,
        rows,
        loaded,
        missing: missing
            .iter()
            .map(|gone| format!("{} ({})", gone.extension, gone.why))
            .collect(),
        evidence,
        servers: [&baseline, &full, &disabled]
            .iter()
            .map(|server| report::ServerFigures {
                name: server.name.clone(),
                startup: server.startup,
                peak_rss_kib: server.peak_rss_kib().unwrap_or(0),
                anon_kib: server.status_kib("RssAnon").unwrap_or(0),
                file_kib: server.status_kib("RssFile").unwrap_or(0),
            })
            .collect(),
    };
    report::print(&run);
    Ok(())
}

/// The headers every request of every scenario carries: the configured CORS origin and,
/// when the configuration has an HS256 secret, a bearer token signed with it.
fn request_headers(config: &beginnings::config::Config) -> anyhow::Result<Vec<(String, String)>> {
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
    let mut headers = vec![("origin".to_string(), origin)];
    if let Some(secret) = token::auth_secret(config) {
        let bearer = token::bearer(&secret)?;
        headers.push(("authorization".to_string(), format!("Bearer {bearer}")));
    }
    headers.push(("accept".to_string(), "application/json".to_string()));
    Ok(headers)
}

/// What each loaded extension visibly adds to an answer.
const EVIDENCE: [(&str, &str); 3] = [
    ("security", "x-content-type-options"),
    ("cors", "access-control-allow-origin"),
    ("rate_limit", "ratelimit-limit"),
];

/// Checks the answer the scenarios measure: 200, the baseline's body, and the headers of
/// exactly the extensions `loaded`. Returns the headers found.
fn prepare(
    server: &Server,
    headers: &[(String, String)],
    expected: &http::Answer,
    loaded: &[String],
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
        let on = loaded
            .iter()
            .any(|name| name.split(':').next() == Some(module));
        match (on, answer.header(header)) {
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
    Ok(found)
}

/// Checks scenario R's answer: 200, the body of bare hyper's `/health`, and no header of
/// an extension (the route has none).
fn prepare_status(
    server: &Server,
    headers: &[(String, String)],
    expected: &http::Answer,
) -> anyhow::Result<()> {
    let answer = http::exchange(server.addr, "GET", STATUS_PATH, headers, &[])?;
    if answer.status != 200 || answer.body != expected.body {
        bail!(
            "{}: {STATUS_PATH} answered {} `{}`, bare hyper's /health 200 `{}`",
            server.name,
            answer.status,
            answer.text(),
            expected.text()
        );
    }
    for (module, header) in EVIDENCE {
        if answer.header(header).is_some() {
            bail!(
                "{}: {STATUS_PATH} should run no extension but has {module}'s {header}",
                server.name
            );
        }
    }
    Ok(())
}

/// A warm-up second, then `duration` of load with the server's CPU time read around it.
fn measure(
    wrk: &Wrk,
    server: &Server,
    path: &str,
    headers: &[(String, String)],
    duration: Duration,
    ticks_per_second: u64,
) -> anyhow::Result<report::Measured> {
    let url = format!("http://{}{path}", server.addr);
    wrk.run(&url, headers, Duration::from_secs(1))
        .context("warm-up")?;
    let before = server.cpu_ticks()?;
    let figures = wrk.run(&url, headers, duration)?;
    let after = server.cpu_ticks()?;
    let cpu_seconds = (after - before) as f64 / ticks_per_second as f64;
    Ok(report::Measured {
        figures,
        cpu_us_per_request: cpu_seconds * 1e6 / figures.requests.max(1) as f64,
        cpu_seconds,
    })
}
