//! Event-camera data for the STDP network: streaming readers of every
//! common format (N-MNIST `.bin`, jAER AEDAT 2.0, AEDAT 4.0, Prophesee
//! EVT 2.0, EVT 3.0 and DAT) detected from the content, writers (CSV,
//! NumPy, N-MNIST, EVT 2.0, AEDAT 4.0), tonic's transforms as small
//! functions over the stream, and a DVS emulator that turns MNIST digits
//! into N-MNIST-like recordings.
//!
//! Every reader yields the one event type, [`Event`] (`stdp_core::Event`:
//! `t` in µs as u64, `x`, `y` as u16, polarity `on`), in chunks: memory is
//! bounded by a chunk, never by the file.
//!
//! ```no_run
//! use stdp_events::Reader;
//! let mut r = Reader::open("recording.raw")?;
//! println!("{} {:?}", r.format(), r.sensor());
//! let mut n = 0u64;
//! while let Some(chunk) = r.next_chunk()? {
//!     n += chunk.len() as u64;
//! }
//! # Ok::<(), stdp_events::Error>(())
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod dataset;
pub mod emulator;
pub mod error;
pub mod read;
pub mod stats;
pub mod transform;
pub mod write;

pub use error::{Error, ErrorKind};
pub use read::{read_file, Format, Order, Reader, Sensor};
pub use stdp_core::Event;
