//! The host's requests.

use crate::codec::{le16, le32, le64};
use crate::{
    cmd, decode_frame, Array, FrameEncoder, ProtocolError, Spike, MAX_COUNTS, MAX_PAYLOAD, MAX_STATE_VALUES,
    UNTRUSTED_SEQ,
};

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
    /// Device and model information ([`Reply::Info`](crate::Reply::Info)).
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
        /// At most [`MAX_CHUNK`](crate::MAX_CHUNK) bytes.
        data: &'a [u8],
    },
    /// Check the image (CRC-32 of all of it, then `ModelImage::parse`) and
    /// make it the current model ([`Reply::Committed`](crate::Reply::Committed)).
    UploadCommit {
        /// CRC-32 of the whole image.
        crc: u32,
    },
    /// Learning on (STDP, theta adaptation) or off.
    SetLearning {
        /// On.
        on: bool,
    },
    /// The next run presents this digit, Poisson-encoded on the chip with
    /// the random stream of `seed` (as `stdp_host::sim::dc::example_rng(seed, 0, 0)`).
    PresentDigit {
        /// Stream seed.
        seed: u64,
        /// n_inputs pixels, 0..=255.
        pixels: &'a [u8],
    },
    /// Input spikes for steps `[previous until, until)` of a spike
    /// presentation (which `start` begins, at step 0); the device
    /// simulates those steps. Spikes sorted by step.
    PresentSpikes {
        /// Begins a new spike presentation.
        start: bool,
        /// With `start`: reset the dynamics first (as `independent` in [`Request::Run`]).
        independent: bool,
        /// End (exclusive) of the steps this frame covers (<= presentation steps).
        until: u16,
        /// At most [`MAX_SPIKES`](crate::MAX_SPIKES) spikes.
        spikes: Array<'a, Spike>,
    },
    /// Runs the current input ([`Reply::Run`](crate::Reply::Run)): a digit's presentation, or
    /// the rest of a spike presentation.
    Run {
        /// Reset the dynamics before the presentation (digit input).
        independent: bool,
    },
    /// Spike counts of neurons `offset..offset + count` of the last run.
    ReadCounts {
        /// First neuron.
        offset: u16,
        /// At most [`MAX_COUNTS`].
        count: u16,
    },
    /// Values `offset..offset + count` of the state ([`Reply::State`](crate::Reply::State)).
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
    /// Begins streaming one camera recording to an event-input model
    /// ([`Reply::Recording`](crate::Reply::Recording)); the network runs
    /// as the events arrive.
    EventsBegin {
        /// Reset the dynamics before the presentation.
        independent: bool,
    },
    /// The next events of the recording, in time order: whole events of the
    /// [`dvs`](crate::dvs) codec, whose times continue from the previous batch
    /// (the first batch's from 0 µs).
    EventsBatch {
        /// 1 to [`MAX_PAYLOAD`] bytes.
        bytes: &'a [u8],
    },
    /// The recording is over: the device finishes the presentation (the
    /// window's remaining steps, the rest, any replays) and answers
    /// [`Reply::Recorded`](crate::Reply::Recorded).
    EventsEnd,
}

pub(crate) fn need(code: u8, p: &[u8], ok: bool) -> Result<(), ProtocolError> {
    if ok {
        Ok(())
    } else {
        Err(ProtocolError::BadLength {
            code,
            len: p.len() as u16,
        })
    }
}

pub(crate) fn flag(code: u8, b: u8, allowed: u8) -> Result<u8, ProtocolError> {
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
            Request::PresentDigit { .. } => cmd::PRESENT_DIGIT,
            Request::PresentSpikes { .. } => cmd::PRESENT_SPIKES,
            Request::Run { .. } => cmd::RUN,
            Request::ReadCounts { .. } => cmd::READ_COUNTS,
            Request::ReadState { .. } => cmd::READ_STATE,
            Request::Reset { .. } => cmd::RESET,
            Request::EventsBegin { .. } => cmd::EVENTS_BEGIN,
            Request::EventsBatch { .. } => cmd::EVENTS_BATCH,
            Request::EventsEnd => cmd::EVENTS_END,
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
            cmd::PRESENT_DIGIT => {
                need(code, p, (9..=MAX_PAYLOAD).contains(&n))?;
                Ok(Request::PresentDigit {
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
                    spikes: Array::parse(&p[4..], code)?,
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
            cmd::EVENTS_BEGIN => {
                need(code, p, n == 1)?;
                Ok(Request::EventsBegin {
                    independent: flag(code, p[0], 1)? != 0,
                })
            }
            cmd::EVENTS_BATCH => {
                need(code, p, (1..=MAX_PAYLOAD).contains(&n))?;
                Ok(Request::EventsBatch { bytes: p })
            }
            cmd::EVENTS_END => need(code, p, n == 0).map(|()| Request::EventsEnd),
            _ => Err(ProtocolError::UnknownCode(code)),
        }
    }

    /// Decodes an encoded frame (into `body`, at least [`MAX_BODY`](crate::MAX_BODY) bytes)
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
            Request::PresentDigit { seed, pixels } => {
                e.put(&seed.to_le_bytes());
                e.put(pixels);
            }
            Request::PresentSpikes {
                start,
                independent,
                until,
                spikes,
            } => {
                e.put(&[start as u8 | (independent as u8) << 1, 0]);
                e.u16(until);
                spikes.write(e);
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
            Request::EventsBegin { independent } => e.put(&[independent as u8]),
            Request::EventsBatch { bytes } => e.put(bytes),
            Request::EventsEnd => {}
        }
    }

    /// Encodes the request as a frame with sequence number `seq` into
    /// `out` ([`MAX_FRAME`](crate::MAX_FRAME) bytes always suffice); returns its length.
    pub fn encode(&self, seq: u16, out: &mut [u8]) -> Result<usize, ProtocolError> {
        let mut e = FrameEncoder::new(out, self.code(), seq);
        self.write(&mut e);
        e.finish()
    }
}
