//! The network: inputs -> excitatory layer (plastic), lateral inhibition,
//! and one time step in exactly the order of scenario-format.md.
//!
//! # Layout and cost
//! Weights are row-major by input: `weights[i * n + j]` is input `i` onto
//! neuron `j`, so one presynaptic spike touches one contiguous row (`n`
//! values), the ge += w and the depression of the pair and triplet rules
//! in one pass. The presynaptic trace is kept lazily: each input stores its
//! trace at its last spike and the step of that spike, and the trace is
//! decayed to the present only when a postsynaptic spike reads it. Work per
//! step is therefore O(n) for the neurons plus O(n) per input spike plus
//! O(n_inputs) per output spike, never O(n_inputs * n) per step.
//!
//! # Input delays
//! With [`State::delays`], a spike of input `i` reaches neuron `j` after
//! `delays[i * n + j]` steps (0 to 31), and that synapse's on_pre (ge += w,
//! the depression, the start of its presynaptic trace) happens then, as in
//! Brian. Each input keeps a 32-step window of its recent spikes
//! ([`State::pre_hist`]); a step passes once over the row of every input
//! with a spike in the window, so delays cost up to 32 row passes per input
//! spike instead of one. A postsynaptic spike reads each synapse's trace
//! from the window (or, once the spike has left it, from `pre_last`).

use crate::decay::{Decay, PowTable};
use crate::layer::{Activity, LayerState};
use crate::neuron::{convert, Layer};
use crate::params::{Inhibition, NetworkParams, Rule, TraceMode, MAX_INPUTS, MAX_NEURONS};
use crate::shard::{Alone, Collective};
use crate::{Error, Real};

/// The whole mutable state of a network, in caller-owned buffers.
///
/// Get one from [`NetworkBuffers::state`] (static, const-generic capacity, for
/// microcontrollers) or build it from any buffers of the right lengths
/// (the host uses `Vec`s). Lengths are checked by every [`Network`] call.
#[derive(Debug)]
pub struct State<'a, T> {
    /// Number of the next step to simulate.
    pub step: &'a mut u32,
    /// Input -> excitatory weights, `weights[i * n + j]` (n_inputs * n).
    pub weights: &'a mut [T],
    /// Presynaptic trace of each input as of its last spike (n_inputs).
    pub x_pre: &'a mut [T],
    /// Step of each input's last spike (n_inputs).
    pub pre_last: &'a mut [u32],
    /// Scratch: presynaptic traces decayed to the current step (n_inputs).
    pub x_pre_now: &'a mut [T],
    /// First postsynaptic trace (tau_post1) per excitatory neuron (n).
    pub x_post1: &'a mut [T],
    /// Second postsynaptic trace (tau_post2) per excitatory neuron (n).
    pub x_post2: &'a mut [T],
    /// The step the postsynaptic traces have been decayed up to (exclusive).
    /// They decay only while learning is on; when it comes back on, the
    /// steps in between are caught up in closed form (spikes while it was
    /// off are not counted, as for the presynaptic traces).
    pub post_step: &'a mut u32,
    /// Scratch for per-neuron sums (n).
    pub scratch: &'a mut [T],
    /// Input -> excitatory delays in steps, `delays[i * n + j]`, 0..=31
    /// (larger values are read modulo 32): a spike of input `i` at step `k`
    /// arrives at neuron `j` at step `k + delays[i * n + j]`, and that
    /// synapse's on_pre (depression, presynaptic trace) happens then, as in
    /// Brian. Empty: no delays (every spike arrives in its own step).
    /// n_inputs * n or 0.
    pub delays: &'a [u8],
    /// With delays: bit `b` of `pre_hist[i]` is set if input `i` spiked `b`
    /// steps ago (b = 0: this step), the spikes still on their way. Then
    /// `x_pre[i]` (1 or 0) and `pre_last[i]` describe the latest spike that
    /// has left this 32-step window. n_inputs with delays, else 0.
    pub pre_hist: &'a mut [u32],
    /// The excitatory layer (n).
    pub exc: LayerState<'a, T>,
    /// The inhibitory layer (n with [`Inhibition::Layer`], else any length).
    pub inh: LayerState<'a, T>,
}

#[derive(Debug, Clone, Copy)]
struct Stdp<T: Real> {
    rule: Rule,
    additive: bool,
    nu_pre: T,
    nu_post: T,
    pre: PowTable<T>,
    post1: Decay<T>,
    post2: Decay<T>,
    w_max: T,
    x_tar: T,
    mu: T,
    beta: T,
}

#[derive(Debug, Clone, Copy)]
enum Inhib<T: Real> {
    None,
    Direct(T),
    Layer {
        layer: Layer<T>,
        w_exc_inh: T,
        w_inh_exc: T,
    },
}

/// A network's constants, converted to the backend once; the state lives
/// in a [`State`]. `Network` is small and `Copy`.
#[derive(Debug, Clone, Copy)]
pub struct Network<T: Real> {
    dt_ms: f64,
    n_inputs: usize,
    n: usize,
    exc: Layer<T>,
    stdp: Stdp<T>,
    inhib: Inhib<T>,
    learning: bool,
}

/// Read-only input weights of 8 bits, `q[i * n + j]`, worth
/// `q * w_max / 255` weight units (so the quantisation step is w_max/255 and
/// the error of a quantised weight at most half of it). The 256 values are
/// converted to the backend once, into a table, so the host's fixed backend
/// and the chip add exactly the same numbers.
#[derive(Debug, Clone)]
pub struct QuantizedWeights<'a, T> {
    q: &'a [u8],
    lut: [T; 256],
}

impl<'a, T: Real> QuantizedWeights<'a, T> {
    /// Weights `q` (row-major by input) for a network with maximum weight `w_max`.
    pub fn new(q: &'a [u8], w_max: f64) -> Result<Self, Error> {
        if !(w_max > 0.0) {
            return Err(Error::InvalidParameter("w_max"));
        }
        let mut lut = [T::ZERO; 256];
        for (k, v) in lut.iter_mut().enumerate() {
            *v = Self::value(k as u8, w_max);
        }
        Ok(QuantizedWeights { q, lut })
    }
    /// The weight that the byte `q` stands for.
    pub fn value(q: u8, w_max: f64) -> T {
        T::from_f64(q as f64 * w_max / 255.0)
    }
    /// The byte nearest to weight `w` (clipped to [0, w_max]).
    pub fn quantize(w: f64, w_max: f64) -> u8 {
        let x = (w / w_max * 255.0).clamp(0.0, 255.0);
        libm::round(x) as u8
    }
    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        self.q
    }
}

/// What one step produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StepOutput {
    /// Excitatory spikes in this step (which: `State::exc.spiked`).
    pub exc_spikes: u32,
    /// Inhibitory-layer spikes in this step.
    pub inh_spikes: u32,
}

impl<T: Real> Network<T> {
    /// Checks `p` and converts it to the backend. Errors name the offending
    /// parameter; sizes are 1 to [`MAX_INPUTS`] inputs and 1 to
    /// [`MAX_NEURONS`] neurons, what a chip image holds. Learning starts
    /// switched on.
    pub fn new(p: &NetworkParams) -> Result<Self, Error> {
        if p.n_inputs == 0 || p.n_inputs > MAX_INPUTS {
            return Err(Error::InvalidParameter("n_inputs"));
        }
        if p.n_neurons == 0 || p.n_neurons > MAX_NEURONS {
            return Err(Error::InvalidParameter("n_neurons"));
        }
        if !(p.dt_ms > 0.0 && p.dt_ms.is_finite()) {
            return Err(Error::InvalidParameter("dt_ms"));
        }
        let dt = p.dt_ms;
        let s = &p.stdp;
        let non_negative = |x: f64, name| {
            if x >= 0.0 {
                convert(x, name)
            } else {
                Err(Error::InvalidParameter(name))
            }
        };
        if !(s.w_max > 0.0) {
            return Err(Error::InvalidParameter("w_max"));
        }
        let stdp = Stdp {
            rule: s.rule,
            additive: s.trace_mode == TraceMode::Additive,
            nu_pre: non_negative(s.nu_pre, "nu_pre")?,
            nu_post: non_negative(s.nu_post, "nu_post")?,
            pre: PowTable::new(&Decay::new(s.tau_pre_ms, dt, "tau_pre_ms")?),
            post1: Decay::new(s.tau_post1_ms, dt, "tau_post1_ms")?,
            post2: Decay::new(s.tau_post2_ms, dt, "tau_post2_ms")?,
            w_max: convert(s.w_max, "w_max")?,
            x_tar: convert(s.x_tar, "x_tar")?,
            mu: non_negative(s.mu, "mu")?,
            beta: non_negative(s.beta, "beta")?,
        };
        let inhib = match p.inhibition {
            Inhibition::None => Inhib::None,
            Inhibition::Direct { w } => Inhib::Direct(non_negative(w, "inhibition.w")?),
            Inhibition::Layer {
                inh,
                w_exc_inh,
                w_inh_exc,
            } => Inhib::Layer {
                layer: Layer::new(&inh, dt)?,
                w_exc_inh: non_negative(w_exc_inh, "inhibition.w_exc_inh")?,
                w_inh_exc: non_negative(w_inh_exc, "inhibition.w_inh_exc")?,
            },
        };
        Ok(Network {
            dt_ms: dt,
            n_inputs: p.n_inputs,
            n: p.n_neurons,
            exc: Layer::new(&p.exc, dt)?,
            stdp,
            inhib,
            learning: true,
        })
    }

    /// Time step (ms).
    pub fn dt_ms(&self) -> f64 {
        self.dt_ms
    }
    /// Number of inputs.
    pub fn n_inputs(&self) -> usize {
        self.n_inputs
    }
    /// Number of excitatory neurons.
    pub fn n_neurons(&self) -> usize {
        self.n
    }
    /// Whether the inhibitory layer is simulated (its buffers must have length n).
    pub fn has_inhibitory_layer(&self) -> bool {
        matches!(self.inhib, Inhib::Layer { .. })
    }
    /// Whether STDP and threshold adaptation are on.
    pub fn learning(&self) -> bool {
        self.learning
    }
    /// Switches STDP and threshold adaptation (theta's growth and decay) on
    /// or off. Off is Diehl & Cook's test mode: weights and theta frozen.
    pub fn set_learning(&mut self, on: bool) {
        self.learning = on;
    }
    /// The excitatory layer's constants.
    pub fn excitatory(&self) -> &Layer<T> {
        &self.exc
    }
    /// w_max in the backend.
    pub fn w_max(&self) -> T {
        self.stdp.w_max
    }

    /// Checks that every buffer of `s` has the length this network needs.
    pub fn check(&self, s: &State<'_, T>) -> Result<(), Error> {
        self.check_with(s, true)
    }

    /// As [`Network::check`]; without `own_weights` (read-only weights
    /// elsewhere, no learning) `weights`, `x_pre`, `pre_last` and
    /// `x_pre_now` may also be empty.
    #[cfg_attr(feature = "inline-hot", inline(always))]
    fn check_with(&self, s: &State<'_, T>, own_weights: bool) -> Result<(), Error> {
        let (ni, n) = (self.n_inputs, self.n);
        let empty_ok = |len: usize, need: usize| len == need || (!own_weights && len == 0);
        if !empty_ok(s.weights.len(), ni * n) {
            return Err(Error::BufferSize("weights"));
        }
        if !empty_ok(s.x_pre.len(), ni) || !empty_ok(s.pre_last.len(), ni) || !empty_ok(s.x_pre_now.len(), ni) {
            return Err(Error::BufferSize("x_pre"));
        }
        if s.x_post1.len() != n || s.x_post2.len() != n || s.scratch.len() != n {
            return Err(Error::BufferSize("x_post"));
        }
        if !s.delays.is_empty() || !s.pre_hist.is_empty() {
            if s.delays.len() != ni * n {
                return Err(Error::BufferSize("delays"));
            }
            if s.pre_hist.len() != ni {
                return Err(Error::BufferSize("pre_hist"));
            }
            if self.stdp.additive {
                // The delayed trace is read from the spike times of the
                // last 32 steps; an additive trace would need every spike.
                return Err(Error::InvalidParameter("delays (need trace_mode = replace)"));
            }
        }
        s.exc.check(n)?;
        if self.has_inhibitory_layer() {
            s.inh.check(n)?;
        }
        Ok(())
    }

    /// Sets the excitatory neurons' threshold adaptation `theta` (mV, one
    /// value per neuron in neuron order, e.g. a trained model's) and keeps
    /// the layer's activity promise (the next step processes every neuron).
    /// Unless `theta` has exactly one value per neuron nothing is changed
    /// and the error is [`Error::BufferSize`].
    pub fn load_theta(&self, s: &mut State<'_, T>, theta: impl ExactSizeIterator<Item = T>) -> Result<(), Error> {
        if theta.len() != self.n || s.exc.theta.len() != self.n {
            return Err(Error::BufferSize("theta"));
        }
        for (t, x) in s.exc.theta.iter_mut().zip(theta) {
            *t = x;
        }
        *s.exc.activity = Activity::All;
        Ok(())
    }

    /// Puts the state at the start of a run (scenario-format.md): step 0,
    /// v = v_init, theta = theta_init, conductances and traces 0, nothing
    /// refractory. Weights are left as they are.
    pub fn init_state(&self, s: &mut State<'_, T>) -> Result<(), Error> {
        self.reset_dynamics(s)?;
        self.exc.init(&mut s.exc, true);
        if let Inhib::Layer { layer, .. } = &self.inhib {
            layer.init(&mut s.inh, true);
        }
        *s.step = 0;
        *s.post_step = 0;
        Ok(())
    }

    /// Starts a new example without a rest period: v = v_rest, conductances
    /// and traces 0, nothing refractory; keeps weights, theta and the step
    /// counter. Makes each example independent of the ones before it.
    #[cfg_attr(feature = "inline-hot", inline(always))]
    pub fn reset_dynamics(&self, s: &mut State<'_, T>) -> Result<(), Error> {
        self.check_with(s, false)?;
        self.exc.init(&mut s.exc, false);
        if let Inhib::Layer { layer, .. } = &self.inhib {
            layer.init(&mut s.inh, false);
        }
        s.x_pre.fill(T::ZERO);
        s.pre_last.fill(0);
        s.pre_hist.fill(0);
        s.x_post1.fill(T::ZERO);
        s.x_post2.fill(T::ZERO);
        *s.post_step = *s.step;
        Ok(())
    }

    /// Simulates one step, `inputs` being the inputs that spike in it, in
    /// the order their on_pre updates are applied. On error (an input index
    /// out of range, a buffer of the wrong length) nothing is changed.
    #[cfg_attr(feature = "inline-hot", inline(always))]
    pub fn step(&self, s: &mut State<'_, T>, inputs: &[u16]) -> Result<StepOutput, Error> {
        self.step_with(s, None, inputs, &mut Alone)
    }

    /// [`Network::step`] with read-only 8-bit weights `w` (e.g. in flash)
    /// instead of `s.weights`, which may then be empty, as may the
    /// presynaptic trace buffers. Learning must be off.
    ///
    /// ```
    /// use stdp_core::{FrozenBuffers, Fx, Network, NetworkParams, QuantizedWeights};
    ///
    /// // Inference only: the weights stay where they are (a `static` array
    /// // in flash on the chip), the state needs no weight matrix.
    /// static WEIGHTS: [u8; 16 * 4] = [200; 16 * 4]; // 200 * w_max / 255
    /// let mut net = Network::<Fx>::new(&NetworkParams::diehl_cook(16, 4))?;
    /// net.set_learning(false);
    /// let w = QuantizedWeights::new(&WEIGHTS, 1.0)?;
    /// let mut bufs = FrozenBuffers::<Fx, 4>::new();
    /// let mut s = bufs.state(&net)?;
    /// net.init_state(&mut s)?;
    /// let mut spikes = 0;
    /// for step in 0..400 {
    ///     let inputs: &[u16] = if step % 4 == 0 { &[0, 1, 2, 3] } else { &[] };
    ///     spikes += net.step_quantized(&mut s, &w, inputs)?.exc_spikes;
    /// }
    /// assert!(spikes > 0);
    /// # Ok::<(), stdp_core::Error>(())
    /// ```
    #[cfg_attr(feature = "inline-hot", inline(always))]
    pub fn step_quantized(
        &self,
        s: &mut State<'_, T>,
        w: &QuantizedWeights<'_, T>,
        inputs: &[u16],
    ) -> Result<StepOutput, Error> {
        self.step_shard(s, Some(w), inputs, &mut Alone)
    }

    /// [`Network::step`] (`weights` None) or [`Network::step_quantized`] of
    /// one shard of a network split across threads ([`crate::shard`]): this
    /// network is the shard's neurons, `c` the exchange with the other
    /// shards, which make the same call. The returned counts are this
    /// shard's.
    #[cfg_attr(feature = "inline-hot", inline(always))]
    pub fn step_shard<C: Collective + ?Sized>(
        &self,
        s: &mut State<'_, T>,
        weights: Option<&QuantizedWeights<'_, T>>,
        inputs: &[u16],
        c: &mut C,
    ) -> Result<StepOutput, Error> {
        if let Some(w) = weights {
            if self.learning && self.stdp.rule != Rule::None {
                return Err(Error::InvalidParameter("learning (read-only weights)"));
            }
            if w.q.len() != self.n_inputs * self.n {
                return Err(Error::BufferSize("quantized weights"));
            }
        }
        self.step_with(s, weights, inputs, c)
    }

    #[cfg_attr(feature = "inline-hot", inline(always))]
    fn step_with<C: Collective + ?Sized>(
        &self,
        s: &mut State<'_, T>,
        quantized: Option<&QuantizedWeights<'_, T>>,
        inputs: &[u16],
        c: &mut C,
    ) -> Result<StepOutput, Error> {
        self.check_with(s, quantized.is_none())?;
        if let Some(&i) = inputs.iter().find(|&&i| i as usize >= self.n_inputs) {
            return Err(Error::InputOutOfRange(i as u32));
        }
        let k = *s.step;
        let learn = self.learning && self.stdp.rule != Rule::None && quantized.is_none();

        // 1 + 2. State update and threshold.
        let exc_spikes = self.exc.update(&mut s.exc, k, self.learning, false);
        let inh_spikes = match &self.inhib {
            Inhib::Layer { layer, .. } => layer.update(&mut s.inh, k, false, true),
            _ => 0,
        };
        if learn {
            self.catch_up_post_traces(s, k);
            let due = |d: &Decay<T>| if d.due(k) { d.factor() } else { T::FACTOR_ONE };
            let (f1, f2) = (due(&self.stdp.post1), due(&self.stdp.post2));
            for (x1, x2) in s.x_post1.iter_mut().zip(s.x_post2.iter_mut()) {
                *x1 = x1.scale(f1);
                *x2 = x2.scale(f2);
            }
            *s.post_step = k.wrapping_add(1);
        }

        // 3. Synapses: input on_pre, lateral inhibition, then on_post.
        let n = self.n;
        let delayed = !s.pre_hist.is_empty();
        if delayed {
            self.delayed_arrivals(s, quantized, inputs, k, learn);
        }
        for &i in inputs.iter().filter(|_| !delayed) {
            let i = i as usize;
            if let Some(q) = quantized {
                let lut = &q.lut;
                self.exc
                    .excite_row(&mut s.exc, q.q[i * n..(i + 1) * n].iter().map(|&b| lut[b as usize]));
                continue;
            }
            let row = &mut s.weights[i * n..(i + 1) * n];
            if learn && matches!(self.stdp.rule, Rule::Pair | Rule::Triplet) {
                // The pair and triplet rules' on_pre (w -= nu_pre * x_post1,
                // clipped to [0, w_max]) in the same pass as ge += w: one
                // read and one write of the row.
                let (nu, w_max) = (self.stdp.nu_pre, self.stdp.w_max);
                self.exc.excite_row_depress(&mut s.exc, row, s.x_post1, nu, w_max);
            } else {
                self.exc.excite_row(&mut s.exc, row.iter().copied());
            }
            if learn {
                let x = if self.stdp.additive {
                    self.x_pre_at(s.x_pre[i], s.pre_last[i], k) + T::ONE
                } else {
                    T::ONE
                };
                s.x_pre[i] = x;
                s.pre_last[i] = k;
            }
        }
        // Lateral inhibition: every spike (of the inhibitory layer, or of
        // the excitatory one with direct inhibition) anywhere in the
        // network adds w to gi of every other excitatory neuron. Neuron m
        // gets w once per spike of another neuron, in sequence: the same
        // additions as spike by spike, so shards give identical results.
        match &self.inhib {
            Inhib::None => {}
            Inhib::Direct(w) => {
                let total = c.all_sum(exc_spikes);
                if total > 0 {
                    self.inhibit_all(&mut s.exc, total, None, *w);
                }
            }
            Inhib::Layer {
                layer,
                w_exc_inh,
                w_inh_exc,
            } => {
                if exc_spikes > 0 {
                    for j in 0..n {
                        if s.exc.spiked[j] {
                            layer.excite(&mut s.inh, j, *w_exc_inh);
                        }
                    }
                }
                let total = c.all_sum(inh_spikes);
                if total > 0 {
                    self.inhibit_all(&mut s.exc, total, Some(&*s.inh.spiked), *w_inh_exc);
                }
            }
        }
        if learn && exc_spikes > 0 && !delayed {
            self.x_pre_all(s, k);
            for j in 0..n {
                if s.exc.spiked[j] {
                    let now = &*s.x_pre_now;
                    self.on_post(s.weights, s.x_post1, s.x_post2, j, |i| now[i]);
                }
            }
        } else if learn && exc_spikes > 0 {
            for j in 0..n {
                if s.exc.spiked[j] {
                    let (hist, delays, x_pre, last) = (&*s.pre_hist, s.delays, &*s.x_pre, &*s.pre_last);
                    let pre = &self.stdp.pre;
                    // The trace of synapse (i, j): 1 at the latest spike
                    // that has arrived, decayed since its arrival.
                    let x = |i: usize| {
                        let d = (delays[i * n + j] & 31) as u32;
                        let h = hist[i] >> d;
                        if h != 0 {
                            T::ONE.scale(pre.get(h.trailing_zeros()))
                        } else if x_pre[i] != T::ZERO {
                            T::ONE.scale(pre.get(k.wrapping_sub(d).wrapping_sub(last[i])))
                        } else {
                            T::ZERO
                        }
                    };
                    self.on_post(s.weights, s.x_post1, s.x_post2, j, x);
                }
            }
        }

        // 4. Reset (of the neurons that spiked).
        if exc_spikes > 0 {
            self.exc.reset(&mut s.exc, self.learning);
        }
        if let (Inhib::Layer { layer, .. }, true) = (&self.inhib, inh_spikes > 0) {
            layer.reset(&mut s.inh, false);
        }
        *s.step = k.wrapping_add(1);
        Ok(StepOutput { exc_spikes, inh_spikes })
    }

    /// With delays: moves every input's spike window on by one step (a
    /// spike leaving it becomes the input's `x_pre`/`pre_last`), enters this
    /// step's spikes, and applies every arrival of this step: for each input
    /// with spikes on their way, one pass over its row adds w where a spike
    /// arrives (and, learning with the pair or triplet rule, depresses that
    /// synapse), in input order.
    #[cfg_attr(feature = "inline-hot", inline(always))]
    fn delayed_arrivals(
        &self,
        s: &mut State<'_, T>,
        quantized: Option<&QuantizedWeights<'_, T>>,
        inputs: &[u16],
        k: u32,
        learn: bool,
    ) {
        if s.x_pre.is_empty() {
            for h in s.pre_hist.iter_mut() {
                *h <<= 1;
            }
        } else {
            for ((h, x), last) in s.pre_hist.iter_mut().zip(s.x_pre.iter_mut()).zip(s.pre_last.iter_mut()) {
                if *h >> 31 != 0 {
                    *x = T::ONE;
                    *last = k.wrapping_sub(32);
                }
                *h <<= 1;
            }
        }
        for &i in inputs {
            s.pre_hist[i as usize] |= 1;
        }
        let n = self.n;
        let depress = learn && matches!(self.stdp.rule, Rule::Pair | Rule::Triplet);
        for (i, &h) in s.pre_hist.iter().enumerate() {
            if h == 0 {
                continue;
            }
            let delays = &s.delays[i * n..(i + 1) * n];
            if let Some(q) = quantized {
                let lut = &q.lut;
                let row = q.q[i * n..(i + 1) * n].iter().map(|&b| lut[b as usize]);
                self.exc.excite_row_delayed(&mut s.exc, row, delays, h);
            } else if depress {
                let row = &mut s.weights[i * n..(i + 1) * n];
                let (nu, w_max) = (self.stdp.nu_pre, self.stdp.w_max);
                self.exc
                    .excite_row_depress_delayed(&mut s.exc, row, delays, h, s.x_post1, nu, w_max);
            } else {
                let row = s.weights[i * n..(i + 1) * n].iter().copied();
                self.exc.excite_row_delayed(&mut s.exc, row, delays, h);
            }
        }
    }

    /// Adds `w` to every excitatory neuron once for each of the `total`
    /// spikes of this step that are not its own: `own[m]` says whether
    /// neuron m's partner spiked (the inhibitory layer), `None` that the
    /// spikes are the excitatory neurons' own (direct inhibition).
    #[cfg_attr(feature = "inline-hot", inline(always))]
    fn inhibit_all(&self, exc: &mut LayerState<'_, T>, total: u32, own: Option<&[bool]>, w: T) {
        for m in 0..self.n {
            let own_spike = match own {
                Some(own) => own[m],
                None => exc.spiked[m],
            };
            for _ in 0..total - own_spike as u32 {
                self.exc.inhibit(exc, m, w);
            }
        }
    }

    /// Decays the postsynaptic traces over the steps since they were last
    /// decayed (learning was off) up to step `k` (exclusive).
    #[cfg_attr(feature = "inline-hot", inline(always))]
    fn catch_up_post_traces(&self, s: &mut State<'_, T>, k: u32) {
        let from = *s.post_step;
        let n = k.wrapping_sub(from);
        if n != 0 {
            let (f1, f2) = (self.stdp.post1.pow_over(from, n), self.stdp.post2.pow_over(from, n));
            for (x1, x2) in s.x_post1.iter_mut().zip(s.x_post2.iter_mut()) {
                *x1 = x1.scale(f1);
                *x2 = x2.scale(f2);
            }
            *s.post_step = k;
        }
    }

    /// `x_pre_now[i] = x_pre_at(x_pre[i], pre_last[i], k)` for every input,
    /// bit for bit, in loops that vectorise: the tables' product for every
    /// input (`x0 * f` is 0 where `x0` is 0, as `x_pre_at` returns), and
    /// the inputs silent for 2^18 steps or more from the zero tail, or one
    /// by one where there is none. (One by one, the look-ups and the branch
    /// per input made this 22 % of training at 100 neurons.) Backends that
    /// do not vectorise (fixed point) keep the loop over `x_pre_at`.
    #[cfg_attr(feature = "inline-hot", inline(always))]
    fn x_pre_all(&self, s: &mut State<'_, T>, k: u32) {
        let pre = &self.stdp.pre;
        let now = s.x_pre_now.iter_mut().zip(s.x_pre.iter().zip(s.pre_last.iter()));
        if !T::VECTORISES {
            // Scalar code (the chip): skipping the inputs that never
            // spiked (x0 = 0; most of an event sensor's) is cheaper than
            // the look-ups without a branch (+4-7 % instructions per
            // recording learned on the chip).
            for (x, (&x0, &last)) in now {
                *x = self.x_pre_at(x0, last, k);
            }
            return;
        }
        match pre.zero_tail() {
            Some(zero) => {
                for (x, (&x0, &last)) in now {
                    let n = k.wrapping_sub(last);
                    let f = if n < PowTable::<T>::SPAN { pre.near(n) } else { zero };
                    *x = x0.scale(f);
                }
            }
            None => {
                let mut far = false;
                for (x, (&x0, &last)) in now {
                    let n = k.wrapping_sub(last);
                    far |= n >= PowTable::<T>::SPAN;
                    *x = x0.scale(pre.near(n));
                }
                if far {
                    let now = s.x_pre_now.iter_mut().zip(s.x_pre.iter().zip(s.pre_last.iter()));
                    for (x, (&x0, &last)) in now {
                        if k.wrapping_sub(last) >= PowTable::<T>::SPAN {
                            *x = self.x_pre_at(x0, last, k);
                        }
                    }
                }
            }
        }
    }

    /// The presynaptic trace `x0` of a spike at step `last`, decayed to step `k`.
    #[inline(always)]
    fn x_pre_at(&self, x0: T, last: u32, k: u32) -> T {
        if x0 == T::ZERO {
            T::ZERO
        } else {
            x0.scale(self.stdp.pre.get(k.wrapping_sub(last)))
        }
    }

    /// The rule's on_post update of neuron `j`'s column, then its traces.
    /// `x_pre(i)` is synapse (i, j)'s presynaptic trace at this step.
    #[cfg_attr(feature = "inline-hot", inline(always))]
    fn on_post(&self, weights: &mut [T], x_post1: &mut [T], x_post2: &mut [T], j: usize, x_pre: impl Fn(usize) -> T) {
        let p = &self.stdp;
        let n = self.n;
        let x2_before = x_post2[j];
        let column = weights
            .iter_mut()
            .skip(j)
            .step_by(n)
            .enumerate()
            .map(|(i, w)| (w, x_pre(i)));
        match p.rule {
            Rule::None => {}
            Rule::Pair => {
                for (w, xp) in column {
                    *w = (*w + p.nu_post * xp).clamp_to(T::ZERO, p.w_max);
                }
            }
            Rule::Triplet => {
                for (w, xp) in column {
                    *w = (*w + p.nu_post * xp * x2_before).clamp_to(T::ZERO, p.w_max);
                }
            }
            Rule::PowerLaw => {
                for (w, xp) in column {
                    let dw = p.nu_post * (xp - p.x_tar) * T::powf(p.w_max - *w, p.mu);
                    *w = (*w + dw).clamp_to(T::ZERO, p.w_max);
                }
            }
            Rule::ExpWeight => {
                for (w, xp) in column {
                    let dw = p.nu_post * (xp * T::exp_neg(p.beta * *w) - p.x_tar * T::exp_neg(p.beta * (p.w_max - *w)));
                    *w = (*w + dw).clamp_to(T::ZERO, p.w_max);
                }
            }
        }
        let bump = |x: T| if p.additive { x + T::ONE } else { T::ONE };
        x_post1[j] = bump(x_post1[j]);
        x_post2[j] = bump(x2_before);
    }

    /// `n` steps without input, as fast as the dynamics allow: stepped
    /// exactly while any conductance is above 1e-6 (relative to the leak) or
    /// a neuron is refractory, then in closed form (membranes relax
    /// exponentially, traces and theta decay, see [`Layer`]). Dropping
    /// conductances below 1e-6 moves v by less than 1e-6 mV per step of
    /// relaxation. Diehl & Cook's 150 ms rest between examples: about 60
    /// steps instead of 300.
    #[cfg_attr(feature = "inline-hot", inline(always))]
    pub fn rest(&self, s: &mut State<'_, T>, n: u32) -> Result<(), Error> {
        self.rest_with(s, None, n, &mut Alone)
    }

    /// [`Network::rest`] with read-only weights (see [`Network::step_quantized`]).
    #[cfg_attr(feature = "inline-hot", inline(always))]
    pub fn rest_quantized(&self, s: &mut State<'_, T>, w: &QuantizedWeights<'_, T>, n: u32) -> Result<(), Error> {
        self.rest_shard(s, Some(w), n, &mut Alone)
    }

    /// [`Network::rest`] or [`Network::rest_quantized`] of one shard (see
    /// [`Network::step_shard`]): the rest is stepped until every shard is
    /// quiescent.
    #[cfg_attr(feature = "inline-hot", inline(always))]
    pub fn rest_shard<C: Collective + ?Sized>(
        &self,
        s: &mut State<'_, T>,
        weights: Option<&QuantizedWeights<'_, T>>,
        n: u32,
        c: &mut C,
    ) -> Result<(), Error> {
        if weights.is_some_and(|w| w.q.len() != self.n_inputs * self.n) {
            return Err(Error::BufferSize("quantized weights"));
        }
        self.rest_with(s, weights, n, c)
    }

    #[cfg_attr(feature = "inline-hot", inline(always))]
    fn rest_with<C: Collective + ?Sized>(
        &self,
        s: &mut State<'_, T>,
        w: Option<&QuantizedWeights<'_, T>>,
        n: u32,
        c: &mut C,
    ) -> Result<(), Error> {
        self.check_with(s, w.is_none())?;
        let eps = T::from_f64(1e-6);
        let mut left = n;
        while left > 0 {
            let inh_quiet = match &self.inhib {
                Inhib::Layer { layer, .. } => layer.quiescent(&s.inh, eps),
                _ => true,
            };
            let in_flight = s.pre_hist.iter().any(|&h| h != 0);
            let quiet = inh_quiet && !in_flight && self.exc.quiescent(&s.exc, eps);
            if c.all_sum(!quiet as u32) == 0 {
                break;
            }
            self.step_with(s, w, &[], c)?;
            left -= 1;
        }
        if left == 0 {
            return Ok(());
        }
        let k = *s.step;
        self.exc.relax(&mut s.exc, k, left, self.learning);
        if let Inhib::Layer { layer, .. } = &self.inhib {
            layer.relax(&mut s.inh, k, left, false);
        }
        if self.learning && self.stdp.rule != Rule::None && w.is_none() {
            self.catch_up_post_traces(s, k);
            let (f1, f2) = (self.stdp.post1.pow_over(k, left), self.stdp.post2.pow_over(k, left));
            for (x1, x2) in s.x_post1.iter_mut().zip(s.x_post2.iter_mut()) {
                *x1 = x1.scale(f1);
                *x2 = x2.scale(f2);
            }
            *s.post_step = k.wrapping_add(left);
        }
        *s.step = k.wrapping_add(left);
        Ok(())
    }

    /// Rescales each neuron's input weights to sum to `target` (Diehl &
    /// Cook do this before every training example, with target 78). A
    /// neuron whose weights sum to 0 is left alone. Like the original,
    /// the result is not clipped to w_max.
    #[cfg_attr(feature = "inline-hot", inline(always))]
    pub fn normalize(&self, s: &mut State<'_, T>, target: f64) -> Result<(), Error> {
        self.check(s)?;
        if !(target > 0.0) {
            return Err(Error::InvalidParameter("normalization target"));
        }
        let target: T = convert(target, "normalization target")?;
        let n = self.n;
        s.scratch.fill(T::ZERO);
        for row in s.weights.chunks_exact(n) {
            for (sum, &w) in s.scratch.iter_mut().zip(row) {
                *sum += w;
            }
        }
        for sum in s.scratch.iter_mut() {
            *sum = if *sum > T::ZERO { target.div(*sum) } else { T::ONE };
        }
        for row in s.weights.chunks_exact_mut(n) {
            for (w, &f) in row.iter_mut().zip(s.scratch.iter()) {
                *w = *w * f;
            }
        }
        Ok(())
    }
}

/// Statically allocatable buffers for a network of at most `IN` inputs and
/// `N` excitatory neurons: `static` on a microcontroller, no heap.
///
/// Memory: `(IN * N + 3 IN + 13 N) * size_of::<T>()` plus `4 (IN + 2 N) + 4 N`
/// bytes for step counters and flags (spiked, active).
#[derive(Debug)]
pub struct NetworkBuffers<T, const IN: usize, const N: usize> {
    weights: [[T; N]; IN],
    x_pre: [T; IN],
    pre_last: [u32; IN],
    x_pre_now: [T; IN],
    /// Everything per neuron, as for inference.
    per_neuron: FrozenBuffers<T, N>,
}

#[derive(Debug)]
struct LayerBuffers<T, const N: usize> {
    v: [T; N],
    ge: [T; N],
    gi: [T; N],
    theta: [T; N],
    refractory: [u32; N],
    spiked: [bool; N],
    activity: Activity,
    active: [bool; N],
}

impl<T: Real, const N: usize> LayerBuffers<T, N> {
    const fn new() -> Self {
        LayerBuffers {
            v: [T::ZERO; N],
            ge: [T::ZERO; N],
            gi: [T::ZERO; N],
            theta: [T::ZERO; N],
            refractory: [0; N],
            spiked: [false; N],
            activity: Activity::All,
            active: [false; N],
        }
    }
    fn state(&mut self, n: usize) -> LayerState<'_, T> {
        LayerState {
            v: &mut self.v[..n],
            ge: &mut self.ge[..n],
            gi: &mut self.gi[..n],
            theta: &mut self.theta[..n],
            refractory: &mut self.refractory[..n],
            spiked: &mut self.spiked[..n],
            activity: &mut self.activity,
            active: &mut self.active[..n],
        }
    }
}

impl<T: Real, const IN: usize, const N: usize> NetworkBuffers<T, IN, N> {
    /// Zeroed buffers; `const`, so it can initialise a `static`.
    pub const fn new() -> Self {
        NetworkBuffers {
            weights: [[T::ZERO; N]; IN],
            x_pre: [T::ZERO; IN],
            pre_last: [0; IN],
            x_pre_now: [T::ZERO; IN],
            per_neuron: FrozenBuffers::new(),
        }
    }

    /// A view of the buffers sized for `net`.
    pub fn state(&mut self, net: &Network<T>) -> Result<State<'_, T>, Error> {
        let (ni, n) = (net.n_inputs(), net.n_neurons());
        if ni > IN || n > N {
            return Err(Error::Capacity);
        }
        let mut s = self.per_neuron.state(net)?;
        s.weights = &mut self.weights.as_flattened_mut()[..ni * n];
        s.x_pre = &mut self.x_pre[..ni];
        s.pre_last = &mut self.pre_last[..ni];
        s.x_pre_now = &mut self.x_pre_now[..ni];
        Ok(s)
    }
}

impl<T: Real, const IN: usize, const N: usize> Default for NetworkBuffers<T, IN, N> {
    fn default() -> Self {
        Self::new()
    }
}

/// Statically allocatable buffers for *inference* with read-only weights
/// elsewhere ([`QuantizedWeights`], e.g. in flash): no weight matrix and no
/// presynaptic traces, so a network of `N` neurons needs about
/// `N * (11 size_of::<T>() + 12)` bytes (5.6 KB for 100 neurons with both
/// layers in the fixed backend).
#[derive(Debug)]
pub struct FrozenBuffers<T, const N: usize> {
    x_post1: [T; N],
    x_post2: [T; N],
    scratch: [T; N],
    exc: LayerBuffers<T, N>,
    inh: LayerBuffers<T, N>,
    step: u32,
    post_step: u32,
}

impl<T: Real, const N: usize> FrozenBuffers<T, N> {
    /// Zeroed buffers; `const`, so it can initialise a `static`.
    pub const fn new() -> Self {
        FrozenBuffers {
            x_post1: [T::ZERO; N],
            x_post2: [T::ZERO; N],
            scratch: [T::ZERO; N],
            exc: LayerBuffers::new(),
            inh: LayerBuffers::new(),
            step: 0,
            post_step: 0,
        }
    }

    /// A view sized for `net`, with empty weight and presynaptic buffers
    /// (use [`Network::step_quantized`]).
    pub fn state(&mut self, net: &Network<T>) -> Result<State<'_, T>, Error> {
        let n = net.n_neurons();
        if n > N {
            return Err(Error::Capacity);
        }
        Ok(State {
            step: &mut self.step,
            post_step: &mut self.post_step,
            weights: &mut [],
            x_pre: &mut [],
            pre_last: &mut [],
            x_pre_now: &mut [],
            delays: &[],
            pre_hist: &mut [],
            x_post1: &mut self.x_post1[..n],
            x_post2: &mut self.x_post2[..n],
            scratch: &mut self.scratch[..n],
            exc: self.exc.state(n),
            inh: self.inh.state(n),
        })
    }
}

impl<T: Real, const N: usize> Default for FrozenBuffers<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

/// The former name of [`NetworkBuffers`] ("storage" now means only the
/// search's study database).
#[deprecated(since = "0.1.0", note = "renamed `NetworkBuffers`")]
pub type Storage<T, const IN: usize, const N: usize> = NetworkBuffers<T, IN, N>;

/// The former name of [`FrozenBuffers`].
#[deprecated(since = "0.1.0", note = "renamed `FrozenBuffers`")]
pub type FrozenStorage<T, const N: usize> = FrozenBuffers<T, N>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Fx, NetworkBuffers};

    /// The vectorised pass over every input's presynaptic trace gives
    /// `x_pre_at`'s numbers for every input, silent for a few steps or for
    /// more than the tables' 2^18, with a zero tail (tau_pre 20 ms) and
    /// without (tau_pre 60 s: e^(-2^18 dt/tau) is not 0), in every backend.
    fn x_pre_all_is_x_pre_at<T: Real>() {
        const IN: usize = 40;
        for tau in [20.0, 60_000.0] {
            let mut p = NetworkParams::diehl_cook(IN, 4);
            p.stdp.tau_pre_ms = tau;
            let net = Network::<T>::new(&p).unwrap();
            assert_eq!(net.stdp.pre.zero_tail().is_some(), tau < 100.0, "tau {tau}");
            let mut b = NetworkBuffers::<T, IN, 4>::new();
            let mut s = b.state(&net).unwrap();
            let k = 3_000_000u32;
            let mut far = 0;
            for i in 0..IN {
                // 0, a few steps, ..., beyond 2^18, and never (x0 = 0).
                let ago = [0u32, 1, 63, 64, 4095, 4096, 100_000, 262_143, 262_144, 2_000_000][i % 10];
                s.pre_last[i] = k.wrapping_sub(ago);
                s.x_pre[i] = if i % 7 == 3 {
                    T::ZERO
                } else {
                    T::from_f64(1.0 + i as f64 * 0.01)
                };
                far += (ago >= 1 << 18 && s.x_pre[i] != T::ZERO) as u32;
            }
            assert!(far > 0);
            net.x_pre_all(&mut s, k);
            for i in 0..IN {
                let want = net.x_pre_at(s.x_pre[i], s.pre_last[i], k);
                assert_eq!(
                    s.x_pre_now[i].to_f64().to_bits(),
                    want.to_f64().to_bits(),
                    "tau {tau}, input {i}"
                );
            }
            if tau > 100.0 {
                // Not vacuous: a trace silent for more than 2^18 steps is
                // not 0 here, and comes from the squarings.
                assert!(s.x_pre_now[8].to_f64() > 0.0);
            }
        }
    }

    #[test]
    fn x_pre_all_is_x_pre_at_f32() {
        x_pre_all_is_x_pre_at::<f32>();
    }

    #[test]
    fn x_pre_all_is_x_pre_at_f64() {
        x_pre_all_is_x_pre_at::<f64>();
    }

    #[test]
    fn x_pre_all_is_x_pre_at_fixed() {
        x_pre_all_is_x_pre_at::<Fx>();
    }
}
