//! The host services handed to extensions: for now, logging into the host's log under the
//! target `ext::<module>`.

use std::ffi::c_void;

use abi_stable::{prefix_type::WithMetadata, std_types::RStr};
use beginnings_abi::ffi::{HostHandle, HostServices, HostServices_Ref, LogLevel};

/// What the host knows about the library a handle was given to.
struct ModuleContext {
    log_target: String,
}

const HOST_SERVICES: &WithMetadata<HostServices> = &WithMetadata::new(HostServices {
    log: host_log,
    log_enabled: host_log_enabled,
});

/// A host handle for one library. The context is leaked on purpose: libraries are never
/// unloaded, so the handle must stay valid for the rest of the process.
pub(crate) fn handle_for(module: &str) -> HostHandle {
    let context: &'static ModuleContext = Box::leak(Box::new(ModuleContext {
        log_target: format!("ext::{module}"),
    }));
    HostHandle {
        ctx: (context as *const ModuleContext).cast::<c_void>(),
        vtable: HostServices_Ref(HOST_SERVICES.static_as_prefix()),
    }
}

fn level(level: LogLevel) -> log::Level {
    match level {
        LogLevel::Error => log::Level::Error,
        LogLevel::Warn => log::Level::Warn,
        LogLevel::Info => log::Level::Info,
        LogLevel::Debug => log::Level::Debug,
        LogLevel::Trace => log::Level::Trace,
    }
}

/// # Safety
/// `ctx` must come from [`handle_for`].
unsafe fn context<'a>(ctx: *const c_void) -> &'a ModuleContext {
    // SAFETY: the caller passes a pointer made by `handle_for`, leaked and never freed.
    unsafe { &*ctx.cast::<ModuleContext>() }
}

// The records go through the `log` facade because its targets may be chosen at run time;
// a binary that installs a tracing subscriber (with its log bridge) sees them as tracing
// events with the target `ext::<module>`.
unsafe extern "C" fn host_log(
    ctx: *const c_void,
    log_level: LogLevel,
    _target: RStr<'_>,
    message: RStr<'_>,
) {
    // SAFETY: the extension passes back the context of the handle it was given.
    let context = unsafe { context(ctx) };
    let level = level(log_level);
    if level > log::max_level() {
        return;
    }
    log::logger().log(
        &log::Record::builder()
            .level(level)
            .target(&context.log_target)
            .args(format_args!("{}", message.as_str()))
            .build(),
    );
}

unsafe extern "C" fn host_log_enabled(
    ctx: *const c_void,
    log_level: LogLevel,
    _target: RStr<'_>,
) -> bool {
    // SAFETY: as in `host_log`.
    let context = unsafe { context(ctx) };
    let level = level(log_level);
    level <= log::max_level()
        && log::logger().enabled(
            &log::Metadata::builder()
                .level(level)
                .target(&context.log_target)
                .build(),
        )
}
