//! jAER AEDAT 2.0 (`#!AER-DAT2.0`), as jAER records a DVS128.
//!
//! # Layout
//!
//! A header of text lines, each beginning with `#` and ending with a line
//! feed: the first is the version line `#!AER-DAT2.0`; others carry
//! comments, `# AEChip: <Java class of the chip>`, and often a long XML
//! block of the chip's preferences. The first byte that is not `#` at the
//! start of a line begins the events: 8 bytes each, a big-endian int32
//! address then a big-endian int32 timestamp in µs.
//!
//! A DVS128 address (jAER's `DVS128.Extractor`): x = 127 - bits 1..=7,
//! y = bits 8..=14, polarity bit 0, sensor 128 x 128. An address with bit
//! 15 (jAER's sync / external-input event, `0x8000`) or bit 31 (jAER's
//! special-event bit) set is a special event, not a pixel: it is skipped
//! (its timestamp still counts for the wrap-around below).
//!
//! # Policies
//!
//! - **Polarity**: ON = address bit 0 set, the convention of
//!   `reference.json` and of the plain numpy readers of the layout. jAER's
//!   own Java extractor flips the bit (`fliptype`: raw 0 is its ON), so
//!   jAER's viewer shows the opposite polarity to the events read here.
//! - **Chip**: only DVS128 addresses are read. The `# AEChip:` line names
//!   the chip: `ch.unizh.ini.jaer.chip.retina.DVS128` and its close
//!   variants (any package, a class name `DVS128`, `DVS128_…` or
//!   `Tmpdiff128`, the DVS128's pixel array, with the same address layout)
//!   are read; any other chip (DAVIS240, DAVIS346, a cochlea, …) is refused
//!   as unsupported, naming it, since its addresses mean something else. A
//!   header without an `AEChip` line is read as DVS128 (jAER's default
//!   chip, and what files of the DVS128 era have).
//! - **Versions**: only 2.0. `#!AER-DAT1.0` (16-bit addresses and
//!   timestamps), `#!AER-DAT3.x` (cAER's packets) and any other version are
//!   refused by name (4.0 has its own reader).
//! - **Header size**: at most [`MAX_RECORD`] bytes, and so is each line:
//!   a header beyond it is an error, not an allocation.
//! - **Timestamp wrap-around**: jAER's timestamps are int32 µs and wrap
//!   every 2^32 µs (71.6 minutes). Each is read as unsigned 32 bits; a step
//!   back of more than 2^31 µs from the previous timestamp is a wrap and adds
//!   2^32 µs to it and every later one (a smaller step back is kept as
//!   recorded, for the reader's [`Order`](super::Order) policy). Just after
//!   a wrap, a step forward of more than 2^31 µs is a late event from
//!   before the wrap and is given the earlier epoch. Times are therefore
//!   the recorded µs, continued past each wrap, never negative.

use super::format::OpenError;
use super::{Decoder, Format, Opened, Sensor, Source, MAX_RECORD};
use crate::error::Fault;
use crate::Event;

/// Bytes per event record.
const RECORD: usize = 8;
/// The DVS128's pixel array.
pub(crate) const DVS128_SENSOR: Sensor = Sensor {
    width: 128,
    height: 128,
};
/// jAER's sync / external-input bit of a DVS128 address.
const EXTERNAL_BIT: u32 = 0x8000;
/// jAER's special-event bit (`BasicEvent.SPECIAL_EVENT_BIT_MASK`).
const SPECIAL_BIT: u32 = 0x8000_0000;
/// Half the timestamp range: a jump larger than this is a wrap.
const HALF_RANGE: u32 = 1 << 31;
/// One wrap of the int32 timestamp, µs.
const WRAP_US: u64 = 1 << 32;

pub(crate) fn open(src: &mut Source) -> Result<Opened, OpenError> {
    read_header(src, MAX_RECORD)?;
    Ok(Opened {
        format: Format::Aedat2,
        sensor: Some(DVS128_SENSOR),
        decoder: Box::new(Aedat2::default()),
    })
}

/// Reads and consumes the header lines (at most `limit` bytes), checking
/// the version and the chip.
fn read_header(src: &mut Source, limit: usize) -> Result<(), OpenError> {
    let mut header_len = 0usize;
    let mut first = true;
    loop {
        let at = src.offset();
        let line = match next_line(src, limit - header_len)? {
            Line::Header(n) => n,
            Line::End => break,
        };
        let text = String::from_utf8_lossy(&src.bytes()[..line]);
        let text = text.trim_end_matches(['\n', '\r']);
        if first {
            check_version(text, at)?;
            first = false;
        } else if let Some(chip) = text.trim_start_matches('#').trim_start().strip_prefix("AEChip:") {
            check_chip(chip.trim(), at)?;
        }
        src.consume(line);
        header_len += line;
    }
    if first {
        return Err(Fault::format(src.offset(), "no `#!AER-DAT` version line").into());
    }
    Ok(())
}

/// What starts at the front of the source.
enum Line {
    /// A header line of this many bytes (its line feed included).
    Header(usize),
    /// Not a `#`: the events (or the end of the input).
    End,
}

/// Finds the header line at the front of `src`, buffering it whole (at most `room` bytes).
fn next_line(src: &mut Source, room: usize) -> Result<Line, OpenError> {
    let mut want = 1usize << 12;
    let mut searched = 0usize;
    loop {
        let bytes = src.fill(want.min(room.saturating_add(1)))?;
        if bytes.first() != Some(&b'#') {
            return Ok(Line::End);
        }
        if let Some(i) = bytes[searched..].iter().position(|&b| b == b'\n') {
            let n = searched + i + 1;
            if n > room {
                break;
            }
            return Ok(Line::Header(n));
        }
        let have = bytes.len();
        searched = have;
        if have > room {
            break;
        }
        if src.at_eof() {
            return Err(Fault::format(
                src.offset(),
                "AEDAT 2.0 header line without a line feed at the end of the input",
            )
            .into());
        }
        want = (have * 2).max(want);
    }
    Err(Fault::format(src.offset(), format!("AEDAT header longer than {MAX_RECORD} bytes")).into())
}

/// Accepts `#!AER-DAT2.0` only.
fn check_version(line: &str, at: u64) -> Result<(), Fault> {
    let Some(version) = line.strip_prefix("#!AER-DAT") else {
        return Err(Fault::format(at, "the first line is not `#!AER-DAT<version>`"));
    };
    let version = version.trim();
    match version {
        "2.0" => Ok(()),
        "1.0" => Err(Fault::unsupported(
            at,
            "AEDAT 1.0 (16-bit addresses and timestamps); only AEDAT 2.0 is read",
        )),
        v if v.starts_with("3.") => Err(Fault::unsupported(
            at,
            format!("AEDAT {v} (cAER packets); only AEDAT 2.0 and 4.0 are read"),
        )),
        v => Err(Fault::unsupported(
            at,
            format!("AEDAT version `{v}`; only AEDAT 2.0 and 4.0 are read"),
        )),
    }
}

/// Accepts the DVS128 and its close variants (see the module's policies).
fn check_chip(chip: &str, at: u64) -> Result<(), Fault> {
    let class = chip.rsplit(['.', '$']).next().unwrap_or(chip);
    let lower = class.to_ascii_lowercase();
    if lower == "dvs128" || lower.starts_with("dvs128_") || lower == "tmpdiff128" {
        Ok(())
    } else {
        Err(Fault::unsupported(
            at,
            format!("AEDAT 2.0 from the chip `{chip}`; only DVS128 addresses are read (x, y, polarity in 15 bits)"),
        ))
    }
}

/// The decoder of the 8-byte events after the header.
#[derive(Default)]
struct Aedat2 {
    /// The previous raw timestamp, if any.
    last: Option<u32>,
    /// Wraps seen so far.
    wraps: u64,
}

impl Aedat2 {
    /// The time of raw timestamp `ts`, µs, continuing past wraps.
    fn time(&mut self, ts: u32) -> u64 {
        let mut wraps = self.wraps;
        if let Some(last) = self.last {
            if last > ts && last - ts > HALF_RANGE {
                self.wraps += 1;
                wraps = self.wraps;
            } else if ts > last && ts - last > HALF_RANGE && self.wraps > 0 {
                // A late event from before the last wrap: keep the epoch
                // (and the previous timestamp) of after the wrap.
                return (wraps - 1) * WRAP_US + u64::from(ts);
            }
        }
        self.last = Some(ts);
        wraps * WRAP_US + u64::from(ts)
    }
}

impl Decoder for Aedat2 {
    fn decode(&mut self, bytes: &[u8], at: u64, eof: bool, out: &mut Vec<Event>, max: usize) -> Result<usize, Fault> {
        let mut used = 0;
        for r in bytes.chunks_exact(RECORD) {
            if out.len() >= max {
                break;
            }
            used += RECORD;
            let addr = u32::from_be_bytes([r[0], r[1], r[2], r[3]]);
            let t = self.time(u32::from_be_bytes([r[4], r[5], r[6], r[7]]));
            if addr & (EXTERNAL_BIT | SPECIAL_BIT) != 0 {
                continue;
            }
            let x = 127 - ((addr >> 1) & 0x7f) as u16;
            let y = ((addr >> 8) & 0x7f) as u16;
            out.push(Event {
                t,
                x,
                y,
                on: addr & 1 != 0,
            });
        }
        let left = bytes.len() - used;
        if eof && left > 0 && left < RECORD {
            return Err(Fault::format(
                at + used as u64,
                format!("truncated AEDAT 2.0 event ({left} of {RECORD} bytes)"),
            ));
        }
        Ok(used)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ErrorKind, Reader};

    const HEADER: &[u8] =
        b"#!AER-DAT2.0\r\n# This is a raw AE data file\r\n# AEChip: ch.unizh.ini.jaer.chip.retina.DVS128\r\n";

    fn record(addr: u32, ts: u32) -> [u8; 8] {
        let mut r = [0; 8];
        r[..4].copy_from_slice(&addr.to_be_bytes());
        r[4..].copy_from_slice(&ts.to_be_bytes());
        r
    }

    fn addr(x: u16, y: u16, on: bool) -> u32 {
        (u32::from(y) << 8) | (u32::from(127 - x) << 1) | on as u32
    }

    fn file(header: &[u8], records: &[(u32, u32)]) -> Vec<u8> {
        let mut v = header.to_vec();
        for &(a, t) in records {
            v.extend_from_slice(&record(a, t));
        }
        v
    }

    fn read(bytes: Vec<u8>) -> Result<Vec<Event>, crate::Error> {
        Reader::from_read(std::io::Cursor::new(bytes), "test.aedat")?
            .order(crate::Order::AsRecorded)
            .read_all()
    }

    fn err(bytes: Vec<u8>) -> crate::Error {
        match Reader::from_read(std::io::Cursor::new(bytes), "test.aedat").and_then(|r| r.read_all()) {
            Ok(_) => panic!("read without an error"),
            Err(e) => e,
        }
    }

    #[test]
    fn decodes_dvs128_addresses_with_x_flipped() {
        let bytes = file(
            HEADER,
            &[
                (addr(0, 0, true), 10),
                (addr(127, 127, false), 20),
                (addr(5, 9, true), 30),
            ],
        );
        let r = Reader::from_read(std::io::Cursor::new(bytes), "t").unwrap();
        assert_eq!(r.format(), Format::Aedat2);
        assert_eq!(r.sensor(), Some(DVS128_SENSOR));
        let ev = r.read_all().unwrap();
        assert_eq!(
            ev,
            vec![
                Event::new(10, 0, 0, true),
                Event::new(20, 127, 127, false),
                Event::new(30, 5, 9, true)
            ]
        );
        // The raw layout: x = 127 - bits 1..=7.
        assert_eq!(
            read(file(HEADER, &[(0b1, 0)])).unwrap(),
            vec![Event::new(0, 127, 0, true)]
        );
    }

    #[test]
    fn skips_external_and_special_events() {
        let bytes = file(
            HEADER,
            &[
                (addr(1, 2, true), 1),
                (EXTERNAL_BIT, 2),
                (SPECIAL_BIT | addr(3, 3, true), 3),
                (addr(4, 5, false), 4),
            ],
        );
        assert_eq!(
            read(bytes).unwrap(),
            vec![Event::new(1, 1, 2, true), Event::new(4, 4, 5, false)]
        );
    }

    #[test]
    fn continues_time_past_an_int32_wrap() {
        let a = addr(0, 0, true);
        let bytes = file(
            HEADER,
            &[
                (a, 0xffff_fff0),
                (a, 0x10),
                (a, 0xffff_fffe),
                (a, 0x20),
                (a, 0x7fff_ffff),
            ],
        );
        let t: Vec<u64> = read(bytes).unwrap().iter().map(|e| e.t).collect();
        assert_eq!(
            t,
            vec![
                0xffff_fff0,
                WRAP_US + 0x10,
                0xffff_fffe,
                WRAP_US + 0x20,
                WRAP_US + 0x7fff_ffff
            ]
        );
        // The signed wrap (2^31 - 1 to -2^31) is a forward step as unsigned.
        let bytes = file(HEADER, &[(a, 0x7fff_ffff), (a, 0x8000_0000), (a, 0x8000_0001)]);
        let t: Vec<u64> = read(bytes).unwrap().iter().map(|e| e.t).collect();
        assert_eq!(t, vec![0x7fff_ffff, 0x8000_0000, 0x8000_0001]);
    }

    #[test]
    fn keeps_a_small_step_back_as_recorded() {
        let a = addr(0, 0, true);
        let bytes = file(HEADER, &[(a, 1000), (a, 990), (a, 1010)]);
        let t: Vec<u64> = read(bytes).unwrap().iter().map(|e| e.t).collect();
        assert_eq!(t, vec![1000, 990, 1010]);
    }

    #[test]
    fn reads_a_header_without_an_aechip_line_as_dvs128() {
        let bytes = file(b"#!AER-DAT2.0\n# no chip named\n", &[(addr(7, 8, false), 5)]);
        assert_eq!(read(bytes).unwrap(), vec![Event::new(5, 7, 8, false)]);
        assert_eq!(read(b"#!AER-DAT2.0\r\n".to_vec()).unwrap(), vec![]);
    }

    #[test]
    fn accepts_dvs128_variants_and_refuses_other_chips_by_name() {
        for chip in [
            "ch.unizh.ini.jaer.chip.retina.DVS128",
            "DVS128",
            "ch.unizh.ini.jaer.chip.retina.Tmpdiff128",
        ] {
            let h = format!("#!AER-DAT2.0\r\n# AEChip: {chip}\r\n");
            assert!(read(file(h.as_bytes(), &[(0, 0)])).is_ok(), "{chip}");
        }
        for chip in [
            "eu.seebetter.ini.chips.davis.DAVIS240C",
            "eu.seebetter.ini.chips.davis.Davis346B",
        ] {
            let h = format!("#!AER-DAT2.0\r\n# AEChip: {chip}\r\n");
            let e = err(file(h.as_bytes(), &[(0, 0)]));
            assert!(matches!(e.kind, ErrorKind::Unsupported(_)), "{e}");
            assert!(e.to_string().contains(chip), "{e}");
            assert_eq!(e.offset, Some(14));
        }
    }

    #[test]
    fn refuses_other_versions_by_name() {
        for (v, says) in [("1.0", "AEDAT 1.0"), ("3.1", "AEDAT 3.1"), ("2.5", "`2.5`")] {
            let e = err(format!("#!AER-DAT{v}\r\n").into_bytes());
            assert!(matches!(e.kind, ErrorKind::Unsupported(_)), "{e}");
            assert!(e.to_string().contains(says), "{e}");
        }
    }

    #[test]
    fn a_truncated_event_is_an_error_at_its_offset() {
        let mut bytes = file(HEADER, &[(addr(1, 1, true), 1)]);
        bytes.extend_from_slice(&[0, 0, 1]);
        let e = err(bytes);
        assert_eq!(e.offset, Some(HEADER.len() as u64 + 8));
        assert!(
            e.to_string().contains("truncated AEDAT 2.0 event (3 of 8 bytes)"),
            "{e}"
        );
    }

    #[test]
    fn a_header_line_without_an_end_is_an_error() {
        let e = err(b"#!AER-DAT2.0\r\n# AEChip: DVS1".to_vec());
        assert!(matches!(e.kind, ErrorKind::Format(_)), "{e}");
        assert_eq!(e.offset, Some(14));
    }

    #[test]
    fn garbage_after_the_magic_is_refused() {
        let e = err(b"#!AER-DATgarbage\x00\x01\x02\n".to_vec());
        assert!(matches!(e.kind, ErrorKind::Unsupported(_)), "{e}");
        assert_eq!(e.offset, Some(0));
    }

    #[test]
    fn a_header_beyond_the_limit_is_an_error_not_an_allocation() {
        let mut bytes = b"#!AER-DAT2.0\r\n".to_vec();
        for _ in 0..100 {
            bytes.extend_from_slice(b"# a line of preferences, repeated\r\n");
        }
        let mut src = Source::new(Box::new(std::io::Cursor::new(bytes.clone())));
        assert!(read_header(&mut src, bytes.len()).is_ok());
        let mut src = Source::new(Box::new(std::io::Cursor::new(bytes.clone())));
        match read_header(&mut src, 1000) {
            Err(OpenError::Fault(f)) => assert!(matches!(f.kind, ErrorKind::Format(ref s) if s.contains("longer"))),
            _ => panic!("a header over the limit was read"),
        }
        // One line longer than the limit, without a line feed in it.
        let mut bytes = b"#!AER-DAT2.0\r\n#".to_vec();
        bytes.extend(std::iter::repeat_n(b'x', 10_000));
        let mut src = Source::new(Box::new(std::io::Cursor::new(bytes)));
        assert!(read_header(&mut src, 5000).is_err());
        assert!(src.buffered() <= 5001 + 14, "buffered {}", src.buffered());
    }
}
