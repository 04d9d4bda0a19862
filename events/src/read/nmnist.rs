//! N-MNIST and N-Caltech101 `.bin` (Orchard et al. 2015): no header; every
//! event is 5 bytes: x (byte 0), y (byte 1), polarity (byte 2 bit 7, 1 = ON),
//! timestamp in µs (the other 23 bits, big-endian). A record with y = 240
//! is a timestamp-overflow marker: 2^13 µs are added to every later
//! timestamp and the record is dropped (the data set's own MATLAB reader).

use super::{Decoder, Format, Opened, Sensor};
use crate::error::Fault;
use crate::Event;

/// Bytes per record.
pub(crate) const RECORD: usize = 5;
/// The y value of an overflow marker.
pub(crate) const OVERFLOW_Y: u8 = 240;
/// Time added by each overflow marker, µs.
pub(crate) const OVERFLOW_US: u64 = 1 << 13;
/// N-MNIST's sensor: the ATIS cropped to 34 x 34 (the format stores none).
pub const NMNIST_SENSOR: Sensor = Sensor { width: 34, height: 34 };

pub(crate) fn open() -> Opened {
    Opened {
        format: Format::Nmnist,
        sensor: Some(NMNIST_SENSOR),
        decoder: Box::new(Nmnist { base: 0 }),
    }
}

struct Nmnist {
    /// Time added by the overflow markers so far, µs.
    base: u64,
}

impl Decoder for Nmnist {
    fn decode(&mut self, bytes: &[u8], at: u64, eof: bool, out: &mut Vec<Event>, max: usize) -> Result<usize, Fault> {
        let room = max.saturating_sub(out.len());
        let whole = bytes.len() / RECORD;
        let n = whole.min(room);
        for r in bytes[..n * RECORD].chunks_exact(RECORD) {
            if r[1] == OVERFLOW_Y {
                self.base += OVERFLOW_US;
                continue;
            }
            let t = (u64::from(r[2] & 0x7f) << 16) | (u64::from(r[3]) << 8) | u64::from(r[4]);
            out.push(Event {
                t: self.base + t,
                x: u16::from(r[0]),
                y: u16::from(r[1]),
                on: r[2] & 0x80 != 0,
            });
        }
        let used = n * RECORD;
        if eof && n == whole && bytes.len() > used {
            return Err(Fault::format(
                at + used as u64,
                format!("truncated N-MNIST record ({} of {RECORD} bytes)", bytes.len() - used),
            ));
        }
        Ok(used)
    }
}
