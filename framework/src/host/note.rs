//! Judging a library from its file alone: its ABI note (written by `export_extension!`) is
//! read without opening the library, so a refused file never runs a constructor.

use beginnings_abi::ffi::{ABI_VERSION, note};
use object::{Object, ObjectSection};

pub use beginnings_abi::ffi::note::AbiNote;

use super::error::LoadErrorKind;

/// Reads the ABI note from a library file and checks it against this host. Only the parts
/// of the file the ELF headers point to are read, not the whole library.
pub(crate) fn judge(file: &std::fs::File) -> Result<AbiNote, LoadErrorKind> {
    let note = read(&object::ReadCache::new(file))?;
    verdict(&note)?;
    Ok(note)
}

/// The note in a library file; nothing of the file is executed.
fn read<'d, R: object::ReadRef<'d>>(data: R) -> Result<AbiNote, LoadErrorKind> {
    let file = object::File::parse(data).map_err(|e| LoadErrorKind::Open {
        reason: format!("not a shared library this host can read ({e})"),
    })?;
    if file.format() != object::BinaryFormat::Elf || !file.is_little_endian() {
        return Err(LoadErrorKind::Open {
            reason: "not a little-endian ELF shared library".into(),
        });
    }
    let section = file
        .section_by_name(note::SECTION)
        .ok_or(LoadErrorKind::NotAnExtension)?;
    let data = section.data().map_err(|e| LoadErrorKind::Open {
        reason: format!("its {} section cannot be read ({e})", note::SECTION),
    })?;
    match note::parse_section(data) {
        Ok(Some(note)) => Ok(note),
        Ok(None) => Err(LoadErrorKind::NotAnExtension),
        Err(problem) => Err(LoadErrorKind::Incompatible { reason: problem }),
    }
}

/// Whether this host serves a library with this note: same major, and a host minor at
/// least the one the library declares it needs.
pub(crate) fn verdict(note: &AbiNote) -> Result<(), LoadErrorKind> {
    if note.abi.major != ABI_VERSION.major || note.min_host.major != ABI_VERSION.major {
        return Err(LoadErrorKind::AbiMajor {
            built: note.abi,
            host: ABI_VERSION,
        });
    }
    if note.min_host.minor > ABI_VERSION.minor {
        return Err(LoadErrorKind::HostTooOld {
            built: note.abi,
            needs: note.min_host,
            host: ABI_VERSION,
        });
    }
    if !note.panic_unwind {
        return Err(LoadErrorKind::PanicAbort);
    }
    Ok(())
}
