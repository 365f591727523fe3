//! The allocation test (`tests/tests/allocations.rs`) defines `malloc` and its siblings to
//! count every allocation in the process. The extension libraries find them only when the
//! test executable exports them: a library's `malloc` is looked up in the executable first.
fn main() {
    for symbol in ["malloc", "calloc", "realloc", "free"] {
        println!("cargo:rustc-link-arg-tests=-Wl,--export-dynamic-symbol={symbol}");
    }
}
