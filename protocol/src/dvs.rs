//! Camera events on the wire: a compact, streaming, `no_std` codec of
//! [`stdp_core::Event`] (a DVS / ATIS / Prophesee event: time in µs, pixel,
//! polarity), for streaming a recording to the chip as a sensor would
//! deliver it.
//!
//! Each event is three unsigned LEB128 varints (7 bits a byte, low bits
//! first, high bit set on every byte but the last):
//!
//! ```text
//! dt      time since the previous event of the stream, µs (the first: since the stream's origin)
//! x       column
//! y2p     (row << 1) | polarity (1 = ON)
//! ```
//!
//! A stream's times never decrease (what every reader of `stdp-events`
//! gives by default), so `dt` is never negative. An N-MNIST event (34 x 34
//! pixels, events a few µs apart) takes 3 bytes; at most
//! [`MAX_EVENT_BYTES`]. Sizing a link: the busiest 10 ms of a real N-MNIST
//! recording carry up to 52,500 events/s, 157,500 B/s at 3 bytes, 1.6 Mbaud
//! with a start and a stop bit per byte.
//!
//! Decoding any bytes gives an event or a [`DvsError`], never a panic: a
//! varint longer than its field, a value beyond it, a time beyond u64 and a
//! cut event are refused (property-tested and fuzzed).

use stdp_core::Event;

/// The most bytes one event takes: dt (u64: 10), x (u16: 3), y2p (17 bits: 3).
pub const MAX_EVENT_BYTES: usize = 16;

/// Why bytes are not an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DvsError {
    /// The bytes end inside an event.
    Truncated,
    /// A varint is longer than its field allows, or its value exceeds the field.
    Overlong,
    /// The time would pass u64::MAX µs.
    TimeOverflow,
    /// (Encoding) the event is earlier than the previous one.
    Backward,
    /// (Encoding) the output has no room for the event.
    NoRoom,
}

/// Writes `v` as a varint at the front of `out`; the bytes written.
fn put_varint(mut v: u64, out: &mut [u8]) -> Result<usize, DvsError> {
    let mut i = 0;
    loop {
        let slot = out.get_mut(i).ok_or(DvsError::NoRoom)?;
        if v < 0x80 {
            *slot = v as u8;
            return Ok(i + 1);
        }
        *slot = (v as u8) | 0x80;
        v >>= 7;
        i += 1;
    }
}

/// Reads a varint of at most `max_bytes` bytes and below `limit` from the front of `b`.
fn get_varint(b: &[u8], max_bytes: usize, limit: u128) -> Result<(u64, usize), DvsError> {
    let mut v: u128 = 0;
    for i in 0..max_bytes {
        let byte = *b.get(i).ok_or(DvsError::Truncated)?;
        v |= u128::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            if v >= limit {
                return Err(DvsError::Overlong);
            }
            return Ok((v as u64, i + 1));
        }
    }
    Err(DvsError::Overlong)
}

/// The sending side: remembers the previous event's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DvsEncoder {
    last_t: u64,
}

impl DvsEncoder {
    /// A stream whose first `dt` counts from `origin_us`.
    pub const fn new(origin_us: u64) -> Self {
        DvsEncoder { last_t: origin_us }
    }

    /// Writes `e` at the front of `out`; the bytes written (1 to [`MAX_EVENT_BYTES`]).
    pub fn encode(&mut self, e: &Event, out: &mut [u8]) -> Result<usize, DvsError> {
        let dt = e.t.checked_sub(self.last_t).ok_or(DvsError::Backward)?;
        let mut n = put_varint(dt, out)?;
        n += put_varint(u64::from(e.x), out.get_mut(n..).ok_or(DvsError::NoRoom)?)?;
        n += put_varint(
            (u64::from(e.y) << 1) | u64::from(e.on),
            out.get_mut(n..).ok_or(DvsError::NoRoom)?,
        )?;
        self.last_t = e.t;
        Ok(n)
    }
}

/// The receiving side: remembers the previous event's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DvsDecoder {
    last_t: u64,
}

impl DvsDecoder {
    /// A stream whose first `dt` counts from `origin_us`.
    pub const fn new(origin_us: u64) -> Self {
        DvsDecoder { last_t: origin_us }
    }

    /// Reads one event from the front of `b`: the event and the bytes it took.
    /// On an error nothing is consumed and the decoder's time is unchanged.
    pub fn decode(&mut self, b: &[u8]) -> Result<(Event, usize), DvsError> {
        let (dt, n0) = get_varint(b, 10, 1 << 64)?;
        let (x, n1) = get_varint(&b[n0..], 3, 1 << 16)?;
        let (y2p, n2) = get_varint(&b[n0 + n1..], 3, 1 << 17)?;
        let t = self.last_t.checked_add(dt).ok_or(DvsError::TimeOverflow)?;
        self.last_t = t;
        Ok((
            Event {
                t,
                x: x as u16,
                y: (y2p >> 1) as u16,
                on: y2p & 1 == 1,
            },
            n0 + n1 + n2,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn nmnist_event_takes_three_bytes() {
        let mut enc = DvsEncoder::new(0);
        let mut buf = [0u8; MAX_EVENT_BYTES];
        let n = enc.encode(&Event::new(100, 33, 33, true), &mut buf).unwrap();
        assert_eq!(n, 3);
        assert_eq!(&buf[..3], &[100, 33, 67]);
        let (e, used) = DvsDecoder::new(0).decode(&buf).unwrap();
        assert_eq!((e, used), (Event::new(100, 33, 33, true), 3));
    }

    #[test]
    fn largest_event_fits_max_event_bytes() {
        let mut buf = [0u8; MAX_EVENT_BYTES];
        let e = Event::new(u64::MAX, u16::MAX, u16::MAX, true);
        let n = DvsEncoder::new(0).encode(&e, &mut buf).unwrap();
        assert_eq!(n, MAX_EVENT_BYTES);
        assert_eq!(DvsDecoder::new(0).decode(&buf).unwrap(), (e, n));
    }

    #[test]
    fn backward_time_and_small_output_are_refused() {
        let mut enc = DvsEncoder::new(50);
        let mut buf = [0u8; 2];
        assert_eq!(
            enc.encode(&Event::new(49, 0, 0, false), &mut buf),
            Err(DvsError::Backward)
        );
        assert_eq!(
            enc.encode(&Event::new(50, 300, 0, false), &mut buf),
            Err(DvsError::NoRoom)
        );
    }

    #[test]
    fn bad_bytes_are_errors() {
        let mut d = DvsDecoder::new(0);
        assert_eq!(d.decode(&[]), Err(DvsError::Truncated));
        assert_eq!(d.decode(&[5, 1]), Err(DvsError::Truncated));
        // x as a 4-byte varint: longer than a u16 allows.
        assert_eq!(d.decode(&[0, 0x80, 0x80, 0x80, 0]), Err(DvsError::Overlong));
        // x = 65,536 in three bytes.
        assert_eq!(d.decode(&[0, 0x80, 0x80, 0x04, 0]), Err(DvsError::Overlong));
        // dt = 2^64 - 1 after t = 1: beyond u64.
        let mut d = DvsDecoder::new(1);
        let mut buf = [0u8; MAX_EVENT_BYTES];
        let n = DvsEncoder::new(0)
            .encode(&Event::new(u64::MAX, 0, 0, false), &mut buf)
            .unwrap();
        assert_eq!(d.decode(&buf[..n]), Err(DvsError::TimeOverflow));
        assert_eq!(d, DvsDecoder::new(1), "a failed decode leaves the time alone");
    }

    proptest! {
        #[test]
        fn streams_round_trip(mut ev in prop::collection::vec((0u64..1 << 40, any::<u16>(), any::<u16>(), any::<bool>()), 0..200)) {
            ev.sort_by_key(|e| e.0);
            let events: std::vec::Vec<Event> = ev.iter().map(|&(t, x, y, p)| Event::new(t, x, y, p)).collect();
            let mut wire = std::vec::Vec::new();
            let mut enc = DvsEncoder::new(0);
            for e in &events {
                let mut b = [0u8; MAX_EVENT_BYTES];
                let n = enc.encode(e, &mut b).unwrap();
                wire.extend_from_slice(&b[..n]);
            }
            let mut dec = DvsDecoder::new(0);
            let mut at = 0;
            for e in &events {
                let (got, n) = dec.decode(&wire[at..]).unwrap();
                prop_assert_eq!(got, *e);
                at += n;
            }
            prop_assert_eq!(at, wire.len());
        }

        #[test]
        fn any_bytes_decode_or_fail_cleanly(bytes in prop::collection::vec(any::<u8>(), 0..40)) {
            let mut d = DvsDecoder::new(0);
            let mut at = 0;
            while at < bytes.len() {
                match d.decode(&bytes[at..]) {
                    Ok((_, n)) => { prop_assert!((3..=MAX_EVENT_BYTES).contains(&n)); at += n; }
                    Err(_) => break,
                }
            }
        }
    }
}
