//! iniVation AEDAT 4.0 (`#!AER-DAT4.0`), as DV and dv-processing record it.
//!
//! # Layout
//!
//! All integers little-endian.
//!
//! - The version line `#!AER-DAT4.0\r\n` (14 bytes).
//! - An int32 size, then that many bytes of an `IOHeader` FlatBuffer
//!   (identifier `IOHE`): field 0 the compression of every packet (int32:
//!   0 NONE, 1 LZ4, 2 LZ4_HIGH, 3 ZSTD, 4 ZSTD_HIGH), field 1 the byte
//!   position of the file's data table (int64, -1 when there is none),
//!   field 2 the `infoNode`, an XML description of the streams: under the
//!   node `outInfo`, one node per stream named by its id, with an
//!   `typeIdentifier` attribute (`EVTS` events, `FRME` frames, `IMUS` IMU
//!   samples, `TRIG` triggers, …) and, for events, an `info` node with the
//!   sensor's `sizeX` and `sizeY`.
//! - Packets to the end of the file or to the data table: an int32 stream
//!   id, an int32 size, then `size` bytes, compressed as the IOHeader says,
//!   which decompress to a size-prefixed FlatBuffer. An events packet's is
//!   an `EventPacket` (identifier `EVTS`) whose field 0 is a vector of
//!   16-byte `Event` structs: int64 timestamp (µs), int16 x, int16 y,
//!   bool polarity (1 = ON), 3 bytes of padding.
//! - Optionally, at the data-table position, a `FileDataTable` (an index
//!   of the packets, compressed like them, with no packet header).
//!
//! # Policies
//!
//! - **Streams**: the events of the first events stream (the lowest id
//!   whose `typeIdentifier` is `EVTS`) are read; its `sizeX` and `sizeY`
//!   give the sensor. Packets of every other stream id (frames, IMU,
//!   triggers, a second events stream, ids the infoNode does not list) are
//!   skipped by their size, without being decompressed or even buffered
//!   whole. A file with no events stream is refused as unsupported, naming
//!   the streams it has.
//! - **Data table**: reading stops at the data-table position and the
//!   table (and anything after it) is skipped; a packet running past that
//!   position is an error. A position of -1, or one inside the header, means
//!   "no table": packets are read to the end of the file.
//! - **Checks**: every FlatBuffer offset and length is checked against the
//!   buffer it is in; an events packet must be a size-prefixed `EVTS`
//!   table; an event with a negative timestamp or a pixel outside the
//!   sensor is an error at the packet's offset (as faery's decoder has it).
//! - **Sizes**: the IOHeader and each packet are at most [`MAX_RECORD`]
//!   bytes, packed and unpacked: a larger size field or a packet that
//!   decompresses to more (a decompression bomb) is an error, not an
//!   allocation.
//! - **Decompression**: LZ4 frames with `lz4_flex` (pure Rust, no unsafe
//!   code), Zstd with `zstd` (bindings to the reference C implementation,
//!   which every Zstd producer is tested against). `*_HIGH` differ only in
//!   the compressor's level.

use std::collections::BTreeMap;
use std::io::Read;

use super::format::OpenError;
use super::{Decoder, Format, Opened, Sensor, Source, MAX_RECORD};
use crate::error::Fault;
use crate::Event;

/// The version line.
const MAGIC: &[u8] = b"#!AER-DAT4.0\r\n";
/// Bytes of a packet header: stream id and size.
const PACKET_HEADER: usize = 8;
/// The largest packet payload: the packet, header included, fits in [`MAX_RECORD`].
const MAX_PACKET: usize = MAX_RECORD - PACKET_HEADER;
/// Bytes of an `Event` struct in an `EventPacket`.
const EVENT_STRUCT: usize = 16;

/// How the packets of a file are compressed (the IOHeader's enum).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compression {
    None,
    Lz4,
    Lz4High,
    Zstd,
    ZstdHigh,
}

impl Compression {
    fn from_i32(v: i32) -> Option<Compression> {
        Some(match v {
            0 => Compression::None,
            1 => Compression::Lz4,
            2 => Compression::Lz4High,
            3 => Compression::Zstd,
            4 => Compression::ZstdHigh,
            _ => return None,
        })
    }
}

pub(crate) fn open(src: &mut Source) -> Result<Opened, OpenError> {
    let base = src.offset();
    let head = src.fill(MAGIC.len() + 4)?;
    if !head.starts_with(MAGIC) {
        return Err(Fault::format(base, "the AEDAT 4.0 version line is not `#!AER-DAT4.0` and CR LF").into());
    }
    let size_at = base + MAGIC.len() as u64;
    let Some(size) = head.get(MAGIC.len()..MAGIC.len() + 4) else {
        return Err(Fault::format(size_at, "truncated AEDAT 4.0 header: no IOHeader size").into());
    };
    let size = u32::from_le_bytes([size[0], size[1], size[2], size[3]]) as usize;
    if size > MAX_RECORD {
        return Err(Fault::format(
            size_at,
            format!("IOHeader size {size} bytes is larger than the limit of {MAX_RECORD}"),
        )
        .into());
    }
    let header_at = size_at + 4;
    let total = MAGIC.len() + 4 + size;
    let bytes = src.fill(total)?;
    if bytes.len() < total {
        let got = bytes.len() - (MAGIC.len() + 4);
        return Err(Fault::format(header_at, format!("truncated IOHeader: {got} of {size} bytes")).into());
    }
    let header = IoHeader::parse(&bytes[MAGIC.len() + 4..total])
        .map_err(|what| Fault::format(header_at, format!("IOHeader: {what}")))?;
    let Some(compression) = Compression::from_i32(header.compression) else {
        return Err(Fault::unsupported(
            header_at,
            format!(
                "AEDAT 4.0 compression {} (known: 0 NONE, 1 LZ4, 2 LZ4_HIGH, 3 ZSTD, 4 ZSTD_HIGH)",
                header.compression
            ),
        )
        .into());
    };
    let streams =
        parse_streams(&header.info).map_err(|what| Fault::format(header_at, format!("IOHeader infoNode: {what}")))?;
    let Some(events) = streams.iter().filter(|s| s.kind == "EVTS").min_by_key(|s| s.id) else {
        let kinds: Vec<String> = streams.iter().map(|s| format!("{} {}", s.id, s.kind)).collect();
        return Err(Fault::unsupported(
            header_at,
            format!(
                "no events stream (EVTS) in this AEDAT 4.0 file; its streams: [{}]",
                kinds.join(", ")
            ),
        )
        .into());
    };
    let sensor = match (events.size_x, events.size_y) {
        (Some(width), Some(height)) => Some(Sensor { width, height }),
        _ => None,
    };
    let data_end = base + total as u64;
    let end = u64::try_from(header.data_table).ok().filter(|&p| p >= data_end);
    let decoder = Aedat4 {
        compression,
        stream: events.id,
        sensor,
        end,
        skip: 0,
        skip_at: 0,
        data: Vec::new(),
        pending: None,
    };
    src.consume(total);
    Ok(Opened {
        format: Format::Aedat4,
        sensor,
        decoder: Box::new(decoder),
    })
}

/// The events of a decompressed packet not yet given out.
struct Pending {
    /// Offset of the packet (its header) in the input.
    at: u64,
    /// Bytes of the packet in the input, header included.
    len: usize,
    /// Where the `Event` structs start in the decompressed bytes.
    start: usize,
    /// How many there are.
    count: usize,
    /// The next one to give out.
    next: usize,
}

/// The decoder of the packets after the IOHeader.
struct Aedat4 {
    compression: Compression,
    /// The id of the events stream read.
    stream: i32,
    sensor: Option<Sensor>,
    /// The data table's position: the end of the packets.
    end: Option<u64>,
    /// Bytes of a skipped packet still to pass over.
    skip: u64,
    /// Offset of the packet being skipped.
    skip_at: u64,
    /// The decompressed bytes of the current events packet.
    data: Vec<u8>,
    /// Its events still to give out: the packet stays in the input until all are.
    pending: Option<Pending>,
}

impl Decoder for Aedat4 {
    fn decode(&mut self, bytes: &[u8], at: u64, eof: bool, out: &mut Vec<Event>, max: usize) -> Result<usize, Fault> {
        let mut used = 0usize;
        loop {
            let pos = at + used as u64;
            if let Some(p) = &mut self.pending {
                if p.at != pos || bytes.len() - used < p.len {
                    return Err(Fault::format(pos, "AEDAT 4.0 reader lost its place in a packet"));
                }
                emit(&self.data, p, self.sensor, out, max)?;
                if p.next < p.count {
                    return Ok(used);
                }
                used += p.len;
                self.pending = None;
                continue;
            }
            let rest = &bytes[used..];
            if self.skip > 0 {
                let k = (rest.len() as u64).min(self.skip);
                used += k as usize;
                self.skip -= k;
                if self.skip == 0 {
                    continue;
                }
                if eof {
                    return Err(Fault::format(
                        self.skip_at,
                        format!("truncated packet: {} bytes missing at the end of the input", self.skip),
                    ));
                }
                return Ok(used);
            }
            if self.end.is_some_and(|end| pos >= end) {
                // The data table and whatever follows it.
                return Ok(bytes.len());
            }
            if out.len() >= max || rest.is_empty() {
                return Ok(used);
            }
            if rest.len() < PACKET_HEADER {
                if eof {
                    return Err(Fault::format(
                        pos,
                        format!("truncated packet header ({} of {PACKET_HEADER} bytes)", rest.len()),
                    ));
                }
                return Ok(used);
            }
            let stream = i32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
            let size = i32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
            let Ok(size) = usize::try_from(size) else {
                return Err(Fault::format(pos, format!("negative packet size {size}")));
            };
            if size > MAX_PACKET {
                return Err(Fault::format(
                    pos,
                    format!("packet size {size} bytes is larger than the limit of {MAX_PACKET}"),
                ));
            }
            let len = PACKET_HEADER + size;
            if let Some(end) = self.end {
                if pos + len as u64 > end {
                    return Err(Fault::format(
                        pos,
                        format!("packet of {size} bytes runs past the data table at byte {end}"),
                    ));
                }
            }
            if stream != self.stream {
                used += PACKET_HEADER;
                self.skip = size as u64;
                self.skip_at = pos;
                continue;
            }
            if rest.len() < len {
                if eof {
                    let got = rest.len() - PACKET_HEADER;
                    return Err(Fault::format(pos, format!("truncated packet: {got} of {size} bytes")));
                }
                return Ok(used);
            }
            unpack(self.compression, &rest[PACKET_HEADER..len], &mut self.data, MAX_RECORD)
                .map_err(|what| Fault::format(pos, what))?;
            let (start, count) = event_vector(&self.data).map_err(|what| Fault::format(pos, what))?;
            self.pending = Some(Pending {
                at: pos,
                len,
                start,
                count,
                next: 0,
            });
        }
    }
}

/// Gives out the pending events of `data` while `out` has room.
fn emit(data: &[u8], p: &mut Pending, sensor: Option<Sensor>, out: &mut Vec<Event>, max: usize) -> Result<(), Fault> {
    while p.next < p.count && out.len() < max {
        let i = p.next;
        let e = &data[p.start + i * EVENT_STRUCT..p.start + (i + 1) * EVENT_STRUCT];
        let t = i64::from_le_bytes([e[0], e[1], e[2], e[3], e[4], e[5], e[6], e[7]]);
        let x = i16::from_le_bytes([e[8], e[9]]);
        let y = i16::from_le_bytes([e[10], e[11]]);
        let Ok(t) = u64::try_from(t) else {
            return Err(Fault::format(
                p.at,
                format!("event {i} of the packet has a negative timestamp {t}"),
            ));
        };
        let inside = match sensor {
            Some(s) => x >= 0 && y >= 0 && (x as u16) < s.width && (y as u16) < s.height,
            None => x >= 0 && y >= 0,
        };
        if !inside {
            let sensor = sensor.map_or(String::new(), |s| format!(" {} x {}", s.width, s.height));
            return Err(Fault::format(
                p.at,
                format!("event {i} of the packet at ({x}, {y}) is outside the{sensor} sensor"),
            ));
        }
        out.push(Event {
            t,
            x: x as u16,
            y: y as u16,
            on: e[12] != 0,
        });
        p.next += 1;
    }
    Ok(())
}

/// Decompresses `packed` into `data` (cleared first), at most `limit` bytes.
fn unpack(compression: Compression, packed: &[u8], data: &mut Vec<u8>, limit: usize) -> Result<(), String> {
    data.clear();
    match compression {
        Compression::None => {
            data.extend_from_slice(packed);
            Ok(())
        }
        Compression::Lz4 | Compression::Lz4High => {
            read_bounded(lz4_flex::frame::FrameDecoder::new(packed), data, limit)
                .map_err(|e| format!("LZ4 packet: {e}"))
        }
        Compression::Zstd | Compression::ZstdHigh => {
            let d = zstd::stream::read::Decoder::with_buffer(packed).map_err(|e| format!("Zstd packet: {e}"))?;
            read_bounded(d, data, limit).map_err(|e| format!("Zstd packet: {e}"))
        }
    }
}

/// Reads `r` to its end into `data`, refusing more than `limit` bytes
/// (the vector's capacity never grows beyond `limit` either).
fn read_bounded(mut r: impl Read, data: &mut Vec<u8>, limit: usize) -> Result<(), String> {
    let mut block = [0u8; 1 << 14];
    loop {
        let n = match r.read(&mut block) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.to_string()),
        };
        let len = data.len() + n;
        if len > limit {
            return Err(format!("decompresses to more than {limit} bytes"));
        }
        if len > data.capacity() {
            let grown = (data.capacity() * 2).clamp(len, limit);
            data.reserve_exact(grown - data.len());
        }
        data.extend_from_slice(&block[..n]);
    }
}

/// The `Event` structs of a size-prefixed `EventPacket` FlatBuffer: where they start in `data`, and how many.
fn event_vector(data: &[u8]) -> Result<(usize, usize), String> {
    let whole = Fb(data);
    let prefix = whole
        .u32(0)
        .map_err(|_| "packet shorter than its FlatBuffer size prefix".to_string())? as usize;
    let body = data.get(4..).and_then(|b| b.get(..prefix)).ok_or_else(|| {
        format!(
            "FlatBuffer size prefix {prefix} beyond the {} bytes of the packet",
            data.len()
        )
    })?;
    let fb = Fb(body);
    let ident = fb
        .bytes(4, 4)
        .map_err(|_| "packet too short for a FlatBuffer identifier".to_string())?;
    if ident != b"EVTS" {
        return Err(format!(
            "events stream packet holds a `{}` table, not EVTS",
            String::from_utf8_lossy(ident)
        ));
    }
    let table = fb.root().map_err(|e| format!("EventPacket: {e}"))?;
    match table
        .vector(0, EVENT_STRUCT)
        .map_err(|e| format!("EventPacket elements: {e}"))?
    {
        Some((start, count)) => Ok((4 + start, count)),
        None => Ok((0, 0)),
    }
}

/// The fields of the IOHeader that the reader uses.
struct IoHeader {
    compression: i32,
    data_table: i64,
    info: String,
}

impl IoHeader {
    fn parse(bytes: &[u8]) -> Result<IoHeader, &'static str> {
        let t = Fb(bytes).root()?;
        let info = t.string(2)?.ok_or("no infoNode")?;
        Ok(IoHeader {
            compression: t.i32(0, 0)?,
            data_table: t.i64(1, -1)?,
            info: String::from_utf8_lossy(info).into_owned(),
        })
    }
}

/// A bounds-checked view of a FlatBuffer: every read says where it fails instead of panicking.
#[derive(Clone, Copy)]
struct Fb<'a>(&'a [u8]);

/// What is wrong with a FlatBuffer.
type FbResult<T> = Result<T, &'static str>;

impl<'a> Fb<'a> {
    fn bytes(self, pos: usize, n: usize) -> FbResult<&'a [u8]> {
        let end = pos.checked_add(n).ok_or("offset overflow")?;
        self.0.get(pos..end).ok_or("offset out of bounds")
    }
    fn u16(self, pos: usize) -> FbResult<u16> {
        let b = self.bytes(pos, 2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(self, pos: usize) -> FbResult<u32> {
        let b = self.bytes(pos, 4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn i64(self, pos: usize) -> FbResult<i64> {
        let b = self.bytes(pos, 8)?;
        Ok(i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
    }
    /// The position a uoffset at `pos` points to.
    fn follow(self, pos: usize) -> FbResult<usize> {
        let off = self.u32(pos)? as usize;
        let to = pos.checked_add(off).ok_or("offset overflow")?;
        if to >= self.0.len() {
            return Err("offset out of bounds");
        }
        Ok(to)
    }
    /// The root table.
    fn root(self) -> FbResult<Table<'a>> {
        Table::at(self, self.follow(0)?)
    }
}

/// A table of a FlatBuffer: its position and its vtable, both checked.
struct Table<'a> {
    fb: Fb<'a>,
    pos: usize,
    vtable: usize,
    vtable_len: usize,
    len: usize,
}

impl<'a> Table<'a> {
    fn at(fb: Fb<'a>, pos: usize) -> FbResult<Table<'a>> {
        let soffset = fb.u32(pos)? as i32;
        let vtable = usize::try_from(pos as i64 - i64::from(soffset)).map_err(|_| "vtable before the buffer")?;
        let vtable_len = fb.u16(vtable)? as usize;
        if vtable_len < 4 || !vtable_len.is_multiple_of(2) {
            return Err("bad vtable size");
        }
        fb.bytes(vtable, vtable_len)?;
        let len = fb.u16(vtable + 2)? as usize;
        if len < 4 {
            return Err("bad table size");
        }
        fb.bytes(pos, len)?;
        Ok(Table {
            fb,
            pos,
            vtable,
            vtable_len,
            len,
        })
    }

    /// The position of field `i` (`width` bytes), `None` if absent.
    fn field(&self, i: usize, width: usize) -> FbResult<Option<usize>> {
        let slot = 4 + 2 * i;
        if slot + 2 > self.vtable_len {
            return Ok(None);
        }
        let off = self.fb.u16(self.vtable + slot)? as usize;
        if off == 0 {
            return Ok(None);
        }
        if off < 4 || off + width > self.len {
            return Err("field outside its table");
        }
        Ok(Some(self.pos + off))
    }

    fn i32(&self, i: usize, default: i32) -> FbResult<i32> {
        match self.field(i, 4)? {
            Some(p) => Ok(self.fb.u32(p)? as i32),
            None => Ok(default),
        }
    }

    fn i64(&self, i: usize, default: i64) -> FbResult<i64> {
        match self.field(i, 8)? {
            Some(p) => self.fb.i64(p),
            None => Ok(default),
        }
    }

    /// A string field's bytes (without the terminating NUL).
    fn string(&self, i: usize) -> FbResult<Option<&'a [u8]>> {
        let Some(p) = self.field(i, 4)? else { return Ok(None) };
        let s = self.fb.follow(p)?;
        let n = self.fb.u32(s)? as usize;
        Ok(Some(self.fb.bytes(s + 4, n)?))
    }

    /// A vector of structs of `size` bytes: where its elements start and how many.
    fn vector(&self, i: usize, size: usize) -> FbResult<Option<(usize, usize)>> {
        let Some(p) = self.field(i, 4)? else { return Ok(None) };
        let v = self.fb.follow(p)?;
        let n = self.fb.u32(v)? as usize;
        let bytes = n.checked_mul(size).ok_or("vector length overflow")?;
        self.fb.bytes(v + 4, bytes)?;
        Ok(Some((v + 4, n)))
    }
}

/// A stream as the infoNode describes it.
#[derive(Debug, PartialEq, Eq)]
struct StreamInfo {
    id: i32,
    /// The type identifier: `EVTS`, `FRME`, `IMUS`, `TRIG`, …
    kind: String,
    size_x: Option<u16>,
    size_y: Option<u16>,
}

/// The streams of an infoNode: each node under `outInfo`, its
/// `typeIdentifier` and its `info` node's `sizeX` and `sizeY`.
fn parse_streams(xml: &str) -> Result<Vec<StreamInfo>, String> {
    let mut streams: BTreeMap<i32, StreamInfo> = BTreeMap::new();
    xml_attrs(xml, |nodes, key, value| {
        let (id, is_info) = match nodes {
            [.., "outInfo", id] => (*id, false),
            [.., "outInfo", id, "info"] => (*id, true),
            _ => return Ok(()),
        };
        let id: i32 = id
            .trim()
            .parse()
            .map_err(|_| format!("stream node name `{id}` is not a number"))?;
        let s = streams.entry(id).or_insert_with(|| StreamInfo {
            id,
            kind: String::new(),
            size_x: None,
            size_y: None,
        });
        let size = || -> Result<u16, String> {
            match value.trim().parse::<u16>() {
                Ok(v) if (1..=32767).contains(&v) => Ok(v),
                _ => Err(format!("stream {id}: {key} `{value}` is not a size in 1..=32767")),
            }
        };
        match (is_info, key) {
            (false, "typeIdentifier") => s.kind = value.trim().to_string(),
            (true, "sizeX") => s.size_x = Some(size()?),
            (true, "sizeY") => s.size_y = Some(size()?),
            _ => {}
        }
        Ok(())
    })?;
    Ok(streams.into_values().filter(|s| !s.kind.is_empty()).collect())
}

/// An element being read.
struct Open<'x> {
    tag: &'x str,
    /// The `name` attribute (of a `node`) or the `key` (of an `attr`).
    name: String,
    /// Where its content starts.
    content: usize,
}

/// Calls `f` on every `<attr key="…">value</attr>` of a DV XML tree with
/// the names of the innermost (up to) three `<node>`s it is in, outermost
/// first, its key and its value. A minimal reader of the XML DV writes:
/// elements, attributes in quotes, text, entities, comments, processing
/// instructions, CDATA (skipped). Time and memory are linear in the text.
fn xml_attrs(xml: &str, mut f: impl FnMut(&[&str], &str, &str) -> Result<(), String>) -> Result<(), String> {
    let mut open: Vec<Open> = Vec::new();
    // Indices in `open` of the `node` elements.
    let mut nodes: Vec<usize> = Vec::new();
    let mut attr = |open: &[Open], nodes: &[usize], key: &str, value: &str| {
        let inner: Vec<&str> = nodes[nodes.len().saturating_sub(3)..]
            .iter()
            .map(|&j| open[j].name.as_str())
            .collect();
        f(&inner, key, value)
    };
    let mut i = 0;
    while let Some(lt) = xml[i..].find('<') {
        let start = i + lt;
        let rest = &xml[start..];
        let skip_to = |end: &str| {
            rest.find(end)
                .map(|k| start + k + end.len())
                .ok_or_else(|| format!("unterminated `{}`", rest.chars().take(9).collect::<String>()))
        };
        if rest.starts_with("<!--") {
            i = skip_to("-->")?;
            continue;
        }
        if rest.starts_with("<![CDATA[") || rest.starts_with("<?") || rest.starts_with("<!") {
            let end = if rest.starts_with("<![CDATA[") {
                "]]>"
            } else if rest.starts_with("<?") {
                "?>"
            } else {
                ">"
            };
            i = skip_to(end)?;
            continue;
        }
        // The tag's end: the first `>` outside quotes.
        let mut quote = None;
        let mut close = None;
        for (k, c) in rest.char_indices().skip(1) {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') => quote = Some(c),
                (None, '>') => {
                    close = Some(start + k);
                    break;
                }
                (None, '<') => return Err("`<` inside a tag".to_string()),
                _ => {}
            }
        }
        let close = close.ok_or("unterminated tag")?;
        let body = &xml[start + 1..close];
        if let Some(name) = body.strip_prefix('/') {
            let name = name.trim();
            let Some(el) = open.pop() else {
                return Err(format!("`</{name}>` closes nothing"));
            };
            if el.tag != name {
                return Err(format!("`</{name}>` closes `<{}>`", el.tag));
            }
            if el.tag == "node" {
                nodes.pop();
            } else if el.tag == "attr" {
                attr(&open, &nodes, &el.name, &unescape(&xml[el.content..start]))?;
            }
        } else {
            let self_closing = body.ends_with('/');
            let body = body.strip_suffix('/').unwrap_or(body);
            let tag_end = body.find(|c: char| c.is_whitespace()).unwrap_or(body.len());
            let tag = &body[..tag_end];
            if tag.is_empty() {
                return Err("a tag without a name".to_string());
            }
            let want = if tag == "attr" { "key" } else { "name" };
            let name = attribute(&body[tag_end..], want)?.unwrap_or_default();
            if self_closing {
                if tag == "attr" {
                    attr(&open, &nodes, &name, "")?;
                }
            } else {
                if tag == "node" {
                    nodes.push(open.len());
                }
                open.push(Open {
                    tag,
                    name,
                    content: close + 1,
                });
            }
        }
        i = close + 1;
    }
    if let Some(el) = open.last() {
        return Err(format!("`<{}>` is not closed", el.tag));
    }
    Ok(())
}

/// The value of attribute `want` in a tag's attribute list.
fn attribute(mut s: &str, want: &str) -> Result<Option<String>, String> {
    loop {
        s = s.trim_start();
        if s.is_empty() {
            return Ok(None);
        }
        let eq = s.find('=').ok_or_else(|| format!("attribute `{s}` without a value"))?;
        let name = s[..eq].trim();
        let v = s[eq + 1..].trim_start();
        let q = v
            .chars()
            .next()
            .filter(|&c| c == '"' || c == '\'')
            .ok_or("attribute value without quotes")?;
        let end = v[1..].find(q).ok_or("unterminated attribute value")?;
        if name == want {
            return Ok(Some(unescape(&v[1..1 + end])));
        }
        s = &v[end + 2..];
    }
}

/// Text with XML's five entities and numeric character references decoded.
fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some(semi) = rest.find(';') else { break };
        let entity = &rest[1..semi];
        let c = match entity {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            e => e
                .strip_prefix("#x")
                .map(|h| u32::from_str_radix(h, 16))
                .or_else(|| e.strip_prefix('#').map(|d| d.parse::<u32>()))
                .and_then(|n| n.ok())
                .and_then(char::from_u32),
        };
        match c {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Error, ErrorKind, Reader};

    /// A stream of a test infoNode: id, type identifier, sensor size.
    type Stream<'a> = (i32, &'a str, Option<(u16, u16)>);

    /// An infoNode with the given streams.
    fn info_node(streams: &[Stream]) -> String {
        let mut x = String::from("<dv version=\"2.0\">\n    <node name=\"outInfo\" path=\"/outInfo/\">\n");
        for (id, kind, size) in streams {
            x += &format!("        <node name=\"{id}\" path=\"/outInfo/{id}/\">\n");
            x += &format!("            <attr key=\"typeIdentifier\" type=\"string\">{kind}</attr>\n");
            if let Some((w, h)) = size {
                x += &format!("            <node name=\"info\" path=\"/outInfo/{id}/info/\">\n");
                x += &format!("                <attr key=\"sizeX\" type=\"int\">{w}</attr>\n");
                x += &format!("                <attr key=\"sizeY\" type=\"int\">{h}</attr>\n");
                x += "            </node>\n";
            }
            x += "        </node>\n";
        }
        x + "    </node>\n</dv>\n"
    }

    /// A size-prefixed IOHeader FlatBuffer, built field by field.
    fn io_header(compression: i32, data_table: i64, info: &str) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&0u32.to_le_bytes()); // size prefix, set below
        b.extend_from_slice(&20u32.to_le_bytes()); // root: the table at 24 (20 after the prefix)
        b.extend_from_slice(b"IOHE");
        for v in [10u16, 20, 4, 8, 16] {
            b.extend_from_slice(&v.to_le_bytes()); // vtable at 12
        }
        b.extend_from_slice(&[0, 0]);
        b.extend_from_slice(&12i32.to_le_bytes()); // table at 24: vtable 12 bytes before
        b.extend_from_slice(&compression.to_le_bytes());
        b.extend_from_slice(&data_table.to_le_bytes());
        b.extend_from_slice(&4u32.to_le_bytes()); // the string 4 bytes on
        b.extend_from_slice(&(info.len() as u32).to_le_bytes());
        b.extend_from_slice(info.as_bytes());
        b.push(0);
        let n = (b.len() - 4) as u32;
        b[..4].copy_from_slice(&n.to_le_bytes());
        b
    }

    /// A size-prefixed EventPacket FlatBuffer of `events` (t, x, y, on).
    fn event_packet(events: &[(i64, i16, i16, bool)]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&16u32.to_le_bytes()); // root: the table at 20 (16 after the prefix)
        b.extend_from_slice(b"EVTS");
        for v in [6u16, 8, 4] {
            b.extend_from_slice(&v.to_le_bytes()); // vtable at 12
        }
        b.extend_from_slice(&[0, 0]);
        b.extend_from_slice(&8i32.to_le_bytes()); // table at 20
        b.extend_from_slice(&4u32.to_le_bytes()); // the vector at 28
        b.extend_from_slice(&(events.len() as u32).to_le_bytes());
        for &(t, x, y, on) in events {
            b.extend_from_slice(&t.to_le_bytes());
            b.extend_from_slice(&x.to_le_bytes());
            b.extend_from_slice(&y.to_le_bytes());
            b.extend_from_slice(&[on as u8, 0, 0, 0]);
        }
        let n = (b.len() - 4) as u32;
        b[..4].copy_from_slice(&n.to_le_bytes());
        b
    }

    fn packet(stream: i32, payload: &[u8]) -> Vec<u8> {
        let mut p = stream.to_le_bytes().to_vec();
        p.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        p.extend_from_slice(payload);
        p
    }

    fn file(compression: i32, info: &str, packets: &[Vec<u8>]) -> Vec<u8> {
        let mut f = MAGIC.to_vec();
        f.extend_from_slice(&io_header(compression, -1, info));
        for p in packets {
            f.extend_from_slice(p);
        }
        f
    }

    fn lz4(bytes: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut e = lz4_flex::frame::FrameEncoder::new(Vec::new());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    fn read(bytes: Vec<u8>) -> Result<Vec<Event>, Error> {
        Reader::from_read(std::io::Cursor::new(bytes), "test.aedat4")?.read_all()
    }

    fn err(bytes: Vec<u8>) -> Error {
        match read(bytes) {
            Ok(_) => panic!("read without an error"),
            Err(e) => e,
        }
    }

    fn dvs() -> String {
        info_node(&[
            (0, "EVTS", Some((346, 260))),
            (1, "FRME", Some((346, 260))),
            (2, "IMUS", None),
        ])
    }

    #[test]
    fn reads_events_of_every_compression_and_skips_other_streams() {
        let events = [(10, 1, 2, true), (11, 345, 259, false), (11, 0, 0, true)];
        let want: Vec<Event> = events
            .iter()
            .map(|&(t, x, y, on)| Event::new(t as u64, x as u16, y as u16, on))
            .collect();
        let raw = event_packet(&events);
        let packed: [(i32, Vec<u8>); 5] = [
            (0, raw.clone()),
            (1, lz4(&raw)),
            (2, lz4(&raw)),
            (3, zstd::encode_all(&raw[..], 3).unwrap()),
            (4, zstd::encode_all(&raw[..], 19).unwrap()),
        ];
        for (c, payload) in packed {
            // Frames and IMU packets hold bytes that would not decompress: skipped unread.
            let f = file(
                c,
                &dvs(),
                &[packet(1, b"not a frame"), packet(0, &payload), packet(2, &[0xff; 3])],
            );
            let r = Reader::from_read(std::io::Cursor::new(f), "t").unwrap();
            assert_eq!(r.format(), Format::Aedat4);
            assert_eq!(
                r.sensor(),
                Some(Sensor {
                    width: 346,
                    height: 260
                })
            );
            assert_eq!(r.read_all().unwrap(), want, "compression {c}");
        }
    }

    #[test]
    fn a_packet_larger_than_a_chunk_is_given_out_across_chunks() {
        let n = crate::read::CHUNK * 2 + 7;
        let events: Vec<(i64, i16, i16, bool)> = (0..n)
            .map(|i| (i as i64, (i % 300) as i16, 5, i.is_multiple_of(2)))
            .collect();
        let f = file(
            1,
            &dvs(),
            &[
                packet(0, &lz4(&event_packet(&events))),
                packet(0, &lz4(&event_packet(&events[..3]))),
            ],
        );
        let mut r = Reader::from_read(std::io::Cursor::new(f), "t").unwrap();
        let mut sizes = Vec::new();
        let mut all = Vec::new();
        while let Some(c) = r.next_chunk().unwrap() {
            sizes.push(c.len());
            all.extend_from_slice(c);
        }
        assert_eq!(sizes, vec![crate::read::CHUNK, crate::read::CHUNK, 10]);
        assert_eq!(all.len(), n + 3);
        assert_eq!(
            all[n - 1],
            Event::new(n as u64 - 1, ((n - 1) % 300) as u16, 5, (n - 1).is_multiple_of(2))
        );
    }

    #[test]
    fn stops_at_the_data_table() {
        let mut f = MAGIC.to_vec();
        let header = io_header(0, 0, &dvs());
        let table_at = (MAGIC.len() + header.len()) as i64 + 8 + event_packet(&[(1, 1, 1, true)]).len() as i64;
        f.extend_from_slice(&io_header(0, table_at, &dvs()));
        f.extend_from_slice(&packet(0, &event_packet(&[(1, 1, 1, true)])));
        assert_eq!(f.len() as i64, table_at);
        f.extend_from_slice(b"\x04\x22\x4d\x18 a compressed FileDataTable, not a packet");
        assert_eq!(read(f).unwrap(), vec![Event::new(1, 1, 1, true)]);
    }

    #[test]
    fn a_packet_running_past_the_data_table_is_an_error() {
        let mut f = MAGIC.to_vec();
        let header = io_header(0, 0, &dvs());
        let table_at = (MAGIC.len() + header.len()) as i64 + 10;
        f.extend_from_slice(&io_header(0, table_at, &dvs()));
        f.extend_from_slice(&packet(0, &event_packet(&[(1, 1, 1, true)])));
        let e = err(f);
        assert_eq!(e.offset, Some((MAGIC.len() + header.len()) as u64));
        assert!(e.to_string().contains("runs past the data table"), "{e}");
    }

    #[test]
    fn reads_the_reference_file_header() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/events/davis346.aedat4");
        let Ok(r) = Reader::open(&path) else { return };
        assert_eq!(
            r.sensor(),
            Some(Sensor {
                width: 346,
                height: 260
            })
        );
    }

    #[test]
    fn parses_the_streams_of_an_info_node() {
        let s = parse_streams(&dvs()).unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(
            s[0],
            StreamInfo {
                id: 0,
                kind: "EVTS".into(),
                size_x: Some(346),
                size_y: Some(260)
            }
        );
        assert_eq!(
            s[2],
            StreamInfo {
                id: 2,
                kind: "IMUS".into(),
                size_x: None,
                size_y: None
            }
        );
        let odd = "<?xml version='1.0'?><!-- c --><dv><node name='outInfo' path='a>b'>\
                   <node name=' 7 '><attr key='typeIdentifier' type='string'>&#69;VTS</attr><attr key='x'/>\
                   <node name='info'><attr key='sizeX' type='int'>128</attr><attr key='sizeY'>64</attr></node>\
                   </node></node></dv>";
        assert_eq!(
            parse_streams(odd).unwrap(),
            vec![StreamInfo {
                id: 7,
                kind: "EVTS".into(),
                size_x: Some(128),
                size_y: Some(64)
            }]
        );
        for bad in [
            "<dv><node name='outInfo'>",
            "<dv></node>",
            "<dv><a></b></dv>",
            "<dv><node name='x",
            "<dv <>",
        ] {
            assert!(parse_streams(bad).is_err(), "{bad}");
        }
        let big = info_node(&[(0, "EVTS", Some((40000, 5)))]);
        assert!(parse_streams(&big).unwrap_err().contains("sizeX `40000`"));
    }

    #[test]
    fn a_deeply_nested_info_node_is_read_in_linear_time() {
        let depth = 50_000;
        let mut x = String::from("<dv><node name='outInfo'><node name='0'><attr key='typeIdentifier'>EVTS</attr>");
        for _ in 0..depth {
            x += "<node name='n'><attr key='k'>v</attr>";
        }
        for _ in 0..depth {
            x += "</node>";
        }
        x += "</node></node></dv>";
        let t = std::time::Instant::now();
        let s = parse_streams(&x).unwrap();
        assert_eq!(
            s,
            vec![StreamInfo {
                id: 0,
                kind: "EVTS".into(),
                size_x: None,
                size_y: None
            }]
        );
        assert!(t.elapsed().as_secs() < 5, "{:?}", t.elapsed());
    }

    #[test]
    fn every_corrupt_byte_is_an_error_or_a_decode_never_a_panic() {
        let events: Vec<(i64, i16, i16, bool)> = (0..40).map(|i| (i, i as i16, 2, i % 3 == 0)).collect();
        let info = info_node(&[(0, "EVTS", Some((64, 8))), (1, "TRIG", None)]);
        for (c, payload) in [(0, event_packet(&events)), (1, lz4(&event_packet(&events)))] {
            let good = file(c, &info, &[packet(1, &[1, 2, 3]), packet(0, &payload)]);
            assert_eq!(read(good.clone()).unwrap().len(), 40);
            for i in 0..good.len() {
                for v in [0x00, 0x01, 0x7f, 0x80, 0xff] {
                    let mut b = good.clone();
                    b[i] = v;
                    let _ = read(b);
                }
            }
        }
    }

    #[test]
    fn takes_the_lowest_events_stream_and_skips_a_second() {
        let info = info_node(&[(3, "EVTS", Some((20, 10))), (1, "EVTS", Some((10, 5)))]);
        let f = file(
            0,
            &info,
            &[
                packet(3, &event_packet(&[(1, 15, 9, true)])),
                packet(1, &event_packet(&[(2, 9, 4, false)])),
            ],
        );
        let r = Reader::from_read(std::io::Cursor::new(f), "t").unwrap();
        assert_eq!(r.sensor(), Some(Sensor { width: 10, height: 5 }));
        assert_eq!(r.read_all().unwrap(), vec![Event::new(2, 9, 4, false)]);
    }

    #[test]
    fn a_file_without_events_is_refused_naming_its_streams() {
        let e = err(file(
            0,
            &info_node(&[(0, "FRME", Some((8, 8))), (1, "TRIG", None)]),
            &[],
        ));
        assert!(matches!(e.kind, ErrorKind::Unsupported(_)), "{e}");
        assert!(e.to_string().contains("[0 FRME, 1 TRIG]"), "{e}");
    }

    #[test]
    fn an_unknown_compression_is_refused() {
        let e = err(file(9, &dvs(), &[packet(0, &event_packet(&[(1, 1, 1, true)]))]));
        assert!(matches!(e.kind, ErrorKind::Unsupported(_)), "{e}");
        assert_eq!(e.offset, Some(18));
        assert!(e.to_string().contains("compression 9"), "{e}");
    }

    #[test]
    fn a_packet_that_does_not_decompress_is_an_error_at_its_offset() {
        let at = file(1, &dvs(), &[]).len() as u64;
        for c in [1, 3] {
            let e = err(file(c, &dvs(), &[packet(0, b"garbage, not a frame")]));
            assert!(matches!(e.kind, ErrorKind::Format(_)), "{e}");
            assert_eq!(e.offset, Some(at), "{e}");
        }
        // An uncompressed file whose packet is not an EventPacket.
        let e = err(file(0, &dvs(), &[packet(0, &[1, 2, 3])]));
        assert_eq!(e.offset, Some(at), "{e}");
        let mut wrong = event_packet(&[(1, 1, 1, true)]);
        wrong[8..12].copy_from_slice(b"FRME");
        assert!(err(file(0, &dvs(), &[packet(0, &wrong)]))
            .to_string()
            .contains("`FRME` table"));
    }

    #[test]
    fn an_absurd_packet_size_is_an_error_not_an_allocation() {
        let at = file(0, &dvs(), &[]).len() as u64;
        for size in [u32::MAX, 0x7fff_ffff, MAX_RECORD as u32] {
            let mut f = file(0, &dvs(), &[]);
            f.extend_from_slice(&0i32.to_le_bytes());
            f.extend_from_slice(&size.to_le_bytes());
            f.extend_from_slice(&[0; 64]);
            let e = err(f);
            assert!(matches!(e.kind, ErrorKind::Format(_)), "{e}");
            assert_eq!(e.offset, Some(at), "{e}");
        }
        // Likewise the IOHeader's size.
        let mut f = MAGIC.to_vec();
        f.extend_from_slice(&u32::MAX.to_le_bytes());
        let e = err(f);
        assert_eq!(e.offset, Some(14), "{e}");
        assert!(e.to_string().contains("IOHeader size"), "{e}");
    }

    #[test]
    fn a_decompression_bomb_is_an_error_within_the_limit() {
        // 4 MiB of zeros packs into a few hundred bytes; the limit stops it at 100,000.
        let zeros = vec![0u8; 4 << 20];
        for (c, bomb) in [
            (Compression::Zstd, zstd::encode_all(&zeros[..], 1).unwrap()),
            (Compression::Lz4, lz4(&zeros)),
        ] {
            assert!(bomb.len() < 20_000, "{}", bomb.len());
            let mut data = Vec::new();
            let e = unpack(c, &bomb, &mut data, 100_000).unwrap_err();
            assert!(e.contains("more than 100000 bytes"), "{e}");
            assert!(data.capacity() <= 100_000, "{}", data.capacity());
            unpack(c, &bomb, &mut data, 4 << 20).unwrap();
            assert_eq!(data.len(), 4 << 20);
        }
    }

    #[test]
    fn truncated_files_are_errors_at_the_offset_of_the_fault() {
        let whole = file(
            1,
            &dvs(),
            &[packet(2, &[7; 40]), packet(0, &lz4(&event_packet(&[(5, 1, 1, true)])))],
        );
        assert_eq!(read(whole.clone()).unwrap().len(), 1);
        let header_end = file(1, &dvs(), &[]).len();
        for cut in [
            3,
            14,
            16,
            30,
            header_end + 5,
            header_end + 20,
            header_end + 48 + 3,
            whole.len() - 1,
        ] {
            let e = err(whole[..cut].to_vec());
            assert!(e.offset.is_some(), "{cut}: {e}");
            assert!(!matches!(e.kind, ErrorKind::Io(_)), "{cut}: {e}");
        }
        let e = err(whole[..header_end + 20].to_vec());
        assert_eq!(e.offset, Some(header_end as u64), "{e}");
        assert!(e.to_string().contains("truncated packet: 28 bytes missing"), "{e}");
        let e = err(whole[..whole.len() - 1].to_vec());
        assert_eq!(e.offset, Some(header_end as u64 + 48), "{e}");
    }

    #[test]
    fn a_garbage_header_is_an_error() {
        let mut f = MAGIC.to_vec();
        f.extend_from_slice(&8u32.to_le_bytes());
        f.extend_from_slice(&[0xff; 8]);
        let e = err(f);
        assert_eq!(e.offset, Some(18), "{e}");
        assert!(e.to_string().contains("IOHeader: offset out of bounds"), "{e}");
        let e = err(b"#!AER-DAT4.0\n\x00\x00\x00\x00".to_vec());
        assert_eq!(e.offset, Some(0), "{e}");
        let e = err(file(
            0,
            "<dv><node name='outInfo'><node name='zero'><attr key='typeIdentifier'>EVTS</attr></node></node></dv>",
            &[],
        ));
        assert!(e.to_string().contains("`zero` is not a number"), "{e}");
    }

    #[test]
    fn events_outside_the_sensor_or_before_zero_are_errors() {
        let at = file(0, &dvs(), &[]).len() as u64;
        for bad in [
            (1, 346, 0, true),
            (1, 0, 260, true),
            (1, -1, 0, true),
            (-5, 0, 0, false),
        ] {
            let e = err(file(0, &dvs(), &[packet(0, &event_packet(&[(0, 0, 0, true), bad]))]));
            assert_eq!(e.offset, Some(at), "{e}");
            assert!(e.to_string().contains("event 1 of the packet"), "{e}");
        }
    }

    #[test]
    fn flatbuffer_offsets_are_checked() {
        let good = event_packet(&[(1, 2, 3, true)]);
        assert!(event_vector(&good).is_ok());
        // Every single-byte corruption of the offsets is an error or a consistent decode, never a panic.
        for i in 0..32 {
            for v in [0x00, 0x7f, 0x80, 0xff] {
                let mut b = good.clone();
                b[i] = v;
                if let Ok((start, n)) = event_vector(&b) {
                    assert!(start + n * EVENT_STRUCT <= b.len());
                }
            }
        }
        for n in 0..good.len() {
            let _ = event_vector(&good[..n]);
        }
    }
}
