//! One streaming reader for every format: [`Reader::open`] detects the
//! format from the content, then [`Reader::next_chunk`] hands out the
//! events a chunk at a time. Memory is bounded by one chunk of events
//! ([`CHUNK`]) plus one block of input ([`BLOCK`], or one record of a
//! format whose records are larger, up to [`MAX_RECORD`]), never by the file.
//!
//! # Timestamps that step back
//!
//! Cameras and their files do not promise sorted timestamps: EVT 3.0's
//! time-low word can step back a few microseconds, AEDAT packets of two
//! sources interleave. The policy, as faery's and OpenEB's decoders have it:
//! by default ([`Order::Clamp`]) an event earlier than the last one given
//! out takes the last one's time, so every stream is non-decreasing in `t`
//! (what binning into time steps and every transform assume); how many were
//! moved is counted ([`Reader::clamped`]). [`Order::AsRecorded`] gives the
//! times as the file has them.

mod aedat2;
mod aedat4;
mod dat;
mod detect;
mod evt2;
mod evt3;
mod format;
pub(crate) mod nmnist;
mod prophesee;
mod source;

use std::io::Read;
use std::path::Path;

pub use format::Format;
pub use nmnist::NMNIST_SENSOR;
pub(crate) use source::Source;

use crate::error::{Error, Fault};
use crate::Event;

/// Events per chunk (at most): 64 Ki events, 1 MiB of [`Event`]s.
pub const CHUNK: usize = 1 << 16;
/// Bytes read from the input at a time.
pub const BLOCK: usize = 1 << 20;
/// The largest single record (an AEDAT 4.0 packet, a header) a reader
/// accepts: a size field beyond it is an error, not an allocation.
pub const MAX_RECORD: usize = 1 << 28;

/// A sensor's size in pixels: `x` in `0..width`, `y` in `0..height`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sensor {
    /// Columns.
    pub width: u16,
    /// Rows.
    pub height: u16,
}

/// What the reader does with an event earlier than the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    /// Give it the previous event's time (faery's policy): `t` never decreases.
    #[default]
    Clamp,
    /// Leave the time as recorded.
    AsRecorded,
}

/// A format's decoder: turns whole records of the bytes it is given into
/// events. Implemented once per format; [`Reader`] feeds it.
pub(crate) trait Decoder: Send {
    /// Decodes whole records from the front of `bytes` (which start at byte
    /// `at` of the input) into `out`, stopping when `out` holds `max` events
    /// or fewer whole records remain. Returns the bytes consumed: 0 asks for
    /// more input at once (a record longer than `bytes`), an error at
    /// `eof` if there is none. At `eof`, bytes that are left over are a
    /// truncated record: the decoder says so.
    fn decode(&mut self, bytes: &[u8], at: u64, eof: bool, out: &mut Vec<Event>, max: usize) -> Result<usize, Fault>;
}

/// A format's header as read: the format, the sensor if the file says it,
/// and the decoder for what follows.
pub(crate) struct Opened {
    pub format: Format,
    pub sensor: Option<Sensor>,
    pub decoder: Box<dyn Decoder>,
}

/// A streaming reader of one recording, any format.
pub struct Reader {
    name: String,
    src: Source,
    format: Format,
    sensor: Option<Sensor>,
    decoder: Box<dyn Decoder>,
    order: Order,
    events: Vec<Event>,
    last_t: u64,
    clamped: u64,
    done: bool,
}

impl Reader {
    /// Opens `path` and reads its header; the format is detected from the
    /// content (see [`Format`]).
    pub fn open(path: impl AsRef<Path>) -> Result<Reader, Error> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|e| Error::io(&name, e))?;
        let is_bin = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("bin"));
        Reader::with_hint(Box::new(file), name, is_bin)
    }

    /// Reads from any byte stream; `name` names it in errors. A stream with
    /// no known header is refused (N-MNIST has none: see [`Reader::open`],
    /// which takes a `.bin` name as N-MNIST, or [`Reader::nmnist`]).
    pub fn from_read(input: impl Read + Send + 'static, name: impl Into<String>) -> Result<Reader, Error> {
        Reader::with_hint(Box::new(input), name.into(), false)
    }

    /// Reads `input` as N-MNIST / N-Caltech101 `.bin` (the format without a header).
    pub fn nmnist(input: impl Read + Send + 'static, name: impl Into<String>) -> Result<Reader, Error> {
        let name = name.into();
        let src = Source::new(Box::new(input));
        let opened = nmnist::open();
        Ok(Reader::from_opened(name, src, opened))
    }

    fn with_hint(input: Box<dyn Read + Send>, name: String, headerless_is_nmnist: bool) -> Result<Reader, Error> {
        let mut src = Source::new(input);
        let opened = detect::open(&mut src, headerless_is_nmnist).map_err(|f| match f {
            format::OpenError::Io(e) => Error::io(&name, e),
            format::OpenError::Fault(f) => f.named(&name),
        })?;
        Ok(Reader::from_opened(name, src, opened))
    }

    fn from_opened(name: String, src: Source, o: Opened) -> Reader {
        Reader {
            name,
            src,
            format: o.format,
            sensor: o.sensor,
            decoder: o.decoder,
            order: Order::Clamp,
            events: Vec::with_capacity(CHUNK),
            last_t: 0,
            clamped: 0,
            done: false,
        }
    }

    /// Sets the policy for timestamps that step back (default [`Order::Clamp`]).
    pub fn order(mut self, order: Order) -> Self {
        self.order = order;
        self
    }

    /// The input's name, as errors give it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The detected format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The sensor's size as the file states it (N-MNIST's 34 x 34, which the
    /// format does not store); `None` where the file does not say.
    pub fn sensor(&self) -> Option<Sensor> {
        self.sensor
    }

    /// How many events so far had a time earlier than the event before them
    /// (moved to that time under [`Order::Clamp`]).
    pub fn clamped(&self) -> u64 {
        self.clamped
    }

    /// Byte offset of the next byte to decode.
    pub fn offset(&self) -> u64 {
        self.src.offset()
    }

    /// The next chunk of at most [`CHUNK`] events, `None` at the end. An
    /// error names the input and the byte offset; events before it were
    /// given out in earlier chunks.
    pub fn next_chunk(&mut self) -> Result<Option<&[Event]>, Error> {
        self.events.clear();
        if self.done {
            return Ok(None);
        }
        let mut want = BLOCK;
        loop {
            if let Err(e) = self.src.fill(want) {
                return Err(Error::io(&self.name, e));
            }
            let eof = self.src.at_eof();
            let at = self.src.offset();
            let bytes = self.src.bytes();
            if bytes.is_empty() && eof {
                self.done = true;
                break;
            }
            let used = self
                .decoder
                .decode(bytes, at, eof, &mut self.events, CHUNK)
                .map_err(|f| f.named(&self.name))?;
            if used == 0 {
                if self.events.len() >= CHUNK {
                    break;
                }
                if eof {
                    // The decoder consumed nothing of the last bytes and said nothing.
                    return Err(Fault::format(at, "truncated record at the end of the input").named(&self.name));
                }
                if self.src.buffered() >= MAX_RECORD {
                    return Err(Fault::format(at, format!("a record larger than {MAX_RECORD} bytes")).named(&self.name));
                }
                want = (self.src.buffered() * 2).clamp(BLOCK, MAX_RECORD);
                continue;
            }
            self.src.consume(used);
            want = BLOCK;
            if self.events.len() >= CHUNK {
                break;
            }
        }
        self.apply_order();
        if self.events.is_empty() && self.done {
            return Ok(None);
        }
        Ok(Some(&self.events))
    }

    fn apply_order(&mut self) {
        let mut last = self.last_t;
        let mut clamped = 0;
        match self.order {
            Order::Clamp => {
                for e in &mut self.events {
                    if e.t < last {
                        e.t = last;
                        clamped += 1;
                    }
                    last = e.t;
                }
            }
            Order::AsRecorded => {
                for e in &self.events {
                    clamped += (e.t < last) as u64;
                    last = e.t;
                }
            }
        }
        self.last_t = last;
        self.clamped += clamped;
    }

    /// Calls `f` on every chunk to the end.
    pub fn for_each_chunk(&mut self, mut f: impl FnMut(&[Event])) -> Result<(), Error> {
        while let Some(chunk) = self.next_chunk()? {
            f(chunk);
        }
        Ok(())
    }

    /// All remaining events in one vector: for recordings known to be small
    /// (an N-MNIST digit); large files are read with [`Reader::next_chunk`].
    pub fn read_all(mut self) -> Result<Vec<Event>, Error> {
        let mut all = Vec::new();
        self.for_each_chunk(|c| all.extend_from_slice(c))?;
        Ok(all)
    }
}

/// Reads a whole (small) recording: [`Reader::open`] then [`Reader::read_all`].
pub fn read_file(path: impl AsRef<Path>) -> Result<Vec<Event>, Error> {
    Reader::open(path)?.read_all()
}
