//! The simulator on the desktop: the network of `stdp-core` run on MNIST
//! and event data, trained and evaluated, its files read and written, and
//! exported to the chip. The search (`stdp-search`), the figures and
//! experiments (`stdp-plots`), NIR graphs (`stdp-nir`) and the `host-sim`
//! command line are built on it.
//!
//! The layers: [`config`] and [`backend`] name what a run is, [`examples`]
//! what it learns from; [`formats`] reads and writes MNIST, model files and
//! NumPy archives (it knows nothing of the simulation); [`sim`] runs the
//! network (one example, the training and evaluation procedures, state
//! buffers, shards across cores, per-CPU instruction sets); [`export`]
//! writes the chip image; [`scenario`], [`crosscheck`], [`bench`](mod@bench)
//! and [`device`] are the tools built on them.

// `!(x > 0.0)` is how parameters are checked on purpose: it also rejects NaN.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

pub mod backend;
pub mod bench;
pub mod config;
pub mod crosscheck;
pub mod device;
pub mod examples;
pub mod export;
pub mod formats;
pub mod names;
pub mod scenario;
pub mod sim;
pub mod text;

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

/// Removes what [`write_atomic`] of `path` leaves when its process is
/// killed mid-write (SIGKILL, power loss): the temporary files
/// `.NAME.XXXXXX.tmp` beside `path`. Call it only where no other process
/// writes `path` (e.g. when a run that owns its output has finished).
/// Returns how many were removed.
pub fn remove_stale_temps(path: &Path) -> Result<usize> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let Some(name) = path.file_name() else {
        return Ok(0);
    };
    let prefix = format!(".{}.", name.to_string_lossy());
    let mut removed = 0;
    let entries = std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    for e in entries.flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if n.starts_with(&prefix) && n.ends_with(".tmp") && e.file_type().is_ok_and(|t| t.is_file()) {
            std::fs::remove_file(e.path()).with_context(|| format!("cannot remove {}", e.path().display()))?;
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::{remove_stale_temps, write_atomic};

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

    #[test]
    fn stale_temporary_files_of_one_path_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.model");
        write_atomic(&path, b"x").unwrap();
        for f in [
            ".m.model.a1b2c3.tmp",
            ".m.model.zz.tmp",
            ".other.model.q.tmp",
            ".m.model.keep",
            "m.model.tmp",
        ] {
            std::fs::write(dir.path().join(f), b"").unwrap();
        }
        assert_eq!(remove_stale_temps(&path).unwrap(), 2);
        assert_eq!(
            entries(dir.path()),
            vec![".m.model.keep", ".other.model.q.tmp", "m.model", "m.model.tmp"]
        );
    }
}
