//! Why an extension library could not be loaded; each message is one line that names the
//! configuration entry, the library and what to do.

use std::fmt;
use std::path::PathBuf;

use beginnings_abi::ffi::AbiVersion;

use crate::config::Location;

/// One extension that could not be loaded.
#[derive(Debug)]
pub struct LoadError {
    /// Where the extension is named in the configuration.
    pub location: Option<Location>,
    /// `module:Type` as written.
    pub extension: String,
    pub library: PathBuf,
    pub kind: LoadErrorKind,
}

#[derive(Debug)]
#[non_exhaustive]
pub enum LoadErrorKind {
    /// No `lib<module>.so` in the extensions directory.
    NotFound {
        directory: PathBuf,
        holds: Vec<String>,
    },
    /// The file is there but is not one the host may load.
    Unsafe { reason: String },
    /// `dlopen` failed (not a shared object, missing symbols, wrong architecture).
    Open { reason: String },
    /// A shared object without the Beginnings ABI note (or the `abi_stable` header).
    NotAnExtension,
    /// Built for another major version of the ABI.
    AbiMajor { built: AbiVersion, host: AbiVersion },
    /// Built for a newer minor version of the ABI and declares it needs a newer host.
    HostTooOld {
        built: AbiVersion,
        needs: AbiVersion,
        host: AbiVersion,
    },
    /// Built against another version of `abi_stable` or of the extension interface.
    Incompatible { reason: String },
    /// The layout of the interface types differs between the host and the library.
    LayoutMismatch { summary: String },
    /// Built with `panic = "abort"`: a panic could not be contained.
    PanicAbort,
    /// The library's root module failed to initialise.
    InitFailed { reason: String },
    /// The library does not export the `Type` the configuration names.
    UnknownType {
        type_name: String,
        exported: Vec<String>,
    },
    /// The extension refused its configuration.
    ConfigRejected { message: String },
    /// A new build was replaced again while it was being copied to the state directory:
    /// the copy is not the build that was judged.
    Changed { judged: String, copied: String },
    /// This process already keeps as many builds of the module as it may (libraries are
    /// never unloaded).
    TooManyBuilds { module: String, kept: usize },
    /// A new build cannot be copied to the state directory (`app.state_dir`).
    StateDir { directory: PathBuf, reason: String },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(location) = &self.location {
            write!(f, "{location}: ")?;
        }
        let library = self.library.display();
        if !self.extension.is_empty() {
            write!(f, "extension `{}`: ", self.extension)?;
        }
        match &self.kind {
            LoadErrorKind::NotFound { directory, holds } => {
                let listing = if holds.is_empty() {
                    "no extension libraries".to_string()
                } else {
                    holds.join(", ")
                };
                write!(
                    f,
                    "library {library} not found (searched {}, which holds: {listing}); \
                     build the extension or point --extensions-dir, BEGINNINGS_EXTENSIONS_DIR \
                     or app.extensions_dir at the directory that holds it",
                    directory.display()
                )
            }
            LoadErrorKind::Unsafe { reason } => write!(f, "refusing to load {library}: {reason}"),
            LoadErrorKind::Open { reason } => write!(f, "cannot open {library}: {reason}"),
            LoadErrorKind::NotAnExtension => write!(
                f,
                "{library} is not a Beginnings extension library (it has no Beginnings ABI \
                 note; nothing of it was run); build it as a cdylib that calls \
                 beginnings_abi::export_extension!"
            ),
            LoadErrorKind::AbiMajor { built, host } => write!(
                f,
                "{library} was built for ABI {built}; this host has {host} and serves ABI {}.x \
                 extensions only; rebuild it against a beginnings-abi of ABI {}.x",
                host.major, host.major
            ),
            LoadErrorKind::HostTooOld { built, needs, host } => write!(
                f,
                "{library} was built for ABI {built}, needs a host with {needs} or newer; this \
                 host has {host}"
            ),
            LoadErrorKind::Incompatible { reason } => write!(
                f,
                "{library} was built for another extension interface ({reason}); rebuild it \
                 against this version of beginnings-abi"
            ),
            LoadErrorKind::LayoutMismatch { summary } => write!(
                f,
                "{library} was built against a different layout of the extension interface \
                 ({summary}); rebuild it against this version of beginnings-abi \
                 (the full report is logged at debug level)"
            ),
            LoadErrorKind::PanicAbort => write!(
                f,
                "{library} was built with panic = \"abort\", so a panic in it would end the \
                 server; build it with panic = \"unwind\""
            ),
            LoadErrorKind::InitFailed { reason } => {
                write!(f, "{library} failed to initialise: {reason}")
            }
            LoadErrorKind::UnknownType {
                type_name,
                exported,
            } => write!(
                f,
                "{library} does not export type `{type_name}` (it exports: {}); fix the name \
                 after the colon",
                exported.join(", ")
            ),
            LoadErrorKind::ConfigRejected { message } => {
                write!(f, "configuration rejected: {message}")
            }
            LoadErrorKind::Changed { judged, copied } => write!(
                f,
                "library {library} changed while its new build was being loaded (sha256 \
                 {judged} when checked, {copied} when copied); replace the file with a \
                 rename, then reload again"
            ),
            LoadErrorKind::TooManyBuilds { module, kept } => write!(
                f,
                "refusing a new build of {library}: this process keeps {kept} builds of \
                 module `{module}` already, the most it keeps of one module (libraries are \
                 never unloaded); restart the server to load it"
            ),
            LoadErrorKind::StateDir { directory, reason } => write!(
                f,
                "cannot copy the new build of {library} to the state directory {}: {reason}; \
                 set app.state_dir to a directory the server's user owns and may write",
                directory.display()
            ),
        }
    }
}

impl std::error::Error for LoadError {}

/// Every extension that could not be loaded, reported together.
#[derive(Debug)]
pub struct LoadErrors(pub Vec<LoadError>);

impl fmt::Display for LoadErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.0.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadErrors {}
