//! Prophesee recordings: the `%` text header that RAW (EVT 2.0, EVT 3.0)
//! and DAT files share, and the choice of decoder from it.
//!
//! # The header
//!
//! Lines that start with `%`, each `% key value`, up to a line `% end`
//! (written by OpenEB ≥ 2.x) or to the first byte that is not `%` (older
//! files, and every DAT file, have no `% end`). Keys read (as OpenEB's
//! `GenericHeader` and faery's `read_prophesee_header` read them):
//!
//! | key | example | meaning |
//! |---|---|---|
//! | `evt` | `% evt 3.0` | RAW, encoding EVT 2.0 / 2.1 / 3.0 |
//! | `format` | `% format EVT3;height=720;width=1280` | RAW, encoding (wins over `evt`), optional size |
//! | `geometry` | `% geometry 1280x720` | sensor width x height |
//! | `Width`, `Height` | `% Width 1280` | sensor size (DAT) |
//! | `Version` | `% Version 2` | DAT layout version (1 or 2; 2 when absent) |
//!
//! Other keys (`date`, `serial_number`, `plugin_name`, ...) are skipped.
//! A `%` line that holds a control byte (other than tab and CR) before its
//! newline is not text: it is the first data word (a RAW file without
//! `% end` whose first word starts with the byte `0x25`), and the header
//! ends before it. A header longer than [`MAX_HEADER`] is an error, not an
//! allocation.
//!
//! # Which format
//!
//! - An `evt` or `format` key: RAW, EVT 2.0 ([`super::evt2`]) or EVT 3.0
//!   ([`super::evt3`]); EVT 2.1 and EVT 4.0 are refused as unsupported.
//! - Neither: DAT ([`super::dat`]) when the two bytes after the header are
//!   an event type and size the DAT layout defines: type `0x0C` (CD) or
//!   `0x00` (2D events of older files, also CD), size 8. Type `0x0E`
//!   (external triggers) is a valid DAT of no change events: unsupported.
//!   Anything else is refused: a header that names no format.
//!
//! # Sensor size
//!
//! From `geometry WxH`, `format ...;width=W;height=H`, or `Width` and
//! `Height` (the last one given wins). A header that states none (EVT 2.0
//! recordings of Gen3 cameras, plugin `hal_plugin_gen3_fx3`, have only
//! `evt 2.0`) gets [`DEFAULT_SENSOR`], 1280 x 720: faery's
//! `dimensions_fallback` for EVT and DAT files (its Python `EventsInput`
//! and `FileDecoder` default), which `reference.json` reflects, and the
//! size of Prophesee's current sensors (IMX636, Gen4). Events are never
//! dropped for lying outside it (a Gen3 VGA recording's events lie in
//! 640 x 480 of it); `stats::summarise` widens a sensor to hold every event.
//!
//! Sources: Prophesee's file-format pages
//! (<https://docs.prophesee.ai/stable/data/file_formats/raw.html>,
//! <https://docs.prophesee.ai/stable/data/file_formats/dat.html>); OpenEB's
//! `sdk/modules/base/cpp/src/generic_header.cpp` and
//! `sdk/modules/core/python/pypkg/metavision_core/event_io/dat_tools.py`;
//! faery 0.7.1 `src/utilities.rs`.

use super::format::OpenError;
use super::{dat, evt2, evt3, Format, Opened, Sensor, Source};
use crate::error::Fault;

/// The longest `%` header read (1 MiB): real headers are a few hundred bytes.
pub(crate) const MAX_HEADER: usize = 1 << 20;

/// The sensor of a Prophesee file whose header states no size: 1280 x 720,
/// faery's fallback (see the module documentation).
pub(crate) const DEFAULT_SENSOR: Sensor = Sensor {
    width: 1280,
    height: 720,
};

/// The encoding a RAW header names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Encoding {
    Evt2,
    Evt21,
    Evt3,
    /// Any other name (`EVT4`, ...), as written.
    Other(String),
}

/// What the `%` lines say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Header {
    /// Bytes of the header (the `%` lines, up to and with `% end` if there is one).
    pub len: usize,
    /// The encoding of a RAW file (`evt` or `format` key), `None` for DAT.
    pub encoding: Option<Encoding>,
    /// Sensor width, if stated.
    pub width: Option<u16>,
    /// Sensor height, if stated.
    pub height: Option<u16>,
    /// DAT layout version (`Version` key).
    pub version: Option<u32>,
}

impl Header {
    /// The stated sensor, or [`DEFAULT_SENSOR`].
    pub fn sensor(&self) -> Sensor {
        match (self.width, self.height) {
            (Some(width), Some(height)) if width > 0 && height > 0 => Sensor { width, height },
            _ => DEFAULT_SENSOR,
        }
    }
}

/// The result of scanning the buffered bytes for the header.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Scan {
    /// The header is longer than the bytes: read more.
    More,
    /// The whole header.
    Done(Header),
}

/// Scans `bytes` (input from byte `at`, the end of the input if `eof`) for
/// the `%` header.
pub(crate) fn scan(bytes: &[u8], eof: bool, at: u64) -> Result<Scan, Fault> {
    let mut h = Header::default();
    let mut key_format: Option<Encoding> = None;
    let mut key_evt: Option<Encoding> = None;
    let mut pos = 0;
    loop {
        if pos > MAX_HEADER {
            return Err(too_long(at));
        }
        if pos == bytes.len() {
            if !eof {
                return Ok(Scan::More);
            }
            break;
        }
        if bytes[pos] != b'%' {
            break;
        }
        // The line: text up to '\n', or a control byte that says it is data.
        let mut end = pos + 1;
        let mut data = false;
        while end < bytes.len() {
            let b = bytes[end];
            if b == b'\n' {
                break;
            }
            if (b < 0x20 && b != b'\t' && b != b'\r') || b == 0x7f {
                data = true;
                break;
            }
            end += 1;
        }
        if data {
            break;
        }
        if end == bytes.len() && !eof {
            if end > MAX_HEADER {
                return Err(too_long(at));
            }
            return Ok(Scan::More);
        }
        let next = (end + 1).min(bytes.len());
        if next > MAX_HEADER {
            return Err(too_long(at));
        }
        let text = String::from_utf8_lossy(&bytes[pos + 1..end]);
        pos = next;
        if line(&text, &mut h, &mut key_format, &mut key_evt) {
            break;
        }
    }
    h.len = pos;
    h.encoding = key_format.or(key_evt);
    Ok(Scan::Done(h))
}

fn too_long(at: u64) -> Fault {
    Fault::format(at, format!("a Prophesee `%` header longer than {MAX_HEADER} bytes"))
}

/// Reads one header line's text (after the `%`) into `h`; true at `% end`.
fn line(text: &str, h: &mut Header, key_format: &mut Option<Encoding>, key_evt: &mut Option<Encoding>) -> bool {
    let words: Vec<&str> = text.split([' ', '\t', '\r', ';']).filter(|w| !w.is_empty()).collect();
    let Some(&key) = words.first() else {
        return false;
    };
    if words.len() == 1 {
        return key == "end";
    }
    let value = words[1];
    match key {
        "evt" => *key_evt = Some(encoding(value)),
        "format" => {
            *key_format = Some(encoding(value));
            for kv in &words[2..] {
                match kv.split_once('=') {
                    Some(("width", w)) => h.width = w.parse().ok().or(h.width),
                    Some(("height", v)) => h.height = v.parse().ok().or(h.height),
                    _ => {}
                }
            }
        }
        "geometry" => {
            if let Some((w, v)) = value.split_once('x') {
                if let (Ok(w), Ok(v)) = (w.trim().parse(), v.trim().parse()) {
                    h.width = Some(w);
                    h.height = Some(v);
                }
            }
        }
        k if k.eq_ignore_ascii_case("width") => h.width = value.parse().ok().or(h.width),
        k if k.eq_ignore_ascii_case("height") => h.height = value.parse().ok().or(h.height),
        "Version" => h.version = value.parse().ok().or(h.version),
        _ => {}
    }
    false
}

fn encoding(v: &str) -> Encoding {
    let v = v.to_ascii_lowercase();
    match v.trim_start_matches("evt") {
        "2" | "2.0" => Encoding::Evt2,
        "2.1" | "21" => Encoding::Evt21,
        "3" | "3.0" => Encoding::Evt3,
        _ => Encoding::Other(v),
    }
}

/// DAT event types of change-detection events: `0x0C` (CD) and `0x00` (2D, older files).
const DAT_CD_TYPES: [u8; 2] = [0x0C, 0x00];
/// The DAT event type of external triggers.
const DAT_TRIGGER_TYPE: u8 = 0x0E;

/// Reads the `%` header at the front of `src` (consuming it and, for DAT,
/// the type and size bytes) and returns the decoder of what follows.
pub(crate) fn open(src: &mut Source) -> Result<Opened, OpenError> {
    let at = src.offset();
    let mut want = 4096;
    let h = loop {
        src.fill(want)?;
        match scan(src.bytes(), src.at_eof(), at)? {
            Scan::Done(h) => break h,
            Scan::More => want = (want * 2).min(MAX_HEADER + 2),
        }
    };
    let sensor = Some(h.sensor());
    let end = at + h.len as u64;
    match &h.encoding {
        Some(Encoding::Evt2) => {
            src.consume(h.len);
            Ok(Opened {
                format: Format::Evt2,
                sensor,
                decoder: Box::new(evt2::Evt2::new()),
            })
        }
        Some(Encoding::Evt3) => {
            src.consume(h.len);
            Ok(Opened {
                format: Format::Evt3,
                sensor,
                decoder: Box::new(evt3::Evt3::new()),
            })
        }
        Some(Encoding::Evt21) => Err(Fault::unsupported(end, "Prophesee EVT 2.1 (EVT 2.0 and 3.0 are read)").into()),
        Some(Encoding::Other(name)) => Err(Fault::unsupported(
            end,
            format!("Prophesee RAW encoding `{name}` (EVT 2.0 and 3.0 are read)"),
        )
        .into()),
        None => {
            let bytes = src.fill(h.len + 2)?;
            if bytes.len() < h.len + 2 {
                return Err(Fault::format(
                    end,
                    "a `%` header with no `evt` or `format` key (RAW) and no DAT event type and size bytes after it",
                )
                .into());
            }
            let (kind, size) = (bytes[h.len], bytes[h.len + 1]);
            if DAT_CD_TYPES.contains(&kind) {
                if size != dat::RECORD as u8 {
                    return Err(Fault::format(
                        end + 1,
                        format!("DAT event size {size} for CD events (type 0x{kind:02X}): 8 expected"),
                    )
                    .into());
                }
                let version = h.version.unwrap_or(2);
                let layout = match version {
                    1 => dat::Layout::V1,
                    2 => dat::Layout::V2,
                    v => return Err(Fault::unsupported(at, format!("DAT version {v} (1 and 2 are read)")).into()),
                };
                src.consume(h.len + 2);
                Ok(Opened {
                    format: Format::Dat,
                    sensor,
                    decoder: Box::new(dat::Dat::new(layout)),
                })
            } else if kind == DAT_TRIGGER_TYPE {
                Err(Fault::unsupported(end, "a DAT file of external triggers (type 0x0E), no change events").into())
            } else {
                Err(Fault::unsupported(
                    end,
                    format!(
                        "a `%` header with no `evt` or `format` key (RAW) followed by bytes 0x{kind:02X} 0x{size:02X}, \
                         not a DAT event type and size (0x0C or 0x00, 8)"
                    ),
                )
                .into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::{Error, Reader};

    fn done(bytes: &[u8]) -> Header {
        match scan(bytes, true, 0).unwrap() {
            Scan::Done(h) => h,
            Scan::More => panic!("more"),
        }
    }

    #[test]
    fn evt3_header_gives_encoding_size_and_length() {
        let text = b"% date 2023-10-19 03:51:23\n% evt 3.0\n% format EVT3\n% geometry 1280x720\n% plugin_name x\n";
        let mut bytes = text.to_vec();
        bytes.extend_from_slice(&[0xae, 0x8a]);
        let h = done(&bytes);
        assert_eq!(h.len, text.len());
        assert_eq!(h.encoding, Some(Encoding::Evt3));
        assert_eq!(
            h.sensor(),
            Sensor {
                width: 1280,
                height: 720
            }
        );
    }

    #[test]
    fn format_key_wins_and_carries_size() {
        let h = done(b"% evt 3.0\n% format EVT2;height=480;width=640\n% end\n%\x01garbage");
        assert_eq!(h.encoding, Some(Encoding::Evt2));
        assert_eq!(
            h.sensor(),
            Sensor {
                width: 640,
                height: 480
            }
        );
        assert_eq!(h.len, b"% evt 3.0\n% format EVT2;height=480;width=640\n% end\n".len());
    }

    #[test]
    fn dat_header_gives_width_height_version() {
        let h = done(b"% Height 720\n% Version 2\n% Width 1280\n% date 2023-10-19 15:36:14\n\x0c\x08");
        assert_eq!(h.encoding, None);
        assert_eq!(h.version, Some(2));
        assert_eq!(
            h.sensor(),
            Sensor {
                width: 1280,
                height: 720
            }
        );
    }

    #[test]
    fn header_without_size_falls_back_to_1280_by_720() {
        let h = done(b"% plugin_name hal_plugin_gen3_fx3\n% evt 2.0\n");
        assert_eq!(h.encoding, Some(Encoding::Evt2));
        assert_eq!(h.sensor(), DEFAULT_SENSOR);
    }

    #[test]
    fn percent_word_with_control_bytes_is_data_not_header() {
        // A first EVT 2.0 word whose low byte is '%': not a header line.
        let h = done(b"% evt 2.0\n%\x00\x00\x80\n");
        assert_eq!(h.len, 10);
    }

    #[test]
    fn partial_line_asks_for_more_input() {
        assert_eq!(scan(b"% evt 3.0\n% geome", false, 0).unwrap(), Scan::More);
        assert_eq!(scan(b"% evt 3.0\n", false, 0).unwrap(), Scan::More);
    }

    fn open_bytes(bytes: Vec<u8>) -> Result<Reader, Error> {
        Reader::from_read(std::io::Cursor::new(bytes), "mem")
    }

    #[test]
    fn absurd_header_length_is_an_error_not_an_allocation() {
        // One line of 2 MiB without a newline, then many short lines.
        let mut long = b"% ".to_vec();
        long.resize(2 << 20, b'a');
        let e = open_bytes(long).err().expect("an error");
        assert!(matches!(e.kind, ErrorKind::Format(_)), "{e}");
        assert!(e.to_string().contains("header longer than"), "{e}");
        let mut many = Vec::new();
        while many.len() <= MAX_HEADER + 100 {
            many.extend_from_slice(b"% serial_number 00000157\n");
        }
        let e = open_bytes(many).err().expect("an error");
        assert!(e.to_string().contains("header longer than"), "{e}");
    }

    #[test]
    fn header_naming_no_format_is_refused() {
        let e = open_bytes(b"% date today\n\x42\x42\x00\x00".to_vec())
            .err()
            .expect("an error");
        assert!(matches!(e.kind, ErrorKind::Unsupported(_)), "{e}");
        let e = open_bytes(b"% date today\n".to_vec()).err().expect("an error");
        assert!(matches!(e.kind, ErrorKind::Format(_)), "{e}");
        let e = open_bytes(b"% Version 2\n\x0c\x04".to_vec()).err().expect("an error");
        assert!(e.to_string().contains("DAT event size 4"), "{e}");
    }

    #[test]
    fn evt21_and_evt4_are_unsupported() {
        for h in ["% evt 2.1\n", "% format EVT4\n"] {
            let e = open_bytes(h.as_bytes().to_vec()).err().expect("an error");
            assert!(matches!(e.kind, ErrorKind::Unsupported(_)), "{e}");
        }
    }

    /// Small valid files of the three formats.
    fn samples() -> Vec<Vec<u8>> {
        let mut evt3 = b"% evt 3.0\n% geometry 64x64\n".to_vec();
        for w in [
            0x8001u16, 0x6005, 0x0003, 0x2804, 0x3010, 0x4fff, 0x50ff, 0x6007, 0xe001, 0xf002, 0x2005,
        ] {
            evt3.extend_from_slice(&w.to_le_bytes());
        }
        let mut evt2 = b"% evt 2.0\n".to_vec();
        for w in [
            0x8000_0001u32,
            0x1040_0803,
            0x0080_1004,
            0xa000_0001,
            0x8000_0002,
            0x1000_0001,
        ] {
            evt2.extend_from_slice(&w.to_le_bytes());
        }
        let mut dat = b"% Version 2\n% Width 64\n% Height 64\n\x0c\x08".to_vec();
        for (t, d) in [(1u32, 0x1000_4003u32), (2, 5), (3, 0x1000_0000)] {
            dat.extend_from_slice(&t.to_le_bytes());
            dat.extend_from_slice(&d.to_le_bytes());
        }
        vec![evt3, evt2, dat]
    }

    #[test]
    fn every_cut_and_flipped_byte_gives_events_or_an_error_never_a_panic() {
        for file in samples() {
            let whole = open_bytes(file.clone()).unwrap().read_all().unwrap();
            assert!(!whole.is_empty());
            for cut in 0..file.len() {
                if let Ok(r) = open_bytes(file[..cut].to_vec()) {
                    let _ = r.read_all();
                }
            }
            for i in 0..file.len() {
                for x in [0x01u8, 0x10, 0x80, 0xff] {
                    let mut b = file.clone();
                    b[i] ^= x;
                    if let Ok(r) = open_bytes(b) {
                        let _ = r.read_all();
                    }
                }
            }
        }
    }

    #[test]
    fn header_only_file_has_no_events() {
        let r = open_bytes(b"% evt 3.0\n% geometry 640x480\n% end\n".to_vec()).unwrap();
        assert_eq!(r.format(), Format::Evt3);
        assert_eq!(
            r.sensor(),
            Some(Sensor {
                width: 640,
                height: 480
            })
        );
        assert!(r.read_all().unwrap().is_empty());
    }
}
