//! The checks made on a library file before it is opened: `dlopen` runs a library's
//! constructors, so whoever can write the file or its directory can run code in the server.
//! The file and its directory must be owned by the server's own user or by root, and
//! writable by nobody else.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use super::error::LoadErrorKind;

/// Group- or other-writable.
const WRITABLE_BY_OTHERS: u32 = 0o022;
/// The sticky bit: others may not delete or rename a file they do not own, but they may
/// still create one under a name not yet taken, such as the next library's.
const STICKY: u32 = 0o1000;

pub(crate) fn check_file(directory: &Path, path: &Path) -> Result<(), LoadErrorKind> {
    let unsafe_file = |reason: String| Err(LoadErrorKind::Unsafe { reason });
    let link = fs::symlink_metadata(path).map_err(|e| LoadErrorKind::Open {
        reason: e.to_string(),
    })?;
    let real_dir = fs::canonicalize(directory).map_err(|e| LoadErrorKind::Open {
        reason: format!("extensions directory {}: {e}", directory.display()),
    })?;
    let real_path = fs::canonicalize(path).map_err(|e| LoadErrorKind::Open {
        reason: e.to_string(),
    })?;
    if link.file_type().is_symlink() && real_path.parent() != Some(real_dir.as_path()) {
        return unsafe_file(format!(
            "it is a symlink to {}, outside the extensions directory {}; copy the library \
             into the directory instead",
            real_path.display(),
            real_dir.display()
        ));
    }
    let metadata = fs::metadata(&real_path).map_err(|e| LoadErrorKind::Open {
        reason: e.to_string(),
    })?;
    if !metadata.is_file() {
        return unsafe_file("it is not a regular file".into());
    }
    let server = rustix::process::geteuid().as_raw();
    if !trusted_owner(metadata.uid(), server) {
        return unsafe_file(format!(
            "it is owned by uid {}, but the server runs as uid {server} and loads only files \
             owned by itself or root; run `chown {server} {}`",
            metadata.uid(),
            path.display()
        ));
    }
    if metadata.permissions().mode() & WRITABLE_BY_OTHERS != 0 {
        return unsafe_file(format!(
            "it is writable by group or others (mode {:o}); run `chmod go-w {}`",
            metadata.permissions().mode() & 0o777,
            path.display()
        ));
    }
    check_directory(&real_dir, "its directory")
}

/// The checks on a directory libraries are opened from (the extensions directory, the
/// state directory): owned by the server's user or root, writable by nobody else, since
/// whoever can write it can replace a library. `real_dir` is already canonical; `what`
/// names it in the messages ("its directory", "the state directory").
pub(crate) fn check_directory(real_dir: &Path, what: &str) -> Result<(), LoadErrorKind> {
    let unsafe_file = |reason: String| Err(LoadErrorKind::Unsafe { reason });
    let server = rustix::process::geteuid().as_raw();
    let dir_metadata = fs::metadata(real_dir).map_err(|e| LoadErrorKind::Open {
        reason: format!("directory {}: {e}", real_dir.display()),
    })?;
    if !trusted_owner(dir_metadata.uid(), server) {
        return unsafe_file(format!(
            "{what} {} is owned by uid {}, but the server runs as uid {server} and \
             loads only from directories owned by itself or root (their owner could replace \
             the library); run `chown {server} {}`",
            real_dir.display(),
            dir_metadata.uid(),
            real_dir.display()
        ));
    }
    let dir_mode = dir_metadata.permissions().mode();
    if dir_mode & WRITABLE_BY_OTHERS != 0 {
        // `chmod go-w` on a shared sticky directory such as /tmp would break its other
        // users; the libraries belong somewhere of their own.
        let (risk, remedy) = if dir_mode & STICKY != 0 {
            (
                "plant a library there (the sticky bit only stops deleting one)",
                "move the libraries into a directory only the server's user can write".into(),
            )
        } else {
            (
                "replace it",
                format!("run `chmod go-w {}`", real_dir.display()),
            )
        };
        return unsafe_file(format!(
            "{what} {} is writable by group or others (mode {:o}), so anyone could \
             {risk}; {remedy}",
            real_dir.display(),
            dir_mode & 0o7777,
        ));
    }
    Ok(())
}

/// Only the server's own user and root may own what the server runs.
fn trusted_owner(owner: u32, server: u32) -> bool {
    owner == server || owner == 0
}
