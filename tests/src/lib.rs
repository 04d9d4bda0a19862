//! Cross-crate tests live in tests/tests/; this library holds what they
//! and the examples share.

pub mod qemu;
