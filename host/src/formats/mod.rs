//! The files host-sim reads and writes: MNIST's IDX files (`mnist`),
//! model files and checkpoints (`model`), NumPy archives (`npz`); fetching
//! N-MNIST's zips (`nmnist_fetch`, feature `fetch`). The chip image and NIR
//! graphs are in [`crate::export`].

pub mod mnist;
pub mod model;
#[cfg(feature = "fetch")]
pub mod nmnist_fetch;
pub mod npz;

/// `create_dir_all(dir)`; returns the directories it created, deepest
/// first, so that a download that fails can remove what it made
/// ([`remove_created_if_empty`]).
#[cfg(feature = "fetch")]
pub(crate) fn create_dir_all_recording(dir: &std::path::Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
    use anyhow::Context as _;
    let created: Vec<std::path::PathBuf> = dir
        .ancestors()
        .take_while(|d| !d.as_os_str().is_empty() && !d.exists())
        .map(std::path::Path::to_path_buf)
        .collect();
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create directory {}", dir.display()))?;
    Ok(created)
}

/// Removes the directories of `created` (deepest first) while they are
/// empty: what a failed download made and left empty goes again.
#[cfg(feature = "fetch")]
pub(crate) fn remove_created_if_empty(created: &[std::path::PathBuf]) {
    for dir in created {
        if std::fs::remove_dir(dir).is_err() {
            break;
        }
    }
}
