//! Prophesee EVT 2.0: after the `%` header ([`super::prophesee`]), 32-bit
//! little-endian words, the type in the top 4 bits:
//!
//! | type | name | bits 27..0 |
//! |---|---|---|
//! | `0x0` | CD_OFF | t low (27..22, 6 bits), x (21..11, 11 bits), y (10..0, 11 bits) |
//! | `0x1` | CD_ON | as CD_OFF |
//! | `0x8` | EVT_TIME_HIGH | the upper 28 bits of the 34-bit µs timestamp |
//! | `0xA` | EXT_TRIGGER | t low, trigger id, edge (skipped) |
//! | `0xD` | IMU_EVT | first of 6 words (skipped; the 5 that follow are CONTINUED) |
//! | `0xE` | OTHERS | monitoring (skipped) |
//! | `0xF` | CONTINUED | extra data of the word before (skipped) |
//! | `0xB`, `0xC` | GRAY_LEVEL, OPT_FLOW | defined but not generated (skipped) |
//!
//! A CD event's time is `(time_high << 6) | t_low`. Any other type
//! (`0x2`..`0x7`, `0x9`) is not EVT 2.0: an error at its offset (a file
//! read with the wrong decoder, or garbage).
//!
//! # Policies
//!
//! - **Events before the first EVT_TIME_HIGH** are dropped, as OpenEB's
//!   `EVT2Decoder` skips every word until the first time-high (their time
//!   is unknown above the 6 low bits). faery instead gives them a time high
//!   of 0; the shared `evt2.raw` starts with a time-high, so both give its
//!   521,252 events.
//! - **Wrap**: the time high is a 28-bit counter (2^34 µs, about 4.8 h).
//!   A time high more than half the counter's range (2^33 µs) below the one
//!   before is its wrap: 2^34 µs are added to every later time (OpenEB adds
//!   its loop when the step back is nearly the whole range; faery at any
//!   step back). A smaller step back is kept as recorded (the reader's
//!   [`Order`](super::Order) decides).
//! - **A truncated last word** (1 to 3 bytes at the end) is an error.
//!
//! Sources: <https://docs.prophesee.ai/stable/data/encoding_formats/evt2.html>;
//! OpenEB `hal/cpp/include/metavision/hal/decoders/evt2/evt2_decoder.h` and
//! `evt2_event_types.h`; faery 0.7.1 `src/evt/decoder.rs`.

use super::Decoder;
use crate::error::Fault;
use crate::Event;

/// Bytes per word.
pub(crate) const WORD: usize = 4;
/// The type of an ON event word (OFF is 0x0).
pub(crate) const CD_ON: u32 = 0x1;
/// The type of a time-high word.
pub(crate) const TIME_HIGH: u32 = 0x8;
/// Bits of the timestamp a CD word holds.
pub(crate) const LOW_BITS: u32 = 6;
/// The time high counter's range in µs (28 + 6 bits).
pub(crate) const LOOP_US: u64 = 1 << 34;
/// Time-high units in the counter's range.
const HIGH_RANGE: u32 = 1 << 28;

/// The EVT 2.0 decoder's state.
pub(crate) struct Evt2 {
    /// `time_high << 6` plus the wraps so far, µs; valid once `have_high`.
    base: u64,
    /// The last time-high field.
    high: u32,
    have_high: bool,
    /// CD events dropped before the first time high.
    pub dropped: u64,
}

impl Evt2 {
    pub(crate) fn new() -> Self {
        Evt2 {
            base: 0,
            high: 0,
            have_high: false,
            dropped: 0,
        }
    }
}

impl Evt2 {
    /// Decodes every word of `words` (whole words, input from byte `at`).
    fn run(&mut self, words: &[u8], at: u64, out: &mut Vec<Event>) -> Result<(), Fault> {
        let mut base = self.base;
        for (i, w) in words.chunks_exact(WORD).enumerate() {
            let w = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
            let kind = w >> 28;
            if kind <= CD_ON {
                if self.have_high {
                    out.push(Event {
                        t: base | u64::from((w >> 22) & 0x3f),
                        x: ((w >> 11) & 0x7ff) as u16,
                        y: (w & 0x7ff) as u16,
                        on: kind == CD_ON,
                    });
                } else {
                    self.dropped += 1;
                }
            } else if kind == TIME_HIGH {
                let high = w & 0x0fff_ffff;
                if self.have_high && high < self.high && self.high - high > HIGH_RANGE / 2 {
                    base += LOOP_US;
                }
                base = (base & !(LOOP_US - 1)) | (u64::from(high) << LOW_BITS);
                self.high = high;
                self.have_high = true;
            } else if kind < 0xA {
                self.base = base;
                return Err(Fault::format(
                    at + (i * WORD) as u64,
                    format!("not an EVT 2.0 word: 0x{w:08X} (type 0x{kind:X} is undefined)"),
                ));
            }
        }
        self.base = base;
        Ok(())
    }
}

impl Decoder for Evt2 {
    fn decode(&mut self, bytes: &[u8], at: u64, eof: bool, out: &mut Vec<Event>, max: usize) -> Result<usize, Fault> {
        let words = bytes.len() / WORD;
        let mut done = 0;
        // A word gives at most one event: batches of `max - out.len()` words never overfill `out`.
        while done < words && out.len() < max {
            let n = (words - done).min(max - out.len());
            out.reserve(n);
            self.run(&bytes[done * WORD..(done + n) * WORD], at + (done * WORD) as u64, out)?;
            done += n;
        }
        let used = done * WORD;
        if eof && done == words && bytes.len() > used {
            return Err(Fault::format(
                at + used as u64,
                format!(
                    "truncated EVT 2.0 word at the end ({} of {WORD} bytes)",
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

    fn cd(t_low: u32, x: u32, y: u32, on: bool) -> u32 {
        (u32::from(on) << 28) | (t_low << 22) | (x << 11) | y
    }

    fn th(high: u32) -> u32 {
        (TIME_HIGH << 28) | high
    }

    fn file(words: &[u32]) -> Vec<u8> {
        let mut b = b"% evt 2.0\n% geometry 640x480\n".to_vec();
        for w in words {
            b.extend_from_slice(&w.to_le_bytes());
        }
        b
    }

    fn read(bytes: Vec<u8>) -> Result<Vec<Event>, crate::Error> {
        Reader::from_read(std::io::Cursor::new(bytes), "mem")?
            .order(Order::AsRecorded)
            .read_all()
    }

    #[test]
    fn cd_words_take_time_high_and_low() {
        let r = Reader::from_read(
            std::io::Cursor::new(file(&[th(10), cd(5, 639, 479, true), cd(63, 0, 1, false)])),
            "m",
        )
        .unwrap();
        assert_eq!(r.format(), Format::Evt2);
        assert_eq!(
            r.sensor(),
            Some(Sensor {
                width: 640,
                height: 480
            })
        );
        let ev = r.read_all().unwrap();
        assert_eq!(ev, vec![Event::new(645, 639, 479, true), Event::new(703, 0, 1, false)]);
    }

    #[test]
    fn events_before_first_time_high_are_dropped() {
        let ev = read(file(&[cd(1, 1, 1, true), th(1), cd(2, 2, 2, false)])).unwrap();
        assert_eq!(ev, vec![Event::new(66, 2, 2, false)]);
        let mut d = Evt2::new();
        let bytes: Vec<u8> = [cd(1, 1, 1, true), cd(1, 1, 1, true)]
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect();
        assert_eq!(d.decode(&bytes, 0, true, &mut Vec::new(), 10).unwrap(), 8);
        assert_eq!(d.dropped, 2);
    }

    #[test]
    fn others_triggers_and_continued_are_skipped() {
        let ev = read(file(&[
            th(0),
            0xA000_0001,
            0xE000_0000,
            0xF000_1234,
            0xD000_0000,
            cd(3, 4, 5, true),
        ]))
        .unwrap();
        assert_eq!(ev, vec![Event::new(3, 4, 5, true)]);
    }

    #[test]
    fn time_high_wrap_adds_2_pow_34() {
        let top = HIGH_RANGE - 1;
        let ev = read(file(&[
            th(top),
            cd(0, 0, 0, true),
            th(0),
            cd(1, 0, 0, true),
            th(2),
            cd(0, 0, 0, true),
        ]))
        .unwrap();
        let t: Vec<u64> = ev.iter().map(|e| e.t).collect();
        assert_eq!(t, vec![u64::from(top) << 6, LOOP_US + 1, LOOP_US + 128]);
    }

    #[test]
    fn small_time_high_step_back_is_kept_as_recorded() {
        let ev = read(file(&[th(100), cd(0, 0, 0, true), th(99), cd(0, 0, 0, true)])).unwrap();
        assert_eq!(ev[1].t, 99 << 6);
    }

    #[test]
    fn undefined_word_type_is_an_error_at_its_offset() {
        let bytes = file(&[th(0), cd(0, 0, 0, true), 0x3000_0000]);
        let at = bytes.len() - 4;
        let e = read(bytes).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Format(_)));
        assert_eq!(e.offset, Some(at as u64));
    }

    #[test]
    fn truncated_last_word_is_an_error() {
        let mut bytes = file(&[th(0), cd(0, 0, 0, true)]);
        bytes.extend_from_slice(&[1, 2]);
        let at = bytes.len() - 2;
        let e = read(bytes).unwrap_err();
        assert_eq!(e.offset, Some(at as u64));
        assert!(e.to_string().contains("truncated EVT 2.0 word"), "{e}");
    }

    #[test]
    fn decode_respects_max() {
        let mut d = Evt2::new();
        let mut bytes = Vec::new();
        for w in [th(0), cd(0, 0, 0, true), cd(1, 0, 0, true), cd(2, 0, 0, true)] {
            bytes.extend_from_slice(&w.to_le_bytes());
        }
        let mut out = Vec::new();
        let used = d.decode(&bytes, 0, false, &mut out, 1).unwrap();
        assert_eq!((used, out.len()), (8, 1));
        let used2 = d.decode(&bytes[used..], used as u64, true, &mut out, 10).unwrap();
        assert_eq!((used2, out.len()), (8, 3));
    }
}
