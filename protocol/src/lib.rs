//! The UART protocol between a host and the firmware: `PROTOCOL.md` (beside
//! this crate's `Cargo.toml`) is the
//! specification, this crate its only implementation, used by both sides
//! (the firmware's `app`, host-sim's `device` client, the QEMU tests).
//!
//! A frame is COBS-encoded and ends with one `0x00`. Decoded, it is
//!
//! ```text
//! offset   size   content (little-endian)
//! 0        1      protocol version (VERSION)
//! 1        1      code: a command (0x01..=0x7F), its reply (command | 0x80), or ERROR (0xFF)
//! 2        2      sequence number, chosen by the host, echoed by the reply
//! 4        0-1024 payload (depends on the code)
//! end - 4  4      CRC-32 (stdp_core::crc) of everything before it
//! ```
//!
//! The layers, each in its own module, as postcard separates its flavors
//! from its serde layer:
//!
//! - [`frame`]: bytes <-> frames (COBS, the header, the CRC): the streaming
//!   [`FrameEncoder`], [`decode_frame`], and [`FrameReader`], which cuts a
//!   byte stream at the delimiters;
//! - [`codec`]: the little-endian payload words and arrays ([`Word`],
//!   [`Spike`], [`Array`]);
//! - [`request`] and [`reply`]: the typed messages ([`Request`], [`Reply`]),
//!   each with `encode` and `parse`;
//! - [`error`]: what can be wrong with received bytes ([`ProtocolError`]) and
//!   the error codes a device answers with ([`ErrorCode`]).
//!
//! Everything here is a pure function over byte slices, without
//! allocation and without panics: decoding any bytes gives a value or a
//! typed [`ProtocolError`], never a panic (property-tested).
//!
//! # Example
//!
//! A request encoded as the host sends it, read back as the device does:
//!
//! ```
//! use stdp_protocol::{FrameReader, Request, MAX_BODY, MAX_FRAME};
//!
//! let mut wire = [0u8; MAX_FRAME];
//! let n = Request::Info.encode(7, &mut wire)?; // sequence number 7
//! assert_eq!(wire[n - 1], 0); // the delimiter
//!
//! // The device: bytes arrive one by one, a frame comes out at the delimiter.
//! let mut reader = FrameReader::<MAX_FRAME>::new();
//! let mut body = [0u8; MAX_BODY];
//! let mut requests = 0;
//! for &b in &wire[..n] {
//!     if let Some(encoded) = reader.push(b) {
//!         let (seq, request) = Request::decode(encoded?, &mut body).map_err(|(_, e)| e)?;
//!         assert_eq!((seq, request), (7, Request::Info));
//!         requests += 1;
//!     }
//! }
//! assert_eq!(requests, 1);
//! # Ok::<(), stdp_protocol::ProtocolError>(())
//! ```
//!
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod codec;
pub mod dvs;
pub mod error;
pub mod frame;
pub mod reply;
pub mod request;
#[cfg(test)]
mod tests;

pub use codec::{Array, Spike, Word};
pub use error::{ErrorCode, ProtocolError};
pub use frame::{cobs_decode, cobs_encode, decode_frame, Frame, FrameEncoder, FrameReader, Header};
pub use reply::{info_flags, run_flags, Info, Reply, RunSummary};
pub use request::{Request, StateKind};

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
/// Most spikes in a [`Request::PresentSpikes`].
pub const MAX_SPIKES: usize = (MAX_PAYLOAD - 4) / 4;
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
    /// Set the input: a digit's pixels and a seed for on-chip Poisson encoding.
    pub const PRESENT_DIGIT: u8 = 0x06;
    /// The former name of [`PRESENT_DIGIT`] ("image" now means only the chip's model image).
    #[deprecated(since = "0.1.0", note = "renamed `PRESENT_DIGIT`")]
    pub const PRESENT_IMAGE: u8 = PRESENT_DIGIT;
    /// Input spikes of a spike presentation.
    pub const PRESENT_SPIKES: u8 = 0x07;
    /// Run the presentation of the current input.
    pub const RUN: u8 = 0x08;
    /// Spike counts of the last run.
    pub const READ_COUNTS: u8 = 0x09;
    /// Weights or thresholds.
    pub const READ_STATE: u8 = 0x0A;
    /// Back to the state after loading the model.
    pub const RESET: u8 = 0x0B;
    /// Begin streaming a camera recording (event-input models).
    pub const EVENTS_BEGIN: u8 = 0x0C;
    /// A batch of the recording's camera events (DVS varints, [`crate::dvs`]).
    pub const EVENTS_BATCH: u8 = 0x0D;
    /// End of the recording: finish its presentation and answer the run.
    pub const EVENTS_END: u8 = 0x0E;
}
