//! The checks made on a library file before it is opened: `dlopen` runs a library's
//! constructors, so whoever can write the file or its directory can run code in the server.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::error::LoadErrorKind;

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
    if metadata.permissions().mode() & 0o022 != 0 {
        return unsafe_file(format!(
            "it is writable by group or others (mode {:o}); run `chmod go-w {}`",
            metadata.permissions().mode() & 0o777,
            path.display()
        ));
    }
    let dir_mode = fs::metadata(&real_dir)
        .map(|m| m.permissions().mode())
        .unwrap_or(0);
    if dir_mode & 0o022 != 0 && dir_mode & 0o1000 == 0 {
        return unsafe_file(format!(
            "its directory {} is writable by group or others (mode {:o}), so anyone could \
             replace it; run `chmod go-w {}`",
            real_dir.display(),
            dir_mode & 0o777,
            real_dir.display()
        ));
    }
    Ok(())
}
