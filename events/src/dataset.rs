//! A data set of labelled recordings in N-MNIST's layout, as the full
//! N-MNIST (`fetch-nmnist`), `events synth` and tonic's loaders have it:
//!
//! ```text
//! DIR/Train/<label>/<id>.bin     label 0-9, id 1-based (N-MNIST: MNIST training digit id - 1)
//! DIR/Test/<label>/<id>.bin
//! ```
//!
//! Listing is cheap (paths and labels, sorted by id); recordings are read
//! when asked for ([`Split::read`]), so the full data set (70,000 files,
//! about 1.4 GB) never has to be in memory. Any format the [`Reader`]
//! detects may sit under those names (N-MNIST's `.bin` is what the data
//! set has).

use std::path::{Path, PathBuf};

use crate::read::Reader;
use crate::{Error, Event};

/// Which half of the data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    /// `Train/`.
    Train,
    /// `Test/`.
    Test,
}

impl Part {
    /// The directory's name.
    pub fn dir(self) -> &'static str {
        match self {
            Part::Train => "Train",
            Part::Test => "Test",
        }
    }
}

/// One recording of a split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its id (the file's stem: `00042.bin` is 42).
    pub id: u32,
    /// Its class, 0-9 (the directory it is in).
    pub label: u8,
    /// Its file.
    pub path: PathBuf,
}

/// The recordings of one split, sorted by id.
#[derive(Debug, Clone)]
pub struct Split {
    /// `Train` or `Test`.
    pub part: Part,
    /// The recordings.
    pub entries: Vec<Entry>,
}

/// Whether `dir` looks like N-MNIST's layout (a `Train/` or `Test/` with
/// digit subdirectories): how `--data` tells event data from MNIST's IDX files.
pub fn is_layout(dir: &Path) -> bool {
    [Part::Train, Part::Test]
        .iter()
        .any(|p| (0..10u8).any(|l| dir.join(p.dir()).join(l.to_string()).is_dir()))
}

impl Split {
    /// Lists `dir/<part>/<label>/<id>.bin`. Files whose stem is not a
    /// number, a repeated id, or a split without any recording are errors
    /// that name the path.
    pub fn list(dir: &Path, part: Part) -> Result<Split, Error> {
        let root = dir.join(part.dir());
        let name = root.display().to_string();
        let mut entries = Vec::new();
        for label in 0..10u8 {
            let d = root.join(label.to_string());
            if !d.is_dir() {
                continue;
            }
            let listing = std::fs::read_dir(&d).map_err(|e| Error::io(d.display().to_string(), e))?;
            for item in listing {
                let path = item.map_err(|e| Error::io(d.display().to_string(), e))?.path();
                if !path.extension().is_some_and(|e| e.eq_ignore_ascii_case("bin")) {
                    continue;
                }
                let id = path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .and_then(|s| s.parse::<u32>().ok())
                    .ok_or_else(|| {
                        Error::argument(path.display().to_string(), "the file name is not a number (<id>.bin)")
                    })?;
                entries.push(Entry { id, label, path });
            }
        }
        if entries.is_empty() {
            return Err(Error::argument(name, "no recordings (<label>/<id>.bin for labels 0-9)"));
        }
        entries.sort_by_key(|e| e.id);
        if let Some(w) = entries.windows(2).find(|w| w[0].id == w[1].id) {
            return Err(Error::argument(
                name,
                format!(
                    "id {} twice ({} and {})",
                    w[0].id,
                    w[0].path.display(),
                    w[1].path.display()
                ),
            ));
        }
        Ok(Split { part, entries })
    }

    /// Recordings in the split.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the split is empty (never, once listed).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Recording `i`'s label.
    pub fn label(&self, i: usize) -> u8 {
        self.entries[i].label
    }

    /// Reads recording `i` into `out` (cleared first).
    pub fn read(&self, i: usize, out: &mut Vec<Event>) -> Result<(), Error> {
        out.clear();
        let mut r = Reader::open(&self.entries[i].path)?;
        r.for_each_chunk(|c| out.extend_from_slice(c))
    }

    /// The first `n` recordings (all if fewer).
    pub fn take(mut self, n: usize) -> Split {
        self.entries.truncate(n);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/nmnist-sample")
    }

    #[test]
    fn lists_the_shared_sample_by_id_with_labels_from_directories() {
        let dir = shared();
        assert!(is_layout(&dir));
        let train = Split::list(&dir, Part::Train).unwrap();
        let test = Split::list(&dir, Part::Test).unwrap();
        assert_eq!((train.len(), test.len()), (500, 100));
        assert_eq!(train.entries.first().unwrap().id, 1);
        assert_eq!(train.entries.last().unwrap().id, 500);
        assert!(train.entries.windows(2).all(|w| w[0].id < w[1].id));
        let mut ev = Vec::new();
        test.read(0, &mut ev).unwrap();
        assert!(ev.len() > 1000, "a real recording: {} events", ev.len());
        assert!(ev.iter().all(|e| e.x < 34 && e.y < 34));
        assert!(ev.windows(2).all(|w| w[0].t <= w[1].t));
    }

    #[test]
    fn bad_layouts_are_named_errors() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(!is_layout(tmp.path()));
        let e = Split::list(tmp.path(), Part::Train).unwrap_err().to_string();
        assert!(e.contains("Train") && e.contains("no recordings"), "{e}");
        let d = tmp.path().join("Train/3");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("abc.bin"), b"").unwrap();
        let e = Split::list(tmp.path(), Part::Train).unwrap_err().to_string();
        assert!(e.contains("abc.bin") && e.contains("not a number"), "{e}");
        std::fs::remove_file(d.join("abc.bin")).unwrap();
        std::fs::write(d.join("00007.bin"), b"").unwrap();
        std::fs::create_dir_all(tmp.path().join("Train/4")).unwrap();
        std::fs::write(tmp.path().join("Train/4/7.bin"), b"").unwrap();
        let e = Split::list(tmp.path(), Part::Train).unwrap_err().to_string();
        assert!(e.contains("id 7 twice"), "{e}");
    }
}
