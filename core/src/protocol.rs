//! The UART protocol between a host and the firmware (firmware/PROTOCOL.md
//! is the specification; this module is its only implementation, used by
//! both sides).
//!
//! A frame is COBS-encoded and ends with one `0x00`. Decoded, it is
//!
//! ```text
//! offset   size   content (little-endian)
//! 0        1      protocol version (VERSION)
//! 1        1      code: a command (0x01..=0x7F), its reply (command | 0x80), or ERROR (0xFF)
//! 2        2      sequence number, chosen by the host, echoed by the reply
//! 4        0-1024 payload (depends on the code)
//! end - 4  4      CRC-32 (crate::crc) of everything before it
//! ```
//!
//! Everything here is a pure function over byte slices, without
//! allocation and without panics: decoding any bytes gives a value or a
//! typed [`ProtocolError`], never a panic (property-tested below).

use crate::crc::{crc32, crc32_update};

/// Protocol version, first byte of every frame.
pub const VERSION: u8 = 1;
/// Largest payload (bytes).
pub const MAX_PAYLOAD: usize = 1024;
/// Header: version, code, sequence number.
pub const HEADER_LEN: usize = 4;
/// CRC-32 at the end of a frame.
pub const CRC_LEN: usize = 4;
/// Smallest decoded frame (empty payload).
pub const MIN_BODY: usize = HEADER_LEN + CRC_LEN;
/// Largest decoded frame.
pub const MAX_BODY: usize = HEADER_LEN + MAX_PAYLOAD + CRC_LEN;
/// Frame delimiter on the wire.
pub const DELIMITER: u8 = 0;
/// Largest COBS encoding of `n` bytes (without the delimiter).
pub const fn cobs_max_len(n: usize) -> usize {
    n + n / 254 + 1
}
/// Largest encoded frame without its delimiter.
pub const MAX_ENCODED: usize = cobs_max_len(MAX_BODY);
/// Largest frame on the wire, delimiter included (1038 bytes: 90 ms at 115200 baud).
pub const MAX_FRAME: usize = MAX_ENCODED + 1;
/// Sequence number of an error reply to a frame whose header could not be
/// trusted (bad COBS, CRC, size). Hosts should not use it.
pub const UNTRUSTED_SEQ: u16 = 0xFFFF;
/// Reply code = command code | REPLY.
pub const REPLY: u8 = 0x80;
/// Code of an error reply.
pub const ERROR: u8 = 0xFF;
/// Most spike counts in a [`Reply::Run`] (the rest: [`Request::ReadCounts`]).
pub const MAX_RUN_COUNTS: usize = (MAX_PAYLOAD - RunSummary::LEN) / 2;
/// Most counts in a [`Reply::Counts`].
pub const MAX_COUNTS: usize = (MAX_PAYLOAD - 2) / 2;
/// Most values in a [`Reply::State`].
pub const MAX_STATE_VALUES: usize = (MAX_PAYLOAD - 5) / 4;
/// Most spike events in a [`Request::PresentSpikes`].
pub const MAX_EVENTS: usize = (MAX_PAYLOAD - 4) / 4;
/// Most image bytes in a [`Request::UploadChunk`].
pub const MAX_CHUNK: usize = MAX_PAYLOAD - 4;

/// Command codes.
pub mod cmd {
    /// Device and model information.
    pub const INFO: u8 = 0x01;
    /// Start uploading a model image.
    pub const UPLOAD_BEGIN: u8 = 0x02;
    /// A piece of the image being uploaded.
    pub const UPLOAD_CHUNK: u8 = 0x03;
    /// Check the uploaded image and make it the current model.
    pub const UPLOAD_COMMIT: u8 = 0x04;
    /// Switch on-chip learning on or off.
    pub const SET_LEARNING: u8 = 0x05;
    /// Set the input: an image and a seed for on-chip Poisson encoding.
    pub const PRESENT_IMAGE: u8 = 0x06;
    /// Input spike events of a spike presentation.
    pub const PRESENT_SPIKES: u8 = 0x07;
    /// Run the presentation of the current input.
    pub const RUN: u8 = 0x08;
    /// Spike counts of the last run.
    pub const READ_COUNTS: u8 = 0x09;
    /// Weights or thresholds.
    pub const READ_STATE: u8 = 0x0A;
    /// Back to the state after loading the model.
    pub const RESET: u8 = 0x0B;
}

/// Why bytes are not a valid frame, request or reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ProtocolError {
    /// Invalid COBS: a zero byte inside, or a block running past the end.
    Cobs,
    /// Longer than [`MAX_BODY`] decoded (or [`MAX_ENCODED`] encoded).
    Oversize,
    /// Shorter than [`MIN_BODY`] decoded.
    TooShort,
    /// The CRC does not match.
    Crc,
    /// Another protocol version (`seq` from the frame, which passed its CRC).
    Version {
        /// The version in the frame.
        found: u8,
        /// Its sequence number.
        seq: u16,
    },
    /// Not a known command (or reply) code.
    UnknownCode(u8),
    /// The payload has the wrong length for its code.
    BadLength {
        /// The code.
        code: u8,
        /// The payload length.
        len: u16,
    },
    /// A field has an invalid value (a flag, a count, an error code).
    BadValue {
        /// The code of the frame.
        code: u8,
    },
    /// Received bytes were lost (UART overrun) within this frame.
    Overrun,
    /// The output buffer is too small (encoding).
    BufferTooSmall,
    /// The payload would exceed [`MAX_PAYLOAD`] (encoding).
    PayloadTooLong,
}

impl core::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ProtocolError::Cobs => write!(f, "invalid COBS encoding"),
            ProtocolError::Oversize => write!(f, "frame longer than {MAX_BODY} bytes"),
            ProtocolError::TooShort => write!(f, "frame shorter than {MIN_BODY} bytes"),
            ProtocolError::Crc => write!(f, "CRC mismatch"),
            ProtocolError::Version { found, .. } => write!(f, "protocol version {found}, expected {VERSION}"),
            ProtocolError::UnknownCode(c) => write!(f, "unknown code {c:#04x}"),
            ProtocolError::BadLength { code, len } => write!(f, "payload of {len} bytes is wrong for code {code:#04x}"),
            ProtocolError::BadValue { code } => write!(f, "invalid field value for code {code:#04x}"),
            ProtocolError::Overrun => write!(f, "bytes lost (UART overrun)"),
            ProtocolError::BufferTooSmall => write!(f, "output buffer too small"),
            ProtocolError::PayloadTooLong => write!(f, "payload longer than {MAX_PAYLOAD} bytes"),
        }
    }
}

impl core::error::Error for ProtocolError {}

/// The error codes of an error reply ([`Reply::Error`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[repr(u8)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ErrorCode {
    /// Invalid COBS encoding.
    Cobs = 1,
    /// Frame too long.
    Oversize = 2,
    /// Frame too short.
    TooShort = 3,
    /// CRC mismatch.
    Crc = 4,
    /// Unsupported protocol version (arg: the device's version).
    Version = 5,
    /// Unknown command (arg: the code).
    UnknownCommand = 6,
    /// Wrong payload length for the command (arg: the length).
    BadLength = 7,
    /// Invalid field value.
    BadValue = 8,
    /// An index, offset or length beyond what the model or buffer holds (arg: the value).
    OutOfRange = 9,
    /// No model loaded.
    NoModel = 10,
    /// The uploaded image is invalid (bad total CRC, or `ModelImage::parse` refused it).
    BadImage = 11,
    /// The model or image does not fit the device's memory (arg: what it needs).
    TooLarge = 12,
    /// The command is not valid now (no upload or input in progress, ...).
    BadState = 13,
    /// This device has no room for on-chip learning of this model.
    NoLearning = 14,
    /// The core refused the operation (should not happen).
    Core = 15,
    /// Bytes were lost (UART overrun).
    Overrun = 16,
}

impl ErrorCode {
    /// The code with the value `v`.
    pub fn from_u8(v: u8) -> Option<Self> {
        use ErrorCode::*;
        Some(match v {
            1 => Cobs,
            2 => Oversize,
            3 => TooShort,
            4 => Crc,
            5 => Version,
            6 => UnknownCommand,
            7 => BadLength,
            8 => BadValue,
            9 => OutOfRange,
            10 => NoModel,
            11 => BadImage,
            12 => TooLarge,
            13 => BadState,
            14 => NoLearning,
            15 => Core,
            16 => Overrun,
            _ => return None,
        })
    }
}

impl ProtocolError {
    /// The error reply for this decoding error: (code, arg, seq to reply with).
    pub fn reply(&self, seq: u16) -> (ErrorCode, u32, u16) {
        match *self {
            ProtocolError::Cobs => (ErrorCode::Cobs, 0, UNTRUSTED_SEQ),
            ProtocolError::Oversize => (ErrorCode::Oversize, MAX_BODY as u32, UNTRUSTED_SEQ),
            ProtocolError::TooShort => (ErrorCode::TooShort, 0, UNTRUSTED_SEQ),
            ProtocolError::Crc => (ErrorCode::Crc, 0, UNTRUSTED_SEQ),
            ProtocolError::Overrun => (ErrorCode::Overrun, 0, UNTRUSTED_SEQ),
            ProtocolError::Version { seq, .. } => (ErrorCode::Version, VERSION as u32, seq),
            ProtocolError::UnknownCode(c) => (ErrorCode::UnknownCommand, c as u32, seq),
            ProtocolError::BadLength { len, .. } => (ErrorCode::BadLength, len as u32, seq),
            ProtocolError::BadValue { .. } => (ErrorCode::BadValue, 0, seq),
            ProtocolError::BufferTooSmall | ProtocolError::PayloadTooLong => (ErrorCode::Core, 0, seq),
        }
    }
}

// ---------------------------------------------------------------- COBS

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

/// COBS-encodes `src` into `dst` (at least [`cobs_max_len`] bytes; no
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
    /// Starts a frame with header (`code`, `seq`) in `out` (at most [`MAX_FRAME`] bytes are written).
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

// ---------------------------------------------------------------- frames

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

// ---------------------------------------------------------------- arrays

fn le16(b: &[u8]) -> u16 {
    u16::from_le_bytes([b[0], b[1]])
}
fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}
fn le64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}

/// A value of an array field, with its little-endian wire size.
pub trait Word: Copy {
    /// Bytes on the wire.
    const SIZE: usize;
    /// Reads one value from `b` (exactly `SIZE` bytes).
    fn read(b: &[u8]) -> Self;
    /// Appends the value to a frame.
    fn write(self, e: &mut FrameEncoder<'_>);
}

impl Word for u16 {
    const SIZE: usize = 2;
    fn read(b: &[u8]) -> Self {
        le16(b)
    }
    fn write(self, e: &mut FrameEncoder<'_>) {
        e.u16(self)
    }
}

impl Word for i32 {
    const SIZE: usize = 4;
    fn read(b: &[u8]) -> Self {
        le32(b) as i32
    }
    fn write(self, e: &mut FrameEncoder<'_>) {
        e.u32(self as u32)
    }
}

/// An input spike event: input `input` spikes at step `step` of the presentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Event {
    /// Input index (< n_inputs).
    pub input: u16,
    /// Step from the start of the presentation.
    pub step: u16,
}

impl Word for Event {
    const SIZE: usize = 4;
    fn read(b: &[u8]) -> Self {
        Event {
            input: le16(b),
            step: le16(&b[2..]),
        }
    }
    fn write(self, e: &mut FrameEncoder<'_>) {
        e.u16(self.input);
        e.u16(self.step);
    }
}

/// An array field: the raw little-endian bytes of a decoded frame, or
/// values to encode.
#[derive(Debug, Clone, Copy)]
pub enum Array<'a, T> {
    /// Little-endian bytes, a multiple of `T::SIZE` long.
    Le(&'a [u8]),
    /// Values.
    Values(&'a [T]),
}

impl<'a, T: Word> Array<'a, T> {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            Array::Le(b) => b.len() / T::SIZE,
            Array::Values(v) => v.len(),
        }
    }
    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Value `i`.
    pub fn get(&self, i: usize) -> Option<T> {
        match self {
            Array::Le(b) => b.get(i * T::SIZE..(i + 1) * T::SIZE).map(T::read),
            Array::Values(v) => v.get(i).copied(),
        }
    }
    /// The values in order.
    pub fn iter(&self) -> impl Iterator<Item = T> + 'a {
        let a = *self;
        (0..a.len()).filter_map(move |i| a.get(i))
    }
    fn write(&self, e: &mut FrameEncoder<'_>) {
        match self {
            Array::Le(b) => e.put(&b[..b.len() / T::SIZE * T::SIZE]),
            Array::Values(v) => v.iter().for_each(|x| x.write(e)),
        }
    }
    fn parse(b: &'a [u8], code: u8) -> Result<Self, ProtocolError> {
        if !b.len().is_multiple_of(T::SIZE) {
            return Err(ProtocolError::BadLength {
                code,
                len: b.len() as u16,
            });
        }
        Ok(Array::Le(b))
    }
}

impl<T: Word + PartialEq> PartialEq for Array<'_, T> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().zip(other.iter()).all(|(a, b)| a == b)
    }
}

// ---------------------------------------------------------------- requests

/// Which per-neuron or per-synapse values [`Request::ReadState`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum StateKind {
    /// Input weights `w[i * n + j]`, Q11.20 bits (what the network adds).
    Weights = 0,
    /// Adaptive thresholds theta (mV), Q11.20 bits.
    Theta = 1,
}

/// A command from the host.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Request<'a> {
    /// Device and model information ([`Reply::Info`]).
    Info,
    /// Start an upload of an image of `len` bytes (replaces an upload in progress).
    UploadBegin {
        /// Image size (bytes).
        len: u32,
    },
    /// Bytes `offset..offset + data.len()` of the image.
    UploadChunk {
        /// Offset in the image.
        offset: u32,
        /// At most [`MAX_CHUNK`] bytes.
        data: &'a [u8],
    },
    /// Check the image (CRC-32 of all of it, then `ModelImage::parse`) and
    /// make it the current model ([`Reply::Committed`]).
    UploadCommit {
        /// CRC-32 of the whole image.
        crc: u32,
    },
    /// Learning on (STDP, theta adaptation) or off.
    SetLearning {
        /// On.
        on: bool,
    },
    /// The next run presents this image, Poisson-encoded on the chip with
    /// the random stream of `seed` (as `host_sim::dc::example_rng(seed, 0, 0)`).
    PresentImage {
        /// Stream seed.
        seed: u64,
        /// n_inputs pixels, 0..=255.
        pixels: &'a [u8],
    },
    /// Input spikes for steps `[previous until, until)` of a spike
    /// presentation (which `start` begins, at step 0); the device
    /// simulates those steps. Events sorted by step.
    PresentSpikes {
        /// Begins a new spike presentation.
        start: bool,
        /// With `start`: reset the dynamics first (as `independent` in [`Request::Run`]).
        independent: bool,
        /// End (exclusive) of the steps this frame covers (<= presentation steps).
        until: u16,
        /// At most [`MAX_EVENTS`] events.
        events: Array<'a, Event>,
    },
    /// Runs the current input ([`Reply::Run`]): an image presentation, or
    /// the rest of a spike presentation.
    Run {
        /// Reset the dynamics before the presentation (image input).
        independent: bool,
    },
    /// Spike counts of neurons `offset..offset + count` of the last run.
    ReadCounts {
        /// First neuron.
        offset: u16,
        /// At most [`MAX_COUNTS`].
        count: u16,
    },
    /// Values `offset..offset + count` of the state ([`Reply::State`]).
    ReadState {
        /// Which values.
        kind: StateKind,
        /// First value.
        offset: u32,
        /// At most [`MAX_STATE_VALUES`].
        count: u16,
    },
    /// Drops the learned state, input, last result and upload in progress
    /// (learning off); with `forget_model` also the uploaded model.
    Reset {
        /// Back to the built-in model (or none).
        forget_model: bool,
    },
}

fn need(code: u8, p: &[u8], ok: bool) -> Result<(), ProtocolError> {
    if ok {
        Ok(())
    } else {
        Err(ProtocolError::BadLength {
            code,
            len: p.len() as u16,
        })
    }
}

fn flag(code: u8, b: u8, allowed: u8) -> Result<u8, ProtocolError> {
    if b & !allowed != 0 {
        Err(ProtocolError::BadValue { code })
    } else {
        Ok(b)
    }
}

impl<'a> Request<'a> {
    /// The command code.
    pub fn code(&self) -> u8 {
        match self {
            Request::Info => cmd::INFO,
            Request::UploadBegin { .. } => cmd::UPLOAD_BEGIN,
            Request::UploadChunk { .. } => cmd::UPLOAD_CHUNK,
            Request::UploadCommit { .. } => cmd::UPLOAD_COMMIT,
            Request::SetLearning { .. } => cmd::SET_LEARNING,
            Request::PresentImage { .. } => cmd::PRESENT_IMAGE,
            Request::PresentSpikes { .. } => cmd::PRESENT_SPIKES,
            Request::Run { .. } => cmd::RUN,
            Request::ReadCounts { .. } => cmd::READ_COUNTS,
            Request::ReadState { .. } => cmd::READ_STATE,
            Request::Reset { .. } => cmd::RESET,
        }
    }

    /// Parses the payload of a frame with command `code`.
    pub fn parse(code: u8, p: &'a [u8]) -> Result<Self, ProtocolError> {
        let n = p.len();
        match code {
            cmd::INFO => need(code, p, n == 0).map(|()| Request::Info),
            cmd::UPLOAD_BEGIN => {
                need(code, p, n == 4)?;
                Ok(Request::UploadBegin { len: le32(p) })
            }
            cmd::UPLOAD_CHUNK => {
                need(code, p, (5..=MAX_PAYLOAD).contains(&n))?;
                Ok(Request::UploadChunk {
                    offset: le32(p),
                    data: &p[4..],
                })
            }
            cmd::UPLOAD_COMMIT => {
                need(code, p, n == 4)?;
                Ok(Request::UploadCommit { crc: le32(p) })
            }
            cmd::SET_LEARNING => {
                need(code, p, n == 1)?;
                Ok(Request::SetLearning {
                    on: flag(code, p[0], 1)? != 0,
                })
            }
            cmd::PRESENT_IMAGE => {
                need(code, p, (9..=MAX_PAYLOAD).contains(&n))?;
                Ok(Request::PresentImage {
                    seed: le64(p),
                    pixels: &p[8..],
                })
            }
            cmd::PRESENT_SPIKES => {
                need(code, p, n >= 4)?;
                let f = flag(code, p[0], 3)?;
                if p[1] != 0 {
                    return Err(ProtocolError::BadValue { code });
                }
                Ok(Request::PresentSpikes {
                    start: f & 1 != 0,
                    independent: f & 2 != 0,
                    until: le16(&p[2..]),
                    events: Array::parse(&p[4..], code)?,
                })
            }
            cmd::RUN => {
                need(code, p, n == 1)?;
                Ok(Request::Run {
                    independent: flag(code, p[0], 1)? != 0,
                })
            }
            cmd::READ_COUNTS => {
                need(code, p, n == 4)?;
                let count = le16(&p[2..]);
                if count as usize > MAX_COUNTS {
                    return Err(ProtocolError::BadValue { code });
                }
                Ok(Request::ReadCounts { offset: le16(p), count })
            }
            cmd::READ_STATE => {
                need(code, p, n == 7)?;
                let kind = match p[0] {
                    0 => StateKind::Weights,
                    1 => StateKind::Theta,
                    _ => return Err(ProtocolError::BadValue { code }),
                };
                let count = le16(&p[5..]);
                if count as usize > MAX_STATE_VALUES {
                    return Err(ProtocolError::BadValue { code });
                }
                Ok(Request::ReadState {
                    kind,
                    offset: le32(&p[1..]),
                    count,
                })
            }
            cmd::RESET => {
                need(code, p, n == 1)?;
                Ok(Request::Reset {
                    forget_model: flag(code, p[0], 1)? != 0,
                })
            }
            _ => Err(ProtocolError::UnknownCode(code)),
        }
    }

    /// Decodes an encoded frame (into `body`, at least [`MAX_BODY`] bytes)
    /// and parses its request. Returns the sequence number with it.
    pub fn decode(encoded: &[u8], body: &'a mut [u8]) -> Result<(u16, Self), (u16, ProtocolError)> {
        let f = decode_frame(encoded, body).map_err(|e| (UNTRUSTED_SEQ, e))?;
        let seq = f.header.seq;
        Request::parse(f.header.code, f.payload)
            .map(|r| (seq, r))
            .map_err(|e| (seq, e))
    }

    fn write(&self, e: &mut FrameEncoder<'_>) {
        match *self {
            Request::Info => {}
            Request::UploadBegin { len } => e.u32(len),
            Request::UploadChunk { offset, data } => {
                e.u32(offset);
                e.put(data);
            }
            Request::UploadCommit { crc } => e.u32(crc),
            Request::SetLearning { on } => e.put(&[on as u8]),
            Request::PresentImage { seed, pixels } => {
                e.put(&seed.to_le_bytes());
                e.put(pixels);
            }
            Request::PresentSpikes {
                start,
                independent,
                until,
                events,
            } => {
                e.put(&[start as u8 | (independent as u8) << 1, 0]);
                e.u16(until);
                events.write(e);
            }
            Request::Run { independent } => e.put(&[independent as u8]),
            Request::ReadCounts { offset, count } => {
                e.u16(offset);
                e.u16(count);
            }
            Request::ReadState { kind, offset, count } => {
                e.put(&[kind as u8]);
                e.u32(offset);
                e.u16(count);
            }
            Request::Reset { forget_model } => e.put(&[forget_model as u8]),
        }
    }

    /// Encodes the request as a frame with sequence number `seq` into
    /// `out` ([`MAX_FRAME`] bytes always suffice); returns its length.
    pub fn encode(&self, seq: u16, out: &mut [u8]) -> Result<usize, ProtocolError> {
        let mut e = FrameEncoder::new(out, self.code(), seq);
        self.write(&mut e);
        e.finish()
    }
}

// ---------------------------------------------------------------- replies

/// Flags of [`Info::flags`].
pub mod info_flags {
    /// A model is loaded.
    pub const MODEL: u8 = 1;
    /// Learning is on.
    pub const LEARNING: u8 = 2;
    /// The network runs on learned weights in RAM (not the image's).
    pub const PLASTIC: u8 = 4;
    /// The current model is the one built into flash.
    pub const BUILTIN: u8 = 8;
}

/// What [`Request::Info`] answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Info {
    /// Protocol version.
    pub protocol: u8,
    /// Model image format version the device reads.
    pub image_version: u16,
    /// [`info_flags`].
    pub flags: u8,
    /// Inputs of the current model (0: none).
    pub n_inputs: u16,
    /// Neurons of the current model (0: none).
    pub n_neurons: u16,
    /// Largest payload the device accepts.
    pub max_payload: u16,
    /// Most inputs of a model the device can run.
    pub max_inputs: u16,
    /// Most neurons of a model the device can run.
    pub max_neurons: u16,
    /// Most inputs of a model it can learn on (0: no learning).
    pub learn_max_inputs: u16,
    /// Most neurons of a model it can learn on.
    pub learn_max_neurons: u16,
    /// Largest image it can take by upload (bytes; 0: no upload).
    pub upload_capacity: u32,
    /// RAM not taken by static buffers (bytes; the stack lives in it).
    pub free_ram: u32,
    /// CRC-32 of the current model's image (0: none).
    pub model_crc: u32,
    /// Most stack used since boot (bytes; 0: not measured).
    pub stack_peak: u32,
}

impl Info {
    /// Payload size.
    pub const LEN: usize = 34;
    fn write(&self, e: &mut FrameEncoder<'_>) {
        e.put(&[self.protocol]);
        e.u16(self.image_version);
        e.put(&[self.flags]);
        for v in [
            self.n_inputs,
            self.n_neurons,
            self.max_payload,
            self.max_inputs,
            self.max_neurons,
            self.learn_max_inputs,
            self.learn_max_neurons,
        ] {
            e.u16(v);
        }
        e.u32(self.upload_capacity);
        e.u32(self.free_ram);
        e.u32(self.model_crc);
        e.u32(self.stack_peak);
    }
    fn read(p: &[u8]) -> Self {
        let h = |i: usize| le16(&p[i..]);
        Info {
            protocol: p[0],
            image_version: h(1),
            flags: p[3],
            n_inputs: h(4),
            n_neurons: h(6),
            max_payload: h(8),
            max_inputs: h(10),
            max_neurons: h(12),
            learn_max_inputs: h(14),
            learn_max_neurons: h(16),
            upload_capacity: le32(&p[18..]),
            free_ram: le32(&p[22..]),
            model_crc: le32(&p[26..]),
            stack_peak: le32(&p[30..]),
        }
    }
}

/// Flags of [`RunSummary::flags`].
pub mod run_flags {
    /// The presentation learned (STDP and theta adaptation on).
    pub const LEARNED: u8 = 1;
    /// The input was spike events (else an image).
    pub const SPIKES: u8 = 2;
    /// Some count exceeded 65535 and was saturated.
    pub const SATURATED: u8 = 4;
}

/// What a run did (the counts follow it in [`Reply::Run`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RunSummary {
    /// Class by the model's label assignment (Diehl & Cook's mean rule).
    pub class: u8,
    /// [`run_flags`].
    pub flags: u8,
    /// Presentations repeated at a higher intensity.
    pub retries: u16,
    /// Steps simulated (all presentations, rest included).
    pub steps: u32,
    /// Excitatory spikes of the final presentation.
    pub exc_spikes: u32,
    /// Input spikes delivered (all presentations).
    pub input_spikes: u32,
    /// Number of neurons (counts in all).
    pub n_neurons: u16,
    /// Duration of the run in ticks of the board's clock (QEMU under
    /// `-icount shift=0`: SysTick, 40 instructions a tick; nRF52840: CPU
    /// cycles at 64 MHz; 0: no clock).
    pub ticks: u32,
}

impl RunSummary {
    /// Payload size.
    pub const LEN: usize = 22;
    fn write(&self, e: &mut FrameEncoder<'_>) {
        e.put(&[self.class, self.flags]);
        e.u16(self.retries);
        e.u32(self.steps);
        e.u32(self.exc_spikes);
        e.u32(self.input_spikes);
        e.u16(self.n_neurons);
        e.u32(self.ticks);
    }
    fn read(p: &[u8]) -> Self {
        RunSummary {
            class: p[0],
            flags: p[1],
            retries: le16(&p[2..]),
            steps: le32(&p[4..]),
            exc_spikes: le32(&p[8..]),
            input_spikes: le32(&p[12..]),
            n_neurons: le16(&p[16..]),
            ticks: le32(&p[18..]),
        }
    }
}

/// An answer of the device.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reply<'a> {
    /// Answer to [`Request::Info`].
    Info(Info),
    /// Success without data, to the command with this code.
    Ack(u8),
    /// Answer to [`Request::UploadCommit`]: the new model.
    Committed {
        /// Inputs.
        n_inputs: u16,
        /// Neurons.
        n_neurons: u16,
    },
    /// Answer to [`Request::Run`]: the summary and the spike counts of
    /// neurons `0..counts.len()` (all, up to [`MAX_RUN_COUNTS`]).
    Run {
        /// Summary.
        summary: RunSummary,
        /// Spike counts (saturated at 65535).
        counts: Array<'a, u16>,
    },
    /// Answer to [`Request::ReadCounts`].
    Counts {
        /// First neuron.
        offset: u16,
        /// Counts.
        counts: Array<'a, u16>,
    },
    /// Answer to [`Request::ReadState`]: Q11.20 bits.
    State {
        /// Which values.
        kind: StateKind,
        /// First value.
        offset: u32,
        /// Values.
        values: Array<'a, i32>,
    },
    /// The command failed; nothing changed.
    Error {
        /// Why.
        code: ErrorCode,
        /// The command's code (0 when the frame could not be decoded).
        command: u8,
        /// Detail (see [`ErrorCode`]).
        arg: u32,
    },
}

const ACKED: [u8; 6] = [
    cmd::UPLOAD_BEGIN,
    cmd::UPLOAD_CHUNK,
    cmd::SET_LEARNING,
    cmd::PRESENT_IMAGE,
    cmd::PRESENT_SPIKES,
    cmd::RESET,
];

impl<'a> Reply<'a> {
    /// The reply code.
    pub fn code(&self) -> u8 {
        match self {
            Reply::Info(_) => cmd::INFO | REPLY,
            Reply::Ack(c) => c | REPLY,
            Reply::Committed { .. } => cmd::UPLOAD_COMMIT | REPLY,
            Reply::Run { .. } => cmd::RUN | REPLY,
            Reply::Counts { .. } => cmd::READ_COUNTS | REPLY,
            Reply::State { .. } => cmd::READ_STATE | REPLY,
            Reply::Error { .. } => ERROR,
        }
    }

    /// Parses the payload of a frame with reply code `code`.
    pub fn parse(code: u8, p: &'a [u8]) -> Result<Self, ProtocolError> {
        let n = p.len();
        if code == ERROR {
            need(code, p, n == 6)?;
            let c = ErrorCode::from_u8(p[0]).ok_or(ProtocolError::BadValue { code })?;
            return Ok(Reply::Error {
                code: c,
                command: p[1],
                arg: le32(&p[2..]),
            });
        }
        if code & REPLY == 0 {
            return Err(ProtocolError::UnknownCode(code));
        }
        let c = code & !REPLY;
        match c {
            cmd::INFO => {
                need(code, p, n == Info::LEN)?;
                Ok(Reply::Info(Info::read(p)))
            }
            cmd::UPLOAD_COMMIT => {
                need(code, p, n == 4)?;
                Ok(Reply::Committed {
                    n_inputs: le16(p),
                    n_neurons: le16(&p[2..]),
                })
            }
            cmd::RUN => {
                need(code, p, n >= RunSummary::LEN)?;
                Ok(Reply::Run {
                    summary: RunSummary::read(p),
                    counts: Array::parse(&p[RunSummary::LEN..], code)?,
                })
            }
            cmd::READ_COUNTS => {
                need(code, p, n >= 2)?;
                Ok(Reply::Counts {
                    offset: le16(p),
                    counts: Array::parse(&p[2..], code)?,
                })
            }
            cmd::READ_STATE => {
                need(code, p, n >= 5)?;
                let kind = match p[0] {
                    0 => StateKind::Weights,
                    1 => StateKind::Theta,
                    _ => return Err(ProtocolError::BadValue { code }),
                };
                Ok(Reply::State {
                    kind,
                    offset: le32(&p[1..]),
                    values: Array::parse(&p[5..], code)?,
                })
            }
            _ if ACKED.contains(&c) => need(code, p, n == 0).map(|()| Reply::Ack(c)),
            _ => Err(ProtocolError::UnknownCode(code)),
        }
    }

    /// Decodes an encoded frame (into `body`, at least [`MAX_BODY`] bytes)
    /// and parses its reply. Returns the sequence number with it.
    pub fn decode(encoded: &[u8], body: &'a mut [u8]) -> Result<(u16, Self), ProtocolError> {
        let f = decode_frame(encoded, body)?;
        Reply::parse(f.header.code, f.payload).map(|r| (f.header.seq, r))
    }

    fn write(&self, e: &mut FrameEncoder<'_>) {
        match self {
            Reply::Info(i) => i.write(e),
            Reply::Ack(_) => {}
            Reply::Committed { n_inputs, n_neurons } => {
                e.u16(*n_inputs);
                e.u16(*n_neurons);
            }
            Reply::Run { summary, counts } => {
                summary.write(e);
                counts.write(e);
            }
            Reply::Counts { offset, counts } => {
                e.u16(*offset);
                counts.write(e);
            }
            Reply::State { kind, offset, values } => {
                e.put(&[*kind as u8]);
                e.u32(*offset);
                values.write(e);
            }
            Reply::Error { code, command, arg } => {
                e.put(&[*code as u8, *command]);
                e.u32(*arg);
            }
        }
    }

    /// Encodes the reply as a frame with sequence number `seq` into `out`
    /// ([`MAX_FRAME`] bytes suffice for every reply within the limits of
    /// its fields); returns its length.
    pub fn encode(&self, seq: u16, out: &mut [u8]) -> Result<usize, ProtocolError> {
        let mut e = FrameEncoder::new(out, self.code(), seq);
        self.write(&mut e);
        e.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cobs(src: &[u8], out: &mut [u8]) -> usize {
        cobs_encode(src, out).unwrap()
    }

    fn frame(r: &Request<'_>, seq: u16) -> Vec<u8> {
        let mut out = [0u8; MAX_FRAME];
        let n = r.encode(seq, &mut out).unwrap();
        out[..n].to_vec()
    }

    #[test]
    fn cobs_matches_the_paper_examples() {
        let mut out = [0u8; 600];
        let n = cobs(&[0x11, 0x22, 0x00, 0x33], &mut out);
        assert_eq!(&out[..n], &[0x03, 0x11, 0x22, 0x02, 0x33]);
        let n = cobs(&[0x00], &mut out);
        assert_eq!(&out[..n], &[0x01, 0x01]);
        let data: Vec<u8> = (1..=254).collect();
        let n = cobs(&data, &mut out);
        assert_eq!(out[0], 0xFF);
        assert_eq!(n, 256);
        let mut back = [0u8; 300];
        assert_eq!(cobs_decode(&out[..n], &mut back), Ok(254));
        assert_eq!(&back[..254], &data[..]);
    }

    #[test]
    fn requests_round_trip_with_their_sequence_number() {
        let events = [Event { input: 3, step: 0 }, Event { input: 783, step: 5 }];
        let pixels = [7u8; 784];
        let reqs = [
            Request::Info,
            Request::UploadBegin { len: 79_000 },
            Request::UploadChunk {
                offset: 1020,
                data: &[0, 1, 2, 0, 0],
            },
            Request::UploadCommit { crc: 0xDEAD_BEEF },
            Request::SetLearning { on: true },
            Request::PresentImage {
                seed: 42,
                pixels: &pixels,
            },
            Request::PresentSpikes {
                start: true,
                independent: true,
                until: 9,
                events: Array::Values(&events),
            },
            Request::Run { independent: true },
            Request::ReadCounts { offset: 2, count: 7 },
            Request::ReadState {
                kind: StateKind::Theta,
                offset: 5,
                count: 254,
            },
            Request::Reset { forget_model: true },
        ];
        for (i, r) in reqs.iter().enumerate() {
            let f = frame(r, i as u16 * 1000);
            assert_eq!(f.iter().position(|&b| b == 0), Some(f.len() - 1));
            let mut body = [0u8; MAX_BODY];
            let (seq, back) = Request::decode(&f[..f.len() - 1], &mut body).unwrap();
            assert_eq!((seq, &back), (i as u16 * 1000, r));
        }
    }

    #[test]
    fn replies_round_trip() {
        let counts = [1u16, 0, 65535];
        let vals = [-1i32, 7 << 20];
        let reps = [
            Reply::Info(Info {
                protocol: 1,
                n_neurons: 100,
                free_ram: 12345,
                ..Info::default()
            }),
            Reply::Ack(cmd::RESET),
            Reply::Committed {
                n_inputs: 784,
                n_neurons: 100,
            },
            Reply::Run {
                summary: RunSummary {
                    class: 7,
                    steps: 1000,
                    n_neurons: 3,
                    ..RunSummary::default()
                },
                counts: Array::Values(&counts),
            },
            Reply::Counts {
                offset: 3,
                counts: Array::Values(&counts),
            },
            Reply::State {
                kind: StateKind::Weights,
                offset: 9,
                values: Array::Values(&vals),
            },
            Reply::Error {
                code: ErrorCode::OutOfRange,
                command: cmd::PRESENT_SPIKES,
                arg: 900,
            },
        ];
        for r in reps {
            let mut out = [0u8; MAX_FRAME];
            let n = r.encode(77, &mut out).unwrap();
            let mut body = [0u8; MAX_BODY];
            assert_eq!(Reply::decode(&out[..n - 1], &mut body), Ok((77, r)));
        }
    }

    #[test]
    fn damaged_frames_give_typed_errors() {
        let f = frame(&Request::UploadCommit { crc: 1 }, 5);
        let enc = &f[..f.len() - 1];
        let mut body = [0u8; MAX_BODY];
        let mut bad = enc.to_vec();
        bad[3] ^= 0x40;
        assert_eq!(Request::decode(&bad, &mut body).unwrap_err().1, ProtocolError::Crc);
        assert!(Request::decode(&enc[..3], &mut body).is_err());
        assert_eq!(decode_frame(&[0x02, 1, 0x01], &mut body), Err(ProtocolError::TooShort));
        assert_eq!(decode_frame(&[0x05, 1, 0], &mut body), Err(ProtocolError::Cobs));
        assert_eq!(decode_frame(&[0x05, 1], &mut body), Err(ProtocolError::Cobs));
        assert_eq!(
            decode_frame(&[1; MAX_ENCODED + 1], &mut body),
            Err(ProtocolError::Oversize)
        );
        // A body of MAX_BODY + 1 bytes, validly encoded.
        let mut out = [0u8; MAX_FRAME + 8];
        let n = cobs(&[9u8; MAX_BODY + 1], &mut out);
        assert_eq!(decode_frame(&out[..n], &mut body), Err(ProtocolError::Oversize));
        // Wrong version, unknown command, wrong length: the seq survives.
        let mut e = FrameEncoder::new(&mut out, cmd::INFO, 9);
        e.put(&[]);
        let n = e.finish().unwrap();
        let mut v = [0u8; 16];
        let m = cobs_decode(&out[..n - 1], &mut v).unwrap();
        v[0] = 2;
        let c = crc32(&v[..m - 4]);
        v[m - 4..m].copy_from_slice(&c.to_le_bytes());
        let n = cobs(&v[..m], &mut out);
        assert_eq!(
            Request::decode(&out[..n], &mut body),
            Err((UNTRUSTED_SEQ, ProtocolError::Version { found: 2, seq: 9 }))
        );
        let mut e = FrameEncoder::new(&mut out, 0x42, 10);
        e.put(&[1]);
        let n = e.finish().unwrap();
        assert_eq!(
            Request::decode(&out[..n - 1], &mut body),
            Err((10, ProtocolError::UnknownCode(0x42)))
        );
        let mut e = FrameEncoder::new(&mut out, cmd::RUN, 11);
        e.put(&[1, 2]);
        let n = e.finish().unwrap();
        assert_eq!(
            Request::decode(&out[..n - 1], &mut body),
            Err((11, ProtocolError::BadLength { code: cmd::RUN, len: 2 }))
        );
        let too_many = [0u8; MAX_PAYLOAD + 1];
        let mut out = [0u8; 2 * MAX_FRAME];
        assert_eq!(
            Request::UploadChunk {
                offset: 0,
                data: &too_many
            }
            .encode(0, &mut out),
            Err(ProtocolError::PayloadTooLong)
        );
        assert_eq!(
            Request::Info.encode(0, &mut [0u8; 5]),
            Err(ProtocolError::BufferTooSmall)
        );
    }

    #[test]
    fn reader_splits_frames_and_reports_oversize_and_loss() {
        let mut r = FrameReader::<16>::new();
        let mut got = Vec::new();
        for &b in &[0u8, 0, 1, 2, 0, 3] {
            if let Some(x) = r.push(b) {
                got.push(x.map(|f| f.to_vec()));
            }
        }
        assert_eq!(got, vec![Ok(vec![1, 2])]);
        for _ in 0..20 {
            assert!(r.push(7).is_none());
        }
        assert_eq!(
            r.push(0).map(|x| x.map(|f| f.len())),
            Some(Err(ProtocolError::Oversize))
        );
        r.push(5);
        r.lose();
        assert_eq!(r.push(0).map(|x| x.map(|f| f.len())), Some(Err(ProtocolError::Overrun)));
        r.push(5);
        assert_eq!(r.push(0).map(|x| x.map(|f| f.to_vec())), Some(Ok(vec![5])));
    }

    #[test]
    fn largest_frames_fit_the_limits() {
        let data = [0xAAu8; MAX_CHUNK];
        let f = frame(&Request::UploadChunk { offset: 0, data: &data }, 1);
        assert!(f.len() <= MAX_FRAME);
        let counts = [0u16; MAX_RUN_COUNTS];
        let mut out = [0u8; MAX_FRAME];
        Reply::Run {
            summary: RunSummary::default(),
            counts: Array::Values(&counts),
        }
        .encode(0, &mut out)
        .unwrap();
        let vals = [0i32; MAX_STATE_VALUES];
        Reply::State {
            kind: StateKind::Weights,
            offset: 0,
            values: Array::Values(&vals),
        }
        .encode(0, &mut out)
        .unwrap();
        // The worst case for COBS: no zero byte at all.
        let mut e = FrameEncoder::new(&mut out, 0x7F, 0x0101);
        e.put(&[1u8; MAX_PAYLOAD]);
        assert!(e.finish().unwrap() <= MAX_FRAME);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn decoding_random_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..1200)) {
            let mut body = [0u8; MAX_BODY];
            let _ = Request::decode(&bytes, &mut body);
            let _ = Reply::decode(&bytes, &mut body);
            let mut small = [0u8; 7];
            let _ = decode_frame(&bytes, &mut small);
            let mut r = FrameReader::<64>::new();
            for &b in &bytes {
                if let Some(Ok(f)) = r.push(b) {
                    let mut body = [0u8; MAX_BODY];
                    let _ = Request::decode(f, &mut body);
                }
            }
        }

        #[test]
        fn cobs_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..1100)) {
            let mut out = vec![0u8; cobs_max_len(bytes.len())];
            let n = cobs(&bytes, &mut out);
            prop_assert!(!out[..n].contains(&0));
            let mut back = vec![0u8; bytes.len()];
            prop_assert_eq!(cobs_decode(&out[..n], &mut back), Ok(bytes.len()));
            prop_assert_eq!(back, bytes);
        }

        #[test]
        fn every_valid_payload_survives_and_any_damage_is_caught(
            code in 1u8..=0x0B,
            seq in 0u16..0xFFFF,
            payload in proptest::collection::vec(any::<u8>(), 0..MAX_PAYLOAD),
            flip in any::<(usize, u8)>(),
            cut in any::<usize>(),
        ) {
            let mut out = [0u8; MAX_FRAME];
            let mut e = FrameEncoder::new(&mut out, code, seq);
            e.put(&payload);
            let n = e.finish().unwrap();
            let enc = out[..n - 1].to_vec();
            let mut body = [0u8; MAX_BODY];
            let f = decode_frame(&enc, &mut body).unwrap();
            prop_assert_eq!(f.header, Header { code, seq });
            prop_assert_eq!(f.payload, &payload[..]);
            // Parsing may refuse the random payload, but only with an error.
            let _ = Request::parse(code, f.payload);
            // One flipped bit (kept non-zero, as on the wire between delimiters).
            let (at, bit) = (flip.0 % enc.len(), 1u8 << (flip.1 % 8));
            let mut bad = enc.clone();
            bad[at] ^= bit;
            if bad[at] != 0 {
                prop_assert!(decode_frame(&bad, &mut body).is_err());
            }
            // Truncated.
            let k = cut % enc.len();
            prop_assert!(decode_frame(&enc[..k], &mut body).is_err());
        }

        #[test]
        fn spike_requests_round_trip(
            raw in proptest::collection::vec((any::<u16>(), any::<u16>()), 0..MAX_EVENTS),
            until in any::<u16>(), start in any::<bool>(), independent in any::<bool>()
        ) {
            let events: Vec<Event> = raw.iter().map(|&(input, step)| Event { input, step }).collect();
            let r = Request::PresentSpikes { start, independent, until, events: Array::Values(&events) };
            let f = frame(&r, 3);
            let mut body = [0u8; MAX_BODY];
            let (_, back) = Request::decode(&f[..f.len() - 1], &mut body).unwrap();
            prop_assert_eq!(back, r);
        }
    }
}
