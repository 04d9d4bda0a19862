//! A presentation: its input (a digit encoded on the chip, or input
//! spikes sent in pieces), the state it runs on, and the run itself.

use stdp_core::present::{classify, present, PresentBuffers};
use stdp_core::rng::{stream_seed, Xoshiro128pp};
use stdp_core::{Fx, Network, QuantizedWeights, State};
use stdp_protocol::{run_flags, Array, ErrorCode, RunSummary, Spike, MAX_SPIKES};

use super::model::{image, quantized, Model};
use super::{core_err, fail, App, Failure, InputMemory, Memory};
use crate::board::Board;

/// The input of the next run.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Input {
    /// None set (or used up by a spike run).
    None,
    /// The digit in `InputMemory::pixels`, Poisson-encoded from `seed`.
    Digit { seed: u64 },
    /// Input spikes presented up to step `cursor`, with the spikes so far.
    Spikes { cursor: u32, exc: u32, inputs: u32 },
}

/// What a presentation runs on, borrowed from the memory for its length:
/// the model's image, its network with learning switched as asked, the
/// state (learned weights in RAM, or the inference state over the image's
/// 8-bit weights), the spike counts of its neurons and the input buffers.
pub(super) struct Session<'s, 'a> {
    pub(super) img: &'s [u8],
    pub(super) net: Network<Fx>,
    pub(super) st: State<'s, Fx>,
    pub(super) w: Option<QuantizedWeights<'s, Fx>>,
    pub(super) counts: &'s mut [u32],
    pub(super) inputs: &'s mut InputMemory<'a>,
}

impl<'s, 'a> Session<'s, 'a> {
    pub(super) fn open<const N: usize, const LI: usize, const LN: usize>(
        mem: &'s mut Memory<'a, N, LI, LN>,
        m: &Model,
        plastic_active: bool,
        learn: bool,
    ) -> Result<Self, Failure> {
        let Memory {
            slots,
            builtin,
            frozen,
            plastic,
            inputs,
            counts,
            ..
        } = mem;
        let img = image(slots, *builtin, m);
        let w = quantized(img, m, plastic_active)?;
        let st = match (plastic.as_deref_mut(), &w) {
            (Some(p), None) if plastic_active => p.state(&m.net),
            (_, Some(_)) => frozen.state(&m.net),
            _ => return fail(ErrorCode::Core, 0),
        }
        .map_err(core_err)?;
        let mut net = m.net;
        net.set_learning(learn);
        let counts = counts.get_mut(..m.n).ok_or((ErrorCode::Core, 0))?;
        Ok(Session {
            img,
            net,
            st,
            w,
            counts,
            inputs,
        })
    }

    /// One step; adds its spikes to the counts and returns how many.
    /// Not inlined: its callers are three loops, and one copy of the
    /// network step is enough (flash).
    #[inline(never)]
    fn step(&mut self, inputs: &[u16]) -> Result<u32, Failure> {
        let o = match &self.w {
            Some(w) => self.net.step_quantized(&mut self.st, w, inputs),
            None => self.net.step(&mut self.st, inputs),
        }
        .map_err(core_err)?;
        if o.exc_spikes > 0 {
            for (c, &f) in self.counts.iter_mut().zip(self.st.exc.spiked.iter()) {
                *c += f as u32;
            }
        }
        Ok(o.exc_spikes)
    }

    /// The rest period after a presentation.
    fn rest(&mut self, steps: u32) -> Result<(), Failure> {
        match &self.w {
            Some(w) => self.net.rest_quantized(&mut self.st, w, steps),
            None => self.net.rest(&mut self.st, steps),
        }
        .map_err(core_err)
    }
}

impl<B: Board, const N: usize, const LI: usize, const LN: usize> App<'_, B, N, LI, LN> {
    /// Runs the presentation of the current input (the rest of it, for
    /// input spikes) and classifies it.
    pub(super) fn run(&mut self, independent: bool) -> Result<RunSummary, Failure> {
        let m = self.model()?;
        let learn = self.learning && self.plastic_active;
        let mut flags = if learn { run_flags::LEARNED } else { 0 };
        let mut s = Session::open(&mut self.mem, &m, self.plastic_active, learn)?;
        let (exc, retries, steps, inputs) = match self.input {
            Input::None => return fail(ErrorCode::BadState, 0),
            Input::Digit { seed } => {
                let mut rng = Xoshiro128pp::seed_from_u64(stream_seed(seed, 0, 0));
                let ni = m.n_inputs;
                let i = &mut *s.inputs;
                let mut bufs = PresentBuffers {
                    next: &mut i.next[..ni],
                    inv_log: &mut i.inv_log[..ni],
                    link: &mut i.link[..ni],
                    rates: &mut i.rates[..ni],
                    spikes: &mut i.spikes[..ni],
                };
                let o = present(
                    &mut s.net,
                    &mut s.st,
                    s.w.as_ref(),
                    &i.pixels[..ni],
                    &m.procedure,
                    learn,
                    independent,
                    &mut bufs,
                    &mut rng,
                    s.counts,
                )
                .map_err(core_err)?;
                (o.exc_spikes, o.retries, o.steps, o.input_spikes)
            }
            Input::Spikes { cursor, exc, inputs } => {
                flags |= run_flags::SPIKES;
                let mut exc = exc;
                for _ in cursor..m.present_steps {
                    exc += s.step(&[])?;
                }
                s.rest(m.rest_steps)?;
                self.input = Input::None;
                (exc, 0, m.present_steps + m.rest_steps, inputs)
            }
        };
        if s.counts.iter().any(|&c| c > u16::MAX as u32) {
            flags |= run_flags::SATURATED;
        }
        let summary = RunSummary {
            class: classify(s.counts, &s.img[m.assignments()]),
            flags,
            retries: retries.min(u16::MAX as u32) as u16,
            steps,
            exc_spikes: exc,
            input_spikes: inputs,
            n_neurons: m.n as u16,
            ticks: 0,
        };
        self.last = Some(summary);
        Ok(summary)
    }

    /// Presents input `spikes` up to step `until` (a new presentation with
    /// `start`); everything is checked before the first step.
    pub(super) fn present_spikes(
        &mut self,
        start: bool,
        independent: bool,
        until: u32,
        spikes: &Array<'_, Spike>,
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
        for e in spikes.iter() {
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
        let mut s = Session::open(&mut self.mem, &m, self.plastic_active, learn)?;
        if start {
            if independent || m.rest_steps == 0 {
                s.net.reset_dynamics(&mut s.st).map_err(core_err)?;
            }
            if learn {
                s.net
                    .normalize(&mut s.st, m.procedure.norm_target as f64)
                    .map_err(core_err)?;
            }
            s.counts.fill(0);
        }
        let mut buf = [0u16; MAX_SPIKES];
        let mut next = 0;
        for k in cursor..until {
            let mut len = 0;
            while let Some(e) = spikes.get(next).filter(|e| e.step as u32 == k) {
                buf[len] = e.input;
                len += 1;
                next += 1;
            }
            inputs += len as u32;
            exc += s.step(&buf[..len])?;
        }
        self.input = Input::Spikes {
            cursor: until,
            exc,
            inputs,
        };
        Ok(())
    }
}
