//! Cross-crate tests live in tests/tests/; this library holds what they
//! and the examples share.

use std::path::{Path, PathBuf};

pub mod qemu;

/// `../shared/data/NAME` beside the repository (read there, never copied).
pub fn shared(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data")
        .join(name)
}
