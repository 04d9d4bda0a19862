//! Bytes <-> frames: COBS, the header, the CRC-32; the streaming encoder
//! and the reader that cuts a byte stream at the delimiters.

use crate::codec::{le16, le32};
use crate::{ProtocolError, CRC_LEN, DELIMITER, HEADER_LEN, MAX_BODY, MAX_ENCODED, MAX_PAYLOAD, MIN_BODY, VERSION};
use stdp_core::crc::{crc32, crc32_update};

/// Decodes COBS `src` (without delimiter) into `dst`; returns the length.
/// Errors: [`ProtocolError::Cobs`], or [`ProtocolError::Oversize`] when
/// `dst` is too small.
pub fn cobs_decode(src: &[u8], dst: &mut [u8]) -> Result<usize, ProtocolError> {
    let (mut i, mut o) = (0, 0);
    while let Some(&code) = src.get(i) {
        if code == 0 {
            return Err(ProtocolError::Cobs);
        }
        i += 1;
        let n = code as usize - 1;
        let chunk = src.get(i..i + n).ok_or(ProtocolError::Cobs)?;
        if chunk.contains(&0) {
            return Err(ProtocolError::Cobs);
        }
        dst.get_mut(o..o + n)
            .ok_or(ProtocolError::Oversize)?
            .copy_from_slice(chunk);
        o += n;
        i += n;
        if code != 0xFF && i < src.len() {
            *dst.get_mut(o).ok_or(ProtocolError::Oversize)? = 0;
            o += 1;
        }
    }
    Ok(o)
}

/// COBS-encodes `src` into `dst` (at least [`cobs_max_len`](crate::cobs_max_len) bytes; no
/// delimiter is added); returns the length.
pub fn cobs_encode(src: &[u8], dst: &mut [u8]) -> Result<usize, ProtocolError> {
    let mut e = FrameEncoder {
        out: dst,
        code_at: 0,
        pos: 1,
        code: 1,
        crc: 0,
        body: 0,
        full: false,
    };
    e.encode(src);
    e.set(e.code_at, e.code);
    if e.full {
        return Err(ProtocolError::BufferTooSmall);
    }
    Ok(e.pos)
}

/// Writes one frame, COBS-encoding and checksumming as bytes are put, so
/// no separate buffer for the decoded frame is needed.
#[derive(Debug)]
pub struct FrameEncoder<'a> {
    out: &'a mut [u8],
    code_at: usize,
    pos: usize,
    code: u8,
    crc: u32,
    body: usize,
    full: bool,
}

impl<'a> FrameEncoder<'a> {
    /// Starts a frame with header (`code`, `seq`) in `out` (at most [`MAX_FRAME`](crate::MAX_FRAME) bytes are written).
    pub fn new(out: &'a mut [u8], code: u8, seq: u16) -> Self {
        let mut e = FrameEncoder {
            out,
            code_at: 0,
            pos: 1,
            code: 1,
            crc: 0,
            body: 0,
            full: false,
        };
        let s = seq.to_le_bytes();
        e.put(&[VERSION, code, s[0], s[1]]);
        e
    }

    fn set(&mut self, at: usize, b: u8) {
        match self.out.get_mut(at) {
            Some(x) => *x = b,
            None => self.full = true,
        }
    }

    fn close_block(&mut self) {
        self.set(self.code_at, self.code);
        self.code_at = self.pos;
        self.pos += 1;
        self.code = 1;
    }

    fn encode(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if b == 0 {
                self.close_block();
            } else {
                self.set(self.pos, b);
                self.pos += 1;
                self.code += 1;
                if self.code == 0xFF {
                    self.close_block();
                }
            }
        }
    }

    /// Appends `bytes` to the frame.
    pub fn put(&mut self, bytes: &[u8]) {
        self.crc = crc32_update(self.crc, bytes);
        self.body += bytes.len();
        self.encode(bytes);
    }

    /// Appends a `u16`, little-endian.
    pub fn u16(&mut self, v: u16) {
        self.put(&v.to_le_bytes());
    }

    /// Appends a `u32`, little-endian.
    pub fn u32(&mut self, v: u32) {
        self.put(&v.to_le_bytes());
    }

    /// Appends the CRC and the delimiter; returns the frame's length on the wire.
    pub fn finish(mut self) -> Result<usize, ProtocolError> {
        if self.body > HEADER_LEN + MAX_PAYLOAD {
            return Err(ProtocolError::PayloadTooLong);
        }
        let crc = self.crc.to_le_bytes();
        self.encode(&crc);
        self.set(self.code_at, self.code);
        self.set(self.pos, DELIMITER);
        if self.full {
            return Err(ProtocolError::BufferTooSmall);
        }
        Ok(self.pos + 1)
    }
}

/// A decoded frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Header {
    /// Command, reply or error code.
    pub code: u8,
    /// Sequence number.
    pub seq: u16,
}

/// A decoded frame of this protocol version whose CRC matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The header.
    pub header: Header,
    /// The payload (at most [`MAX_PAYLOAD`] bytes).
    pub payload: &'a [u8],
}

/// Decodes one encoded frame (the bytes between two delimiters) into
/// `body` (at least [`MAX_BODY`] bytes for every valid frame to fit) and
/// checks its size, CRC and version.
pub fn decode_frame<'b>(encoded: &[u8], body: &'b mut [u8]) -> Result<Frame<'b>, ProtocolError> {
    if encoded.len() > MAX_ENCODED {
        return Err(ProtocolError::Oversize);
    }
    let n = cobs_decode(encoded, body)?;
    if n > MAX_BODY {
        return Err(ProtocolError::Oversize);
    }
    if n < MIN_BODY {
        return Err(ProtocolError::TooShort);
    }
    let body = &body[..n];
    let (data, crc) = body.split_at(n - CRC_LEN);
    if crc32(data) != le32(crc) {
        return Err(ProtocolError::Crc);
    }
    let seq = le16(&data[2..]);
    if data[0] != VERSION {
        return Err(ProtocolError::Version { found: data[0], seq });
    }
    Ok(Frame {
        header: Header { code: data[1], seq },
        payload: &data[HEADER_LEN..],
    })
}

/// Collects received bytes into frames (between delimiters), for a
/// receiver fed one byte at a time. Keeps at most `N` bytes of a frame;
/// a longer one is dropped and reported as [`ProtocolError::Oversize`] at
/// its delimiter. Empty frames (two delimiters in a row) are ignored, so a
/// host can send a lone `0x00` to resynchronise.
#[derive(Debug)]
pub struct FrameReader<const N: usize> {
    buf: [u8; N],
    len: usize,
    overflow: bool,
    lost: bool,
}

impl<const N: usize> FrameReader<N> {
    /// An empty reader; `const`, so it can initialise a `static`.
    pub const fn new() -> Self {
        FrameReader {
            buf: [0; N],
            len: 0,
            overflow: false,
            lost: false,
        }
    }

    /// Adds one received byte. At a delimiter, returns the encoded frame
    /// (without delimiter) or why it was dropped.
    pub fn push(&mut self, b: u8) -> Option<Result<&[u8], ProtocolError>> {
        if b != DELIMITER {
            match self.buf.get_mut(self.len) {
                Some(x) => {
                    *x = b;
                    self.len += 1;
                }
                None => self.overflow = true,
            }
            return None;
        }
        let n = core::mem::take(&mut self.len);
        let (overflow, lost) = (core::mem::take(&mut self.overflow), core::mem::take(&mut self.lost));
        if lost {
            Some(Err(ProtocolError::Overrun))
        } else if overflow {
            Some(Err(ProtocolError::Oversize))
        } else if n == 0 {
            None
        } else {
            Some(Ok(&self.buf[..n]))
        }
    }

    /// Notes that bytes were lost: the frame being received is dropped and
    /// reported as [`ProtocolError::Overrun`] at its delimiter.
    pub fn lose(&mut self) {
        self.lost = true;
    }
}

impl<const N: usize> Default for FrameReader<N> {
    fn default() -> Self {
        Self::new()
    }
}
