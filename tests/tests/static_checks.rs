//! Nothing of a library runs before it is judged: the loader and `beginnings ext inspect`
//! read a library's ABI note from the file, and a refused file's constructors never run.
//! The fixtures are C shared objects (`cc -shared`) whose constructor writes a marker file.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use beginnings::App;
use beginnings_tests::{ConfigDir, build_dir, ensure_built};

/// An ABI note claiming ABI 1.9 and a host of 1.9 or newer, as `export_extension!` writes it
/// (owner "Beginnings", type 1, then the description of `beginnings_abi::ffi::note`).
const NOTE_NEEDS_1_9: &str = r#"
__attribute__((section(".note.beginnings"), aligned(4), used))
static const unsigned char abi_note[] = {
    11, 0, 0, 0,  24, 0, 0, 0,  1, 0, 0, 0,
    'B', 'e', 'g', 'i', 'n', 'n', 'i', 'n', 'g', 's', 0, 0,
    1, 0,  1, 0,  9, 0,  1, 0,  9, 0,  1, 0,  1, 0, 0, 0,
    'X', 0, 0, 0, 0, 0, 0, 0,
};
"#;

/// Compiles a shared object whose constructor creates `marker`, with `extra` C source.
fn constructor_library(dir: &Path, module: &str, marker: &Path, extra: &str) -> PathBuf {
    let source = dir.join(format!("{module}.c"));
    fs::write(
        &source,
        format!(
            "#include <stdio.h>\n{extra}\n\
             __attribute__((constructor)) static void planted(void) {{\n\
                 FILE *f = fopen(\"{}\", \"w\"); if (f) {{ fputs(\"ran\", f); fclose(f); }}\n\
             }}\n",
            marker.display()
        ),
    )
    .unwrap();
    let library = dir.join(format!("lib{module}.so"));
    let status = Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&library)
        .arg(&source)
        .status()
        .expect("a C compiler (cc) runs");
    assert!(status.success(), "cc failed");
    fs::set_permissions(&library, fs::Permissions::from_mode(0o755)).unwrap();
    fs::remove_file(source).unwrap();
    library
}

fn private_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn start_error(module: &str, directory: &Path) -> String {
    let config = ConfigDir::new(&format!("extensions:\n  \"{module}:Planted\": {{}}\n"));
    match App::from_file(config.app_yaml(), None)
        .unwrap()
        .extensions_dir(directory)
        .build()
    {
        Ok(_) => panic!("the application must not start"),
        Err(error) => error.to_string(),
    }
}

fn inspect(library: &Path) -> (bool, String) {
    let output = Command::new(build_dir().join("beginnings"))
        .args(["ext", "inspect"])
        .arg(library)
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_library_without_an_abi_note_never_runs_its_constructor() {
    ensure_built();
    let dir = private_dir();
    let marker = dir.path().join("constructor-ran");
    let library = constructor_library(dir.path(), "planted", &marker, "");

    let (ok, stderr) = inspect(&library);
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains("is not a Beginnings extension library"),
        "{stderr}"
    );
    assert!(
        !marker.exists(),
        "ext inspect ran the library's constructor"
    );

    let error = start_error("planted", dir.path());
    assert!(error.contains("nothing of it was run"), "{error}");
    assert!(
        !marker.exists(),
        "a refused start ran the library's constructor"
    );
}

#[test]
fn a_library_that_needs_a_newer_host_is_refused_before_it_runs() {
    ensure_built();
    let dir = private_dir();
    let marker = dir.path().join("constructor-ran");
    let library = constructor_library(dir.path(), "newer", &marker, NOTE_NEEDS_1_9);

    let (ok, stderr) = inspect(&library);
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains("was built for ABI 1.9, needs a host with 1.9 or newer; this host has 1.2"),
        "{stderr}"
    );
    assert!(
        !marker.exists(),
        "ext inspect ran the library's constructor"
    );

    let error = start_error("newer", dir.path());
    assert_eq!(error.lines().count(), 1, "{error}");
    assert!(error.contains("needs a host with 1.9 or newer"), "{error}");
    assert!(
        !marker.exists(),
        "a refused start ran the library's constructor"
    );
}
