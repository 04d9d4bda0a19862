//! Prophesee DAT: the `%` header ([`super::prophesee`]), one byte of event
//! type (`0x0C` CD, or `0x00` 2D events of older files, also CD) and one of
//! event size (8), then 8-byte events, little-endian:
//!
//! | bytes | field |
//! |---|---|
//! | 0..4 | timestamp, µs (u32) |
//! | 4..8 | data (u32): version 2 (`% Version 2`, the default): x = bits 13..0, y = bits 27..14, polarity = bit 28 (1 = ON) |
//! |      | version 1 (`% Version 1`, ATIS files): x = bits 8..0, y = bits 16..9, polarity = bit 17 |
//!
//! # Policies
//!
//! - **Polarity** is the one bit OpenEB's `dat_tools.py` reads (`P_MASK`,
//!   bit 28); the three bits above it are ignored (faery reads the four bits
//!   and takes any non-zero value as ON; real CD files hold 0 or 1 there).
//! - **Wrap**: the u32 timestamp wraps every 2^32 µs (71.6 min); a time
//!   more than 2^31 µs below the one before is a wrap and 2^32 µs are added
//!   to it and every later time (faery's rule). A smaller step back is kept
//!   as recorded (the reader's [`Order`](super::Order) decides).
//! - **A truncated last event** (1 to 7 bytes at the end) is an error.
//!
//! Sources: <https://docs.prophesee.ai/stable/data/file_formats/dat.html>;
//! OpenEB `sdk/modules/core/python/pypkg/metavision_core/event_io/dat_tools.py`;
//! faery 0.7.1 `src/dat/decoder.rs`.

use super::Decoder;
use crate::error::Fault;
use crate::Event;

/// Bytes per event.
pub(crate) const RECORD: usize = 8;
/// Time added by each wrap of the u32 timestamp, µs.
const WRAP_US: u64 = 1 << 32;

/// The bit layout of the data word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// `% Version 1`: x 9 bits, y 8 bits, polarity bit 17.
    V1,
    /// `% Version 2`: x 14 bits, y 14 bits, polarity bit 28.
    V2,
}

/// The DAT decoder's state.
pub(crate) struct Dat {
    layout: Layout,
    /// 2^32 µs times the wraps so far.
    offset: u64,
    /// The last event's recorded time (with the wraps), µs.
    last: u64,
}

impl Dat {
    pub(crate) fn new(layout: Layout) -> Self {
        Dat {
            layout,
            offset: 0,
            last: 0,
        }
    }

    fn run<const X_BITS: u32, const Y_BITS: u32>(&mut self, bytes: &[u8], out: &mut Vec<Event>) {
        let (mut offset, mut last) = (self.offset, self.last);
        for r in bytes.chunks_exact(RECORD) {
            let ts = u32::from_le_bytes([r[0], r[1], r[2], r[3]]);
            let data = u32::from_le_bytes([r[4], r[5], r[6], r[7]]);
            let mut t = offset | u64::from(ts);
            if t + (WRAP_US >> 1) < last {
                offset += WRAP_US;
                t += WRAP_US;
            }
            last = t;
            out.push(Event {
                t,
                x: (data & ((1 << X_BITS) - 1)) as u16,
                y: ((data >> X_BITS) & ((1 << Y_BITS) - 1)) as u16,
                on: (data >> (X_BITS + Y_BITS)) & 1 != 0,
            });
        }
        self.offset = offset;
        self.last = last;
    }
}

impl Decoder for Dat {
    fn decode(&mut self, bytes: &[u8], at: u64, eof: bool, out: &mut Vec<Event>, max: usize) -> Result<usize, Fault> {
        let whole = bytes.len() / RECORD;
        let n = whole.min(max.saturating_sub(out.len()));
        out.reserve(n);
        let used = n * RECORD;
        match self.layout {
            Layout::V1 => self.run::<9, 8>(&bytes[..used], out),
            Layout::V2 => self.run::<14, 14>(&bytes[..used], out),
        }
        if eof && n == whole && bytes.len() > used {
            return Err(Fault::format(
                at + used as u64,
                format!(
                    "truncated DAT event at the end ({} of {RECORD} bytes)",
                    bytes.len() - used
                ),
            ));
        }
        Ok(used)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::{Format, Order, Reader, Sensor};

    fn file(header: &str, events: &[(u32, u32)]) -> Vec<u8> {
        let mut b = header.as_bytes().to_vec();
        b.extend_from_slice(&[0x0c, 0x08]);
        for (t, d) in events {
            b.extend_from_slice(&t.to_le_bytes());
            b.extend_from_slice(&d.to_le_bytes());
        }
        b
    }

    fn v2(x: u32, y: u32, on: bool) -> u32 {
        x | y << 14 | u32::from(on) << 28
    }

    fn read(bytes: Vec<u8>) -> Result<Vec<Event>, crate::Error> {
        Reader::from_read(std::io::Cursor::new(bytes), "mem")?
            .order(Order::AsRecorded)
            .read_all()
    }

    #[test]
    fn version_2_events_unpack_x_y_polarity() {
        let b = file(
            "% Height 720\n% Version 2\n% Width 1280\n",
            &[(5, v2(1279, 719, true)), (6, v2(0, 1, false))],
        );
        let r = Reader::from_read(std::io::Cursor::new(b), "m").unwrap();
        assert_eq!(r.format(), Format::Dat);
        assert_eq!(
            r.sensor(),
            Some(Sensor {
                width: 1280,
                height: 720
            })
        );
        assert_eq!(
            r.read_all().unwrap(),
            vec![Event::new(5, 1279, 719, true), Event::new(6, 0, 1, false)]
        );
    }

    #[test]
    fn version_1_events_unpack_x_y_polarity() {
        let d = 303 | 239 << 9 | 1 << 17;
        let ev = read(file("% Version 1\n% Width 304\n% Height 240\n", &[(7, d)])).unwrap();
        assert_eq!(ev, vec![Event::new(7, 303, 239, true)]);
    }

    #[test]
    fn type_0x00_is_read_as_cd() {
        let mut b = file("% Version 2\n", &[(1, v2(2, 3, true))]);
        let at = b.iter().position(|&c| c == 0x0c).unwrap();
        b[at] = 0x00;
        assert_eq!(read(b).unwrap(), vec![Event::new(1, 2, 3, true)]);
    }

    #[test]
    fn timestamp_wrap_adds_2_pow_32() {
        let ev = read(file("% Version 2\n", &[(u32::MAX - 1, 0), (3, 0), (2, 0), (4, 0)])).unwrap();
        let t: Vec<u64> = ev.iter().map(|e| e.t).collect();
        assert_eq!(t, vec![u64::from(u32::MAX - 1), WRAP_US + 3, WRAP_US + 2, WRAP_US + 4]);
    }

    #[test]
    fn truncated_last_event_is_an_error() {
        let mut b = file("% Version 2\n", &[(1, 0)]);
        b.extend_from_slice(&[1, 2, 3]);
        let at = b.len() - 3;
        let e = read(b).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Format(_)));
        assert_eq!(e.offset, Some(at as u64));
    }

    #[test]
    fn trigger_files_and_other_versions_are_unsupported() {
        let mut b = file("% Version 2\n", &[]);
        let at = b.len() - 2;
        b[at] = 0x0e;
        assert!(matches!(read(b).unwrap_err().kind, ErrorKind::Unsupported(_)));
        assert!(matches!(
            read(file("% Version 3\n", &[])).unwrap_err().kind,
            ErrorKind::Unsupported(_)
        ));
    }

    #[test]
    fn decode_respects_max() {
        let mut bytes = Vec::new();
        for t in 0u32..5 {
            bytes.extend_from_slice(&t.to_le_bytes());
            bytes.extend_from_slice(&0u32.to_le_bytes());
        }
        let mut d = Dat::new(Layout::V2);
        let mut out = Vec::new();
        assert_eq!(d.decode(&bytes, 0, true, &mut out, 2).unwrap(), 16);
        assert_eq!(out.len(), 2);
    }
}
