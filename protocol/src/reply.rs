//! The device's replies.

use crate::codec::{le16, le32};
use crate::request::need;
use crate::{cmd, decode_frame, Array, ErrorCode, FrameEncoder, ProtocolError, StateKind, ERROR, REPLY};

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

/// What [`Request::Info`](crate::Request::Info) answers.
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
    /// The input was input spikes (else a digit's pixels).
    pub const SPIKES: u8 = 2;
    /// Some count exceeded 65535 and was saturated.
    pub const SATURATED: u8 = 4;
    /// The input was a streamed camera recording ([`Request::EventsBegin`](crate::Request::EventsBegin)).
    pub const EVENTS: u8 = 8;
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
    /// Answer to [`Request::Info`](crate::Request::Info).
    Info(Info),
    /// Success without data, to the command with this code.
    Ack(u8),
    /// Answer to [`Request::UploadCommit`](crate::Request::UploadCommit): the new model.
    Committed {
        /// Inputs.
        n_inputs: u16,
        /// Neurons.
        n_neurons: u16,
    },
    /// Answer to [`Request::Run`](crate::Request::Run): the summary and the spike counts of
    /// neurons `0..counts.len()` (all, up to [`MAX_RUN_COUNTS`](crate::MAX_RUN_COUNTS)).
    Run {
        /// Summary.
        summary: RunSummary,
        /// Spike counts (saturated at 65535).
        counts: Array<'a, u16>,
    },
    /// Answer to [`Request::EventsBegin`](crate::Request::EventsBegin): what
    /// decides the presentation besides the image (the host's twin needs it).
    Recording {
        /// Entries of a step's input spike list (events beyond it in one
        /// step are dropped, as a sensor drops events under load).
        step_spikes: u16,
        /// Most events the device keeps for replays (the retry); a longer
        /// recording is shown once.
        replay_events: u32,
    },
    /// Answer to [`Request::EventsEnd`](crate::Request::EventsEnd): as [`Reply::Run`].
    Recorded {
        /// Summary.
        summary: RunSummary,
        /// Spike counts (saturated at 65535).
        counts: Array<'a, u16>,
    },
    /// Answer to [`Request::ReadCounts`](crate::Request::ReadCounts).
    Counts {
        /// First neuron.
        offset: u16,
        /// Counts.
        counts: Array<'a, u16>,
    },
    /// Answer to [`Request::ReadState`](crate::Request::ReadState): Q11.20 bits.
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

const ACKED: [u8; 7] = [
    cmd::UPLOAD_BEGIN,
    cmd::UPLOAD_CHUNK,
    cmd::SET_LEARNING,
    cmd::PRESENT_DIGIT,
    cmd::PRESENT_SPIKES,
    cmd::RESET,
    cmd::EVENTS_BATCH,
];

impl<'a> Reply<'a> {
    /// The reply code.
    pub fn code(&self) -> u8 {
        match self {
            Reply::Info(_) => cmd::INFO | REPLY,
            Reply::Ack(c) => c | REPLY,
            Reply::Committed { .. } => cmd::UPLOAD_COMMIT | REPLY,
            Reply::Run { .. } => cmd::RUN | REPLY,
            Reply::Recording { .. } => cmd::EVENTS_BEGIN | REPLY,
            Reply::Recorded { .. } => cmd::EVENTS_END | REPLY,
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
            cmd::EVENTS_BEGIN => {
                need(code, p, n == 6)?;
                Ok(Reply::Recording {
                    step_spikes: le16(p),
                    replay_events: le32(&p[2..]),
                })
            }
            cmd::EVENTS_END => {
                need(code, p, n >= RunSummary::LEN)?;
                Ok(Reply::Recorded {
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

    /// Decodes an encoded frame (into `body`, at least [`MAX_BODY`](crate::MAX_BODY) bytes)
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
            Reply::Run { summary, counts } | Reply::Recorded { summary, counts } => {
                summary.write(e);
                counts.write(e);
            }
            Reply::Recording {
                step_spikes,
                replay_events,
            } => {
                e.u16(*step_spikes);
                e.u32(*replay_events);
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
    /// ([`MAX_FRAME`](crate::MAX_FRAME) bytes suffice for every reply within the limits of
    /// its fields); returns its length.
    pub fn encode(&self, seq: u16, out: &mut [u8]) -> Result<usize, ProtocolError> {
        let mut e = FrameEncoder::new(out, self.code(), seq);
        self.write(&mut e);
        e.finish()
    }
}
