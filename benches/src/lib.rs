//! Benchmarks live under `benches/`; run them with `cargo bench -p beginnings-benches`.
//! The load benchmark against a bare-hyper baseline is a separate command (see README).
//!
//! What the benchmarks share: an allocator that counts the host's allocations, so a bench
//! can show what a hook costs in allocations as well as in time.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

/// Counts allocations, forwarding them to the system allocator. A bench installs it with
/// `#[global_allocator] static GLOBAL: CountingAllocator = CountingAllocator;`. Extensions
/// allocate through their own copy of the allocator, which this does not see.
pub struct CountingAllocator;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Allocations counted so far in this process.
pub fn allocations() -> u64 {
    ALLOCATIONS.load(Ordering::Relaxed)
}

/// The host's allocations per call of `call`, over 10,000 calls after one to warm up.
pub fn allocations_per_call(mut call: impl FnMut()) -> f64 {
    const CALLS: u64 = 10_000;
    call();
    let before = allocations();
    for _ in 0..CALLS {
        call();
    }
    (allocations() - before) as f64 / CALLS as f64
}
