//! The device's application, independent of the board: a state machine
//! that takes decoded requests and answers them (protocol/PROTOCOL.md), and a
//! serving loop over any `embedded_io` UART.
//!
//! All memory is caller-owned ([`Memory`], `static`s on the chip, boxes in
//! host tests). Every request is checked completely before anything is
//! changed, so a refused request leaves the device as it was. By concern:
//!
//! - `memory`: the buffers the application runs in ([`Memory`], [`InputMemory`]);
//! - `model`: the model slots (built-in image, uploads), the checks an image
//!   passes, the state a model starts from, learning switched on;
//! - `session`: a presentation (a digit or input spikes) and its run;
//! - `stream`: a camera recording streamed over the UART, presented as
//!   its events arrive;
//! - `link`: frames in, replies out ([`Link`], [`Rx`], [`serve`]).

mod link;
mod memory;
mod model;
mod session;
mod stream;
#[cfg(test)]
mod tests;

use stdp_core::image::IMAGE_VERSION;
use stdp_protocol::{
    decode_frame, info_flags, Array, ErrorCode, Info, ProtocolError, Reply, Request, RunSummary, MAX_PAYLOAD,
    MAX_RUN_COUNTS, MAX_STATE_VALUES, UNTRUSTED_SEQ, VERSION,
};

pub use link::{serve, serve_frame, Closed, Link, Rx};
pub use memory::{InputMemory, Memory};
use model::{Model, Source};
use session::Input;
pub use stdp_core::present::classify;
pub use stream::{pack_event, unpack_event};

use crate::board::Board;

/// Number of classes of the label assignment.
pub const CLASSES: usize = stdp_core::present::CLASSES;

/// A refused request: the error code and its argument.
type Failure = (ErrorCode, u32);

fn fail<T>(code: ErrorCode, arg: u32) -> Result<T, Failure> {
    Err((code, arg))
}

fn core_err(_: stdp_core::Error) -> Failure {
    (ErrorCode::Core, 0)
}

/// The application state machine.
pub struct App<'a, B: Board, const N: usize, const LI: usize, const LN: usize> {
    mem: Memory<'a, N, LI, LN>,
    model: Option<Model>,
    upload: Option<(usize, usize)>,
    learning: bool,
    plastic_active: bool,
    input: Input,
    last: Option<RunSummary>,
    /// A recording begun (`EventsBegin`, its `independent`), to be streamed
    /// by the serving loop.
    recording: Option<bool>,
    board: B,
}

impl<'a, B: Board, const N: usize, const LI: usize, const LN: usize> App<'a, B, N, LI, LN> {
    /// The application over `mem`; loads the built-in model if there is
    /// one.
    pub fn new(mem: Memory<'a, N, LI, LN>, board: B) -> Self {
        let mut app = App {
            mem,
            model: None,
            upload: None,
            learning: false,
            plastic_active: false,
            input: Input::None,
            last: None,
            recording: None,
            board,
        };
        if let Some(b) = app.mem.builtin {
            if let Ok(m) = app.check_image(b, Source::Builtin) {
                app.install(m);
            }
        }
        app
    }

    /// Number of neurons and inputs of the current model (0 if none).
    pub fn shape(&self) -> (usize, usize) {
        self.model.map_or((0, 0), |m| (m.n_inputs, m.n))
    }

    fn info(&self) -> Info {
        let mut flags = 0;
        if let Some(m) = self.model {
            flags |= info_flags::MODEL;
            if m.source == Source::Builtin {
                flags |= info_flags::BUILTIN;
            }
        }
        if self.learning {
            flags |= info_flags::LEARNING;
        }
        if self.plastic_active {
            flags |= info_flags::PLASTIC;
        }
        let learn = self.mem.plastic.is_some();
        Info {
            protocol: VERSION,
            image_version: IMAGE_VERSION,
            flags,
            n_inputs: self.model.map_or(0, |m| m.n_inputs as u16),
            n_neurons: self.model.map_or(0, |m| m.n as u16),
            max_payload: MAX_PAYLOAD as u16,
            max_inputs: self.max_inputs().min(u16::MAX as usize) as u16,
            max_neurons: N.min(u16::MAX as usize) as u16,
            learn_max_inputs: if learn { LI.min(u16::MAX as usize) as u16 } else { 0 },
            learn_max_neurons: if learn { LN.min(u16::MAX as usize) as u16 } else { 0 },
            upload_capacity: self.upload_capacity() as u32,
            free_ram: self.board.free_ram(),
            model_crc: self.model.map_or(0, |m| m.crc),
            stack_peak: self.board.stack_peak(),
        }
    }

    /// Answers one encoded frame (the bytes between two delimiters):
    /// decodes it into `body` ([`MAX_BODY`] bytes), executes it, and
    /// writes the encoded reply to `out` ([`MAX_FRAME`] bytes); returns the
    /// reply's length.
    pub fn handle(&mut self, encoded: &[u8], body: &mut [u8], out: &mut [u8]) -> usize {
        match decode_frame(encoded, body) {
            Err(e) => self.refuse(e, out),
            Ok(f) => match Request::parse(f.header.code, f.payload) {
                Ok(req) => self.execute(&req, f.header.seq, out),
                Err(e) => {
                    let (code, arg, seq) = e.reply(f.header.seq);
                    error_reply(code, f.header.code, arg, seq, out)
                }
            },
        }
    }

    /// Answers a frame that was dropped before decoding (oversize, overrun).
    pub fn refuse(&self, e: ProtocolError, out: &mut [u8]) -> usize {
        let (code, arg, seq) = e.reply(UNTRUSTED_SEQ);
        error_reply(code, 0, arg, seq, out)
    }

    /// Executes a decoded request and writes its reply.
    pub fn execute(&mut self, req: &Request<'_>, seq: u16, out: &mut [u8]) -> usize {
        match self.run_request(req, seq, out) {
            Ok(n) => n,
            Err((code, arg)) => error_reply(code, req.code(), arg, seq, out),
        }
    }

    fn run_request(&mut self, req: &Request<'_>, seq: u16, out: &mut [u8]) -> Result<usize, Failure> {
        let reply = |r: Reply<'_>, out: &mut [u8]| r.encode(seq, out).map_err(|_| (ErrorCode::Core, 0));
        let code = req.code();
        match *req {
            Request::Info => reply(Reply::Info(self.info()), out),
            Request::UploadBegin { len } => {
                self.upload_begin(len)?;
                reply(Reply::Ack(code), out)
            }
            Request::UploadChunk { offset, data } => {
                self.upload_chunk(offset, data)?;
                reply(Reply::Ack(code), out)
            }
            Request::UploadCommit { crc } => {
                let m = self.upload_commit(crc)?;
                reply(
                    Reply::Committed {
                        n_inputs: m.n_inputs as u16,
                        n_neurons: m.n as u16,
                    },
                    out,
                )
            }
            Request::SetLearning { on } => {
                let m = self.model()?;
                if on && !self.plastic_active {
                    self.make_plastic(&m)?;
                }
                self.learning = on;
                if matches!(self.input, Input::Spikes { .. }) {
                    self.input = Input::None;
                }
                reply(Reply::Ack(code), out)
            }
            Request::PresentDigit { seed, pixels } => {
                let m = self.model()?;
                if pixels.len() != m.n_inputs {
                    return fail(ErrorCode::BadLength, pixels.len() as u32);
                }
                self.mem.inputs.pixels[..m.n_inputs].copy_from_slice(pixels);
                self.input = Input::Digit { seed };
                reply(Reply::Ack(code), out)
            }
            Request::PresentSpikes {
                start,
                independent,
                until,
                spikes,
            } => {
                self.present_spikes(start, independent, until as u32, &spikes)?;
                reply(Reply::Ack(code), out)
            }
            Request::Run { independent } => {
                let t0 = self.board.ticks();
                let mut summary = self.run(independent)?;
                summary.ticks = self.board.ticks().wrapping_sub(t0) & B::TICK_MASK;
                if let Some(l) = self.last.as_mut() {
                    l.ticks = summary.ticks;
                }
                let n = summary.n_neurons as usize;
                let mut c = [0u16; MAX_RUN_COUNTS];
                let k = n.min(MAX_RUN_COUNTS);
                for (d, &s) in c.iter_mut().zip(&self.mem.counts[..k]) {
                    *d = s.min(u16::MAX as u32) as u16;
                }
                reply(
                    Reply::Run {
                        summary,
                        counts: Array::Values(&c[..k]),
                    },
                    out,
                )
            }
            Request::ReadCounts { offset, count } => {
                let last = self.last.ok_or((ErrorCode::BadState, 0))?;
                let (start, end) = (offset as usize, offset as usize + count as usize);
                if end > last.n_neurons as usize {
                    return fail(ErrorCode::OutOfRange, end as u32);
                }
                let mut c = [0u16; MAX_PAYLOAD / 2];
                for (d, &s) in c.iter_mut().zip(&self.mem.counts[start..end]) {
                    *d = s.min(u16::MAX as u32) as u16;
                }
                reply(
                    Reply::Counts {
                        offset,
                        counts: Array::Values(&c[..end - start]),
                    },
                    out,
                )
            }
            Request::ReadState { kind, offset, count } => {
                let mut v = [0i32; MAX_STATE_VALUES];
                let k = self.read_state(kind, offset as usize, count as usize, &mut v)?;
                reply(
                    Reply::State {
                        kind,
                        offset,
                        values: Array::Values(&v[..k]),
                    },
                    out,
                )
            }
            Request::Reset { forget_model } => {
                self.reset(forget_model);
                reply(Reply::Ack(code), out)
            }
            Request::EventsBegin { independent } => {
                let m = self.model()?;
                if m.events.is_none() {
                    // A digit model: no event input to stream to.
                    return fail(ErrorCode::BadState, 1);
                }
                self.input = Input::None;
                self.recording = Some(independent);
                reply(
                    Reply::Recording {
                        step_spikes: self.mem.inputs.spikes.len().min(u16::MAX as usize) as u16,
                        replay_events: self.mem.replay.len().min(u32::MAX as usize) as u32,
                    },
                    out,
                )
            }
            // Only within a recording (the serving loop's stream takes them).
            Request::EventsBatch { .. } | Request::EventsEnd => fail(ErrorCode::BadState, 0),
        }
    }
}

fn error_reply(code: ErrorCode, command: u8, arg: u32, seq: u16, out: &mut [u8]) -> usize {
    Reply::Error { code, command, arg }.encode(seq, out).unwrap_or(0)
}
