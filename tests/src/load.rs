//! A bounded load from several client threads, for the tests that reload, swap builds or hand
//! the listener over while requests keep coming: each thread sends requests until it is
//! stopped or reaches its bound, and keeps what each request gave.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use reqwest::blocking::Client;

pub struct Load<T> {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicUsize>,
    threads: Vec<JoinHandle<Vec<T>>>,
}

impl<T: Send + 'static> Load<T> {
    /// `threads` threads, each with a client from `client`, each sending at most `bound`
    /// requests with `request`.
    pub fn start<F>(threads: usize, bound: usize, client: fn() -> Client, request: F) -> Self
    where
        F: Fn(&Client) -> T + Clone + Send + 'static,
    {
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicUsize::new(0));
        let threads = (0..threads)
            .map(|_| {
                let (stop, sent, request) = (stop.clone(), sent.clone(), request.clone());
                thread::spawn(move || {
                    let http = client();
                    let mut outcomes = Vec::new();
                    for _ in 0..bound {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        outcomes.push(request(&http));
                        sent.fetch_add(1, Ordering::Relaxed);
                    }
                    outcomes
                })
            })
            .collect();
        Load {
            stop,
            sent,
            threads,
        }
    }

    /// How many requests the threads have had answered or failed so far.
    pub fn sent(&self) -> usize {
        self.sent.load(Ordering::Relaxed)
    }

    /// Waits until `count` requests have been sent, for at most `within`; whether they were.
    pub fn wait_for(&self, count: usize, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while self.sent() < count {
            if Instant::now() > deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(5));
        }
        true
    }

    /// Stops the threads and gives what each thread's requests gave, in order.
    pub fn finish(self) -> Vec<Vec<T>> {
        self.stop.store(true, Ordering::Relaxed);
        (self.threads.into_iter())
            .map(|thread| thread.join().expect("a load thread panicked"))
            .collect()
    }
}
