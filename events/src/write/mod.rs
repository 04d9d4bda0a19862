//! Writers: the output's extension picks the format ([`OutFormat::from_path`]).
//! Every writer streams (chunks in, bytes out) into a temporary file beside
//! the output, renamed over it by [`EventWriter::finish`]: a reader never
//! sees half a file, and a failed conversion leaves nothing behind.

mod aedat4;
mod evt2;
mod nmnist;
mod npy;

use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::Path;

use crate::read::Sensor;
use crate::{Error, Event};

/// The formats written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutFormat {
    /// `.csv`: header `t,x,y,p`, one event per line, p 1 = ON.
    Csv,
    /// `.npy`: a NumPy structured array with tonic's event fields (`t`, `x`, `y`, `p`).
    Npy,
    /// `.bin`: N-MNIST's 40-bit events (x < 256, y < 240; times from near 0: see the writer).
    Nmnist,
    /// `.raw`: Prophesee EVT 2.0.
    Evt2,
    /// `.aedat4`: AEDAT 4.0.
    Aedat4,
}

impl OutFormat {
    /// The format named by `path`'s extension.
    pub fn from_path(path: &Path) -> Result<OutFormat, Error> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        Ok(match ext.as_str() {
            "csv" => OutFormat::Csv,
            "npy" => OutFormat::Npy,
            "bin" => OutFormat::Nmnist,
            "raw" | "evt2" => OutFormat::Evt2,
            "aedat4" => OutFormat::Aedat4,
            _ => {
                return Err(Error::argument(
                    path.display().to_string(),
                    "unknown output extension: use .csv, .npy, .bin (N-MNIST), .raw (EVT 2.0) or .aedat4",
                ))
            }
        })
    }
}

/// A sink of events in one format.
pub trait EventWriter {
    /// Appends a chunk of events (non-decreasing in `t`).
    fn write(&mut self, events: &[Event]) -> Result<(), Error>;
    /// Writes what is left (a trailer, a size), flushes, and moves the file into place.
    fn finish(self: Box<Self>) -> Result<(), Error>;
}

/// The output file: a temporary file beside `path`, buffered, renamed over `path` on [`Output::commit`].
pub struct Output {
    name: String,
    path: std::path::PathBuf,
    file: BufWriter<tempfile::NamedTempFile>,
    /// Bytes written so far.
    pub written: u64,
}

impl Output {
    /// Creates the temporary file for `path`.
    pub fn create(path: &Path) -> Result<Output, Error> {
        let name = path.display().to_string();
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let tmp = tempfile::Builder::new()
            .prefix(".events.")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|e| Error::io(&name, e))?;
        Ok(Output {
            name,
            path: path.to_path_buf(),
            file: BufWriter::with_capacity(1 << 20, tmp),
            written: 0,
        })
    }

    /// The output's name for errors.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Writes `bytes`.
    pub fn put(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.written += bytes.len() as u64;
        self.file.write_all(bytes).map_err(|e| Error::io(&self.name, e))
    }

    /// Replaces bytes already written at `offset` (a header whose counts are known at the end).
    pub fn overwrite_at(&mut self, offset: u64, bytes: &[u8]) -> Result<(), Error> {
        let name = &self.name;
        self.file.flush().map_err(|e| Error::io(name, e))?;
        let f = self.file.get_mut().as_file_mut();
        f.seek(SeekFrom::Start(offset)).map_err(|e| Error::io(name, e))?;
        f.write_all(bytes).map_err(|e| Error::io(name, e))?;
        f.seek(SeekFrom::End(0)).map_err(|e| Error::io(name, e))?;
        Ok(())
    }

    /// Flushes, syncs and renames the file into place.
    pub fn commit(self) -> Result<(), Error> {
        let name = self.name;
        let tmp = self.file.into_inner().map_err(|e| Error::io(&name, e.into_error()))?;
        // A temporary file is private (0600); the output is an ordinary file.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            tmp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o644))
                .map_err(|e| Error::io(&name, e))?;
        }
        tmp.as_file().sync_all().map_err(|e| Error::io(&name, e))?;
        tmp.persist(&self.path).map_err(|e| Error::io(&name, e.error))?;
        Ok(())
    }
}

/// Opens a writer of `format` at `path` for a recording from `sensor`.
pub fn create(path: &Path, format: OutFormat, sensor: Sensor) -> Result<Box<dyn EventWriter>, Error> {
    let out = Output::create(path)?;
    let _ = sensor;
    match format {
        OutFormat::Csv => Ok(Box::new(Csv::new(out)?)),
        OutFormat::Npy => Ok(Box::new(npy::Npy::new(out)?)),
        OutFormat::Nmnist => Ok(Box::new(nmnist::Nmnist::new(out))),
        OutFormat::Evt2 => Ok(Box::new(evt2::Evt2::new(out, sensor)?)),
        OutFormat::Aedat4 => Ok(Box::new(aedat4::Aedat4::new(out, sensor)?)),
    }
}

/// `.csv`: `t,x,y,p`.
struct Csv {
    out: Output,
    line: Vec<u8>,
}

impl Csv {
    fn new(mut out: Output) -> Result<Csv, Error> {
        out.put(b"t,x,y,p\n")?;
        Ok(Csv {
            out,
            line: Vec::with_capacity(1 << 16),
        })
    }
}

impl EventWriter for Csv {
    fn write(&mut self, events: &[Event]) -> Result<(), Error> {
        use std::io::Write as _;
        self.line.clear();
        for e in events {
            // Writing into a Vec cannot fail.
            let _ = writeln!(self.line, "{},{},{},{}", e.t, e.x, e.y, e.p());
        }
        let line = std::mem::take(&mut self.line);
        let r = self.out.put(&line);
        self.line = line;
        r
    }

    fn finish(self: Box<Self>) -> Result<(), Error> {
        self.out.commit()
    }
}
