//! `pow`, the one function of the C math library that a server built on this crate calls:
//! tokio's multi-thread scheduler weights its average task poll time with `f64::powf`.
//!
//! Defined here, the program's own definition answers that call at link time, so the
//! program does not load `libm.so.6` at all. Loading it, for one function, kept about half a
//! megabyte of it resident: the dynamic linker reads its symbol tables for every symbol
//! looked up at start (the extension libraries' too) and runs its IFUNC resolvers, and each
//! page touched maps the 64 KiB around it (docs/performance.md, "Advice that holds here").
//! The `libm` crate is a port of the same C library lineage (FreeBSD's and musl's), with an
//! error under one unit in the last place, as glibc's.

/// `base` raised to `exponent`, as the C library's `pow`.
#[unsafe(no_mangle)]
pub extern "C" fn pow(base: f64, exponent: f64) -> f64 {
    libm::pow(base, exponent)
}

#[cfg(test)]
mod tests {
    /// The expected values are written out: in this test program `f64::powf` would call
    /// the `pow` above.
    #[test]
    fn pow_answers_as_the_c_library_does() {
        let cases = [
            (0.9, 3.0, 0.729_000_000_000_000_1),
            (0.9, 0.5, 0.948_683_298_050_513_8),
            (2.0, -1.0, 0.5),
            (10.0, 2.5, 316.227_766_016_837_96),
            (0.0, 0.0, 1.0),
        ];
        for (base, exponent, expected) in cases {
            let got = super::pow(base, exponent);
            assert!(
                (got - expected).abs() <= f64::abs(expected) * 2.0 * f64::EPSILON,
                "pow({base}, {exponent}) = {got}, expected {expected}"
            );
        }
    }
}
