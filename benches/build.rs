//! The chain and hook benchmarks define `malloc` and its siblings
//! (`beginnings_benches::count_every_allocation!`) to count every allocation in the process.
//! The extension libraries they load find them only when the bench executable exports them:
//! a library's `malloc` is looked up in the executable first.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    for symbol in ["malloc", "calloc", "realloc", "free"] {
        println!("cargo:rustc-link-arg-benches=-Wl,--export-dynamic-symbol={symbol}");
    }
}
