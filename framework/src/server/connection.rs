//! One connection's life: served until the client leaves, it idles past the keep-alive
//! timeout (or sends no first request within the header-read timeout), or the server drains.
//! Then it is told to close (`Connection: close` on HTTP/1.1, GOAWAY on HTTP/2); one that
//! does not finish closing in time (an HTTP/2 client withholding the PING answer) or a server
//! that gives up draining drops it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::task::{ArcWake, AtomicWaker, waker_ref};

use tokio::sync::{Notify, watch};

use crate::coarse_clock;
use crate::routing::{Body, EndsOnDrain, Response};
use crate::telemetry::metrics::{self, OPEN_CONNECTIONS, Registry};

/// What the server asks of its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Stop {
    Serve,
    /// Finish the requests in flight, then close.
    Drain,
    /// Close now.
    Abort,
}

/// Requests in flight on one connection, when the last one ended and when bytes were last
/// written: what the idle timeout and the bound on finishing a close look at.
pub(crate) struct Activity {
    in_flight: AtomicU32,
    /// Whether any request started: until then the header-read timeout bounds the wait.
    served: AtomicBool,
    /// Milliseconds since `epoch` when the connection was last busy.
    last: AtomicU64,
    /// Milliseconds since `epoch` when bytes were last written to the client.
    last_write: AtomicU64,
    /// When the connection opened, on the coarse clock: these times are read on every
    /// request and write, and only compared with timeouts of seconds.
    epoch: Duration,
}

impl Activity {
    pub fn new() -> Arc<Self> {
        Arc::new(Activity {
            in_flight: AtomicU32::new(0),
            served: AtomicBool::new(false),
            last: AtomicU64::new(0),
            last_write: AtomicU64::new(0),
            epoch: coarse_clock::now(),
        })
    }

    /// How long the connection has been open, to the coarse clock's tick.
    fn open_for(&self) -> Duration {
        coarse_clock::now().saturating_sub(self.epoch)
    }

    /// Marks a request as started; the guard marks it ended however the request ends.
    pub fn begin(self: &Arc<Self>) -> Busy {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.served.store(true, Ordering::Relaxed);
        Busy(self.clone())
    }

    /// Records that bytes reached the client's socket.
    pub fn wrote(&self) {
        let now = self.open_for().as_millis() as u64;
        self.last_write.store(now, Ordering::Relaxed);
    }

    /// Whether the connection has had no request in flight and written nothing for `quiet`:
    /// an answer still streaming out (after its handler returned) is not quiet.
    fn quiet_for(&self, quiet: Duration) -> bool {
        let last_write = Duration::from_millis(self.last_write.load(Ordering::Relaxed));
        self.idle_for().is_some_and(|idle| idle >= quiet)
            && self.open_for().saturating_sub(last_write) >= quiet
    }

    /// How long the connection has had no request in flight (`None` while it has one).
    fn idle_for(&self) -> Option<Duration> {
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            return None;
        }
        let last = Duration::from_millis(self.last.load(Ordering::Relaxed));
        Some(self.open_for().saturating_sub(last))
    }
}

pub(crate) struct Busy(Arc<Activity>);

impl Busy {
    /// Ends the request when its answer has been sent rather than when it was made: a
    /// streamed answer (server-sent events waiting for the next event, a large download)
    /// keeps its connection from counting as idle. A whole answer ends it now. An answer
    /// marked [`EndsOnDrain`] is ended when `stop` says the server drains.
    pub fn until_sent(self, response: Response, stop: &watch::Receiver<Stop>) -> Response {
        if !response.body().is_stream() {
            return response;
        }
        let drained = response.extensions().get::<EndsOnDrain>().map(|_| {
            let mut stop = stop.clone();
            let drained: Pin<Box<dyn Future<Output = ()> + Send>> = Box::pin(async move {
                while *stop.borrow_and_update() == Stop::Serve {
                    if stop.changed().await.is_err() {
                        break;
                    }
                }
            });
            drained
        });
        response.map(|body| {
            Body::new(Sending {
                body,
                drained,
                _busy: self,
            })
        })
    }
}

/// A streamed answer's body and the request it keeps in flight until it is dropped.
struct Sending {
    body: Body,
    /// Ready when the server drains, for an answer that ends then.
    drained: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    _busy: Busy,
}

impl http_body::Body for Sending {
    type Data = bytes::Bytes;
    type Error = crate::routing::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        if let Some(drained) = &mut self.drained
            && drained.as_mut().poll(cx).is_ready()
        {
            return std::task::Poll::Ready(None);
        }
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let now = self.0.open_for().as_millis() as u64;
        self.0.last.store(now, Ordering::Relaxed);
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Counts open connections so a drain can wait for them.
pub(crate) struct Tracker {
    open: AtomicUsize,
    closed: Notify,
    /// The registry's `http_open_connections` gauge, which `/metrics` reports.
    gauge: u32,
}

impl Tracker {
    /// Tracks connections in the application's `registry`.
    pub fn new(registry: &Registry) -> Self {
        Tracker {
            open: AtomicUsize::new(0),
            closed: Notify::new(),
            gauge: registry.define_gauge(OPEN_CONNECTIONS, "connections open now"),
        }
    }
}

pub(crate) struct Tracked(Arc<Tracker>);

impl Tracker {
    pub fn track(self: &Arc<Self>) -> Tracked {
        let open = self.open.fetch_add(1, Ordering::SeqCst) + 1;
        metrics::gauge_set(self.gauge, open as i64);
        Tracked(self.clone())
    }

    pub fn open(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }

    /// Resolves once every tracked connection has ended.
    pub async fn all_closed(&self) {
        loop {
            let closed = self.closed.notified();
            if self.open() == 0 {
                return;
            }
            closed.await;
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        let open = self.0.open.fetch_sub(1, Ordering::SeqCst) - 1;
        metrics::gauge_set(self.0.gauge, open as i64);
        self.0.closed.notify_waiters();
    }
}

/// How long a connection may wait for requests before it is told to close.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Waits {
    /// `app.keep_alive_timeout`: no request in flight for this long.
    pub idle: Option<Duration>,
    /// `app.header_read_timeout`: no first request (a silent client, half an HTTP/2
    /// preface, a preface and no stream) for this long, whatever the keep-alive timeout;
    /// on HTTP/1.1 no next request either ([`Waits::for_http1`]).
    pub first_request: Option<Duration>,
    /// Whether a connection that has not started a request when its wait ends is dropped
    /// at once rather than let finish closing: an HTTP/1.1 client still sending its first
    /// head has nothing in flight to finish.
    pub drop_unserved: bool,
}

impl Waits {
    /// The wait that applies now: before the first request the shorter of the two.
    pub fn current(&self, activity: &Activity) -> Option<Duration> {
        if activity.served.load(Ordering::Relaxed) {
            return self.idle;
        }
        self.shorter()
    }

    /// The waits of an HTTP/1.1 connection, whose every request head must come within the
    /// header-read timeout: the idle wait is the shorter of the two from the first request
    /// on. This loop bounds the heads rather than hyper's own header-read timer, which would
    /// make and drop a timer for every request.
    pub fn for_http1(self) -> Waits {
        Waits {
            idle: self.shorter(),
            drop_unserved: true,
            ..self
        }
    }

    fn shorter(&self) -> Option<Duration> {
        match (self.idle, self.first_request) {
            (Some(idle), Some(first)) => Some(idle.min(first)),
            (idle, first) => idle.or(first),
        }
    }
}

/// Drives `connection` to its end under the server's stop signal and `waits`. A connection
/// told to close for waiting too long gets that long again to finish closing (an HTTP/2
/// client answers the GOAWAY's PING); it is dropped once it has had no request in flight and
/// written nothing for that long (an answer still streaming out is let finish).
/// `graceful` asks the connection to finish what it is doing and close.
///
/// The connection is `Unpin` (its state boxed): an `async fn` that pins a future it was
/// given keeps room for it twice in its own state (the argument and the pinned local), and
/// this state is the spawned task every open connection holds for its whole life. For the
/// same reason an `async` block rather than an `async fn`: the latter keeps each argument
/// twice, as it was given and as the local it is moved into.
#[expect(
    clippy::manual_async_fn,
    reason = "an `async fn` future keeps room for each argument twice"
)]
pub(crate) fn drive<C, E>(
    mut connection: C,
    graceful: impl Fn(&mut C),
    activity: Arc<Activity>,
    waits: Waits,
    mut stop: watch::Receiver<Stop>,
) -> impl Future<Output = Option<E>>
where
    C: Future<Output = Result<(), E>> + Unpin,
{
    async move {
        let (stop_gate, wait_gate) = (Gate::new(), Gate::new());
        let mut closing = false;
        // Set when the connection was told to close for idling: by then it must have closed.
        let mut close_by: Option<(Instant, Duration)> = None;
        let mut draining = *stop.borrow_and_update() != Stop::Serve;
        loop {
            // Draining closes a connection once it has a request: hyper answers the one in hand
            // and closes. One whose first request has not started may have its bytes on the way
            // (a client that connected just before the listener closed, or to a socket handed
            // over to a new process); closing it now would reset it unanswered, so it waits for
            // that request, or for the header-read timeout to say the client sends nothing.
            if draining && !closing && activity.served.load(Ordering::Relaxed) {
                graceful(&mut connection);
                closing = true;
            }
            let timeout = waits.current(&activity);
            let check = async {
                match (close_by, timeout, closing) {
                    (Some((deadline, _)), _, _) => {
                        tokio::time::sleep_until(deadline.into()).await;
                    }
                    _ if draining && !closing => {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    (None, Some(timeout), false) => {
                        let wait = match activity.idle_for() {
                            Some(idle) => timeout.saturating_sub(idle),
                            None => timeout,
                        };
                        tokio::time::sleep(wait.max(Duration::from_millis(10))).await;
                    }
                    _ => std::future::pending().await,
                }
            };
            // Each new wait is looked at once; after that only when it woke the task.
            stop_gate.open();
            wait_gate.open();
            tokio::select! {
                // The connection first: the others are gated, so they take no turn from it.
                biased;
                result = &mut connection => return result.err(),
                changed = stop_gate.guard(stop.changed()) => {
                    let now = if changed.is_ok() { *stop.borrow() } else { Stop::Abort };
                    if now == Stop::Abort {
                        return None;
                    }
                    draining = true;
                }
                () = wait_gate.guard(check) => {
                    if let Some((_, allowed)) = close_by {
                        if activity.quiet_for(allowed) {
                            tracing::debug!(?allowed, "the client did not finish closing; dropped");
                            return None;
                        }
                        // A request that raced the GOAWAY, or an answer still being written,
                        // is let finish.
                        close_by = Some((Instant::now() + allowed / 4, allowed));
                    // Looked up again: the wait was taken before a first request that may
                    // have come since (a served connection may wait longer, or for ever).
                    } else if let (Some(timeout), Some(idle)) =
                        (waits.current(&activity), activity.idle_for())
                        && idle >= timeout
                    {
                        graceful(&mut connection);
                        closing = true;
                        let finish = if waits.drop_unserved && !activity.served.load(Ordering::Relaxed) {
                            Duration::ZERO
                        } else {
                            timeout
                        };
                        close_by = Some((Instant::now() + finish, timeout));
                    }
                }
            }
        }
    }
}

/// One of the waits of a connection's loop (the stop signal, the idle clock), polled only
/// when it woke the connection's task rather than at every wake, which is one or more a
/// request. A watch's `changed` locks its waiter list at each poll and a sleep registers its
/// waker again; together with the loop's choice of branch they were 450 instructions of a
/// request's 16,800 (callgrind, load benchmark scenario E).
struct Gate(Arc<GateWake>);

struct GateWake {
    /// Set when the wait woke (and when it is new): it is to be polled.
    woken: AtomicBool,
    /// The connection's task, woken in turn.
    task: AtomicWaker,
}

impl ArcWake for GateWake {
    fn wake_by_ref(gate: &Arc<Self>) {
        gate.woken.store(true, Ordering::Release);
        gate.task.wake();
    }
}

impl Gate {
    fn new() -> Self {
        Gate(Arc::new(GateWake {
            woken: AtomicBool::new(true),
            task: AtomicWaker::new(),
        }))
    }

    /// A new wait is to be polled once, to register its waker.
    fn open(&self) {
        self.0.woken.store(true, Ordering::Relaxed);
    }

    /// `wait`, polled only when it woke (or is new). A future of its own rather than an
    /// `async fn`, which would keep room for `wait` twice (as it was given and pinned) in
    /// the connection's task, for its whole life.
    fn guard<F: Future>(&self, wait: F) -> Guarded<'_, F> {
        Guarded { gate: self, wait }
    }
}

/// A wait behind its [`Gate`].
struct Guarded<'g, F> {
    gate: &'g Gate,
    wait: F,
}

impl<F: Future> Future for Guarded<'_, F> {
    type Output = F::Output;

    /// The task's waker is registered before the flag is read, so a wake between the two is
    /// seen now or wakes the task again. The wait is given the gate's waker, lent without a
    /// reference count.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `wait` is pinned structurally: it is never moved out of the guard, which
        // has no `Drop` of its own and is `Unpin` only when `wait` is.
        let this = unsafe { self.get_unchecked_mut() };
        let gate = &this.gate.0;
        gate.task.register(cx.waker());
        if !gate.woken.swap(false, Ordering::AcqRel) {
            return Poll::Pending;
        }
        // SAFETY: as above.
        let wait = unsafe { Pin::new_unchecked(&mut this.wait) };
        wait.poll(&mut Context::from_waker(&waker_ref(gate)))
    }
}
