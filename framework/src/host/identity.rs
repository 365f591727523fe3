//! Which builds of each library this process opened. The dynamic linker keeps one copy of a
//! library per path (and per file) and `dlopen` of the same path returns that copy, while
//! libraries are never unloaded. The first build of a library is opened from its own path;
//! a later build found under that path (its SHA-256 differs from every build opened there)
//! is copied to a content-addressed name in the state directory, judged again there and
//! opened beside the old ones, which keep serving whoever still uses them.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use parking_lot::Mutex;

use super::builds::copy_build;
use super::error::LoadErrorKind;
use super::library::{self, Judged, Library};

/// The builds this process keeps of one library, the first included: each stays mapped for
/// good, so a new one past this is refused until the server restarts.
pub(crate) const BUILDS_KEPT_PER_MODULE: usize = 8;

/// Process-wide because the linker's copies are: two `App`s in one process that name the
/// same file get the same code, whichever opened it first.
static OPENED: Mutex<Vec<Opened>> = Mutex::new(Vec::new());

/// A library name (`<extensions_dir>/lib<module>.so`) and the builds opened under it.
struct Opened {
    /// As passed to `dlopen`, which matches loaded libraries by this name first.
    path: PathBuf,
    /// In the order they were opened; the first was opened from `path` itself.
    builds: Vec<Build>,
}

/// One build of a library, mapped into the process.
struct Build {
    sha256: String,
    /// The device and inode of the file opened: the linker matches a library it already
    /// has by them too. The inode cannot be reused while the file stays mapped.
    file: (u64, u64),
    /// What was opened: the library's own path for a first build, a copy in the state
    /// directory for a later one.
    opened_from: PathBuf,
    /// The root module it exported, reused whenever a load names this build again (each
    /// open would keep a little memory for good); `None` when it was refused after it was
    /// mapped, and opening the same path again fails the same way.
    library: Option<Library>,
    /// When this process opened it.
    opened_at: SystemTime,
}

/// An opened build: its root module, its digest, the ABI it was built for and when this
/// process opened it (a build opened again keeps its first time).
pub(crate) struct Opening {
    pub library: Library,
    pub sha256: String,
    pub abi: String,
    pub opened_at: SystemTime,
}

/// Opens the library of `module` at `path`, which [`library::judge`] accepted as `judged`:
/// the build this process already opened under that name or of that file when its digest
/// matches one, else the file itself when nothing was opened under that name, else a copy
/// of it in `state_dir`, judged again there.
pub(crate) fn open(
    path: &Path,
    module: &str,
    judged: &Judged,
    state_dir: &Path,
) -> Result<Opening, LoadErrorKind> {
    let file = fs::metadata(path)
        .ok()
        .filter(fs::Metadata::is_file)
        .map(|metadata| (metadata.dev(), metadata.ino()));
    let opening = |library, opened_at| Opening {
        library,
        sha256: judged.sha256.clone(),
        abi: judged.note.abi.to_string(),
        opened_at,
    };
    // Held while a build is copied and opened: two reloads at once (of two applications)
    // must not open two builds under one name past the bound.
    let mut opened = OPENED.lock();
    let known = opened.iter().position(|o| o.path == path).or_else(|| {
        // A file under another name that is one already open gets the open copy too.
        file.and_then(|file| {
            opened
                .iter()
                .position(|o| o.builds.iter().any(|build| build.file == file))
        })
    });
    let Some(index) = known else {
        let library = library::open(path, &judged.note)?;
        let opened_at = SystemTime::now();
        // Only a library that opened is remembered: one refused after `dlopen` may stay
        // mapped, but opening it again fails the same way rather than serving another build.
        if let Some(file) = file {
            opened.push(Opened {
                path: path.to_path_buf(),
                builds: vec![Build {
                    sha256: judged.sha256.clone(),
                    file,
                    opened_from: path.to_path_buf(),
                    library: Some(library),
                    opened_at,
                }],
            });
        }
        return Ok(opening(library, opened_at));
    };
    let record = &mut opened[index];
    if let Some(build) = record.builds.iter().find(|b| b.sha256 == judged.sha256) {
        let opened_at = build.opened_at;
        return match build.library {
            Some(library) => Ok(opening(library, opened_at)),
            None => library::open(&build.opened_from, &judged.note)
                .map(|library| opening(library, opened_at)),
        };
    }
    if record.builds.len() >= BUILDS_KEPT_PER_MODULE {
        return Err(LoadErrorKind::TooManyBuilds {
            module: module.to_string(),
            kept: record.builds.len(),
        });
    }
    let copy = copy_build(path, state_dir, module, &judged.sha256)?;
    // The copy is what runs: it is judged as the original was, and must be the build that
    // was judged (the original may have been replaced again meanwhile).
    let copied = library::judge(state_dir, &copy, None)?;
    if copied.sha256 != judged.sha256 {
        return Err(LoadErrorKind::Changed {
            judged: judged.sha256.clone(),
            copied: copied.sha256,
        });
    }
    let file = fs::metadata(&copy)
        .map(|metadata| (metadata.dev(), metadata.ino()))
        .map_err(|e| LoadErrorKind::Open {
            reason: format!("{}: {e}", copy.display()),
        })?;
    let library = library::open(&copy, &copied.note);
    let opened_at = SystemTime::now();
    record.builds.push(Build {
        sha256: copied.sha256,
        file,
        opened_from: copy.clone(),
        library: library.as_ref().ok().copied(),
        opened_at,
    });
    tracing::info!(
        target: "beginnings::loader",
        module,
        copy = %copy.display(),
        builds = record.builds.len(),
        "new build of a loaded library opened beside the old one"
    );
    library.map(|library| opening(library, opened_at))
}
