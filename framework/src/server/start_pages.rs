//! Giving back, once the server is ready, the pages of code and read-only data that only the
//! start needed (`app.release_start_pages`).
//!
//! Why: the start runs code a request never does (the YAML parser, the loader, the ABI's
//! layout checks, every extension's configuration), and the kernel maps the 64 KB around
//! each page touched, so after the start most of the program's and libraries' code stays
//! resident. The pages are clean copies of the files, so dropping them from the process
//! (`madvise(MADV_DONTNEED)`) loses nothing: the page cache keeps them, and the first touch
//! maps a page back. Serving then brings back only what serving runs. The Linux kernel does
//! the same with its own start-up code ("Freeing unused kernel memory").
//!
//! Only mappings that were never written are dropped: those of an executable or a shared
//! library (`.so`), readable and not writable, with no private dirty page (a relocated page,
//! a debugger's breakpoint). Writable data, the stack and the heap are left alone.

use std::path::Path;

/// One mapping `/proc/self/smaps` describes.
struct Mapping {
    start: usize,
    end: usize,
    readable_only: bool,
    file: Option<String>,
    resident_kib: u64,
    written_kib: u64,
}

impl Mapping {
    /// A code or read-only data mapping of the program or a shared library, never written.
    fn releasable(&self, program: Option<&str>) -> bool {
        let Some(file) = self.file.as_deref() else {
            return false;
        };
        let is_object = Some(file) == program
            || Path::new(file)
                .file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.ends_with(".so") || name.contains(".so."));
        is_object && self.readable_only && self.written_kib == 0 && self.resident_kib > 0
    }
}

/// The mappings of `smaps` text (the format of `/proc/<pid>/smaps`).
fn mappings(smaps: &str) -> Vec<Mapping> {
    let mut found: Vec<Mapping> = Vec::new();
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let Some(first) = fields.next() else {
            continue;
        };
        if let Some((start, end)) = first.split_once('-')
            && let (Ok(start), Ok(end)) = (
                usize::from_str_radix(start, 16),
                usize::from_str_radix(end, 16),
            )
        {
            let permissions = fields.next().unwrap_or("");
            // offset, device, inode, then the path (which may hold spaces).
            let file = fields.nth(3).map(|first_word| {
                let rest: Vec<&str> = std::iter::once(first_word).chain(fields).collect();
                rest.join(" ")
            });
            found.push(Mapping {
                start,
                end,
                // `r--p` or `r-xp`: readable, not writable, private.
                readable_only: permissions.starts_with('r')
                    && permissions.get(1..2) == Some("-")
                    && permissions.ends_with('p'),
                file: file.filter(|path| path.starts_with('/')),
                resident_kib: 0,
                written_kib: 0,
            });
            continue;
        }
        let Some(mapping) = found.last_mut() else {
            continue;
        };
        let kib = fields
            .next()
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0);
        match first {
            "Rss:" => mapping.resident_kib = kib,
            // A page this process wrote (or a debugger did for it) exists nowhere else.
            "Private_Dirty:" | "Anonymous:" => mapping.written_kib += kib,
            _ => {}
        }
    }
    found
}

/// Drops the never-written code and read-only data pages of the program and its libraries;
/// returns the kibibytes they held.
pub(crate) fn release() -> std::io::Result<u64> {
    let smaps = std::fs::read_to_string("/proc/self/smaps")?;
    let program = std::env::current_exe()
        .ok()
        .and_then(|path| path.to_str().map(String::from));
    let mut released = 0;
    for mapping in mappings(&smaps) {
        if !mapping.releasable(program.as_deref()) {
            continue;
        }
        // SAFETY: the range is one whole mapping of a file, private, not writable and never
        // written (no private dirty or anonymous page): its pages equal the file's, and
        // `MADV_DONTNEED` on such a mapping only unmaps them; the next access maps the
        // file's page again. No Rust object lives in it.
        let advised = unsafe {
            rustix::mm::madvise(
                mapping.start as *mut std::ffi::c_void,
                mapping.end - mapping.start,
                rustix::mm::Advice::LinuxDontNeed,
            )
        };
        if advised.is_ok() {
            released += mapping.resident_kib;
        }
    }
    Ok(released)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMAPS: &str = "\
5581a0000000-5581a0013000 r--p 00000000 fd:01 1234 /srv/app/server
Rss:                  76 kB
Private_Dirty:         0 kB
Anonymous:             0 kB
5581a0013000-5581a0100000 r-xp 00013000 fd:01 1234 /srv/app/server
Rss:                 900 kB
Private_Dirty:         0 kB
Anonymous:             0 kB
5581a0100000-5581a0120000 r--p 00100000 fd:01 1234 /srv/app/server
Rss:                 128 kB
Private_Dirty:       128 kB
Anonymous:           128 kB
5581a0120000-5581a0122000 rw-p 00120000 fd:01 1234 /srv/app/server
Rss:                   8 kB
Private_Dirty:         8 kB
Anonymous:             8 kB
7f0000000000-7f0000100000 r-xp 00028000 fd:01 99 /usr/lib/x86_64-linux-gnu/libc.so.6
Rss:                 700 kB
Private_Dirty:         0 kB
Anonymous:             0 kB
7f0000200000-7f0000300000 r-xp 00001000 fd:01 77 /srv/ext/.beginnings/auth-ab12.so
Rss:                 300 kB
Private_Dirty:         4 kB
Anonymous:             4 kB
7f0000300000-7f0000301000 r--p 00000000 fd:01 55 /srv/data/table.bin
Rss:                   4 kB
Private_Dirty:         0 kB
Anonymous:             0 kB
7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0 [stack]
Rss:                 120 kB
Private_Dirty:       120 kB
Anonymous:           120 kB
";

    #[test]
    fn only_never_written_code_and_read_only_data_of_the_program_and_libraries_go() {
        let releasable: Vec<(usize, u64)> = mappings(SMAPS)
            .iter()
            .filter(|m| m.releasable(Some("/srv/app/server")))
            .map(|m| (m.start, m.resident_kib))
            .collect();
        assert_eq!(
            releasable,
            vec![
                (0x5581a0000000, 76),
                (0x5581a0013000, 900),
                (0x7f0000000000, 700)
            ],
            "the relocated read-only data, the writable data, a library with a written page, \
             a data file and the stack stay"
        );
    }

    #[test]
    fn a_path_with_spaces_is_read_whole() {
        let text = "7f0000000000-7f0000001000 r-xp 00000000 fd:01 9 /opt/my app/libx.so\n\
                    Rss: 4 kB\n";
        let found = mappings(text);
        assert_eq!(found[0].file.as_deref(), Some("/opt/my app/libx.so"));
        assert!(found[0].releasable(None));
    }

    #[test]
    fn released_pages_come_back_on_the_next_touch() {
        // This test program's own code: after the release it still runs, and what it reads
        // of its read-only data is unchanged.
        let before: Vec<u8> = SMAPS.as_bytes().to_vec();
        let resident_file = || crate::telemetry::memory_figure(None, "RssFile").unwrap();
        let resident_before = resident_file();
        let released = release().expect("smaps is readable");
        let resident_after = resident_file();
        assert!(released > 0, "a running test program has resident code");
        assert!(
            resident_after < resident_before,
            "the file pages resident went from {resident_before} bytes to {resident_after}"
        );
        assert_eq!(SMAPS.as_bytes(), &before[..]);
        assert_eq!(mappings(SMAPS).len(), 8);
    }
}
