//! `ext inspect FILE.so`: what an extension library exports, after the loader's checks.

use std::path::Path;
use std::process::ExitCode;

use beginnings::{LibraryInfo, LoadErrorKind, inspect_library};

pub fn inspect(file: &Path) -> ExitCode {
    match inspect_library(file) {
        Ok(info) => {
            print!("{}", report(&info));
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("cannot load: {error}");
            eprintln!("verdict: {}", verdict(&error.kind));
            ExitCode::FAILURE
        }
    }
}

fn report(info: &LibraryInfo) -> String {
    let mut out = String::new();
    let mut line = |label: &str, value: String| out.push_str(&format!("{label:<16}{value}\n"));
    line("library", info.path.display().to_string());
    line(
        "abi",
        format!("{} (this host: {})", info.abi, info.host_abi),
    );
    line("needs host", format!("{} or newer", info.min_host));
    line(
        "panic strategy",
        if info.panic_unwind { "unwind" } else { "abort" }.to_owned(),
    );
    line("types", info.types.len().to_string());
    for summary in &info.types {
        out.push_str(&format!("  {}\n", summary.name));
        if !summary.description.is_empty() {
            out.push_str(&format!("    {}\n", summary.description));
        }
        if !summary.config_summary.is_empty() {
            out.push_str(&format!("    config: {}\n", summary.config_summary));
        }
    }
    // `inspect` succeeds once every check the loader makes before opening a library has
    // passed; the layout check of the frozen core needs the library opened, which inspect
    // never does.
    out.push_str("verdict: loadable by this host (read from the file; nothing of it was run)\n");
    out
}

fn verdict(kind: &LoadErrorKind) -> &'static str {
    match kind {
        LoadErrorKind::NotFound { .. } => "no such library",
        LoadErrorKind::Open { .. } => "not a loadable shared library",
        LoadErrorKind::Unsafe { .. } => "refused: the file is not safe to load",
        LoadErrorKind::NotAnExtension => "not a Beginnings extension",
        LoadErrorKind::AbiMajor { .. } => "incompatible: built for another major ABI version",
        LoadErrorKind::HostTooOld { .. } => "refused: it needs a newer host",
        LoadErrorKind::Incompatible { .. } | LoadErrorKind::LayoutMismatch { .. } => {
            "incompatible with this host: rebuild it against this beginnings-abi"
        }
        LoadErrorKind::PanicAbort => "refused: built with panic = \"abort\"",
        LoadErrorKind::InitFailed { .. } => "the library failed to initialise",
        // Unknown types and rejected settings concern a configuration, which inspecting a
        // file alone never has; the wildcard also keeps this building as the loader learns
        // new reasons.
        _ => "the library cannot be used by this host",
    }
}
