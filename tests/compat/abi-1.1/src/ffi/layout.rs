//! The ABI's layout as text: the frozen core as `abi_stable` checks it, and every versioned
//! table field by field. `abi/layout-1.0.txt` holds the committed copy; a test fails when the
//! two differ, so every change to the ABI shows in review next to the rules of `docs/abi.md`.

use super::{
    ABI_VERSION, AbiVersion, ExtensionModule, ExtensionObject, ExtensionVTable, FilterVTable,
    HostHandle, HostServices, MessageVTable, TableHeader, TypeInfo,
};

/// One line per field of a frozen `#[repr(C)]` struct: offset, size, name, type.
macro_rules! frozen_struct {
    ($text:ident, $name:ident { $($field:ident),+ $(,)? }) => {{
        $text.push_str(&format!(
            "{} ({} bytes, align {})\n",
            stringify!($name),
            std::mem::size_of::<$name>(),
            std::mem::align_of::<$name>()
        ));
        $(
            let (ty, size) = field_type(|value: &$name| &value.$field);
            $text.push_str(&format!(
                "  {:>4} {size:>3} {}: {ty}\n",
                std::mem::offset_of!($name, $field),
                stringify!($field)
            ));
        )+
        $text.push('\n');
    }};
}

fn field_type<S, F>(_field: fn(&S) -> &F) -> (String, usize) {
    // Paths shortened to the last segment of each name, so the text reads like the source.
    let full = std::any::type_name::<F>();
    let mut short = String::new();
    for (i, part) in full.split("::").enumerate() {
        if i > 0 && !short.ends_with(|c: char| !(c.is_alphanumeric() || c == '_')) {
            // Drop the module path written so far for this name.
            let cut = short
                .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
                .map_or(0, |at| at + 1);
            short.truncate(cut);
        }
        short.push_str(part);
    }
    (short, std::mem::size_of::<F>())
}

/// The layout of the ABI this crate defines.
pub fn describe() -> String {
    let mut text = format!("Beginnings extension ABI {ABI_VERSION}\n\n");
    text.push_str("== frozen core (also checked by abi_stable when a library is opened) ==\n");
    frozen_struct!(
        text,
        ExtensionModule {
            abi,
            min_host,
            sdk_version,
            panic_unwind,
            types,
            new_extension
        }
    );
    frozen_struct!(
        text,
        TypeInfo {
            name,
            description,
            config_summary
        }
    );
    frozen_struct!(text, AbiVersion { major, minor });
    frozen_struct!(text, HostHandle { ctx, services });
    frozen_struct!(text, ExtensionObject { this, vtable });
    text.push_str("\n== versioned tables (append-only; readers check the length) ==\n");
    text.push_str(&format!(
        "TableHeader ({} bytes): size: u32, version: AbiVersion\n",
        std::mem::size_of::<TableHeader>()
    ));
    for table in [
        HostServices::layout(),
        MessageVTable::layout(),
        ExtensionVTable::layout(),
        FilterVTable::layout(),
    ] {
        text.push('\n');
        text.push_str(&table);
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    /// Fails whenever the ABI's layout changes. After a deliberate change that follows the
    /// rules of `docs/abi.md` (append-only tables, frozen core), regenerate the file with
    /// `BEGINNINGS_UPDATE_LAYOUT=1 cargo test -p beginnings-abi layout` and commit it.
    #[test]
    fn the_abi_layout_matches_the_committed_snapshot() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/layout-1.0.txt");
        let current = super::describe();
        if std::env::var_os("BEGINNINGS_UPDATE_LAYOUT").is_some() {
            std::fs::write(path, &current).unwrap();
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        if committed != current {
            let first = committed
                .lines()
                .zip(current.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(committed.lines().count().min(current.lines().count()));
            panic!(
                "the ABI layout differs from {path} from line {} on:\n  committed: {:?}\n  now:       {:?}\n\
                 If the change is deliberate and follows docs/abi.md, regenerate the snapshot \
                 with BEGINNINGS_UPDATE_LAYOUT=1 and commit it.",
                first + 1,
                committed.lines().nth(first).unwrap_or("<end>"),
                current.lines().nth(first).unwrap_or("<end>"),
            );
        }
    }

    /// `build.rs` tells `abi_stable` the ABI major as this crate's version.
    #[test]
    fn abi_stable_sees_the_abi_major_as_the_package_version() {
        assert_eq!(
            env!("CARGO_PKG_VERSION"),
            format!("{}.0.0", super::ABI_VERSION.major)
        );
    }
}
