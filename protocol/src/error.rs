//! What can be wrong with received bytes, and the error codes of error replies.

use crate::{MAX_BODY, MAX_PAYLOAD, MIN_BODY, UNTRUSTED_SEQ, VERSION};

/// Why bytes are not a valid frame, request or reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ProtocolError {
    /// Invalid COBS: a zero byte inside, or a block running past the end.
    Cobs,
    /// Longer than [`MAX_BODY`] decoded (or [`MAX_ENCODED`](crate::MAX_ENCODED) encoded).
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

/// The error codes of an error reply ([`Reply::Error`](crate::Reply::Error)).
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
