//! `abi_stable` records the package name and version of the crate each checked type comes
//! from, and refuses a library whose version of that crate is not semver-compatible with the
//! host's (`0.1.x` against `0.2.x`). Compatibility is decided by the ABI version and the
//! frozen core's layout, never by a product release: the version `abi_stable` sees is the
//! ABI's major, and the crate's own version travels as `BEGINNINGS_SDK_VERSION`.

const ABI_MAJOR: u16 = 1;

fn main() {
    let sdk_version = std::env::var("CARGO_PKG_VERSION").expect("cargo sets CARGO_PKG_VERSION");
    println!("cargo:rustc-env=BEGINNINGS_SDK_VERSION={sdk_version}");
    println!("cargo:rustc-env=CARGO_PKG_VERSION={ABI_MAJOR}.0.0");
    println!("cargo:rerun-if-changed=build.rs");
}
