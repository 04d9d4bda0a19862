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

/// Writes `bytes` to `path` atomically and durably, the one way every
/// model, checkpoint, image, JSON output and downloaded file is written: a
/// temporary file in the same directory (removed again on any error), its
/// data flushed to disk (fsync), a rename over `path`, then the directory
/// flushed so the rename itself survives a crash or power loss. A reader
/// sees the old file or the new one, never half of one, and nothing is
/// left behind.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().context("output path has no file name")?;
    let fail = |e: &dyn std::fmt::Display| anyhow::anyhow!("cannot write {}: {e}", path.display());
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{}.", name.to_string_lossy()))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| fail(&e))?;
    tmp.write_all(bytes).map_err(|e| fail(&e))?;
    tmp.as_file().sync_all().map_err(|e| fail(&e))?;
    // On error the temporary file is deleted when `tmp` drops.
    tmp.persist(path).map_err(|e| fail(&e.error))?;
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| fail(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::write_atomic;

    fn entries(dir: &std::path::Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn writes_replaces_and_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.model");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two two");
        assert_eq!(entries(dir.path()), vec!["m.model"]);
    }

    #[test]
    fn a_failed_write_keeps_the_old_state_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        // The target is a directory: the rename fails.
        let target = dir.path().join("taken");
        std::fs::create_dir(&target).unwrap();
        let err = format!("{:#}", write_atomic(&target, b"x").unwrap_err());
        assert!(err.contains("cannot write") && err.contains("taken"), "{err}");
        assert_eq!(entries(dir.path()), vec!["taken"]);
        // A directory that does not exist: a clear error, nothing created.
        let err = format!(
            "{:#}",
            write_atomic(&dir.path().join("no/such/m.model"), b"x").unwrap_err()
        );
        assert!(err.contains("cannot write"), "{err}");
        assert_eq!(entries(dir.path()), vec!["taken"]);
    }
}
