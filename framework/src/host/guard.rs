//! Every function the host hands to a library runs inside a guard: a panic unwinding out of
//! an `extern "C"` function ends the process, so a host callback that panics (a bug, a
//! logger that fails) answers its fallback instead and the server keeps serving.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Runs `body`; on a panic, logs it and returns `fallback()`.
pub(crate) fn guarded<T>(
    callback: &'static str,
    fallback: impl FnOnce() -> T,
    body: impl FnOnce() -> T,
) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => value,
        Err(payload) => {
            let message = panic_text(payload.as_ref()).to_string();
            // The logger itself may be what panicked: a second panic stays in here too.
            let _ = catch_unwind(AssertUnwindSafe(|| {
                tracing::error!(callback, "a host callback panicked: {message}");
            }));
            fallback()
        }
    }
}

fn panic_text(payload: &(dyn Any + Send)) -> &str {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text
    } else {
        "non-string panic payload"
    }
}
