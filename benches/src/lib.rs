//! Benchmarks live under `benches/`; run them with `cargo bench -p beginnings-benches`.
//! The load benchmark against a bare-hyper baseline is a separate command (see README).
