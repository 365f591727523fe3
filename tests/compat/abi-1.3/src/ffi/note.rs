//! The ABI note: what a library says about itself in data the host reads from the file
//! *before* opening it (opening a library runs its constructors).
//!
//! `export_extension!` puts an ELF note in the section [`SECTION`] (readable with
//! `readelf -n`): owner [`OWNER`], type [`NOTE_TYPE`], and a description laid out as
//!
//! ```text
//! u16 format (1) | u16 abi major | u16 abi minor | u16 min host major | u16 min host minor
//! u8 panic_unwind | u8 0 | u32 type count | per type: name NUL description NUL summary NUL
//! ```
//!
//! all integers little-endian. The layout of the note is itself frozen; a new format gets a
//! new `format` number.

use super::AbiVersion;

/// The section that holds the note.
pub const SECTION: &str = ".note.beginnings";
/// The note's owner name (without its NUL).
pub const OWNER: &str = "Beginnings";
/// The note type of the ABI description.
pub const NOTE_TYPE: u32 = 1;
/// The version of the description's layout.
pub const FORMAT: u16 = 1;

const FIXED: usize = 2 * 5 + 2 + 4;
const OWNER_FIELD: usize = pad4(OWNER.len() + 1);

const fn pad4(n: usize) -> usize {
    (n + 3) & !3
}

/// The bytes of the description for these types (`[name, description, summary]` each).
pub const fn description_len(strings: &[&str]) -> usize {
    let mut total = FIXED;
    let mut i = 0;
    while i < strings.len() {
        total += strings[i].len() + 1;
        i += 1;
    }
    total
}

/// The length of the whole note (header, owner, description, padding).
pub const fn note_len(strings: &[&str]) -> usize {
    12 + OWNER_FIELD + pad4(description_len(strings))
}

/// A note, aligned as ELF notes must be.
#[repr(C, align(4))]
#[derive(Debug)]
pub struct Note<const N: usize>(pub [u8; N]);

const fn put(bytes: &mut [u8], at: usize, value: &[u8]) -> usize {
    let mut i = 0;
    while i < value.len() {
        bytes[at + i] = value[i];
        i += 1;
    }
    at + value.len()
}

/// Builds the note of a library built for `abi`, accepting hosts from `min_host` on.
/// `strings` holds three strings per exported type: name, description, config summary.
pub const fn build<const N: usize>(
    abi: AbiVersion,
    min_host: AbiVersion,
    panic_unwind: bool,
    strings: &[&str],
) -> Note<N> {
    assert!(N == note_len(strings), "note length");
    assert!(strings.len().is_multiple_of(3), "three strings per type");
    let mut bytes = [0u8; N];
    let description = description_len(strings);
    let mut at = put(&mut bytes, 0, &((OWNER.len() + 1) as u32).to_le_bytes());
    at = put(&mut bytes, at, &(description as u32).to_le_bytes());
    at = put(&mut bytes, at, &NOTE_TYPE.to_le_bytes());
    put(&mut bytes, at, OWNER.as_bytes());
    at = 12 + OWNER_FIELD;
    at = put(&mut bytes, at, &FORMAT.to_le_bytes());
    at = put(&mut bytes, at, &abi.major.to_le_bytes());
    at = put(&mut bytes, at, &abi.minor.to_le_bytes());
    at = put(&mut bytes, at, &min_host.major.to_le_bytes());
    at = put(&mut bytes, at, &min_host.minor.to_le_bytes());
    at = put(&mut bytes, at, &[panic_unwind as u8, 0]);
    at = put(&mut bytes, at, &((strings.len() / 3) as u32).to_le_bytes());
    let mut i = 0;
    while i < strings.len() {
        at = put(&mut bytes, at, strings[i].as_bytes()) + 1;
        i += 1;
    }
    Note(bytes)
}

/// One exported type as the note describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteType {
    pub name: String,
    pub description: String,
    pub config_summary: String,
}

/// What a library's note says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbiNote {
    pub abi: AbiVersion,
    pub min_host: AbiVersion,
    pub panic_unwind: bool,
    pub types: Vec<NoteType>,
}

/// Reads the notes of a note section and returns the Beginnings description, if any.
/// `Err` says what is malformed.
pub fn parse_section(section: &[u8]) -> Result<Option<AbiNote>, String> {
    let mut rest = section;
    while rest.len() >= 12 {
        let word =
            |at: usize| u32::from_le_bytes([rest[at], rest[at + 1], rest[at + 2], rest[at + 3]]);
        let (name_len, desc_len, kind) = (word(0) as usize, word(4) as usize, word(8));
        let name_end = 12 + pad4(name_len);
        let desc_end = name_end + pad4(desc_len);
        if desc_end > rest.len() || name_end + desc_len > rest.len() {
            return Err("a note runs past the end of its section".into());
        }
        let name = &rest[12..12 + name_len];
        if kind == NOTE_TYPE && name.strip_suffix(&[0]) == Some(OWNER.as_bytes()) {
            return parse_description(&rest[name_end..name_end + desc_len]).map(Some);
        }
        rest = &rest[desc_end..];
    }
    Ok(None)
}

fn parse_description(desc: &[u8]) -> Result<AbiNote, String> {
    if desc.len() < FIXED {
        return Err(format!("the ABI note is {} bytes, too short", desc.len()));
    }
    let half = |at: usize| u16::from_le_bytes([desc[at], desc[at + 1]]);
    let format = half(0);
    if format != FORMAT {
        return Err(format!(
            "the ABI note has format {format}, this host reads format {FORMAT}"
        ));
    }
    let abi = AbiVersion::new(half(2), half(4));
    let min_host = AbiVersion::new(half(6), half(8));
    let panic_unwind = desc[10] == 1;
    let count = u32::from_le_bytes([desc[12], desc[13], desc[14], desc[15]]) as usize;
    let mut strings = desc[FIXED..].split(|byte| *byte == 0);
    let mut next = || -> Result<String, String> {
        let bytes = strings
            .next()
            .ok_or_else(|| "the ABI note's type list is cut short".to_string())?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| "the ABI note holds a name that is not UTF-8".to_string())
    };
    let mut types = Vec::with_capacity(count.min(256));
    for _ in 0..count {
        types.push(NoteType {
            name: next()?,
            description: next()?,
            config_summary: next()?,
        });
    }
    Ok(AbiNote {
        abi,
        min_host,
        panic_unwind,
        types,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_built_note_reads_back() {
        const STRINGS: &[&str] = &[
            "CorsExtension",
            "CORS",
            "allow_origins: [string]",
            "B",
            "",
            "",
        ];
        const LEN: usize = note_len(STRINGS);
        static NOTE: Note<LEN> = build(AbiVersion::new(1, 2), AbiVersion::new(1, 1), true, STRINGS);
        let note = parse_section(&NOTE.0).unwrap().unwrap();
        assert_eq!(note.abi, AbiVersion::new(1, 2));
        assert_eq!(note.min_host, AbiVersion::new(1, 1));
        assert!(note.panic_unwind);
        assert_eq!(note.types.len(), 2);
        assert_eq!(note.types[0].name, "CorsExtension");
        assert_eq!(note.types[0].config_summary, "allow_origins: [string]");
        assert_eq!(note.types[1].name, "B");
    }

    #[test]
    fn a_truncated_note_is_an_error_not_a_panic() {
        const STRINGS: &[&str] = &["A", "", ""];
        const LEN: usize = note_len(STRINGS);
        static NOTE: Note<LEN> = build(AbiVersion::new(1, 0), AbiVersion::new(1, 0), true, STRINGS);
        for cut in 0..LEN {
            let _ = parse_section(&NOTE.0[..cut]);
        }
        assert!(parse_section(&NOTE.0[..LEN - 4]).is_err());
    }
}
