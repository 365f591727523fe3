//! Links the library with the functions of `link-order.txt` first (see `../link_order.rs`).
include!("../link_order.rs");

fn main() {
    if let Some(file) = link_order_file("link-order.txt") {
        for arg in link_order_args(&file) {
            println!("cargo:rustc-link-arg-cdylib={arg}");
        }
    }
}
