//! `.npy`: a NumPy structured array with tonic's event fields, as tonic's
//! N-MNIST loader makes it: `dtype([('x', '<i8'), ('y', '<i8'), ('t', '<i8'),
//! ('p', '<i8')])`, t in µs, p 1 = ON (`np.load(path)` then `events["t"]`,
//! and every tonic transform takes it as is). The row count is written when
//! the stream ends: the header is reserved at its full width first.

use super::{EventWriter, Output};
use crate::{Error, Event};

/// The header dictionary's width: the shape field has room for any u64.
const SHAPE_WIDTH: usize = 20;

pub(crate) struct Npy {
    out: Output,
    rows: u64,
    buf: Vec<u8>,
}

/// The full header (magic, version 1.0, length, dictionary padded to 64 bytes) for `rows` events.
pub(crate) fn header(rows: u64) -> Vec<u8> {
    let dict = format!(
        "{{'descr': [('x', '<i8'), ('y', '<i8'), ('t', '<i8'), ('p', '<i8')], 'fortran_order': False, 'shape': ({rows:>width$},), }}",
        width = SHAPE_WIDTH
    );
    let unpadded = 10 + dict.len() + 1;
    let total = unpadded.div_ceil(64) * 64;
    let mut h = Vec::with_capacity(total);
    h.extend_from_slice(b"\x93NUMPY\x01\x00");
    h.extend_from_slice(&((total - 10) as u16).to_le_bytes());
    h.extend_from_slice(dict.as_bytes());
    h.resize(total - 1, b' ');
    h.push(b'\n');
    h
}

impl Npy {
    pub fn new(mut out: Output) -> Result<Npy, Error> {
        out.put(&header(0))?;
        Ok(Npy {
            out,
            rows: 0,
            buf: Vec::with_capacity(32 << 16),
        })
    }
}

impl EventWriter for Npy {
    fn write(&mut self, events: &[Event]) -> Result<(), Error> {
        self.buf.clear();
        for e in events {
            if e.t > i64::MAX as u64 {
                return Err(Error::argument(
                    self.out.name(),
                    format!("time {} µs does not fit NumPy's int64", e.t),
                ));
            }
            for v in [i64::from(e.x), i64::from(e.y), e.t as i64, i64::from(e.p())] {
                self.buf.extend_from_slice(&v.to_le_bytes());
            }
        }
        self.rows += events.len() as u64;
        let buf = std::mem::take(&mut self.buf);
        let r = self.out.put(&buf);
        self.buf = buf;
        r
    }

    fn finish(mut self: Box<Self>) -> Result<(), Error> {
        self.out.overwrite_at(0, &header(self.rows))?;
        self.out.commit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_64_byte_aligned_and_same_length_for_any_row_count() {
        let a = header(0);
        let b = header(u64::MAX);
        assert_eq!(a.len() % 64, 0);
        assert_eq!(a.len(), b.len());
        assert_eq!(*a.last().unwrap(), b'\n');
        let len = u16::from_le_bytes([a[8], a[9]]) as usize;
        assert_eq!(len + 10, a.len());
        assert!(String::from_utf8_lossy(&b).contains("'shape': (18446744073709551615,)"));
    }
}
