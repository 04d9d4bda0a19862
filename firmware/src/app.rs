//! The device's application, independent of the board: a state machine
//! that takes decoded requests and answers them (protocol/PROTOCOL.md), and a
//! serving loop over any `embedded_io` UART.
//!
//! All memory is caller-owned ([`Memory`], `static`s on the chip, boxes in
//! host tests). Every request is checked completely before anything is
//! changed, so a refused request leaves the device as it was.

use core::ops::Range;

use embedded_io::{Read, Write};
use stdp_core::crc::crc32;
use stdp_core::image::{ModelImage, Procedure, IMAGE_VERSION};
use stdp_core::present::{present, PresentBuffers};
use stdp_core::rng::{stream_seed, Xoshiro128pp};
use stdp_core::{FrozenStorage, Fx, Network, QuantizedWeights, State, Storage};
use stdp_protocol::{
    decode_frame, info_flags, run_flags, Array, ErrorCode, Event, FrameReader, Info, ProtocolError, Reply, Request,
    RunSummary, StateKind, MAX_BODY, MAX_ENCODED, MAX_EVENTS, MAX_FRAME, MAX_PAYLOAD, MAX_RUN_COUNTS, MAX_STATE_VALUES,
    UNTRUSTED_SEQ, VERSION,
};

/// Number of classes of the label assignment.
pub const CLASSES: usize = stdp_core::present::CLASSES;

/// Caller-owned memory of the application. Capacities: `N` neurons for
/// inference ([`FrozenStorage`]), `LI` x `LN` for learning ([`Storage`]
/// with weights in RAM), `inputs` slices for `max_inputs` inputs.
pub struct Memory<'a, const N: usize, const LI: usize, const LN: usize> {
    /// Two upload slots of equal size (empty: no upload). The image being
    /// uploaded goes to the slot that does not hold the current model.
    pub slots: [&'a mut [u8]; 2],
    /// A model image built into flash, loaded at start and after a reset
    /// that forgets the uploaded model.
    pub builtin: Option<&'a [u8]>,
    /// Inference state (weights stay in the image).
    pub frozen: &'a mut FrozenStorage<Fx, N>,
    /// Learning state (weights in RAM); `None`: no learning.
    pub plastic: Option<&'a mut Storage<Fx, LI, LN>>,
    /// Input buffers, all of the same length (the most inputs).
    pub inputs: InputMemory<'a>,
    /// Spike counts of the last run (N).
    pub counts: &'a mut [u32],
}

/// The per-input buffers: the Poisson source's and the current image.
pub struct InputMemory<'a> {
    /// Poisson: next spike step.
    pub next: &'a mut [u32],
    /// Poisson: 1 / ln(1 - p).
    pub inv_log: &'a mut [f32],
    /// Poisson: bucket links.
    pub link: &'a mut [u16],
    /// Rates (Hz).
    pub rates: &'a mut [f32],
    /// Inputs spiking in a step.
    pub spikes: &'a mut [u16],
    /// The image of [`Request::PresentImage`].
    pub pixels: &'a mut [u8],
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Source {
    Builtin,
    Slot(usize),
}

/// The current model: its network and where its arrays are in its image.
#[derive(Clone, Copy)]
struct Model {
    source: Source,
    len: usize,
    crc: u32,
    net: Network<Fx>,
    procedure: Procedure,
    w_max: f64,
    n_inputs: usize,
    n: usize,
    weights: (usize, usize),
    theta: usize,
    assignments: (usize, usize),
    present_steps: u32,
    rest_steps: u32,
}

impl Model {
    fn weights(&self) -> Range<usize> {
        self.weights.0..self.weights.1
    }
    fn assignments(&self) -> Range<usize> {
        self.assignments.0..self.assignments.1
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Input {
    None,
    Image { seed: u64 },
    Spikes { cursor: u32, exc: u32, inputs: u32 },
}

/// What the board tells the application.
#[derive(Clone, Copy)]
pub struct Board {
    /// RAM left by the static buffers (bytes; the stack lives in it).
    pub free_ram: u32,
    /// Most stack used since boot (bytes).
    pub stack_peak: fn() -> u32,
    /// A free-running clock (ticks), counting up.
    pub ticks: fn() -> u32,
    /// The clock's significant bits (durations are taken modulo mask + 1).
    pub tick_mask: u32,
}

impl Board {
    /// No clock, no stack measurement (host tests).
    pub const fn none(free_ram: u32) -> Self {
        fn zero() -> u32 {
            0
        }
        Board {
            free_ram,
            stack_peak: zero,
            ticks: zero,
            tick_mask: 0,
        }
    }
}

type Failure = (ErrorCode, u32);

fn fail<T>(code: ErrorCode, arg: u32) -> Result<T, Failure> {
    Err((code, arg))
}

fn core_err(_: stdp_core::Error) -> Failure {
    (ErrorCode::Core, 0)
}

/// The application state machine.
pub struct App<'a, const N: usize, const LI: usize, const LN: usize> {
    mem: Memory<'a, N, LI, LN>,
    model: Option<Model>,
    upload: Option<(usize, usize)>,
    learning: bool,
    plastic_active: bool,
    input: Input,
    last: Option<RunSummary>,
    board: Board,
}

/// The bytes of the image of `m`.
fn image<'s>(slots: &'s [&mut [u8]; 2], builtin: Option<&'s [u8]>, m: &Model) -> &'s [u8] {
    let b: &'s [u8] = match m.source {
        Source::Builtin => builtin.unwrap_or(&[]),
        Source::Slot(k) => slots[k],
    };
    b.get(..m.len).unwrap_or(&[])
}

/// Range of `part` within `whole` (both from the same image).
fn range_in(whole: &[u8], part: &[u8]) -> (usize, usize) {
    let start = (part.as_ptr() as usize).wrapping_sub(whole.as_ptr() as usize);
    (start, start + part.len())
}

fn theta_bits(img: &[u8], m: &Model, j: usize) -> i32 {
    let at = m.theta + 4 * j;
    match img.get(at..at + 4) {
        Some(b) => i32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        None => 0,
    }
}

pub use stdp_core::present::classify;

impl<'a, const N: usize, const LI: usize, const LN: usize> App<'a, N, LI, LN> {
    /// The application over `mem`; loads the built-in model if there is
    /// one.
    pub fn new(mem: Memory<'a, N, LI, LN>, board: Board) -> Self {
        let mut app = App {
            mem,
            model: None,
            upload: None,
            learning: false,
            plastic_active: false,
            input: Input::None,
            last: None,
            board,
        };
        if let Some(b) = app.mem.builtin {
            if let Ok(m) = app.check_image(b, Source::Builtin) {
                app.install(m);
            }
        }
        app
    }

    fn max_inputs(&self) -> usize {
        self.mem.inputs.pixels.len()
    }

    /// Number of neurons and inputs of the current model (0 if none).
    pub fn shape(&self) -> (usize, usize) {
        self.model.map_or((0, 0), |m| (m.n_inputs, m.n))
    }

    /// Checks `bytes` as an image this device can run.
    fn check_image(&self, bytes: &[u8], source: Source) -> Result<Model, Failure> {
        let img = ModelImage::parse(bytes).map_err(|_| (ErrorCode::BadImage, 0))?;
        let p = img.header.params;
        if p.n_inputs > self.max_inputs() || p.n_neurons > N || self.mem.counts.len() < p.n_neurons {
            return fail(ErrorCode::TooLarge, p.n_neurons as u32);
        }
        let net = Network::<Fx>::new(&p).map_err(|_| (ErrorCode::BadImage, 1))?;
        let procedure = img.header.procedure;
        let dt = net.dt_ms();
        let present_steps = libm::round(procedure.present_ms as f64 / dt);
        let rest_steps = libm::round(procedure.rest_ms as f64 / dt);
        if !((1.0..=u16::MAX as f64).contains(&present_steps) && (0.0..1e9).contains(&rest_steps)) {
            return fail(ErrorCode::BadImage, 2);
        }
        let weights = range_in(bytes, img.weights);
        let assignments = range_in(bytes, img.assignments);
        Ok(Model {
            source,
            len: bytes.len(),
            crc: crc32(bytes),
            net,
            procedure,
            w_max: p.stdp.w_max,
            n_inputs: p.n_inputs,
            n: p.n_neurons,
            weights,
            theta: weights.1,
            assignments,
            present_steps: present_steps as u32,
            rest_steps: rest_steps as u32,
        })
    }

    /// Makes `m` the current model, in its start state, learning off.
    fn install(&mut self, m: Model) {
        self.model = Some(m);
        self.upload = None;
        self.restart();
    }

    /// Learned state, input and result dropped; the inference state as
    /// after loading (the host's `ImageSim::new`).
    fn restart(&mut self) {
        self.learning = false;
        self.plastic_active = false;
        self.input = Input::None;
        self.last = None;
        if let Some(m) = self.model {
            let img = image(&self.mem.slots, self.mem.builtin, &m);
            if let Ok(mut st) = self.mem.frozen.state(&m.net) {
                if m.net.init_state(&mut st).is_ok() {
                    let theta = (0..m.n).map(|j| Fx::from_bits(theta_bits(img, &m, j)));
                    // The sizes were checked when the model was taken.
                    let _ = m.net.load_theta(&mut st, theta);
                }
            }
        }
    }

    fn model(&self) -> Result<Model, Failure> {
        self.model.ok_or((ErrorCode::NoModel, 0))
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
            upload_capacity: self.mem.slots[0].len().min(self.mem.slots[1].len()) as u32,
            free_ram: self.board.free_ram,
            model_crc: self.model.map_or(0, |m| m.crc),
            stack_peak: (self.board.stack_peak)(),
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
                let cap = self.mem.slots[0].len().min(self.mem.slots[1].len());
                if len == 0 || len as usize > cap {
                    return fail(ErrorCode::TooLarge, cap as u32);
                }
                let slot = match self.model {
                    Some(Model {
                        source: Source::Slot(k),
                        ..
                    }) => 1 - k,
                    _ => 0,
                };
                self.upload = Some((slot, len as usize));
                reply(Reply::Ack(code), out)
            }
            Request::UploadChunk { offset, data } => {
                let (slot, len) = self.upload.ok_or((ErrorCode::BadState, 0))?;
                let start = offset as usize;
                let end = start.checked_add(data.len()).filter(|&e| e <= len);
                let end = end.ok_or((ErrorCode::OutOfRange, offset))?;
                self.mem.slots[slot][start..end].copy_from_slice(data);
                reply(Reply::Ack(code), out)
            }
            Request::UploadCommit { crc } => {
                let (slot, len) = self.upload.ok_or((ErrorCode::BadState, 0))?;
                let bytes = &self.mem.slots[slot][..len];
                let got = crc32(bytes);
                if got != crc {
                    return fail(ErrorCode::BadImage, got);
                }
                let m = self.check_image(bytes, Source::Slot(slot))?;
                self.install(m);
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
            Request::PresentImage { seed, pixels } => {
                let m = self.model()?;
                if pixels.len() != m.n_inputs {
                    return fail(ErrorCode::BadLength, pixels.len() as u32);
                }
                self.mem.inputs.pixels[..m.n_inputs].copy_from_slice(pixels);
                self.input = Input::Image { seed };
                reply(Reply::Ack(code), out)
            }
            Request::PresentSpikes {
                start,
                independent,
                until,
                events,
            } => {
                self.present_spikes(start, independent, until as u32, &events)?;
                reply(Reply::Ack(code), out)
            }
            Request::Run { independent } => {
                let t0 = (self.board.ticks)();
                let mut summary = self.run(independent)?;
                summary.ticks = (self.board.ticks)().wrapping_sub(t0) & self.board.tick_mask;
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
                if forget_model && matches!(self.model, Some(m) if m.source != Source::Builtin) {
                    self.model = None;
                    if let Some(b) = self.mem.builtin {
                        if let Ok(m) = self.check_image(b, Source::Builtin) {
                            self.model = Some(m);
                        }
                    }
                }
                self.upload = None;
                self.restart();
                reply(Reply::Ack(code), out)
            }
        }
    }

    /// Weights dequantised from the image, theta from the image, the
    /// state at its start (as the host's `ImageSim::new(..).sim`).
    fn make_plastic(&mut self, m: &Model) -> Result<(), Failure> {
        let img = image(&self.mem.slots, self.mem.builtin, m);
        let storage = self
            .mem
            .plastic
            .as_deref_mut()
            .ok_or((ErrorCode::NoLearning, LN as u32))?;
        let mut st = storage.state(&m.net).map_err(|_| (ErrorCode::NoLearning, LN as u32))?;
        let lut: [Fx; 256] = core::array::from_fn(|q| QuantizedWeights::<Fx>::value(q as u8, m.w_max));
        for (w, &q) in st.weights.iter_mut().zip(&img[m.weights()]) {
            *w = lut[q as usize];
        }
        m.net.init_state(&mut st).map_err(core_err)?;
        let theta = (0..m.n).map(|j| Fx::from_bits(theta_bits(img, m, j)));
        m.net.load_theta(&mut st, theta).map_err(core_err)?;
        self.plastic_active = true;
        Ok(())
    }

    fn read_state(&mut self, kind: StateKind, offset: usize, count: usize, v: &mut [i32]) -> Result<usize, Failure> {
        let m = self.model()?;
        let total = match kind {
            StateKind::Weights => m.n_inputs * m.n,
            StateKind::Theta => m.n,
        };
        let end = offset.saturating_add(count);
        if end > total || count > v.len() {
            return fail(ErrorCode::OutOfRange, end.min(u32::MAX as usize) as u32);
        }
        let v = &mut v[..count];
        if self.plastic_active {
            if let Some(storage) = self.mem.plastic.as_deref_mut() {
                let st = storage.state(&m.net).map_err(core_err)?;
                let src: &[Fx] = match kind {
                    StateKind::Weights => st.weights,
                    StateKind::Theta => st.exc.theta,
                };
                for (d, s) in v.iter_mut().zip(&src[offset..end]) {
                    *d = s.to_bits();
                }
                return Ok(count);
            }
        }
        let img = image(&self.mem.slots, self.mem.builtin, &m);
        match kind {
            StateKind::Weights => {
                for (d, &q) in v.iter_mut().zip(&img[m.weights()][offset..end]) {
                    *d = QuantizedWeights::<Fx>::value(q, m.w_max).to_bits();
                }
            }
            StateKind::Theta => {
                for (i, d) in v.iter_mut().enumerate() {
                    *d = theta_bits(img, &m, offset + i);
                }
            }
        }
        Ok(count)
    }

    /// The network state to run on: the learned one if there is one, else
    /// the inference state with the image's 8-bit weights.
    fn run(&mut self, independent: bool) -> Result<RunSummary, Failure> {
        let m = self.model()?;
        let learn = self.learning && self.plastic_active;
        let mut flags = if learn { run_flags::LEARNED } else { 0 };
        let App {
            mem,
            plastic_active,
            input,
            last,
            ..
        } = &mut *self;
        let img = image(&mem.slots, mem.builtin, &m);
        let q = quantized(img, &m, *plastic_active)?;
        let (mut st, w) = state(
            mem.frozen,
            mem.plastic.as_deref_mut(),
            *plastic_active,
            &m.net,
            q.as_ref(),
        )?;
        let counts = &mut mem.counts[..m.n];
        let mut net = m.net;
        let (exc, retries, steps, inputs) = match *input {
            Input::None => return fail(ErrorCode::BadState, 0),
            Input::Image { seed } => {
                let mut rng = Xoshiro128pp::seed_from_u64(stream_seed(seed, 0, 0));
                let i = &mut mem.inputs;
                let ni = m.n_inputs;
                let mut bufs = PresentBuffers {
                    next: &mut i.next[..ni],
                    inv_log: &mut i.inv_log[..ni],
                    link: &mut i.link[..ni],
                    rates: &mut i.rates[..ni],
                    spikes: &mut i.spikes[..ni],
                };
                let o = present(
                    &mut net,
                    &mut st,
                    w,
                    &i.pixels[..ni],
                    &m.procedure,
                    learn,
                    independent,
                    &mut bufs,
                    &mut rng,
                    counts,
                )
                .map_err(core_err)?;
                (o.exc_spikes, o.retries, o.steps, o.input_spikes)
            }
            Input::Spikes { cursor, exc, inputs } => {
                flags |= run_flags::SPIKES;
                net.set_learning(learn);
                let mut exc = exc;
                for _ in cursor..m.present_steps {
                    exc += step(&net, &mut st, w, &[], counts)?;
                }
                match w {
                    Some(w) => net.rest_quantized(&mut st, w, m.rest_steps),
                    None => net.rest(&mut st, m.rest_steps),
                }
                .map_err(core_err)?;
                *input = Input::None;
                (exc, 0, m.present_steps + m.rest_steps, inputs)
            }
        };
        if counts.iter().any(|&c| c > u16::MAX as u32) {
            flags |= run_flags::SATURATED;
        }
        let summary = RunSummary {
            class: classify(counts, &img[m.assignments()]),
            flags,
            retries: retries.min(u16::MAX as u32) as u16,
            steps,
            exc_spikes: exc,
            input_spikes: inputs,
            n_neurons: m.n as u16,
            ticks: 0,
        };
        *last = Some(summary);
        Ok(summary)
    }

    fn present_spikes(
        &mut self,
        start: bool,
        independent: bool,
        until: u32,
        events: &Array<'_, Event>,
    ) -> Result<(), Failure> {
        let m = self.model()?;
        let (cursor, mut exc, mut inputs) = match (start, self.input) {
            (true, _) => (0, 0, 0),
            (false, Input::Spikes { cursor, exc, inputs }) => (cursor, exc, inputs),
            _ => return fail(ErrorCode::BadState, 0),
        };
        if until < cursor || until > m.present_steps {
            return fail(ErrorCode::OutOfRange, until);
        }
        let mut prev = cursor;
        for e in events.iter() {
            if e.input as usize >= m.n_inputs {
                return fail(ErrorCode::OutOfRange, e.input as u32);
            }
            let s = e.step as u32;
            if s < prev || s >= until {
                return fail(ErrorCode::OutOfRange, s);
            }
            prev = s;
        }
        // Checked: from here on nothing fails but the core, which the checks make impossible.
        let learn = self.learning && self.plastic_active;
        let App {
            mem, plastic_active, ..
        } = &mut *self;
        let img = image(&mem.slots, mem.builtin, &m);
        let q = quantized(img, &m, *plastic_active)?;
        let (mut st, w) = state(
            mem.frozen,
            mem.plastic.as_deref_mut(),
            *plastic_active,
            &m.net,
            q.as_ref(),
        )?;
        let counts = &mut mem.counts[..m.n];
        let mut net = m.net;
        net.set_learning(learn);
        if start {
            if independent || m.rest_steps == 0 {
                net.reset_dynamics(&mut st).map_err(core_err)?;
            }
            if learn {
                net.normalize(&mut st, m.procedure.norm_target as f64)
                    .map_err(core_err)?;
            }
            counts.fill(0);
        }
        let mut buf = [0u16; MAX_EVENTS];
        let mut next = 0;
        for k in cursor..until {
            let mut len = 0;
            while let Some(e) = events.get(next).filter(|e| e.step as u32 == k) {
                buf[len] = e.input;
                len += 1;
                next += 1;
            }
            inputs += len as u32;
            exc += step(&net, &mut st, w, &buf[..len], counts)?;
        }
        self.input = Input::Spikes {
            cursor: until,
            exc,
            inputs,
        };
        Ok(())
    }
}

/// The image's 8-bit weights, unless the network runs on learned weights.
fn quantized<'i>(img: &'i [u8], m: &Model, plastic_active: bool) -> Result<Option<QuantizedWeights<'i, Fx>>, Failure> {
    if plastic_active {
        return Ok(None);
    }
    let w = img.get(m.weights()).ok_or((ErrorCode::Core, 0))?;
    QuantizedWeights::new(w, m.w_max).map(Some).map_err(core_err)
}

/// The state to run on and the read-only weights to use with it.
fn state<'s, 'q, const N: usize, const LI: usize, const LN: usize>(
    frozen: &'s mut FrozenStorage<Fx, N>,
    plastic: Option<&'s mut Storage<Fx, LI, LN>>,
    plastic_active: bool,
    net: &Network<Fx>,
    q: Option<&'q QuantizedWeights<'q, Fx>>,
) -> Result<(State<'s, Fx>, Option<&'q QuantizedWeights<'q, Fx>>), Failure> {
    match (plastic, q) {
        (Some(p), _) if plastic_active => Ok((p.state(net).map_err(core_err)?, None)),
        (_, Some(q)) => Ok((frozen.state(net).map_err(core_err)?, Some(q))),
        _ => fail(ErrorCode::Core, 0),
    }
}

/// One step; adds its spikes to `counts` and returns how many.
fn step(
    net: &Network<Fx>,
    st: &mut State<'_, Fx>,
    w: Option<&QuantizedWeights<'_, Fx>>,
    inputs: &[u16],
    counts: &mut [u32],
) -> Result<u32, Failure> {
    let o = match w {
        Some(w) => net.step_quantized(st, w, inputs),
        None => net.step(st, inputs),
    }
    .map_err(core_err)?;
    if o.exc_spikes > 0 {
        for (c, &f) in counts.iter_mut().zip(st.exc.spiked.iter()) {
            *c += f as u32;
        }
    }
    Ok(o.exc_spikes)
}

fn error_reply(code: ErrorCode, command: u8, arg: u32, seq: u16, out: &mut [u8]) -> usize {
    Reply::Error { code, command, arg }.encode(seq, out).unwrap_or(0)
}

/// The UART side: frame reassembly and the buffers to decode and reply.
pub struct Link {
    reader: FrameReader<MAX_ENCODED>,
    body: [u8; MAX_BODY],
    out: [u8; MAX_FRAME],
}

impl Link {
    /// Empty buffers; `const`, so it can initialise a `static`.
    pub const fn new() -> Self {
        Link {
            reader: FrameReader::new(),
            body: [0; MAX_BODY],
            out: [0; MAX_FRAME],
        }
    }

    /// Takes one received byte; at the end of a frame, returns the reply to send.
    pub fn feed<const N: usize, const LI: usize, const LN: usize>(
        &mut self,
        app: &mut App<'_, N, LI, LN>,
        byte: u8,
    ) -> Option<&[u8]> {
        let n = match self.reader.push(byte)? {
            Ok(frame) => app.handle(frame, &mut self.body, &mut self.out),
            Err(e) => app.refuse(e, &mut self.out),
        };
        Some(&self.out[..n])
    }

    /// Bytes were lost (a UART overrun): the frame being received is dropped.
    pub fn lose(&mut self) {
        self.reader.lose();
    }
}

impl Default for Link {
    fn default() -> Self {
        Self::new()
    }
}

/// Serves requests from `uart` forever. A read error drops the frame being
/// received (it is answered with an error at its end); a write error drops
/// the reply (the host times out and asks again).
pub fn serve<U: Read + Write, const N: usize, const LI: usize, const LN: usize>(
    app: &mut App<'_, N, LI, LN>,
    link: &mut Link,
    uart: &mut U,
) -> ! {
    let mut buf = [0u8; 64];
    loop {
        match uart.read(&mut buf) {
            Ok(n) => {
                for &b in &buf[..n] {
                    if let Some(reply) = link.feed(app, b) {
                        let _ = uart.write_all(reply).and_then(|()| uart.flush());
                    }
                }
            }
            Err(_) => link.lose(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stdp_core::image::{image_size, ImageHeader};
    use stdp_core::NetworkParams;
    use stdp_protocol::{cmd, Event, FrameEncoder, MAX_CHUNK};

    const NI: usize = 16;
    const NN: usize = 4;
    type TestApp = App<'static, 8, 16, 4>;

    fn image_bytes(seed: u8) -> Vec<u8> {
        let header = ImageHeader {
            params: NetworkParams::diehl_cook(NI, NN),
            procedure: Procedure {
                intensity: 2.0,
                max_intensity: 32.0,
                present_ms: 50.0,
                rest_ms: 20.0,
                min_spikes: 5,
                norm_target: 4.0,
            },
        };
        let w: Vec<u8> = (0..NI * NN).map(|i| (i * 37 + seed as usize) as u8).collect();
        let mut out = vec![0u8; image_size(NI, NN)];
        ModelImage::write(
            &header,
            &w,
            [20.0, 21.0, 19.5, 20.5].into_iter(),
            &[0, 1, 2, 255],
            &mut out,
        )
        .unwrap();
        out
    }

    fn leak<T>(x: T) -> &'static mut T {
        Box::leak(Box::new(x))
    }

    fn app(builtin: Option<&'static [u8]>) -> TestApp {
        let cap = image_size(NI, 8);
        let mem = Memory {
            slots: [leak(vec![0u8; cap]).as_mut_slice(), leak(vec![0u8; cap]).as_mut_slice()],
            builtin,
            frozen: leak(FrozenStorage::new()),
            plastic: Some(leak(Storage::new())),
            inputs: InputMemory {
                next: leak(vec![0; NI]),
                inv_log: leak(vec![0.0; NI]),
                link: leak(vec![0; NI]),
                rates: leak(vec![0.0; NI]),
                spikes: leak(vec![0; NI]),
                pixels: leak(vec![0; NI]),
            },
            counts: leak(vec![0; 8]),
        };
        App::new(mem, Board::none(1234))
    }

    /// Sends a request frame and decodes the reply into an owned form.
    fn ask(app: &mut TestApp, frame: &[u8]) -> (u16, Vec<u8>, u8) {
        let mut body = [0u8; MAX_BODY];
        let mut out = [0u8; MAX_FRAME];
        let n = app.handle(&frame[..frame.len() - 1], &mut body, &mut out);
        assert_eq!(out[n - 1], 0);
        let mut rb = [0u8; MAX_BODY];
        let f = decode_frame(&out[..n - 1], &mut rb).unwrap();
        (f.header.seq, f.payload.to_vec(), f.header.code)
    }

    fn req(app: &mut TestApp, r: Request<'_>) -> (u8, Vec<u8>) {
        let mut buf = [0u8; MAX_FRAME];
        let n = r.encode(7, &mut buf).unwrap();
        let (seq, p, code) = ask(app, &buf[..n]);
        assert_eq!(seq, 7);
        (code, p)
    }

    fn error_of(code: u8, p: &[u8]) -> Option<ErrorCode> {
        match Reply::parse(code, p).unwrap() {
            Reply::Error { code, .. } => Some(code),
            _ => None,
        }
    }

    fn upload(app: &mut TestApp, img: &[u8]) -> (u8, Vec<u8>) {
        let (c, p) = req(app, Request::UploadBegin { len: img.len() as u32 });
        assert_eq!(error_of(c, &p), None);
        for (k, chunk) in img.chunks(MAX_CHUNK / 3).enumerate() {
            let (c, p) = req(
                app,
                Request::UploadChunk {
                    offset: (k * (MAX_CHUNK / 3)) as u32,
                    data: chunk,
                },
            );
            assert_eq!(error_of(c, &p), None);
        }
        req(app, Request::UploadCommit { crc: crc32(img) })
    }

    fn run_image(app: &mut TestApp, seed: u64) -> Vec<u8> {
        let pixels: Vec<u8> = (0..NI).map(|i| (i * 16) as u8).collect();
        let (c, p) = req(app, Request::PresentImage { seed, pixels: &pixels });
        assert_eq!(error_of(c, &p), None);
        let (c, p) = req(app, Request::Run { independent: true });
        assert_eq!(error_of(c, &p), None, "{p:?}");
        p
    }

    #[test]
    fn upload_then_run_gives_the_same_answer_every_time() {
        let mut a = app(None);
        let img = image_bytes(1);
        let (c, p) = upload(&mut a, &img);
        assert_eq!(
            Reply::parse(c, &p).unwrap(),
            Reply::Committed {
                n_inputs: NI as u16,
                n_neurons: NN as u16
            }
        );
        let r1 = run_image(&mut a, 3);
        let r2 = run_image(&mut a, 3);
        assert_eq!(r1, r2);
        match Reply::parse(cmd::RUN | 0x80, &r1).unwrap() {
            Reply::Run { summary, counts } => {
                assert_eq!(summary.n_neurons, NN as u16);
                assert_eq!(counts.len(), NN);
                assert_eq!(summary.exc_spikes, counts.iter().map(u32::from).sum::<u32>());
            }
            r => panic!("{r:?}"),
        }
    }

    #[test]
    fn malformed_and_refused_requests_change_nothing() {
        let mut a = app(None);
        upload(&mut a, &image_bytes(1));
        let before = run_image(&mut a, 5);
        let (_, info_before) = req(&mut a, Request::Info);
        // Bad CRC, unknown command, bad lengths, out-of-range values.
        let mut buf = [0u8; MAX_FRAME];
        let n = Request::Run { independent: true }.encode(1, &mut buf).unwrap();
        buf[2] ^= 0x10;
        let (seq, p, code) = ask(&mut a, &buf[..n]);
        assert_eq!((seq, error_of(code, &p)), (UNTRUSTED_SEQ, Some(ErrorCode::Crc)));
        let mut e = FrameEncoder::new(&mut buf, 0x55, 2);
        e.put(&[1, 2, 3]);
        let n = e.finish().unwrap();
        let (seq, p, code) = ask(&mut a, &buf[..n]);
        assert_eq!((seq, error_of(code, &p)), (2, Some(ErrorCode::UnknownCommand)));
        let bad = [
            (
                Request::PresentImage {
                    seed: 1,
                    pixels: &[1, 2, 3],
                },
                ErrorCode::BadLength,
            ),
            (
                Request::PresentSpikes {
                    start: true,
                    independent: true,
                    until: 3,
                    events: Array::Values(&[Event {
                        input: NI as u16,
                        step: 0,
                    }]),
                },
                ErrorCode::OutOfRange,
            ),
            (
                Request::PresentSpikes {
                    start: true,
                    independent: true,
                    until: 3,
                    events: Array::Values(&[Event { input: 1, step: 2 }, Event { input: 1, step: 1 }]),
                },
                ErrorCode::OutOfRange,
            ),
            (
                Request::PresentSpikes {
                    start: false,
                    independent: true,
                    until: 3,
                    events: Array::Values(&[]),
                },
                ErrorCode::BadState,
            ),
            (
                Request::ReadState {
                    kind: StateKind::Weights,
                    offset: (NI * NN) as u32,
                    count: 1,
                },
                ErrorCode::OutOfRange,
            ),
            (Request::ReadCounts { offset: 3, count: 2 }, ErrorCode::OutOfRange),
            (
                Request::UploadChunk {
                    offset: 0,
                    data: &[1, 2],
                },
                ErrorCode::BadState,
            ),
            (Request::UploadCommit { crc: 0 }, ErrorCode::BadState),
            (Request::UploadBegin { len: 1 << 30 }, ErrorCode::TooLarge),
        ];
        for (r, want) in bad {
            let (c, p) = req(&mut a, r);
            assert_eq!(error_of(c, &p), Some(want), "{r:?}");
        }
        // A damaged image is refused and the old model stays.
        let mut img = image_bytes(2);
        img[100] ^= 1;
        let (c, p) = upload(&mut a, &img);
        assert_eq!(error_of(c, &p), Some(ErrorCode::BadImage));
        let (c, p) = req(&mut a, Request::UploadCommit { crc: 0 });
        assert_eq!(error_of(c, &p), Some(ErrorCode::BadImage));
        let (_, info_after) = req(&mut a, Request::Info);
        assert_eq!(info_before, info_after);
        assert_eq!(run_image(&mut a, 5), before);
    }

    #[test]
    fn spike_input_in_several_frames_equals_one_frame() {
        let mut a = app(Some(Box::leak(image_bytes(3).into_boxed_slice())));
        assert_eq!(a.shape(), (NI, NN));
        let events: Vec<Event> = (0..90)
            .map(|k| Event {
                input: (k * 7 % NI) as u16,
                step: k as u16,
            })
            .collect();
        let one = |a: &mut TestApp| {
            let (c, p) = req(
                a,
                Request::PresentSpikes {
                    start: true,
                    independent: true,
                    until: 100,
                    events: Array::Values(&events),
                },
            );
            assert_eq!(error_of(c, &p), None);
            req(a, Request::Run { independent: true }).1
        };
        let r1 = one(&mut a);
        let (c, p) = req(
            &mut a,
            Request::PresentSpikes {
                start: true,
                independent: true,
                until: 40,
                events: Array::Values(&events[..40]),
            },
        );
        assert_eq!(error_of(c, &p), None);
        let (c, p) = req(
            &mut a,
            Request::PresentSpikes {
                start: false,
                independent: true,
                until: 100,
                events: Array::Values(&events[40..]),
            },
        );
        assert_eq!(error_of(c, &p), None);
        let r2 = req(&mut a, Request::Run { independent: true }).1;
        assert_eq!(r1, r2);
        // Without input, a run is refused.
        let (c, p) = req(&mut a, Request::Run { independent: true });
        assert_eq!(error_of(c, &p), Some(ErrorCode::BadState));
    }

    #[test]
    fn learning_changes_weights_and_reset_restores_them() {
        let mut a = app(None);
        upload(&mut a, &image_bytes(4));
        let read = |a: &mut TestApp| {
            req(
                a,
                Request::ReadState {
                    kind: StateKind::Weights,
                    offset: 0,
                    count: (NI * NN) as u16,
                },
            )
            .1
        };
        let w0 = read(&mut a);
        let (c, p) = req(&mut a, Request::SetLearning { on: true });
        assert_eq!(error_of(c, &p), None);
        assert_eq!(read(&mut a), w0, "dequantised weights are the image's");
        let r = run_image(&mut a, 9);
        assert_eq!(r[1] & run_flags::LEARNED, run_flags::LEARNED);
        assert_ne!(read(&mut a), w0);
        let (c, p) = req(&mut a, Request::Reset { forget_model: false });
        assert_eq!(error_of(c, &p), None);
        assert_eq!(read(&mut a), w0);
        let (c, p) = req(&mut a, Request::Reset { forget_model: true });
        assert_eq!(error_of(c, &p), None);
        let (c, p) = req(&mut a, Request::SetLearning { on: true });
        assert_eq!(error_of(c, &p), Some(ErrorCode::NoModel));
    }

    #[test]
    fn link_answers_garbage_and_oversize_without_losing_sync() {
        let mut a = app(None);
        let mut link = Box::new(Link::new());
        let mut replies = 0;
        let mut feed = |a: &mut TestApp, bytes: &[u8]| {
            for &b in bytes {
                if link.feed(a, b).is_some() {
                    replies += 1;
                }
            }
        };
        feed(&mut a, &[1, 2, 3, 0]);
        feed(&mut a, &vec![9u8; 5000]);
        feed(&mut a, &[0]);
        let mut buf = [0u8; MAX_FRAME];
        let n = Request::Info.encode(1, &mut buf).unwrap();
        feed(&mut a, &buf[..n]);
        assert_eq!(replies, 3);
    }
}
