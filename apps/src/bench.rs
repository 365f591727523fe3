//! `bench URL`: a load test of a running server. A fixed number of connections, each
//! sending its next request as soon as the last one's body has arrived, for a number of
//! requests or a length of time. Requests per second are counted over wall time: the sum
//! of latencies overstates the time by the concurrency, so dividing by it understates the
//! rate by as much.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};
use parking_lot::Mutex;

/// `bench` options.
#[derive(Debug, Clone, Args)]
pub struct BenchOptions {
    /// The URL to request (http://).
    pub url: String,
    /// Connections kept busy at once.
    #[arg(short = 'c', long, default_value_t = 10)]
    pub connections: usize,
    /// How many requests in all (1000 unless --duration is given).
    #[arg(short = 'n', long, conflicts_with = "duration")]
    pub requests: Option<u64>,
    /// How long to send requests instead: `30s`, `2m`, `500ms` (a bare number is seconds).
    #[arg(short = 'd', long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// A header on every request, `Name: value`; repeat for more.
    #[arg(short = 'H', long = "header")]
    pub headers: Vec<String>,
    /// The request method.
    #[arg(short = 'm', long, default_value = "GET")]
    pub method: String,
    /// A request that takes longer fails.
    #[arg(long, value_parser = parse_duration, default_value = "30s")]
    pub timeout: Duration,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (write 30s, 2m or 500ms)"))?;
    let seconds = match unit {
        "" | "s" => number,
        "ms" => number / 1000.0,
        "m" => number * 60.0,
        "h" => number * 3600.0,
        other => {
            return Err(format!(
                "unknown unit `{other}` in `{text}` (use ms, s, m or h)"
            ));
        }
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("`{text}`: {e}"))
}

/// When the run stops.
#[derive(Clone, Copy)]
enum Budget {
    Requests(u64),
    Until(Instant),
}

/// What the connections found, merged at the end.
struct Tally {
    /// Microseconds from sending to the last byte of the body, of every request that got an
    /// answer (failed statuses included: they are answers too).
    latencies: Histogram<u64>,
    succeeded: u64,
    /// By status (`HTTP 503`) or error (`connection refused`).
    failures: BTreeMap<String, u64>,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            // One microsecond to an hour, three significant digits.
            latencies: Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds"),
            succeeded: 0,
            failures: BTreeMap::new(),
        }
    }
}

pub fn bench(options: &BenchOptions) -> anyhow::Result<ExitCode> {
    if !options.url.starts_with("http://") {
        bail!("{}: only http:// URLs can be benchmarked", options.url);
    }
    if options.connections == 0 {
        bail!("--connections must be at least 1");
    }
    let method = reqwest::Method::from_bytes(options.method.to_ascii_uppercase().as_bytes())
        .with_context(|| format!("`{}` is not an HTTP method", options.method))?;
    let mut headers = reqwest::header::HeaderMap::new();
    for header in &options.headers {
        let (name, value) = header
            .split_once(':')
            .with_context(|| format!("header `{header}`: write it as `Name: value`"))?;
        let name = reqwest::header::HeaderName::from_bytes(name.trim().as_bytes())
            .with_context(|| format!("header `{header}`: invalid name"))?;
        let value = reqwest::header::HeaderValue::from_str(value.trim())
            .with_context(|| format!("header `{header}`: invalid value"))?;
        headers.append(name, value);
    }
    let client = reqwest::Client::builder()
        .default_headers(headers)
        .pool_max_idle_per_host(options.connections)
        .timeout(options.timeout)
        .build()
        .context("cannot build the HTTP client")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let requests = options.requests.unwrap_or(1000);
    let connections = match options.duration {
        Some(_) => options.connections,
        None => options
            .connections
            .min(usize::try_from(requests).unwrap_or(usize::MAX)),
    };
    let target = match options.duration {
        Some(duration) => format!("for {duration:?}"),
        None => format!("{requests} requests"),
    };
    println!(
        "{} {}: {connections} connections, {target}",
        method, options.url
    );
    let (tally, wall) = runtime.block_on(async {
        let started = Instant::now();
        let budget = match options.duration {
            Some(duration) => Budget::Until(started + duration),
            None => Budget::Requests(requests),
        };
        let run = Run {
            client,
            method,
            url: options.url.clone(),
            budget,
            issued: AtomicU64::new(0),
            done: AtomicU64::new(0),
            tally: Mutex::new(Tally::new()),
        };
        let run = Arc::new(run);
        let (bar, ticker) = progress(&run, started, options.duration);
        let workers: Vec<_> = (0..connections)
            .map(|_| tokio::spawn(connection(run.clone())))
            .collect();
        for worker in workers {
            worker.await.context("a connection task failed")?;
        }
        let wall = started.elapsed();
        ticker.abort();
        bar.finish_and_clear();
        let tally = std::mem::replace(&mut *run.tally.lock(), Tally::new());
        anyhow::Ok((tally, wall))
    })?;
    report(&tally, wall);
    Ok(if tally.succeeded > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

struct Run {
    client: reqwest::Client,
    method: reqwest::Method,
    url: String,
    budget: Budget,
    issued: AtomicU64,
    done: AtomicU64,
    tally: Mutex<Tally>,
}

impl Run {
    /// Claims the next request, or says the run is over.
    fn next(&self) -> bool {
        match self.budget {
            Budget::Requests(total) => self.issued.fetch_add(1, Ordering::Relaxed) < total,
            Budget::Until(deadline) => Instant::now() < deadline,
        }
    }
}

/// One connection's loop; its own tally, merged once at the end so the loop shares nothing.
async fn connection(run: Arc<Run>) {
    let mut tally = Tally::new();
    while run.next() {
        let sent = Instant::now();
        let outcome = async {
            let response = run
                .client
                .request(run.method.clone(), &run.url)
                .send()
                .await?;
            let status = response.status();
            response.bytes().await?;
            Ok::<_, reqwest::Error>(status)
        }
        .await;
        let micros = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
        match outcome {
            Ok(status) => {
                tally.latencies.saturating_record(micros.max(1));
                if status.is_success() || status.is_redirection() {
                    tally.succeeded += 1;
                } else {
                    *tally
                        .failures
                        .entry(format!("HTTP {}", status.as_u16()))
                        .or_default() += 1;
                }
            }
            Err(error) => *tally.failures.entry(error_kind(&error)).or_default() += 1,
        }
        run.done.fetch_add(1, Ordering::Relaxed);
    }
    let mut total = run.tally.lock();
    let _ = total.latencies.add(&tally.latencies);
    total.succeeded += tally.succeeded;
    for (kind, count) in tally.failures {
        *total.failures.entry(kind).or_default() += count;
    }
}

fn error_kind(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".into()
    } else if error.is_connect() {
        "could not connect".into()
    } else if error.is_body() || error.is_decode() {
        "broken body".into()
    } else {
        "request failed".into()
    }
}

/// A progress bar on stderr (drawn only on a terminal), by requests or by time.
fn progress(
    run: &Arc<Run>,
    started: Instant,
    duration: Option<Duration>,
) -> (ProgressBar, tokio::task::JoinHandle<()>) {
    let (length, template) = match (run.budget, duration) {
        (Budget::Requests(total), _) => {
            (total, "{bar:40} {pos}/{len} requests {per_sec} {elapsed}")
        }
        (Budget::Until(_), Some(duration)) => (
            u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
            "{bar:40} {msg} {elapsed}/{duration}",
        ),
        (Budget::Until(_), None) => (0, "{msg}"),
    };
    let bar = ProgressBar::new(length);
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    let run = run.clone();
    let drawn = bar.clone();
    let ticker = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        loop {
            tick.tick().await;
            let done = run.done.load(Ordering::Relaxed);
            match run.budget {
                Budget::Requests(_) => bar.set_position(done),
                Budget::Until(_) => {
                    let elapsed = u64::try_from(started.elapsed().as_millis()).unwrap_or(0);
                    bar.set_position(elapsed.min(length));
                    bar.set_message(format!("{done} requests"));
                }
            }
        }
    });
    (drawn, ticker)
}

fn report(tally: &Tally, wall: Duration) {
    let failed: u64 = tally.failures.values().sum();
    let total = tally.succeeded + failed;
    let seconds = wall.as_secs_f64();
    println!(
        "requests:   {total} ({} succeeded, {failed} failed)",
        tally.succeeded
    );
    for (kind, count) in &tally.failures {
        println!("  {count} {kind}");
    }
    println!("wall time:  {seconds:.3} s");
    println!(
        "requests/s: {:.1}",
        total as f64 / seconds.max(f64::MIN_POSITIVE)
    );
    let latencies = &tally.latencies;
    if latencies.is_empty() {
        println!("latency:    no answers");
        return;
    }
    let ms = |micros: f64| format!("{:.3} ms", micros / 1000.0);
    println!(
        "latency:    avg {}, median {}, p95 {}, p99 {}, min {}, max {}",
        ms(latencies.mean()),
        ms(latencies.value_at_quantile(0.5) as f64),
        ms(latencies.value_at_quantile(0.95) as f64),
        ms(latencies.value_at_quantile(0.99) as f64),
        ms(latencies.min() as f64),
        ms(latencies.max() as f64),
    );
}
