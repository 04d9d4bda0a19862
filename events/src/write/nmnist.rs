//! `.bin`: N-MNIST's 40-bit events (see `read::nmnist`). The format holds
//! x < 256, y < 240 (240 marks a timestamp overflow) and 23-bit times; later
//! times are written with overflow markers (each adds 2^13 µs to what
//! follows), at most [`MAX_MARKERS`] of them, so a recording must start near
//! time 0 (N-MNIST's start at 0; a camera's clock is rebased first:
//! `events convert --rebase`).

use super::{EventWriter, Output};
use crate::read::nmnist::{OVERFLOW_US, OVERFLOW_Y};
use crate::{Error, Event};

/// Times below 2^23 µs fit a record.
const T_LIMIT: u64 = 1 << 23;
/// The most overflow markers written (2^20 markers: 2.4 hours of recording).
pub const MAX_MARKERS: u64 = 1 << 20;

pub(crate) struct Nmnist {
    out: Output,
    /// Time carried by the markers written so far, µs.
    base: u64,
    buf: Vec<u8>,
}

impl Nmnist {
    pub fn new(out: Output) -> Nmnist {
        Nmnist {
            out,
            base: 0,
            buf: Vec::with_capacity(5 << 16),
        }
    }
}

/// The record of `e` after `base` µs of overflow markers.
pub(crate) fn record(e: &Event, base: u64) -> [u8; 5] {
    let t = e.t - base;
    [
        e.x as u8,
        e.y as u8,
        (e.on as u8) << 7 | (t >> 16) as u8 & 0x7f,
        (t >> 8) as u8,
        t as u8,
    ]
}

impl EventWriter for Nmnist {
    fn write(&mut self, events: &[Event]) -> Result<(), Error> {
        self.buf.clear();
        for e in events {
            if e.x > 255 || e.y >= u16::from(OVERFLOW_Y) {
                return Err(Error::argument(
                    self.out.name(),
                    format!(
                        "event at ({}, {}) does not fit N-MNIST's .bin (x < 256, y < 240)",
                        e.x, e.y
                    ),
                ));
            }
            if e.t < self.base {
                return Err(Error::argument(
                    self.out.name(),
                    "times must be non-decreasing for N-MNIST's .bin",
                ));
            }
            if e.t - self.base >= T_LIMIT {
                let markers = (e.t - self.base - T_LIMIT) / OVERFLOW_US + 1;
                if self.base / OVERFLOW_US + markers > MAX_MARKERS {
                    return Err(Error::argument(
                        self.out.name(),
                        format!(
                            "time {} µs is beyond what N-MNIST's .bin holds ({} µs); rebase the recording to start at 0 (events convert --rebase)",
                            e.t,
                            MAX_MARKERS * OVERFLOW_US + T_LIMIT - 1
                        ),
                    ));
                }
                for _ in 0..markers {
                    self.buf.extend_from_slice(&[0, OVERFLOW_Y, 0, 0, 0]);
                }
                self.base += markers * OVERFLOW_US;
            }
            self.buf.extend_from_slice(&record(e, self.base));
        }
        let buf = std::mem::take(&mut self.buf);
        let r = self.out.put(&buf);
        self.buf = buf;
        r
    }

    fn finish(self: Box<Self>) -> Result<(), Error> {
        self.out.commit()
    }
}
