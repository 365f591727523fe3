//! The ABI's layout as text: the frozen core as `abi_stable` checks it, and every versioned
//! table field by field. `abi/layout-<major>.<minor>.txt` holds the committed copy of the
//! current version; a test fails when the two differ, so every change to the ABI shows in
//! review next to the rules of `docs/abi.md`. The snapshots of earlier minors stay committed
//! as they were released, and a test checks that every field they list is still where it was.

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
        let path = format!(
            "{}/layout-{}.txt",
            env!("CARGO_MANIFEST_DIR"),
            super::ABI_VERSION
        );
        let current = super::describe();
        if std::env::var_os("BEGINNINGS_UPDATE_LAYOUT").is_some() {
            std::fs::write(&path, &current).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
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

    /// Every field of every earlier minor's snapshot is still at its offset, with its size,
    /// name and type, in its table or frozen struct: tables only grow at their end.
    #[test]
    fn every_field_of_an_earlier_minor_is_still_where_it_was() {
        let current = super::describe();
        let sections = |text: &str| {
            let mut sections: Vec<(String, Vec<String>)> = Vec::new();
            for line in text.lines() {
                if line.starts_with("  ") {
                    if let Some((_, fields)) = sections.last_mut() {
                        fields.push(line.to_string());
                    }
                } else if !line.is_empty() {
                    // `ExtensionVTable (64 bytes)`: the name, without a size that may grow.
                    let name = line.split(" (").next().unwrap_or(line).to_string();
                    sections.push((name, Vec::new()));
                }
            }
            sections
        };
        let now = sections(&current);
        let mut checked = 0;
        for minor in 0..super::ABI_VERSION.minor {
            let path = format!(
                "{}/layout-{}.{minor}.txt",
                env!("CARGO_MANIFEST_DIR"),
                super::ABI_VERSION.major
            );
            let earlier = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{path}: {e} (released snapshots stay committed)"));
            // Headings (`== frozen core ==`, the version line) hold no fields.
            for (name, fields) in sections(&earlier)
                .into_iter()
                .filter(|(_, f)| !f.is_empty())
            {
                let Some((_, fields_now)) = now.iter().find(|(n, _)| *n == name) else {
                    panic!("{path}: `{name}` is gone from the current layout");
                };
                for (index, field) in fields.iter().enumerate() {
                    assert_eq!(
                        fields_now.get(index),
                        Some(field),
                        "{path}: `{name}` changed a field an older library relies on"
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 0 || super::ABI_VERSION.minor == 0);
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
