//! The process's resident memory as the operating system reports it (the SDK's reader,
//! which the memory profiler extension uses too).

pub use beginnings_abi::{ProcessMemory, memory_figure};

/// `VmRSS` and `VmHWM` of this process; `None` where there is no `/proc/self/status`.
pub fn process_memory() -> Option<ProcessMemory> {
    beginnings_abi::process_memory(None)
}
