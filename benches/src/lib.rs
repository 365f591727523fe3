//! Benchmarks live under `benches/`; run them with `cargo bench -p beginnings-benches`.
//! The load benchmark against a bare-hyper baseline is a separate command (see README).
//!
//! What the benchmarks share: counting heap allocations, so a bench can show what a hook
//! costs in allocations as well as in time. Two counters:
//!
//! * every allocation in the process, the extension libraries' own included: a bench
//!   executable that invokes [`count_every_allocation!`] defines `malloc` and its siblings,
//!   and `benches/build.rs` exports them, so each library's `malloc` (an extension is built
//!   with its own copy of Rust's allocator, which calls the C one) resolves to them;
//! * the host's allocations only: [`CountingAllocator`], the executable's Rust allocator.
//!
//! What the extensions allocate is the difference.
//!
//! Also shared: the benchmark's bearer token ([`token`]) and the cases of the `hooks` bench
//! ([`hook_cases`]), whose unit test checks that each lets its request through.

pub mod hook_cases;
pub mod token;

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counts the host's allocations (the executable's Rust code), forwarding them to the
/// system allocator. A bench installs it with
/// `#[global_allocator] static GLOBAL: CountingAllocator = CountingAllocator;`. Extensions
/// allocate through their own copy of Rust's allocator, which this does not see.
pub struct CountingAllocator;

static HOST_ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

/// Every `malloc`, `calloc` and `realloc` of the process, counted by the functions
/// [`count_every_allocation!`] defines.
#[doc(hidden)]
pub static PROCESS_ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        HOST_ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        HOST_ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    /// A growth counts as an allocation, as the C `realloc` does below.
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        HOST_ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Defines `malloc`, `calloc`, `realloc` and `free` in the bench executable that invokes
/// it, counting into [`PROCESS_ALLOCATIONS`] and forwarding to glibc. Only a bench invokes
/// it: the load benchmark's servers must not pay for the counter.
#[macro_export]
macro_rules! count_every_allocation {
    () => {
        unsafe extern "C" {
            fn __libc_malloc(size: usize) -> *mut ::std::ffi::c_void;
            fn __libc_calloc(count: usize, size: usize) -> *mut ::std::ffi::c_void;
            fn __libc_realloc(
                pointer: *mut ::std::ffi::c_void,
                size: usize,
            ) -> *mut ::std::ffi::c_void;
            fn __libc_free(pointer: *mut ::std::ffi::c_void);
        }

        /// # Safety
        /// The C `malloc` contract; forwards to glibc's.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn malloc(size: usize) -> *mut ::std::ffi::c_void {
            $crate::PROCESS_ALLOCATIONS.fetch_add(1, ::std::sync::atomic::Ordering::Relaxed);
            // SAFETY: the caller's contract is glibc's.
            unsafe { __libc_malloc(size) }
        }

        /// # Safety
        /// The C `calloc` contract; forwards to glibc's.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn calloc(count: usize, size: usize) -> *mut ::std::ffi::c_void {
            $crate::PROCESS_ALLOCATIONS.fetch_add(1, ::std::sync::atomic::Ordering::Relaxed);
            // SAFETY: as for `malloc`.
            unsafe { __libc_calloc(count, size) }
        }

        /// # Safety
        /// The C `realloc` contract; forwards to glibc's. A growth counts as an allocation.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn realloc(
            pointer: *mut ::std::ffi::c_void,
            size: usize,
        ) -> *mut ::std::ffi::c_void {
            $crate::PROCESS_ALLOCATIONS.fetch_add(1, ::std::sync::atomic::Ordering::Relaxed);
            // SAFETY: as for `malloc`.
            unsafe { __libc_realloc(pointer, size) }
        }

        /// # Safety
        /// The C `free` contract; forwards to glibc's.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn free(pointer: *mut ::std::ffi::c_void) {
            // SAFETY: as for `malloc`.
            unsafe { __libc_free(pointer) }
        }
    };
}

/// Allocations per call of something, counted twice (see the crate's documentation).
#[derive(Debug, Clone, Copy)]
pub struct Allocations {
    /// Everywhere in the process, the extension libraries included.
    pub process: f64,
    /// In the host's own code.
    pub host: f64,
}

impl Allocations {
    /// In the extension libraries' code.
    pub fn in_extensions(&self) -> f64 {
        self.process - self.host
    }
}

impl std::ops::Sub for Allocations {
    type Output = Allocations;

    fn sub(self, other: Allocations) -> Allocations {
        Allocations {
            process: self.process - other.process,
            host: self.host - other.host,
        }
    }
}

impl fmt::Display for Allocations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:.1} allocations ({:.1} in the host, {:.1} in the extensions)",
            self.process,
            self.host,
            self.in_extensions()
        )
    }
}

/// Allocations per call of `call`, over 10,000 calls after one to warm up.
///
/// # Panics
/// When the host allocated but the process counter did not move: the bench did not invoke
/// [`count_every_allocation!`], and its figures would leave out the extensions.
pub fn allocations_per_call(mut call: impl FnMut()) -> Allocations {
    const CALLS: u64 = 10_000;
    call();
    let (process_before, host_before) = (
        PROCESS_ALLOCATIONS.load(Ordering::Relaxed),
        HOST_ALLOCATIONS.load(Ordering::Relaxed),
    );
    for _ in 0..CALLS {
        call();
    }
    let process = PROCESS_ALLOCATIONS.load(Ordering::Relaxed) - process_before;
    let host = HOST_ALLOCATIONS.load(Ordering::Relaxed) - host_before;
    assert!(
        host == 0 || process > 0,
        "the process's allocations are not counted: invoke count_every_allocation!()"
    );
    Allocations {
        process: process as f64 / CALLS as f64,
        host: host as f64 / CALLS as f64,
    }
}
