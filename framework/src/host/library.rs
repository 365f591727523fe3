//! Opening one extension library: the file checks and the ABI note (read from the file)
//! decide before `dlopen`, since a library's constructors run as soon as it is opened; then
//! `abi_stable` checks the layout of the frozen core, and the root module must say what the
//! note said.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use abi_stable::library::{LibraryError, lib_header_from_path};
use beginnings_abi::ffi::ExtensionModule_Ref;

use super::digests;
use super::error::LoadErrorKind;
use super::file_checks::check_file;
use super::note::{self, AbiNote};

/// A library that passed every check. Never unloaded.
#[derive(Clone, Copy)]
pub(crate) struct Library {
    pub module: ExtensionModule_Ref,
}

/// Where the library of `module` lives: `<dir>/lib<module>.so`.
pub(crate) fn library_path(directory: &Path, module: &str) -> PathBuf {
    directory.join(format!("lib{module}.so"))
}

/// What is known of a library file before any of it runs, read from it once.
#[derive(Debug, Clone)]
pub(crate) struct Judged {
    pub note: AbiNote,
    /// The file's SHA-256 in lowercase hex, as the `sha256` key writes it.
    pub sha256: String,
}

/// Everything decided about a library without running any of it: the file may be loaded
/// and its note says this host serves it. The file is opened once, after its checks (so a
/// FIFO planted under the name is refused, never read), for the note and the digest. It is
/// read in pieces, never held whole: a library of megabytes would otherwise add as much to
/// the server's peak memory at every start and reload. With a `state_dir`, the digest kept
/// there for this very file is used instead of reading the file again (`digests`).
pub(crate) fn judge(
    directory: &Path,
    path: &Path,
    state_dir: Option<&Path>,
) -> Result<Judged, LoadErrorKind> {
    check_file(directory, path)?;
    let unreadable = |e: std::io::Error| LoadErrorKind::Open {
        reason: e.to_string(),
    };
    let mut file = fs::File::open(path).map_err(unreadable)?;
    let note = note::judge(&file)?;
    let Some(state_dir) = state_dir else {
        return Ok(Judged {
            note,
            sha256: sha256_hex(&mut file).map_err(unreadable)?,
        });
    };
    // The stamp of the file opened, not of whatever the name points to by now.
    let stamp = digests::FileStamp::of(&file.metadata().map_err(unreadable)?);
    let sha256 = match digests::kept(state_dir, path, &stamp) {
        Some(sha256) => sha256,
        None => {
            let sha256 = sha256_hex(&mut file).map_err(unreadable)?;
            digests::keep(state_dir, path, &stamp, &sha256, SystemTime::now());
            sha256
        }
    };
    Ok(Judged { note, sha256 })
}

/// Opens a library that [`judge`] accepted.
pub(crate) fn open(path: &Path, judged: &AbiNote) -> Result<Library, LoadErrorKind> {
    let header = lib_header_from_path(path).map_err(classify)?;
    let module = header
        .init_root_module::<ExtensionModule_Ref>()
        .map_err(classify)?;
    // The note is what was judged; a root module that says otherwise was not built by
    // `export_extension!` and is not trusted.
    if module.abi() != judged.abi || module.min_host() != judged.min_host {
        return Err(LoadErrorKind::Incompatible {
            reason: format!(
                "its root module says ABI {} (host {} or newer) but its note says {} (host {} \
                 or newer)",
                module.abi(),
                module.min_host(),
                judged.abi,
                judged.min_host
            ),
        });
    }
    if !module.panic_unwind() {
        return Err(LoadErrorKind::PanicAbort);
    }
    Ok(Library { module })
}

/// Lists the extension libraries a directory holds, for the "not found" message.
pub(crate) fn list_libraries(directory: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(directory) else {
        return vec![format!("nothing: {} cannot be read", directory.display())];
    };
    let mut names: Vec<String> = entries
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("lib") && name.ends_with(".so"))
        .collect();
    names.sort();
    names
}

/// Compares a judged file's SHA-256 with the one the configuration pins.
pub(crate) fn check_sha256(judged: &Judged, expected: &str) -> Result<(), LoadErrorKind> {
    let actual = &judged.sha256;
    if actual == expected {
        Ok(())
    } else {
        Err(LoadErrorKind::Unsafe {
            reason: format!(
                "its SHA-256 is {actual} but the configuration pins {expected}; rebuild or \
                 update the sha256 key"
            ),
        })
    }
}

/// The SHA-256 of the whole file, read from its start in pieces of 64 KiB: the 8 KiB of
/// `io::copy` made a library of megabytes hundreds of reads, most of a millisecond at every
/// start for the five of the benchmark.
fn sha256_hex(file: &mut fs::File) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    use std::io::{Read, Seek};
    file.rewind()?;
    let mut hasher = Sha256::new();
    let mut piece = vec![0u8; 64 * 1024];
    loop {
        match file.read(&mut piece) {
            Ok(0) => break,
            Ok(read) => hasher.update(&piece[..read]),
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect())
}

fn classify(error: LibraryError) -> LoadErrorKind {
    match error {
        LibraryError::OpenError { err, .. } => LoadErrorKind::Open {
            reason: err.to_string(),
        },
        LibraryError::GetSymbolError { .. } => LoadErrorKind::NotAnExtension,
        LibraryError::InvalidAbiHeader(_) | LibraryError::InvalidCAbi { .. } => {
            LoadErrorKind::Incompatible {
                reason: "a different abi_stable version".into(),
            }
        }
        LibraryError::IncompatibleVersionNumber {
            expected_version,
            actual_version,
            ..
        } => LoadErrorKind::Incompatible {
            reason: format!("interface {actual_version}, this host speaks {expected_version}"),
        },
        LibraryError::ParseVersionError(e) => LoadErrorKind::Incompatible {
            reason: e.to_string(),
        },
        LibraryError::AbiInstability(report) => {
            let report = report.to_string();
            tracing::debug!(target: "beginnings::loader", "layout report:\n{report}");
            LoadErrorKind::LayoutMismatch {
                summary: summarize_layout_report(&report),
            }
        }
        LibraryError::RootModule { err, .. } => LoadErrorKind::InitFailed {
            reason: err.to_string().trim().replace('\n', " "),
        },
        LibraryError::Many(errors) => {
            errors
                .into_iter()
                .next()
                .map(classify)
                .unwrap_or(LoadErrorKind::InitFailed {
                    reason: "unknown error".into(),
                })
        }
    }
}

/// The `abi_stable` layout report runs to hundreds of lines; each `Error:` block in it says
/// what differs, with an `Expected:` and a `Found:` section. The first two become one line:
/// `unexpected field: expected `sdk_version: RStr<'a>`, found `inserted: u32``.
fn summarize_layout_report(report: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut lines = report.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(what) = line.trim().strip_prefix("Error:") else {
            continue;
        };
        let mut expected = Vec::new();
        let mut found = Vec::new();
        let mut section: Option<&mut Vec<String>> = None;
        while let Some(next) = lines.peek() {
            let trimmed = next.trim();
            if trimmed.is_empty() || trimmed.starts_with("Error:") {
                break;
            }
            match trimmed {
                "Expected:" => section = Some(&mut expected),
                "Found:" => section = Some(&mut found),
                detail => {
                    if let Some(section) = section.as_mut() {
                        section.push(detail.to_string());
                    }
                }
            }
            lines.next();
        }
        let part = format!(
            "{}: expected `{}`, found `{}`",
            what.trim(),
            describe(&expected),
            describe(&found)
        );
        if !parts.contains(&part) {
            parts.push(part);
        }
    }
    if parts.is_empty() {
        "layout differs".into()
    } else {
        parts.truncate(2);
        parts.join("; ")
    }
}

/// A field as `name: type`, anything else as its first line.
fn describe(section: &[String]) -> String {
    let field = |key: &str| {
        section
            .iter()
            .find_map(|line| line.strip_prefix(key).map(str::trim))
    };
    match (field("field_name:"), field("type:")) {
        (Some(name), Some(ty)) => format!("{name}: {ty}"),
        (None, Some(ty)) => ty.to_string(),
        _ => section.first().cloned().unwrap_or_default(),
    }
}
