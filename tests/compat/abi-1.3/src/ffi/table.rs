//! Versioned function tables: how the parts of the ABI that may grow do so without
//! `abi_stable`'s layout rules deciding who may load whom.
//!
//! Every table starts with a [`TableHeader`] that says how many bytes its builder filled in.
//! Fields are only ever appended. A reader that knows a newer field asks whether the table it
//! was handed is long enough before it reads it, so a newer extension on an older host (or
//! an older extension's filter on a newer host) sees "unsupported", never garbage or a panic.
//! Fields of the 1.0 core are present in every table of major 1 and are read directly.

/// The version of the extension ABI, independent of any crate or product version.
#[repr(C)]
#[derive(abi_stable::StableAbi, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AbiVersion {
    /// Changes only when libraries built for the previous major can no longer be served.
    pub major: u16,
    /// Grows by one with every release of the ABI that appends to a table.
    pub minor: u16,
}

impl AbiVersion {
    pub const fn new(major: u16, minor: u16) -> Self {
        AbiVersion { major, minor }
    }
}

impl std::fmt::Display for AbiVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// The first field of every versioned table.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TableHeader {
    /// The size in bytes of the table as its builder laid it out: the fields past it are
    /// absent, whatever the reader's own definition of the table says.
    pub size: u32,
    /// The ABI version the builder of the table was compiled against.
    pub version: AbiVersion,
}

impl TableHeader {
    /// The header of a table of type `T`, built by this crate's version of the ABI.
    pub const fn of<T>() -> Self {
        TableHeader {
            size: std::mem::size_of::<T>() as u32,
            version: super::ABI_VERSION,
        }
    }
}

/// Declares a versioned table and a copyable pointer type that reads it.
///
/// Core fields get accessors that read them directly; fields listed under `appended` (a
/// later minor version) get accessors returning `None` when the table in hand is too short.
macro_rules! versioned_table {
    (
        $(#[$meta:meta])*
        pub struct $name:ident, read through $reader:ident {
            $( $(#[$fmeta:meta])* pub $field:ident : $fty:ty, )*
        }
        $( appended {
            $( $(#[$ameta:meta])* pub $afield:ident : $afty:ty, )*
        } )?
    ) => {
        $(#[$meta])*
        #[repr(C)]
        pub struct $name {
            pub table_header: $crate::ffi::TableHeader,
            $( $(#[$fmeta])* pub $field: $fty, )*
            $($( $(#[$ameta])* pub $afield: $afty, )*)?
        }

        impl $name {
            /// The table as laid out by this build, one line per field (offset, size, name,
            /// type as written); `abi/layout-1.0.txt` keeps it under review.
            pub fn layout() -> String {
                let mut lines = vec![format!(
                    "{} ({} bytes)",
                    stringify!($name),
                    std::mem::size_of::<$name>()
                )];
                let mut field = |name: &str, offset: usize, size: usize, ty: &str, since: &str| {
                    let ty = ty.split_whitespace().collect::<Vec<_>>().join(" ");
                    lines.push(format!("  {offset:>4} {size:>3} {name}: {ty}{since}"));
                };
                field(
                    "table_header",
                    0,
                    std::mem::size_of::<$crate::ffi::TableHeader>(),
                    "TableHeader",
                    "",
                );
                $( field(
                    stringify!($field),
                    std::mem::offset_of!($name, $field),
                    std::mem::size_of::<$fty>(),
                    stringify!($fty),
                    "",
                ); )*
                $($( field(
                    stringify!($afield),
                    std::mem::offset_of!($name, $afield),
                    std::mem::size_of::<$afty>(),
                    stringify!($afty),
                    " (appended)",
                ); )*)?
                lines.join("\n")
            }
        }

        #[doc = concat!("A pointer to a [`", stringify!($name), "`] of any length of the same major version.")]
        #[repr(transparent)]
        #[derive(Clone, Copy)]
        pub struct $reader(*const $name);

        // SAFETY: the tables are immutable once built and live for the rest of the process
        // (libraries are never unloaded; the host's tables are statics).
        unsafe impl Send for $reader {}
        // SAFETY: as above.
        unsafe impl Sync for $reader {}

        impl std::fmt::Debug for $reader {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($reader))
                    .field("version", &self.table_header().version)
                    .field("size", &self.table_header().size)
                    .finish()
            }
        }

        #[allow(dead_code)]
        impl $reader {
            /// A reader of a table this build laid out itself.
            pub const fn of(table: &'static $name) -> Self {
                $reader(table)
            }

            /// A reader of a table handed over by the other side.
            ///
            /// # Safety
            /// `table` points to a table of this type that lives for the rest of the process,
            /// whose header is truthful and which holds at least the core fields.
            pub const unsafe fn from_raw(table: *const $name) -> Self {
                $reader(table)
            }

            pub const fn as_ptr(self) -> *const $name {
                self.0
            }

            pub fn table_header(self) -> $crate::ffi::TableHeader {
                // SAFETY: every table starts with its header (`from_raw`'s contract).
                unsafe { (*self.0).table_header }
            }

            /// Whether the table is long enough to hold the field at `offset` of `len` bytes.
            pub fn holds(self, offset: usize, len: usize) -> bool {
                offset + len <= self.table_header().size as usize
            }

            /// Whether the table holds at least the fields of the 1.0 core.
            pub fn holds_core(self) -> bool {
                let core_end = [$( std::mem::offset_of!($name, $field) + std::mem::size_of::<$fty>(), )*]
                    .into_iter()
                    .max()
                    .unwrap_or(std::mem::size_of::<$crate::ffi::TableHeader>());
                self.holds(0, core_end)
            }

            $(
                $(#[$fmeta])*
                pub fn $field(self) -> $fty {
                    // SAFETY: a core field, present in every table of this major version;
                    // the place is read through the raw pointer without claiming the rest
                    // of the (possibly shorter or longer) table.
                    unsafe { (*self.0).$field }
                }
            )*

            $($(
                $(#[$ameta])*
                /// `None` when the other side was built for an ABI without it.
                pub fn $afield(self) -> Option<$afty> {
                    if self.holds(std::mem::offset_of!($name, $afield), std::mem::size_of::<$afty>()) {
                        // SAFETY: the header says the table holds this field.
                        Some(unsafe { (*self.0).$afield })
                    } else {
                        None
                    }
                }
            )*)?
        }
    };
}

pub(crate) use versioned_table;

#[cfg(test)]
mod tests {
    use super::*;

    versioned_table! {
        /// A table as a later minor version would define it: one core field, one appended.
        pub struct Grown, read through GrownRef {
            pub core: extern "C" fn() -> u32,
        }
        appended {
            pub added: extern "C" fn() -> u32,
        }
    }

    extern "C" fn one() -> u32 {
        1
    }

    extern "C" fn two() -> u32 {
        2
    }

    /// The reader of a newer definition handed a table built by an older one (only the core
    /// filled in, as its header says) finds the appended field absent, and reads it when a
    /// table of its own version holds it: both directions of the promise, at the table level.
    #[test]
    fn an_appended_field_is_absent_from_an_older_table_and_present_in_a_newer_one() {
        static OLD: Grown = Grown {
            table_header: TableHeader {
                size: (std::mem::offset_of!(Grown, added)) as u32,
                version: AbiVersion::new(1, 0),
            },
            core: one,
            added: two,
        };
        static NEW: Grown = Grown {
            table_header: TableHeader::of::<Grown>(),
            core: one,
            added: two,
        };
        let old = GrownRef::of(&OLD);
        assert!(old.holds_core());
        assert_eq!((old.core())(), 1);
        assert!(
            old.added().is_none(),
            "an older table never lends a newer field"
        );
        let new = GrownRef::of(&NEW);
        assert_eq!(new.added().map(|f| f()), Some(2));
        assert!(Grown::layout().contains("added: extern \"C\" fn() -> u32 (appended)"));
    }

    #[test]
    fn a_table_shorter_than_its_core_is_refused() {
        static BROKEN: Grown = Grown {
            table_header: TableHeader {
                size: 4,
                version: AbiVersion::new(1, 0),
            },
            core: one,
            added: two,
        };
        assert!(!GrownRef::of(&BROKEN).holds_core());
    }
}
