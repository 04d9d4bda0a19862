//! `.aedat4`: iniVation AEDAT 4.0 with one events stream, LZ4-compressed,
//! as DV records a camera (and as this crate's reader, faery, the `aedat`
//! package and dv-processing read it).
//!
//! # What is written
//!
//! - The version line `#!AER-DAT4.0\r\n`.
//! - The IOHeader: an int32 size, then a size-prefixed FlatBuffer
//!   (identifier `IOHE`) with compression LZ4 (1), data-table position -1
//!   (no data table: the writer streams and never seeks back; readers then
//!   read the packets in order, and DV rebuilds its index by scanning) and
//!   the infoNode: DV's XML tree with one stream, id 0, `typeIdentifier`
//!   `EVTS`, and an `info` node with `sizeX` and `sizeY` of the sensor.
//! - Packets of up to [`PACKET_EVENTS`] events: stream id 0, the size of
//!   the compressed bytes, then an LZ4 frame (`lz4_flex`'s frame encoder:
//!   the standard LZ4 frame format, 64 KiB independent blocks) of a
//!   size-prefixed `EventPacket` FlatBuffer (identifier `EVTS`) whose
//!   vector holds the 16-byte `Event` structs: int64 t (µs), int16 x,
//!   int16 y, bool polarity (1 = ON), 3 bytes of zero padding.
//!
//! LZ4 because DV writes it by default, every AEDAT 4.0 reader has it, and
//! it packs events about 2 to 3 times at little cost; `lz4_flex` is pure
//! Rust. Zstd would pack tighter but is not needed here.
//!
//! # Checks
//!
//! The sensor must be 1 to 32,767 pixels a side (x and y are int16), every
//! event inside it, and times non-decreasing (DV's readers and faery assume
//! it) and below 2^63 µs: anything else is an argument error naming the
//! event, and no file is left behind.

use std::io::Write;

use crate::read::Sensor;
use crate::write::{EventWriter, Output};
use crate::{Error, Event};

/// The version line.
const MAGIC: &[u8] = b"#!AER-DAT4.0\r\n";
/// Events per packet (at most): 64 Ki events, 1 MiB before compression.
pub const PACKET_EVENTS: usize = 1 << 16;
/// The id of the one stream written.
const STREAM: i32 = 0;
/// The IOHeader's code of LZ4.
const LZ4: i32 = 1;
/// The largest sensor side: x and y are int16.
const MAX_SIDE: u16 = i16::MAX as u16;
/// Bytes of an `Event` struct.
const EVENT_STRUCT: usize = 16;
/// Bytes of an `EventPacket` FlatBuffer before its events.
const PACKET_HEAD: usize = 32;

/// The AEDAT 4.0 writer (see the module's documentation).
pub(crate) struct Aedat4 {
    out: Output,
    sensor: Sensor,
    /// Events of the packet being filled.
    events: Vec<Event>,
    /// The last event's time, µs.
    last_t: u64,
    /// The packet's FlatBuffer.
    flat: Vec<u8>,
}

impl Aedat4 {
    /// Writes the version line and the IOHeader of a recording from `sensor`.
    pub(crate) fn new(mut out: Output, sensor: Sensor) -> Result<Aedat4, Error> {
        let side = 1..=MAX_SIDE;
        if !side.contains(&sensor.width) || !side.contains(&sensor.height) {
            return Err(Error::argument(
                out.name(),
                format!(
                    "AEDAT 4.0 holds a sensor of 1 to {MAX_SIDE} pixels a side, not {} x {}",
                    sensor.width, sensor.height
                ),
            ));
        }
        out.put(MAGIC)?;
        out.put(&io_header(LZ4, -1, &info_node(sensor)))?;
        Ok(Aedat4 {
            out,
            sensor,
            events: Vec::with_capacity(PACKET_EVENTS),
            last_t: 0,
            flat: Vec::new(),
        })
    }

    /// Writes the events gathered as one packet.
    fn flush(&mut self) -> Result<(), Error> {
        if self.events.is_empty() {
            return Ok(());
        }
        event_packet(&self.events, &mut self.flat);
        let mut lz4 = lz4_flex::frame::FrameEncoder::new(Vec::with_capacity(self.flat.len() / 2));
        let packed = lz4
            .write_all(&self.flat)
            .map_err(|e| Error::io(self.out.name(), e))
            .and_then(|()| {
                lz4.finish()
                    .map_err(|e| Error::io(self.out.name(), std::io::Error::other(e)))
            })?;
        let size = u32::try_from(packed.len())
            .ok()
            .filter(|&n| n <= i32::MAX as u32)
            .ok_or_else(|| {
                Error::argument(
                    self.out.name(),
                    format!("an AEDAT 4.0 packet of {} bytes is too large", packed.len()),
                )
            })?;
        self.out.put(&STREAM.to_le_bytes())?;
        self.out.put(&size.to_le_bytes())?;
        self.out.put(&packed)?;
        self.events.clear();
        Ok(())
    }
}

impl EventWriter for Aedat4 {
    fn write(&mut self, events: &[Event]) -> Result<(), Error> {
        for e in events {
            if e.x >= self.sensor.width || e.y >= self.sensor.height {
                return Err(Error::argument(
                    self.out.name(),
                    format!(
                        "event at t {} µs, ({}, {}), is outside the {} x {} sensor",
                        e.t, e.x, e.y, self.sensor.width, self.sensor.height
                    ),
                ));
            }
            if e.t < self.last_t || e.t > i64::MAX as u64 {
                return Err(Error::argument(
                    self.out.name(),
                    format!(
                        "AEDAT 4.0 needs non-decreasing times below 2^63 µs: an event at {} µs after one at {} µs",
                        e.t, self.last_t
                    ),
                ));
            }
            self.last_t = e.t;
            self.events.push(*e);
            if self.events.len() == PACKET_EVENTS {
                self.flush()?;
            }
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), Error> {
        self.flush()?;
        self.out.commit()
    }
}

/// DV's XML description of one events stream (id 0) from `sensor`.
fn info_node(sensor: Sensor) -> String {
    let (w, h) = (sensor.width, sensor.height);
    format!(
        r#"<dv version="2.0">
    <node name="outInfo" path="/mainloop/Recorder/outInfo/">
        <node name="{STREAM}" path="/mainloop/Recorder/outInfo/{STREAM}/">
            <attr key="compression" type="string">LZ4</attr>
            <attr key="originalModuleName" type="string">stdp-events</attr>
            <attr key="originalOutputName" type="string">events</attr>
            <attr key="typeDescription" type="string">Array of events (polarity ON/OFF).</attr>
            <attr key="typeIdentifier" type="string">EVTS</attr>
            <node name="info" path="/mainloop/Recorder/outInfo/{STREAM}/info/">
                <attr key="sizeX" type="int">{w}</attr>
                <attr key="sizeY" type="int">{h}</attr>
                <attr key="source" type="string">stdp-events</attr>
                <attr key="tsOffset" type="long">0</attr>
            </node>
        </node>
    </node>
</dv>
"#
    )
}

/// The IOHeader as written after the version line: a size-prefixed
/// FlatBuffer. Layout, in bytes from the size prefix (offsets in a
/// FlatBuffer count from after the prefix; the int64 field sits at a
/// multiple of 8):
///
/// ```text
///  0 u32 size of what follows        4 u32 root: the table at 24
///  8 "IOHE"                          12 vtable: 10, 20, 4, 8, 16 (u16 each), 2 bytes padding
/// 24 table: i32 24 - 12              28 i32 compression
/// 32 i64 data-table position         40 u32 offset of the string (4: at 44)
/// 44 u32 length, the infoNode's bytes, a NUL, padding to a multiple of 8
/// ```
fn io_header(compression: i32, data_table: i64, info: &str) -> Vec<u8> {
    let mut b = Vec::with_capacity(56 + info.len());
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(&20u32.to_le_bytes());
    b.extend_from_slice(b"IOHE");
    for v in [10u16, 20, 4, 8, 16] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend_from_slice(&[0, 0]);
    b.extend_from_slice(&12i32.to_le_bytes());
    b.extend_from_slice(&compression.to_le_bytes());
    b.extend_from_slice(&data_table.to_le_bytes());
    b.extend_from_slice(&4u32.to_le_bytes());
    b.extend_from_slice(&(info.len() as u32).to_le_bytes());
    b.extend_from_slice(info.as_bytes());
    b.push(0);
    b.resize(b.len().next_multiple_of(8), 0);
    let size = (b.len() - 4) as u32;
    b[..4].copy_from_slice(&size.to_le_bytes());
    b
}

/// `events` as a size-prefixed `EventPacket` FlatBuffer, into `b`. Layout,
/// in bytes from the size prefix (the structs start at a multiple of 8):
///
/// ```text
///  0 u32 size of what follows        4 u32 root: the table at 20
///  8 "EVTS"                          12 vtable: 6, 8, 4 (u16 each), 2 bytes padding
/// 20 table: i32 20 - 12              24 u32 offset of the vector (4: at 28)
/// 28 u32 count                       32 the Event structs, 16 bytes each
/// ```
fn event_packet(events: &[Event], b: &mut Vec<u8>) {
    b.clear();
    b.reserve(PACKET_HEAD + EVENT_STRUCT * events.len());
    b.extend_from_slice(&((PACKET_HEAD - 4 + EVENT_STRUCT * events.len()) as u32).to_le_bytes());
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(b"EVTS");
    for v in [6u16, 8, 4] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend_from_slice(&[0, 0]);
    b.extend_from_slice(&8i32.to_le_bytes());
    b.extend_from_slice(&4u32.to_le_bytes());
    b.extend_from_slice(&(events.len() as u32).to_le_bytes());
    for e in events {
        b.extend_from_slice(&(e.t as i64).to_le_bytes());
        b.extend_from_slice(&(e.x as i16).to_le_bytes());
        b.extend_from_slice(&(e.y as i16).to_le_bytes());
        b.extend_from_slice(&[e.on as u8, 0, 0, 0]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::write::{create, OutFormat};
    use crate::{ErrorKind, Format, Reader};
    use std::path::Path;

    const SENSOR: Sensor = Sensor {
        width: 346,
        height: 260,
    };

    /// Events spread over the sensor, non-decreasing in time, from a small LCG.
    fn events(n: usize, sensor: Sensor) -> Vec<Event> {
        let mut s = 0x2545_f491_4f6c_dd1du64;
        let mut t = 1_589_163_147_368_868u64;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                t += (s >> 60) & 3;
                let x = ((s >> 20) % u64::from(sensor.width)) as u16;
                let y = ((s >> 40) % u64::from(sensor.height)) as u16;
                Event::new(t, x, y, s >> 63 == 1)
            })
            .collect()
    }

    fn write(path: &Path, sensor: Sensor, chunks: &[&[Event]]) -> Result<(), Error> {
        let mut w = create(path, OutFormat::Aedat4, sensor)?;
        for c in chunks {
            w.write(c)?;
        }
        w.finish()
    }

    #[test]
    fn round_trip_gives_back_the_events_and_the_sensor() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("round.aedat4");
        let ev = events(PACKET_EVENTS * 2 + 1234, SENSOR);
        write(
            &path,
            SENSOR,
            &[&ev[..10], &ev[10..PACKET_EVENTS + 5], &ev[PACKET_EVENTS + 5..]],
        )
        .unwrap();
        let r = Reader::open(&path).unwrap();
        assert_eq!(r.format(), Format::Aedat4);
        assert_eq!(r.sensor(), Some(SENSOR));
        assert_eq!(r.read_all().unwrap(), ev);
        // LZ4 packs the events (16 bytes each unpacked).
        let size = std::fs::metadata(&path).unwrap().len();
        assert!(size < (ev.len() * EVENT_STRUCT) as u64, "{size}");
    }

    #[test]
    fn writes_the_header_dv_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.aedat4");
        write(
            &path,
            Sensor {
                width: 128,
                height: 128,
            },
            &[],
        )
        .unwrap();
        let b = std::fs::read(&path).unwrap();
        assert_eq!(&b[..14], MAGIC);
        let size = u32::from_le_bytes(b[14..18].try_into().unwrap()) as usize;
        assert_eq!(b.len(), 18 + size, "no packets");
        assert_eq!(&b[22..26], b"IOHE");
        assert_eq!(i32::from_le_bytes(b[14 + 28..14 + 32].try_into().unwrap()), LZ4);
        assert_eq!(i64::from_le_bytes(b[14 + 32..14 + 40].try_into().unwrap()), -1);
        let xml = String::from_utf8_lossy(&b[14 + 48..]);
        assert!(xml.contains(r#"<attr key="sizeX" type="int">128</attr>"#), "{xml}");
        let r = Reader::open(&path).unwrap();
        assert_eq!(
            r.sensor(),
            Some(Sensor {
                width: 128,
                height: 128
            })
        );
        assert_eq!(r.read_all().unwrap(), vec![]);
    }

    #[test]
    fn packets_are_lz4_frames_of_event_packets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.aedat4");
        let ev = [Event::new(5, 1, 2, true), Event::new(7, 345, 259, false)];
        write(&path, SENSOR, &[&ev]).unwrap();
        let b = std::fs::read(&path).unwrap();
        let at = 18 + u32::from_le_bytes(b[14..18].try_into().unwrap()) as usize;
        assert_eq!(i32::from_le_bytes(b[at..at + 4].try_into().unwrap()), STREAM);
        let size = u32::from_le_bytes(b[at + 4..at + 8].try_into().unwrap()) as usize;
        assert_eq!(b.len(), at + 8 + size);
        let mut flat = Vec::new();
        std::io::Read::read_to_end(&mut lz4_flex::frame::FrameDecoder::new(&b[at + 8..]), &mut flat).unwrap();
        let mut want = Vec::new();
        event_packet(&ev, &mut want);
        assert_eq!(flat, want);
        assert_eq!(flat.len(), PACKET_HEAD + 2 * EVENT_STRUCT);
        assert_eq!(&flat[8..12], b"EVTS");
        assert_eq!(
            u32::from_le_bytes(flat[..4].try_into().unwrap()) as usize,
            flat.len() - 4
        );
        assert_eq!(&flat[32..48], &[5, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2, 0, 1, 0, 0, 0]);
    }

    #[test]
    fn refuses_events_outside_the_sensor_or_back_in_time_and_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.aedat4");
        for bad in [
            vec![Event::new(1, 346, 0, true)],
            vec![Event::new(1, 0, 260, true)],
            vec![Event::new(10, 0, 0, true), Event::new(9, 0, 0, true)],
            vec![Event::new(1 << 63, 0, 0, true)],
        ] {
            let e = write(&path, SENSOR, &[&bad]).unwrap_err();
            assert!(matches!(e.kind, ErrorKind::Argument(_)), "{e}");
            assert!(!path.exists());
        }
        let e = write(
            &path,
            Sensor {
                width: 40_000,
                height: 10,
            },
            &[],
        )
        .unwrap_err();
        assert!(e.to_string().contains("40000 x 10"), "{e}");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "a temporary file was left"
        );
    }

    #[test]
    fn rewrites_the_reference_recording_event_for_event() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/events/davis346.aedat4");
        if !src.exists() {
            return;
        }
        let r = Reader::open(&src).unwrap();
        let sensor = r.sensor().unwrap();
        let ev = r.read_all().unwrap();
        assert_eq!(ev.len(), 78_830);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("again.aedat4");
        write(&path, sensor, &[&ev]).unwrap();
        let again = Reader::open(&path).unwrap();
        assert_eq!(again.sensor(), Some(sensor));
        assert_eq!(again.read_all().unwrap(), ev);
    }
}
