//! Which build of each library this process opened. The dynamic linker keeps one copy of a
//! library per path (and per file) and `dlopen` of the same path returns that copy, while
//! libraries are never unloaded; so when the file has since been replaced, a load would
//! silently keep running the old code. The loader records what it opened and refuses a
//! file that no longer matches.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use parking_lot::Mutex;

use super::error::LoadErrorKind;
use super::library::{self, Judged, Library};

/// Process-wide because the linker's copies are: two `App`s in one process that name the
/// same file get the same code, whichever opened it first.
static OPENED: Mutex<Vec<Opened>> = Mutex::new(Vec::new());

/// A library as it was when this process opened it.
struct Opened {
    /// As passed to `dlopen`, which matches loaded libraries by this name first.
    path: PathBuf,
    stamp: Stamp,
    sha256: String,
    /// The root module it exported: a reload that names the library again reuses it
    /// instead of opening the file again (each open would keep a little memory for good).
    library: Library,
}

/// What changes whenever a file's content does: a file with the same stamp needs no second
/// hashing. The ctime cannot be set back by a user, unlike the mtime.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Stamp {
    device: u64,
    inode: u64,
    size: u64,
    modified: (i64, i64),
    changed: (i64, i64),
}

impl Stamp {
    fn of(metadata: &fs::Metadata) -> Stamp {
        Stamp {
            device: metadata.dev(),
            inode: metadata.ino(),
            size: metadata.size(),
            modified: (metadata.mtime(), metadata.mtime_nsec()),
            changed: (metadata.ctime(), metadata.ctime_nsec()),
        }
    }
}

/// Opens `path` with every check of [`library::open`], unless this process already opened a
/// different build under that path or of that file, and remembers what it opened.
pub(crate) fn open(path: &Path, judged: &Judged) -> Result<Library, LoadErrorKind> {
    let first = unchanged_since_opened(path, &judged.sha256)?;
    if first.is_none()
        && let Some(opened) = OPENED.lock().iter().find(|o| o.path == path)
    {
        // This build was opened under this name before, and the file still holds it.
        return Ok(opened.library);
    }
    let library = library::open(path, &judged.note)?;
    // Only a library that opened is remembered: one refused after `dlopen` may stay mapped,
    // but opening it again fails the same way rather than serving the old build.
    if let Some((stamp, sha256)) = first {
        OPENED.lock().push(Opened {
            path: path.to_path_buf(),
            stamp,
            sha256,
            library,
        });
    }
    Ok(library)
}

/// `Ok(Some(identity))` to remember when this process never opened `path` (hashed before
/// `dlopen` maps it); `Ok(None)` when it opened it before and it still holds that build, or
/// when it is no regular file (which [`library::open`] refuses); an error when it now holds
/// another build.
///
/// `sha256` is the digest of the file as [`library::judge`] just read it.
fn unchanged_since_opened(
    path: &Path,
    sha256: &str,
) -> Result<Option<(Stamp, String)>, LoadErrorKind> {
    let Ok(metadata) = fs::metadata(path) else {
        return Ok(None);
    };
    if !metadata.is_file() {
        // Reading a FIFO would block; the file checks refuse it anyway.
        return Ok(None);
    }
    let stamp = Stamp::of(&metadata);
    let mut opened = OPENED.lock();
    // The linker matches by name, then by device and inode: a file under another name that
    // is the one already open gets the open copy too. Its inode cannot have been reused,
    // since the copy keeps the file mapped.
    let known = opened.iter().position(|o| o.path == path).or_else(|| {
        opened
            .iter()
            .position(|o| (o.stamp.device, o.stamp.inode) == (stamp.device, stamp.inode))
    });
    let Some(index) = known else {
        drop(opened);
        return Ok(Some((stamp, sha256.to_string())));
    };
    if opened[index].stamp == stamp {
        return Ok(None);
    }
    let record = &mut opened[index];
    if sha256 != record.sha256 {
        return Err(LoadErrorKind::Changed {
            loaded: record.sha256.clone(),
            now: sha256.to_string(),
        });
    }
    // Touched or copied again unchanged: the next comparison need not hash.
    record.stamp = stamp;
    Ok(None)
}
