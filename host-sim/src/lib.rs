//! The desktop side of the project: scenario runner, MNIST training and
//! evaluation, experiments. The binary `host-sim` is a thin CLI over this.

// `!(x > 0.0)` is how parameters are checked on purpose: it also rejects NaN.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

pub mod bench;
pub mod config;
pub mod crosscheck;
pub mod dc;
pub mod device;
pub mod experiments;
pub mod export;
pub mod figures;
pub mod hpo;
pub mod mnist;
pub mod model;
pub mod owned;
pub mod plots;
pub mod plots_extra;
pub mod scenario;
pub mod shards;
pub mod simd;
pub mod train;

use std::path::Path;

use anyhow::{Context, Result};

/// Writes `bytes` to `path` atomically: a temporary file in the same
/// directory, then a rename, so a reader never sees half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().context("output path has no file name")?;
    let tmp = dir.join(format!(".{}.tmp{}", name.to_string_lossy(), std::process::id()));
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}
