//! `.raw`: Prophesee EVT 2.0 (the layout: `read::evt2`). The header is
//!
//! ```text
//! % evt 2.0
//! % format EVT2;height=H;width=W
//! % geometry WxH
//! % end
//! ```
//!
//! (`evt` and `geometry` for older readers, `format` with the size as
//! OpenEB ≥ 4 writes it, `% end` so no reader mistakes a first word that
//! starts with `%` for a header line), then 32-bit little-endian words: an
//! EVT_TIME_HIGH word (type `0x8`, `t >> 6` in 28 bits) before the first
//! event and whenever `t >> 6` changes, and one CD word per event (type
//! `0x1` ON / `0x0` OFF, `t & 63`, x, y in 11 bits each).
//!
//! Times past 2^34 µs wrap the 28-bit time high, as a camera's do; readers
//! (ours, OpenEB's) count a time high that steps far back as a wrap. A gap
//! of half the counter's range (2^33 µs) or more between two events would
//! be ambiguous, so the writer bridges it with time-high words 2^32 µs
//! apart: any non-decreasing `t` that starts below 2^34 µs reads back
//! exactly (a camera's clock far beyond is an error: rebase it). Times must not
//! decrease, and x and y must be below 2048: otherwise an argument error.

use super::{EventWriter, Output};
use crate::read::Sensor;
use crate::{Error, Event};

/// The largest x or y a CD word holds (11 bits).
pub(crate) const MAX_XY: u16 = 0x7ff;
/// The type of a time-high word.
const TIME_HIGH: u32 = 0x8 << 28;
/// The mask of a time-high word's 28 bits.
const HIGH_MASK: u64 = 0x0fff_ffff;
/// The largest forward step between two time-high words a reader tells from a wrap, in time-high units (2^6 µs).
const MAX_STEP: u64 = 1 << 27;
/// The step of the time-high words that bridge a longer gap.
const BRIDGE: u64 = 1 << 26;

/// The EVT 2.0 writer.
pub(crate) struct Evt2 {
    out: Output,
    buf: Vec<u8>,
    /// `t >> 6` of the last time-high word written (not masked to 28 bits).
    high: Option<u64>,
    /// The last event's time.
    last_t: u64,
}

impl Evt2 {
    /// Writes the header for `sensor`.
    pub(crate) fn new(mut out: Output, sensor: Sensor) -> Result<Evt2, Error> {
        let (w, h) = (sensor.width, sensor.height);
        let header = format!("% evt 2.0\n% format EVT2;height={h};width={w}\n% geometry {w}x{h}\n% end\n");
        out.put(header.as_bytes())?;
        Ok(Evt2 {
            out,
            buf: Vec::with_capacity(4 << 16),
            high: None,
            last_t: 0,
        })
    }

    fn time_high(&mut self, high: u64) {
        self.buf
            .extend_from_slice(&(TIME_HIGH | (high & HIGH_MASK) as u32).to_le_bytes());
    }
}

impl EventWriter for Evt2 {
    fn write(&mut self, events: &[Event]) -> Result<(), Error> {
        self.buf.clear();
        for e in events {
            if e.x > MAX_XY || e.y > MAX_XY {
                return Err(Error::argument(
                    self.out.name(),
                    format!("event at ({}, {}) does not fit EVT 2.0 (x, y < 2048)", e.x, e.y),
                ));
            }
            if e.t < self.last_t {
                return Err(Error::argument(
                    self.out.name(),
                    format!(
                        "times must be non-decreasing for EVT 2.0 ({} µs after {} µs)",
                        e.t, self.last_t
                    ),
                ));
            }
            self.last_t = e.t;
            let high = e.t >> 6;
            match self.high {
                Some(h) if h == high => {}
                Some(mut h) => {
                    while high - h >= MAX_STEP {
                        h += BRIDGE;
                        self.time_high(h);
                    }
                    self.time_high(high);
                }
                None if high > HIGH_MASK => {
                    // A reader starts its clock at 0: a first time past the
                    // counter's range would read back without its high bits.
                    return Err(Error::argument(
                        self.out.name(),
                        format!(
                            "time {} µs is beyond EVT 2.0's first counter range (2^34 µs); rebase the recording to start at 0 (events convert --rebase)",
                            e.t
                        ),
                    ));
                }
                None => self.time_high(high),
            }
            self.high = Some(high);
            let word = u32::from(e.on) << 28 | ((e.t & 63) as u32) << 22 | u32::from(e.x) << 11 | u32::from(e.y);
            self.buf.extend_from_slice(&word.to_le_bytes());
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

#[cfg(test)]
mod tests {
    use crate::write::{create, OutFormat};
    use crate::{Event, Format, Order, Reader, Sensor};

    fn round_trip(events: &[Event], sensor: Sensor, chunk: usize) -> (Reader, Vec<Event>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.raw");
        assert_eq!(OutFormat::from_path(&path).unwrap(), OutFormat::Evt2);
        let mut w = create(&path, OutFormat::Evt2, sensor).unwrap();
        for c in events.chunks(chunk.max(1)) {
            w.write(c).unwrap();
        }
        w.finish().unwrap();
        let r = Reader::open(&path).unwrap().order(Order::AsRecorded);
        let back = Reader::open(&path)
            .unwrap()
            .order(Order::AsRecorded)
            .read_all()
            .unwrap();
        (r, back)
    }

    #[test]
    fn written_events_read_back_equal_with_sensor() {
        let sensor = Sensor {
            width: 640,
            height: 480,
        };
        let mut events = Vec::new();
        let mut t = 1_000_000u64;
        for i in 0..20_000u32 {
            t += u64::from(i % 97);
            events.push(Event::new(t, (i * 7 % 640) as u16, (i * 13 % 480) as u16, i % 3 == 0));
        }
        let (r, back) = round_trip(&events, sensor, 4096);
        assert_eq!(r.format(), Format::Evt2);
        assert_eq!(r.sensor(), Some(sensor));
        assert_eq!(back, events);
    }

    #[test]
    fn times_past_the_counter_wrap_and_long_gaps_read_back_equal() {
        let events = vec![
            Event::new(0, 0, 0, true),
            Event::new((1 << 34) - 1, 2047, 2047, false),
            Event::new(1 << 34, 1, 1, true),
            // A gap of 3 wraps: bridged by time-high words.
            Event::new((4 << 34) + 5, 2, 2, true),
            Event::new((4 << 34) + (1 << 33) + 7, 3, 3, false),
        ];
        let (_, back) = round_trip(
            &events,
            Sensor {
                width: 2048,
                height: 2048,
            },
            2,
        );
        assert_eq!(back, events);
    }

    #[test]
    fn empty_recording_reads_back_empty() {
        let (r, back) = round_trip(
            &[],
            Sensor {
                width: 1280,
                height: 720,
            },
            1,
        );
        assert_eq!(
            r.sensor(),
            Some(Sensor {
                width: 1280,
                height: 720
            })
        );
        assert!(back.is_empty());
    }

    #[test]
    fn out_of_range_and_decreasing_events_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.raw");
        let sensor = Sensor {
            width: 1280,
            height: 720,
        };
        let mut w = create(&path, OutFormat::Evt2, sensor).unwrap();
        assert!(w.write(&[Event::new(0, 2048, 0, true)]).is_err());
        let mut w = create(&path, OutFormat::Evt2, sensor).unwrap();
        assert!(w
            .write(&[Event::new(10, 0, 0, true), Event::new(9, 0, 0, true)])
            .is_err());
        drop(w);
        assert!(!path.exists(), "a failed conversion leaves nothing behind");
    }

    #[test]
    fn shared_evt3_recording_converts_to_evt2_and_back() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/events/evt3.raw");
        if !src.exists() {
            return;
        }
        let r = Reader::open(&src).unwrap();
        let sensor = r.sensor().unwrap();
        let events = r.read_all().unwrap();
        let (r2, back) = round_trip(&events, sensor, 1 << 16);
        assert_eq!(r2.sensor(), Some(sensor));
        assert_eq!(back.len(), events.len());
        assert!(back == events);
    }
}
