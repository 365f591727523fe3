//! A monotonic clock read to the kernel's tick (`CLOCK_MONOTONIC_COARSE`, 1 to 10 ms), for
//! the times a request path keeps only to compare with seconds: when a connection was last
//! busy or written to, when a route's deadline started.
//!
//! The precise clock behind `Instant::now` costs a read of the CPU's time-stamp counter and
//! its scaling, which in a virtual machine is a paravirtual clock page besides: three such
//! reads were 2.7% of the user CPU of a request with no extension (load benchmark, scenario
//! E, `perf record`). The coarse clock is a word the kernel updates at each tick, read
//! through the vDSO with no system call.

use std::sync::OnceLock;
use std::time::Duration;

/// Now on the coarse clock, since an arbitrary start (the machine's boot): only differences
/// between two readings mean anything.
pub(crate) fn now() -> Duration {
    read(libc::clock_gettime)
}

/// How far a reading may lag the precise clock: the coarse clock's resolution, read once.
pub(crate) fn resolution() -> Duration {
    static RESOLUTION: OnceLock<Duration> = OnceLock::new();
    *RESOLUTION.get_or_init(|| read(libc::clock_getres))
}

/// The time since `start` (a reading of [`now`]), never more than has truly passed: each
/// reading may lag the true time by up to [`resolution`], so the difference of two may
/// exceed it by as much, and that much is taken off. A deadline counted with it fires late
/// by up to two ticks, never early.
pub(crate) fn at_least_since(start: Duration) -> Duration {
    now().saturating_sub(start).saturating_sub(resolution())
}

/// `call` (`clock_gettime` or `clock_getres`) for the coarse monotonic clock. The C
/// library's, not a reader of the vDSO of our own: it finds the vDSO however the process
/// was started (under valgrind too) and falls back to the system call.
fn read(
    call: unsafe extern "C" fn(libc::clockid_t, *mut libc::timespec) -> libc::c_int,
) -> Duration {
    let mut time = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `time` is a valid, writable timespec for the call's whole duration; the clock
    // exists on every Linux since 2.6.32, and a failure leaves `time` at zero.
    unsafe { call(libc::CLOCK_MONOTONIC_COARSE, &mut time) };
    let seconds = u64::try_from(time.tv_sec).unwrap_or(0);
    let nanos = u32::try_from(time.tv_nsec).unwrap_or(0);
    Duration::new(seconds, nanos)
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    /// The coarse clock follows the precise one to within its resolution, and the time it
    /// says has passed is never more than what has.
    #[test]
    fn coarse_readings_follow_the_precise_clock() {
        let resolution = resolution();
        assert!(
            resolution > Duration::ZERO && resolution <= Duration::from_millis(10),
            "resolution {resolution:?}"
        );
        let precise = Instant::now();
        let start = now();
        std::thread::sleep(Duration::from_millis(60));
        let coarse = now() - start;
        let passed = precise.elapsed();
        assert!(
            coarse >= Duration::from_millis(60) - resolution,
            "{coarse:?}"
        );
        assert!(coarse <= passed + resolution, "{coarse:?} of {passed:?}");
        let at_least = at_least_since(start);
        assert!(at_least <= precise.elapsed(), "{at_least:?}");
        assert!(
            at_least + 2 * resolution >= Duration::from_millis(60),
            "{at_least:?}"
        );
    }
}
