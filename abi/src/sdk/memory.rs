//! A process's resident memory as Linux reports it in `/proc/<pid>/status`: the one reader
//! the runtime's `/metrics`, the memory profiler extension, the tests and the load benchmark
//! share.

/// Current and peak resident memory of a process, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessMemory {
    pub rss_bytes: u64,
    pub peak_rss_bytes: u64,
}

/// One figure of `/proc/<pid>/status` given in kB (`VmRSS`, `VmHWM`, `RssAnon`, ...), in
/// bytes; the calling process when `pid` is `None`. `None` where there is no such file or
/// figure.
pub fn memory_figure(pid: Option<u32>, key: &str) -> Option<u64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/status"),
        None => "/proc/self/status".to_owned(),
    };
    let status = std::fs::read_to_string(path).ok()?;
    status_figure(&status, key)
}

/// `key` (without its colon) of a `/proc/<pid>/status` text, in bytes.
fn status_figure(status: &str, key: &str) -> Option<u64> {
    let value = status
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))?;
    let kib: u64 = value.trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib * 1024)
}

/// `VmRSS` and `VmHWM` of a process (the calling one when `pid` is `None`).
pub fn process_memory(pid: Option<u32>) -> Option<ProcessMemory> {
    let status = std::fs::read_to_string(match pid {
        Some(pid) => format!("/proc/{pid}/status"),
        None => "/proc/self/status".to_owned(),
    })
    .ok()?;
    Some(ProcessMemory {
        rss_bytes: status_figure(&status, "VmRSS")?,
        peak_rss_bytes: status_figure(&status, "VmHWM")?,
    })
}

#[cfg(test)]
mod tests {
    use super::status_figure;

    #[test]
    fn figures_are_read_in_bytes_and_only_for_their_own_key() {
        let status = "Name:\tx\nVmHWM:\t   2048 kB\nVmRSS:\t   1024 kB\nRssAnon:\t 12 kB\n";
        assert_eq!(status_figure(status, "VmRSS"), Some(1024 * 1024));
        assert_eq!(status_figure(status, "VmHWM"), Some(2048 * 1024));
        assert_eq!(status_figure(status, "RssAnon"), Some(12 * 1024));
        assert_eq!(status_figure(status, "Rss"), None);
    }
}
