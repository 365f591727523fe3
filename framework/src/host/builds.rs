//! A new build of a library this process already opened is copied to a name of its own in
//! the state directory before it is opened: `dlopen` of the old name would return the build
//! it already has. The name is content-addressed (`<module>-<sha256>.so`), so one name
//! always holds one build. The copy is written under a temporary name, synced and renamed,
//! so a crash never leaves part of a library under a name that is opened.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::error::LoadErrorKind;
use super::file_checks::check_directory;

/// Copies the library at `source` (whose judged digest is `sha256`) into `state_dir`,
/// creating the directory when it is missing, and returns the copy's path. The copy is not
/// trusted for being ours: it is judged again before it is opened.
pub(crate) fn copy_build(
    source: &Path,
    state_dir: &Path,
    module: &str,
    sha256: &str,
) -> Result<PathBuf, LoadErrorKind> {
    let state_dir = prepare_state_dir(state_dir)?;
    let failed = |what: &str, path: &Path, error: io::Error| LoadErrorKind::StateDir {
        directory: state_dir.clone(),
        reason: format!("{what} {}: {error}", path.display()),
    };
    let copy = state_dir.join(format!("{module}-{sha256}.so"));
    let partial = state_dir.join(format!(
        ".{module}-{sha256}.so.partial-{}",
        std::process::id()
    ));
    // Left by this process id before a crash: only the server's user can write here.
    match fs::remove_file(&partial) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => {
            return Err(failed("removing", &partial, error));
        }
        _ => {}
    }
    let mut input = File::open(source).map_err(|e| failed("reading", source, e))?;
    let mut output = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o755)
        .open(&partial)
        .map_err(|e| failed("creating", &partial, e))?;
    let written = io::copy(&mut input, &mut output).and_then(|_| output.sync_all());
    drop(output);
    if let Err(error) = written.and_then(|()| fs::rename(&partial, &copy)) {
        let _ = fs::remove_file(&partial);
        return Err(failed("writing", &copy, error));
    }
    // The rename is durable once the directory is synced.
    File::open(&state_dir)
        .and_then(|directory| directory.sync_all())
        .map_err(|e| failed("syncing", &state_dir, e))?;
    Ok(copy)
}

/// Creates the state directory (and its parents) when it is missing, readable by all and
/// writable by the server's user only, and holds it to the extensions directory's rules:
/// whoever can write it can replace the builds the server opens. Returns it canonical.
pub(crate) fn prepare_state_dir(state_dir: &Path) -> Result<PathBuf, LoadErrorKind> {
    let failed = |error: io::Error| LoadErrorKind::StateDir {
        directory: state_dir.to_path_buf(),
        reason: error.to_string(),
    };
    DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(state_dir)
        .map_err(failed)?;
    let real = fs::canonicalize(state_dir).map_err(failed)?;
    check_directory(&real, "the state directory")?;
    Ok(real)
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    use super::copy_build;
    use crate::host::LoadErrorKind;

    #[test]
    fn a_build_is_copied_under_its_digest_into_a_state_directory_made_for_it() {
        let root = tempfile::tempdir().unwrap();
        fs::set_permissions(root.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let source = root.path().join("libm.so");
        fs::write(&source, b"a build").unwrap();
        let state = root.path().join("var/state");
        let copy = copy_build(&source, &state, "m", "ab12").unwrap();
        assert_eq!(copy, fs::canonicalize(&state).unwrap().join("m-ab12.so"));
        assert_eq!(fs::read(&copy).unwrap(), b"a build");
        for path in [&state, &copy] {
            let mode = fs::metadata(path).unwrap().permissions().mode();
            assert_eq!(mode & 0o022, 0, "{} mode {mode:o}", path.display());
        }
        // The temporary name is gone; copying the same build again replaces the copy.
        let names = || -> Vec<_> {
            fs::read_dir(&state)
                .unwrap()
                .flatten()
                .map(|e| e.file_name())
                .collect()
        };
        assert_eq!(names(), ["m-ab12.so"]);
        assert_eq!(copy_build(&source, &state, "m", "ab12").unwrap(), copy);
        assert_eq!(names(), ["m-ab12.so"]);
    }

    #[test]
    fn a_state_directory_others_may_write_is_refused_before_anything_is_copied() {
        let root = tempfile::tempdir().unwrap();
        let source = root.path().join("libm.so");
        fs::write(&source, b"a build").unwrap();
        let state = root.path().join("state");
        fs::create_dir(&state).unwrap();
        fs::set_permissions(&state, fs::Permissions::from_mode(0o775)).unwrap();
        let Err(LoadErrorKind::Unsafe { reason }) = copy_build(&source, &state, "m", "ab12") else {
            panic!("a group-writable state directory was used")
        };
        assert!(
            reason.starts_with("the state directory ")
                && reason.contains("is writable by group or others (mode 775)"),
            "{reason}"
        );
        assert_eq!(fs::read_dir(&state).unwrap().count(), 0);
    }
}
