//! The SHA-256 of a library, kept beside the builds in the state directory so a start does
//! not read and hash every library again (the five of the benchmark are 4.6 MB, about 3 ms
//! of a start). A kept digest is used only for the very file it was taken of: the same
//! device, inode and size, and the same modification and status-change times to the
//! nanosecond. Writing a file changes its status-change time, which no user can set back
//! (only a change of the system clock can), so a library replaced or written in place is
//! hashed again. A digest is kept only for a file whose status last changed two seconds or
//! more before it was hashed: one written again within the filesystem's clock tick would
//! keep its times. The note must pass the checks a library passes (owned by the server's
//! user or root, writable by nobody else, in a directory held to the same rules): whoever
//! could forge it could as well replace the builds the state directory holds.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use super::builds::prepare_state_dir;
use super::file_checks::check_file;

/// How long a file's status must have been unchanged before its digest is kept.
const SETTLED: Duration = Duration::from_secs(2);

/// What identifies one file's content without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileStamp {
    device: u64,
    inode: u64,
    size: u64,
    modified: (i64, i64),
    changed: (i64, i64),
}

impl FileStamp {
    pub fn of(metadata: &fs::Metadata) -> FileStamp {
        FileStamp {
            device: metadata.dev(),
            inode: metadata.ino(),
            size: metadata.size(),
            modified: (metadata.mtime(), metadata.mtime_nsec()),
            changed: (metadata.ctime(), metadata.ctime_nsec()),
        }
    }

    fn line(&self, sha256: &str) -> String {
        format!(
            "v1 {} {} {} {}.{} {}.{} {sha256}\n",
            self.device,
            self.inode,
            self.size,
            self.modified.0,
            self.modified.1,
            self.changed.0,
            self.changed.1
        )
    }

    /// Whether the file's status last changed at least [`SETTLED`] before `now`.
    fn settled_at(&self, now: SystemTime) -> bool {
        let Ok(changed) = u64::try_from(self.changed.0) else {
            return false;
        };
        let changed = SystemTime::UNIX_EPOCH
            + Duration::from_secs(changed)
            + Duration::from_nanos(u64::try_from(self.changed.1).unwrap_or(0));
        now.duration_since(changed)
            .is_ok_and(|since| since >= SETTLED)
    }
}

/// Where the digest of the library named `file_name` is kept.
fn note_path(state_dir: &Path, file_name: &str) -> PathBuf {
    state_dir.join(format!(".{file_name}.sha256"))
}

/// The kept digest of the library `path`, when one was kept for the file `stamp` describes.
pub(crate) fn kept(state_dir: &Path, path: &Path, stamp: &FileStamp) -> Option<String> {
    let note = note_path(state_dir, path.file_name()?.to_str()?);
    // A note that is missing or fails a check is not used; the file is hashed instead.
    check_file(state_dir, &note).ok()?;
    let text = fs::read_to_string(&note).ok()?;
    let sha256 = text.strip_suffix('\n')?.rsplit(' ').next()?;
    let valid = sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit());
    (valid && text == stamp.line(sha256)).then(|| sha256.to_string())
}

/// Keeps the digest of the library `path`, taken of the file `stamp` describes at `now`,
/// when that file has settled. Keeping is an optimisation: a state directory that cannot be
/// made or written only means the next start hashes again, which is logged.
pub(crate) fn keep(
    state_dir: &Path,
    path: &Path,
    stamp: &FileStamp,
    sha256: &str,
    now: SystemTime,
) {
    if !stamp.settled_at(now) {
        return;
    }
    let Some(file_name) = path.file_name().and_then(|name| name.to_str()) else {
        return;
    };
    let written = prepare_state_dir(state_dir)
        .map_err(|error| format!("{error:?}"))
        .and_then(|state_dir: PathBuf| {
            let note = note_path(&state_dir, file_name);
            // Unique to this write: two applications of one process may keep the same
            // library's digest at once.
            static WRITES: AtomicU64 = AtomicU64::new(0);
            let partial = state_dir.join(format!(
                ".{file_name}.sha256.{}-{}",
                std::process::id(),
                WRITES.fetch_add(1, Ordering::Relaxed)
            ));
            let write = || -> std::io::Result<()> {
                let _ = fs::remove_file(&partial);
                let mut file: File = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o644)
                    .open(&partial)?;
                file.write_all(stamp.line(sha256).as_bytes())?;
                drop(file);
                fs::rename(&partial, &note)
            };
            write().map_err(|error| {
                let _ = fs::remove_file(&partial);
                format!("{}: {error}", note.display())
            })
        });
    if let Err(reason) = written {
        tracing::debug!(
            target: "beginnings::loader",
            library = %path.display(),
            %reason,
            "the library's digest was not kept; the next start hashes it again"
        );
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::PermissionsExt;
    use std::path::{Path, PathBuf};
    use std::time::{Duration, SystemTime};

    use super::{FileStamp, keep, kept, note_path};

    const DIGEST: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn later() -> SystemTime {
        SystemTime::now() + Duration::from_secs(10)
    }

    /// A library in a directory of its own, and where its state directory would be.
    fn library_and_state_dir() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let root = tempfile::tempdir().unwrap();
        fs::set_permissions(root.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let library = root.path().join("libm.so");
        fs::write(&library, b"a build").unwrap();
        let state = root.path().join("state");
        (root, library, state)
    }

    fn stamp(path: &Path) -> FileStamp {
        FileStamp::of(&fs::metadata(path).unwrap())
    }

    #[test]
    fn a_kept_digest_serves_only_the_file_it_was_taken_of() {
        let (_root, library, state) = library_and_state_dir();
        keep(&state, &library, &stamp(&library), DIGEST, later());
        assert_eq!(
            kept(&state, &library, &stamp(&library)).as_deref(),
            Some(DIGEST)
        );

        // Written again, same size, its modification time set back: only the status-change
        // time tells, and it does.
        let modified = fs::metadata(&library).unwrap().modified().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        fs::write(&library, b"another").unwrap();
        fs::File::options()
            .write(true)
            .open(&library)
            .unwrap()
            .set_modified(modified)
            .unwrap();
        assert_eq!(kept(&state, &library, &stamp(&library)), None);
    }

    #[test]
    fn a_digest_is_not_kept_for_a_file_just_written_nor_read_from_a_note_others_may_write() {
        let (_root, library, state) = library_and_state_dir();
        // Its status changed just now: the filesystem's clock could give the next write
        // the same times.
        keep(
            &state,
            &library,
            &stamp(&library),
            DIGEST,
            SystemTime::now(),
        );
        assert_eq!(kept(&state, &library, &stamp(&library)), None);

        keep(&state, &library, &stamp(&library), DIGEST, later());
        let note = note_path(&fs::canonicalize(&state).unwrap(), "libm.so");
        fs::set_permissions(&note, fs::Permissions::from_mode(0o666)).unwrap();
        assert_eq!(kept(&state, &library, &stamp(&library)), None);
    }
}
