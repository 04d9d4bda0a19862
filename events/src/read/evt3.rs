//! Prophesee EVT 3.0: after the `%` header ([`super::prophesee`]), 16-bit
//! little-endian words, the type in the top 4 bits; a stateful encoding
//! (a word sets the y, the x base or the time that the following event
//! words use):
//!
//! | type | name | bits 11..0 |
//! |---|---|---|
//! | `0x0` | EVT_ADDR_Y | y (10..0); bit 11 the system type (master / slave), ignored |
//! | `0x2` | EVT_ADDR_X | x (10..0), polarity (11, 1 = ON): one CD event at (x, y, t) |
//! | `0x3` | VECT_BASE_X | x base (10..0), polarity (11) of the vector words after it |
//! | `0x4` | VECT_12 | 12 valid bits: bit i set = an event at x base + i; then x base += 12 |
//! | `0x5` | VECT_8 | 8 valid bits (7..0); then x base += 8 |
//! | `0x6` | EVT_TIME_LOW | the low 12 bits of the 24-bit µs time |
//! | `0x7` | CONTINUED_4 | extra data (skipped) |
//! | `0x8` | EVT_TIME_HIGH | the high 12 bits of the 24-bit µs time |
//! | `0xA` | EXT_TRIGGER | trigger edge and id (skipped) |
//! | `0xE` | OTHERS | monitoring (skipped) |
//! | `0xF` | CONTINUED_12 | extra data (skipped) |
//!
//! Types `0x1`, `0x9`, `0xB`, `0xC`, `0xD` are not defined by EVT 3.0: an
//! error at the word's offset (a file read with the wrong decoder, or garbage).
//!
//! # Policies
//!
//! - **Time**: `(wraps << 24) | (time_high << 12) | time_low`. A time-high
//!   word that changes the high bits resets the low bits to 0 until the next
//!   time-low word (OpenEB: "avoid momentary time discrepancies").
//! - **Wrap of the 24-bit counter** (every 2^24 µs, 16.8 s): a time high that
//!   steps back by 2048 or more (half its range) is the counter's wrap, and
//!   2^24 µs are added to every later time, as OpenEB's `EVT3Decoder` does
//!   (`loop += high_before >= 2^11 + high`). A smaller step back is kept.
//! - **A time low that steps back** (the camera's time-low words can be a
//!   few µs out of order) is kept as recorded: the events take the time the
//!   words say, and the reader's default [`Order::Clamp`](super::Order)
//!   holds them at the last time given out, which is what faery does inside
//!   its decoder (a time word earlier than the current time is ignored).
//!   With it the shared `evt3.raw` decodes to faery's 1,218,618 events with
//!   the same sums; [`Order::AsRecorded`](super::Order) gives the raw times.
//! - **Event words before the state they need**: an EVT_ADDR_X, VECT_12
//!   or VECT_8 word before any EVT_TIME_HIGH or EVT_ADDR_Y (or a vector
//!   word before any VECT_BASE_X) is an error at its offset: its time or
//!   position is unknown. (OpenEB skips every word before the first time
//!   high; faery gives such events time 0.) Time-low, y and x-base words
//!   before the first time high are read.
//! - **Vectors past the 11-bit x range**: the x base only grows (by 12 or
//!   8 per vector word); a valid bit at x > 2047 (beyond what EVT 3.0 can
//!   address) is an error at its word.
//! - **A truncated last word** (one byte at the end) is an error.
//!
//! Sources: <https://docs.prophesee.ai/stable/data/encoding_formats/evt3.html>;
//! OpenEB `hal/cpp/include/metavision/hal/decoders/evt3/evt3_decoder.h` and
//! `evt3_event_types.h`; faery 0.7.1 `src/evt/decoder.rs`.

use super::Decoder;
use crate::error::Fault;
use crate::Event;

/// Bytes per word.
pub(crate) const WORD: usize = 2;
/// The largest x EVT 3.0 addresses (11 bits).
const X_MAX: u32 = 0x7ff;
/// Time-high steps back of this many units or more are the counter's wrap.
const WRAP_STEP: u32 = 1 << 11;

/// The EVT 3.0 decoder's state.
pub(crate) struct Evt3 {
    /// The time, µs: `(wraps << 24) | (time_high << 12) | time_low`.
    time: u64,
    y: u32,
    base_x: u32,
    on: bool,
    have_high: bool,
    have_y: bool,
    have_base: bool,
}

/// Word types that leave the branch-free path: the vector words (`0x3`,
/// `0x4`, `0x5`, rare) and the types EVT 3.0 does not define.
const SLOW: u16 = 1 << 0x1 | 1 << 0x3 | 1 << 0x4 | 1 << 0x5 | 1 << 0x9 | 1 << 0xB | 1 << 0xC | 1 << 0xD;

/// All ones if `b`, else 0.
#[inline(always)]
fn mask(b: bool) -> u64 {
    0u64.wrapping_sub(u64::from(b))
}

/// The time after a time-high word of value `v`: unchanged if the high bits
/// are; else the new high bits, time low 0, and 2^24 more if they stepped
/// back by [`WRAP_STEP`] or more.
#[inline(always)]
fn after_time_high(time: u64, v: u64) -> u64 {
    let high = (time >> 12) & 0xfff;
    let same = mask(v == high);
    let changed = (((time >> 24) + u64::from(high >= v + u64::from(WRAP_STEP))) << 24) | v << 12;
    (time & same) | (changed & !same)
}

impl Evt3 {
    pub(crate) fn new() -> Self {
        Evt3 {
            time: 0,
            y: 0,
            base_x: 0,
            on: false,
            have_high: false,
            have_y: false,
            have_base: false,
        }
    }

    /// One word, the plain way: the words before the state is known (a
    /// time high and a y), vector words, and words that are not EVT 3.0.
    /// Events go to `slots` (their count; `None` if they do not fit).
    #[cold]
    fn word(&mut self, w: u16, at: u64, slots: &mut [Event]) -> Result<Option<usize>, Fault> {
        let v = u32::from(w & 0xfff);
        let ready = self.have_high && self.have_y;
        let (mut bits, width) = match w >> 12 {
            0x0 => {
                self.y = v & 0x7ff;
                self.have_y = true;
                return Ok(Some(0));
            }
            0x2 if ready => {
                let Some(slot) = slots.first_mut() else {
                    return Ok(None);
                };
                *slot = Event {
                    t: self.time,
                    x: (v & 0x7ff) as u16,
                    y: self.y as u16,
                    on: v & 0x800 != 0,
                };
                return Ok(Some(1));
            }
            0x2 => return Err(fault(at, w, "an event before any time-high or y word")),
            0x3 => {
                self.base_x = v & 0x7ff;
                self.on = v & 0x800 != 0;
                self.have_base = true;
                return Ok(Some(0));
            }
            0x4 => (v, 12),
            0x5 => (v & 0xff, 8),
            0x6 => {
                self.time = (self.time & !0xfff) | u64::from(v);
                return Ok(Some(0));
            }
            0x8 => {
                self.time = if self.have_high {
                    after_time_high(self.time, u64::from(v))
                } else {
                    u64::from(v) << 12
                };
                self.have_high = true;
                return Ok(Some(0));
            }
            0x7 | 0xA | 0xE | 0xF => return Ok(Some(0)),
            k => {
                return Err(fault(
                    at,
                    w,
                    &format!("type 0x{k:X} is not defined (garbage, or not EVT 3.0)"),
                ))
            }
        };
        if !(ready && self.have_base) {
            return Err(fault(at, w, "a vector before any time-high, y or x-base word"));
        }
        let count = bits.count_ones() as usize;
        if count > slots.len() {
            return Ok(None);
        }
        let base = self.base_x;
        if bits != 0 && base.saturating_add(31 - bits.leading_zeros()) > X_MAX {
            return Err(fault(at, w, "a vector event beyond x = 2047"));
        }
        let (t, y, on) = (self.time, self.y as u16, self.on);
        for slot in &mut slots[..count] {
            let x = (base + bits.trailing_zeros()) as u16;
            bits &= bits - 1;
            *slot = Event { t, x, y, on };
        }
        self.base_x = base.saturating_add(width);
        Ok(Some(count))
    }

    /// Decodes whole `words` (input from byte `at`) into `slots`, stopping
    /// when they are full or before a vector word whose events do not fit.
    /// Returns the bytes decoded and the events written.
    ///
    /// Once a time high and a y are known, every word that is not a vector
    /// goes through the same branch-free steps: the state each type sets is
    /// selected, not branched to (the types of a stream alternate too
    /// irregularly for a branch predictor), and an event is written to the
    /// next slot every time, the count advancing only for an EVT_ADDR_X word.
    fn run(&mut self, words: &[u8], at: u64, slots: &mut [Event]) -> Result<(usize, usize), Fault> {
        let mut n = 0;
        let mut i = 0;
        let total = words.len() / WORD;
        while i < total && !(self.have_high && self.have_y) {
            let w = u16::from_le_bytes([words[i * WORD], words[i * WORD + 1]]);
            match self.word(w, at + (i * WORD) as u64, &mut slots[n..])? {
                Some(k) => n += k,
                None => return Ok((i * WORD, n)),
            }
            i += 1;
        }
        let (mut time, mut y) = (self.time, u64::from(self.y));
        for c in words[i * WORD..].chunks_exact(WORD) {
            if n >= slots.len() {
                break;
            }
            let w = u16::from_le_bytes([c[0], c[1]]);
            let k = w >> 12;
            if (SLOW >> k) & 1 != 0 {
                (self.time, self.y) = (time, y as u32);
                match self.word(w, at + (i * WORD) as u64, &mut slots[n..])? {
                    Some(k) => n += k,
                    None => break,
                }
                (time, y) = (self.time, u64::from(self.y));
                i += 1;
                continue;
            }
            // Selected with masks, not `if`: the compiler turns a chain of
            // `if`s on the type into a jump table, which mispredicts.
            let v = u64::from(w & 0xfff);
            let th = mask(k == 8);
            let tl = mask(k == 6);
            let ay = mask(k == 0);
            time = (after_time_high(time, v) & th) | (((time & !0xfff) | v) & tl) | (time & !(th | tl));
            y = ((v & 0x7ff) & ay) | (y & !ay);
            slots[n] = Event {
                t: time,
                x: (v & 0x7ff) as u16,
                y: y as u16,
                on: v & 0x800 != 0,
            };
            n += usize::from(k == 2);
            i += 1;
        }
        (self.time, self.y) = (time, y as u32);
        Ok((i * WORD, n))
    }
}

#[cold]
fn fault(at: u64, w: u16, what: &str) -> Fault {
    Fault::format(at, format!("EVT 3.0 word 0x{w:04X}: {what}"))
}

impl Decoder for Evt3 {
    fn decode(&mut self, bytes: &[u8], at: u64, eof: bool, out: &mut Vec<Event>, max: usize) -> Result<usize, Fault> {
        let start = out.len();
        if start >= max {
            return Ok(0);
        }
        let words = bytes.len() / WORD * WORD;
        // Slots for the events: no more than `max` (the reader's vector has
        // room for them) nor than the words can give (12 a word).
        let slots = (max - start).min(words / WORD * 12);
        out.resize(start + slots, Event::default());
        let (mut used, events) = match self.run(&bytes[..words], at, &mut out[start..]) {
            Ok(r) => r,
            Err(f) => {
                out.truncate(start);
                return Err(f);
            }
        };
        out.truncate(start + events);
        if used == 0 && words > 0 {
            // The first word is a vector with more events than `max` leaves
            // room for: give them anyway (`max` is a soft bound), so the
            // reader's chunk fills and decoding goes on.
            let mut spill = [Event::default(); 12];
            let w = u16::from_le_bytes([bytes[0], bytes[1]]);
            if let Some(k) = self.word(w, at, &mut spill)? {
                out.extend_from_slice(&spill[..k]);
                used = WORD;
            }
        }
        if eof && used == words && bytes.len() > used {
            return Err(Fault::format(
                at + used as u64,
                "truncated EVT 3.0 word at the end (1 of 2 bytes)",
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

    fn file(words: &[u16]) -> Vec<u8> {
        let mut b = b"% evt 3.0\n% format EVT3\n% geometry 1280x720\n% end\n".to_vec();
        for w in words {
            b.extend_from_slice(&w.to_le_bytes());
        }
        b
    }

    fn read_order(bytes: Vec<u8>, order: Order) -> Result<Vec<Event>, crate::Error> {
        Reader::from_read(std::io::Cursor::new(bytes), "mem")?
            .order(order)
            .read_all()
    }

    fn read(bytes: Vec<u8>) -> Result<Vec<Event>, crate::Error> {
        read_order(bytes, Order::AsRecorded)
    }

    const fn th(h: u16) -> u16 {
        0x8000 | h
    }
    const fn tl(l: u16) -> u16 {
        0x6000 | l
    }
    const fn y(y: u16) -> u16 {
        y
    }
    const fn x(x: u16, on: bool) -> u16 {
        0x2000 | (on as u16) << 11 | x
    }
    const fn base(x: u16, on: bool) -> u16 {
        0x3000 | (on as u16) << 11 | x
    }

    #[test]
    fn single_events_take_y_and_time() {
        let r = Reader::from_read(
            std::io::Cursor::new(file(&[th(1), tl(2), y(7), x(5, true), x(6, false)])),
            "m",
        )
        .unwrap();
        assert_eq!(r.format(), Format::Evt3);
        assert_eq!(
            r.sensor(),
            Some(Sensor {
                width: 1280,
                height: 720
            })
        );
        assert_eq!(
            r.read_all().unwrap(),
            vec![Event::new(4098, 5, 7, true), Event::new(4098, 6, 7, false)]
        );
    }

    #[test]
    fn vectors_emit_set_bits_and_advance_the_base() {
        let ev = read(file(&[
            th(0),
            tl(9),
            y(3),
            base(100, true),
            0x4000 | 0x801,
            0x5000 | 0x81,
        ]))
        .unwrap();
        let xs: Vec<u16> = ev.iter().map(|e| e.x).collect();
        assert_eq!(xs, vec![100, 111, 112, 119]);
        assert!(ev.iter().all(|e| e.on && e.y == 3 && e.t == 9));
    }

    #[test]
    fn time_high_change_resets_low_and_wrap_adds_2_pow_24() {
        let ev = read(file(&[
            th(4095),
            tl(4095),
            y(0),
            x(0, true),
            th(0),
            x(1, true),
            tl(5),
            x(2, true),
        ]))
        .unwrap();
        let t: Vec<u64> = ev.iter().map(|e| e.t).collect();
        assert_eq!(t, vec![(1 << 24) - 1, 1 << 24, (1 << 24) + 5]);
    }

    #[test]
    fn small_time_high_step_back_is_not_a_wrap() {
        let ev = read(file(&[th(100), y(0), x(0, true), th(99), x(1, true)])).unwrap();
        assert_eq!(ev[1].t, 99 << 12);
    }

    #[test]
    fn time_low_step_back_is_held_by_the_default_order() {
        let words = [th(0), tl(10), y(0), x(0, true), tl(8), x(1, true), tl(11), x(2, true)];
        let t = |o| {
            read_order(file(&words), o)
                .unwrap()
                .iter()
                .map(|e| e.t)
                .collect::<Vec<_>>()
        };
        assert_eq!(t(Order::AsRecorded), vec![10, 8, 11]);
        assert_eq!(t(Order::Clamp), vec![10, 10, 11]);
    }

    #[test]
    fn vector_before_time_is_an_error_at_its_offset() {
        let bytes = file(&[y(1), base(0, true), 0x4001]);
        let at = bytes.len() - 2;
        let e = read(bytes).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Format(_)));
        assert_eq!(e.offset, Some(at as u64));
        assert!(e.to_string().contains("vector before"), "{e}");
        let e = read(file(&[th(0), y(1), 0x4001])).unwrap_err();
        assert!(e.to_string().contains("x-base"), "{e}");
        let e = read(file(&[th(0), x(1, true)])).unwrap_err();
        assert!(e.to_string().contains("before any time-high or y"), "{e}");
    }

    #[test]
    fn vector_beyond_x_range_is_an_error() {
        let e = read(file(&[th(0), y(0), base(2040, true), 0x4000 | 0x800])).unwrap_err();
        assert!(e.to_string().contains("beyond x = 2047"), "{e}");
        // The last addressable pixel is fine.
        let ev = read(file(&[th(0), y(0), base(2040, true), 0x4000 | 0x80])).unwrap();
        assert_eq!(ev[0].x, 2047);
    }

    #[test]
    fn garbage_words_are_an_error() {
        let e = read(file(&[th(0), 0x9000])).unwrap_err();
        assert!(e.to_string().contains("type 0x9 is not defined"), "{e}");
        // Random bytes hit an undefined type (5 of 16) within a few words.
        let mut b = file(&[]);
        let mut s = 0x1234_5678u32;
        for _ in 0..4096 {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            b.push(s as u8);
        }
        assert!(read(b).is_err());
    }

    #[test]
    fn truncated_last_word_is_an_error() {
        let mut b = file(&[th(0), y(0), x(0, true)]);
        b.push(0x20);
        let at = b.len() - 1;
        let e = read(b).unwrap_err();
        assert_eq!(e.offset, Some(at as u64));
        assert!(e.to_string().contains("truncated EVT 3.0 word"), "{e}");
    }

    #[test]
    fn others_triggers_and_continued_are_skipped() {
        let ev = read(file(&[th(0), 0xE001, 0xF123, 0x7001, 0xA001, y(2), x(3, false)])).unwrap();
        assert_eq!(ev, vec![Event::new(0, 3, 2, false)]);
    }

    #[test]
    fn decode_stops_at_max_and_resumes() {
        let mut words = vec![th(0), y(0), base(0, true)];
        words.extend(std::iter::repeat_n(0x4fff, 10));
        let mut bytes = Vec::new();
        for w in &words {
            bytes.extend_from_slice(&w.to_le_bytes());
        }
        let mut d = Evt3::new();
        let mut out = Vec::new();
        // One vector word fits in 20 events, the second does not: stop before it.
        let used = d.decode(&bytes, 0, false, &mut out, 20).unwrap();
        assert_eq!((used, out.len()), (4 * WORD, 12));
        // A call that could give nothing gives the whole word (a soft bound).
        let more = d.decode(&bytes[used..], used as u64, false, &mut out, 20).unwrap();
        assert_eq!((more, out.len()), (WORD, 24));
        let used = used + more;
        let rest = d
            .decode(&bytes[used..], used as u64, true, &mut out, usize::MAX)
            .unwrap();
        assert_eq!(rest, bytes.len() - used);
        assert_eq!(out.len(), 120);
        assert_eq!(out.last().unwrap().x, 119);
    }
}
