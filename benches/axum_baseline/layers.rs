//! The two of the five middlewares tower-http has no layer for, written as tower layers the
//! way an axum application would write them: a sampled timer (Beginnings' `monitor` at 1%)
//! and a per-client request counter that never refuses (Beginnings' `rate_limit` with a
//! limit no benchmark reaches, headers included).

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use http::{HeaderName, HeaderValue, Request, Response};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

/// Durations of the sampled requests, summed: what a monitor exports as a mean.
#[derive(Default)]
pub struct Timings {
    seen: AtomicU64,
    sampled: AtomicU64,
    total_nanos: AtomicU64,
}

/// Times one request in every `every`.
#[derive(Clone)]
pub struct SampledTimingLayer {
    timings: Arc<Timings>,
    every: u64,
}

impl SampledTimingLayer {
    pub fn new(every: u64) -> Self {
        Self {
            timings: Arc::default(),
            every: every.max(1),
        }
    }
}

impl<S> Layer<S> for SampledTimingLayer {
    type Service = SampledTiming<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SampledTiming {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Clone)]
pub struct SampledTiming<S> {
    inner: S,
    layer: SampledTimingLayer,
}

impl<S, B> Service<Request<B>> for SampledTiming<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Timed<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let timings = &self.layer.timings;
        // Only a sampled request pays for the clock and the reference to the sums.
        let sample = timings
            .seen
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(self.layer.every)
            .then(|| (Instant::now(), timings.clone()));
        Timed {
            inner: self.inner.call(request),
            sample,
        }
    }
}

pin_project! {
    pub struct Timed<F> {
        #[pin]
        inner: F,
        sample: Option<(Instant, Arc<Timings>)>,
    }
}

impl<F: Future> Future for Timed<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let output = std::task::ready!(this.inner.poll(cx));
        if let Some((started, timings)) = this.sample.take() {
            let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
            timings.sampled.fetch_add(1, Ordering::Relaxed);
            timings.total_nanos.fetch_add(nanos, Ordering::Relaxed);
        }
        Poll::Ready(output)
    }
}

const LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
const REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
const RESET: HeaderName = HeaderName::from_static("ratelimit-reset");
const POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");

/// A client's requests in the current window.
struct Window {
    started: Instant,
    count: u64,
}

/// Counts each client's requests per window under one lock and puts the `RateLimit-*`
/// headers on the answer; it never answers 429, as the benchmark's limit is never reached.
#[derive(Clone)]
pub struct RequestCountLayer {
    clients: Arc<Mutex<HashMap<IpAddr, Window>>>,
    limit: u64,
    window: Duration,
    limit_header: HeaderValue,
    policy_header: HeaderValue,
}

impl RequestCountLayer {
    pub fn new(limit: u64, window: Duration) -> Self {
        let policy = format!("{limit};w={}", window.as_secs());
        Self {
            clients: Arc::default(),
            limit,
            window,
            limit_header: HeaderValue::from(limit),
            policy_header: HeaderValue::from_str(&policy).expect("digits and `;w=`"),
        }
    }

    /// Counts one request of `client`: the requests left and the seconds to the window's end.
    fn count(&self, client: IpAddr) -> (u64, u64) {
        let now = Instant::now();
        let mut clients = self
            .clients
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let window = clients.entry(client).or_insert(Window {
            started: now,
            count: 0,
        });
        if now.duration_since(window.started) >= self.window {
            window.started = now;
            window.count = 0;
        }
        window.count += 1;
        let left = self
            .window
            .saturating_sub(now.duration_since(window.started));
        (
            self.limit.saturating_sub(window.count),
            left.as_secs() + u64::from(left.subsec_nanos() > 0),
        )
    }
}

impl<S> Layer<S> for RequestCountLayer {
    type Service = RequestCount<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestCount {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Clone)]
pub struct RequestCount<S> {
    inner: S,
    layer: RequestCountLayer,
}

impl<S, B, R> Service<Request<B>> for RequestCount<S>
where
    S: Service<Request<B>, Response = Response<R>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Counted<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The peer's address, as Beginnings' limiter keys on it (no trusted proxy here).
        let client = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| {
                info.0.ip().to_canonical()
            });
        let (remaining, reset) = self.layer.count(client);
        Counted {
            inner: self.inner.call(request),
            headers: Some([
                (LIMIT, self.layer.limit_header.clone()),
                (REMAINING, HeaderValue::from(remaining)),
                (RESET, HeaderValue::from(reset)),
                (POLICY, self.layer.policy_header.clone()),
            ]),
        }
    }
}

pin_project! {
    pub struct Counted<F> {
        #[pin]
        inner: F,
        headers: Option<[(HeaderName, HeaderValue); 4]>,
    }
}

impl<F, R, E> Future for Counted<F>
where
    F: Future<Output = Result<Response<R>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = std::task::ready!(this.inner.poll(cx))?;
        if let Some(headers) = this.headers.take() {
            response.headers_mut().extend(headers);
        }
        Poll::Ready(Ok(response))
    }
}
