//! Heap-allocated network state for the host (the chip uses
//! `stdp_core::NetworkBuffers` in a `static`).

use stdp_core::layer::{Activity, LayerState};
use stdp_core::{Network, Real, State};

/// Buffers of one excitatory or inhibitory layer.
#[derive(Debug, Clone, Default)]
pub struct OwnedLayer<T> {
    /// Membrane potential (mV).
    pub v: Vec<T>,
    /// Excitatory conductance.
    pub ge: Vec<T>,
    /// Inhibitory conductance.
    pub gi: Vec<T>,
    /// Adaptive threshold (mV).
    pub theta: Vec<T>,
    /// Refractory steps left.
    pub refractory: Vec<u32>,
    /// Spiked in the last step.
    pub spiked: Vec<bool>,
    /// Which neurons the next step must process (see [`Activity`]).
    pub activity: Activity,
    /// Neurons not at rest (with [`Activity::Listed`]).
    pub active: Vec<bool>,
}

impl<T: Real> OwnedLayer<T> {
    fn new(n: usize) -> Self {
        OwnedLayer {
            v: vec![T::ZERO; n],
            ge: vec![T::ZERO; n],
            gi: vec![T::ZERO; n],
            theta: vec![T::ZERO; n],
            refractory: vec![0; n],
            spiked: vec![false; n],
            activity: Activity::All,
            active: vec![false; n],
        }
    }
    fn view(&mut self) -> LayerState<'_, T> {
        LayerState {
            v: &mut self.v,
            ge: &mut self.ge,
            gi: &mut self.gi,
            theta: &mut self.theta,
            refractory: &mut self.refractory,
            spiked: &mut self.spiked,
            activity: &mut self.activity,
            active: &mut self.active,
        }
    }
}

/// The whole state of a network in `Vec`s, sized for one [`Network`].
#[derive(Debug, Clone, Default)]
pub struct OwnedState<T> {
    /// Next step number.
    pub step: u32,
    /// The step the postsynaptic traces have been decayed up to.
    pub post_step: u32,
    /// Weights, `weights[i * n + j]`.
    pub weights: Vec<T>,
    /// Presynaptic traces at each input's last spike.
    pub x_pre: Vec<T>,
    /// Step of each input's last spike.
    pub pre_last: Vec<u32>,
    /// Scratch.
    pub x_pre_now: Vec<T>,
    /// Postsynaptic trace 1.
    pub x_post1: Vec<T>,
    /// Postsynaptic trace 2.
    pub x_post2: Vec<T>,
    /// Scratch.
    pub scratch: Vec<T>,
    /// Input -> excitatory delays in steps, `delays[i * n + j]` (empty: none).
    pub delays: Vec<u8>,
    /// Spikes on their way, per input (with delays, else empty).
    pub pre_hist: Vec<u32>,
    /// Excitatory layer.
    pub exc: OwnedLayer<T>,
    /// Inhibitory layer (empty without the inhibitory layer).
    pub inh: OwnedLayer<T>,
}

impl<T: Real> OwnedState<T> {
    /// Zeroed buffers of the sizes `net` needs; call `Network::init_state` next.
    pub fn new(net: &Network<T>) -> Self {
        let (ni, n) = (net.n_inputs(), net.n_neurons());
        OwnedState {
            step: 0,
            post_step: 0,
            weights: vec![T::ZERO; ni * n],
            x_pre: vec![T::ZERO; ni],
            pre_last: vec![0; ni],
            x_pre_now: vec![T::ZERO; ni],
            x_post1: vec![T::ZERO; n],
            x_post2: vec![T::ZERO; n],
            scratch: vec![T::ZERO; n],
            delays: Vec::new(),
            pre_hist: Vec::new(),
            exc: OwnedLayer::new(n),
            inh: OwnedLayer::new(if net.has_inhibitory_layer() { n } else { 0 }),
        }
    }

    /// Gives every input -> excitatory synapse a delay (steps, row-major by
    /// input); an empty `delays` removes them.
    pub fn set_delays(&mut self, delays: Vec<u8>) {
        self.pre_hist = if delays.is_empty() {
            Vec::new()
        } else {
            vec![0; self.x_pre.len()]
        };
        self.delays = delays;
    }

    /// The view that `Network`'s methods take.
    pub fn view(&mut self) -> State<'_, T> {
        State {
            step: &mut self.step,
            post_step: &mut self.post_step,
            weights: &mut self.weights,
            x_pre: &mut self.x_pre,
            pre_last: &mut self.pre_last,
            x_pre_now: &mut self.x_pre_now,
            x_post1: &mut self.x_post1,
            x_post2: &mut self.x_post2,
            scratch: &mut self.scratch,
            delays: &self.delays,
            pre_hist: &mut self.pre_hist,
            exc: self.exc.view(),
            inh: self.inh.view(),
        }
    }
}

impl<T: Real> OwnedState<T> {
    /// Every state value but weights and theta, in a fixed order (checkpoints).
    pub fn dynamic_values(&self) -> Vec<f64> {
        let e = &self.exc;
        let i = &self.inh;
        [
            &self.x_pre,
            &self.x_post1,
            &self.x_post2,
            &e.v,
            &e.ge,
            &e.gi,
            &i.v,
            &i.ge,
            &i.gi,
            &i.theta,
        ]
        .iter()
        .flat_map(|b| b.iter().map(|x| x.to_f64()))
        .collect()
    }

    /// Every integer of the state, in a fixed order (checkpoints).
    pub fn dynamic_ints(&self) -> Vec<u32> {
        let mut v = Vec::with_capacity(2 * self.pre_last.len() + 2 * self.exc.refractory.len() + 1);
        v.extend_from_slice(&self.pre_last);
        v.extend_from_slice(&self.pre_hist);
        v.extend_from_slice(&self.exc.refractory);
        v.extend_from_slice(&self.inh.refractory);
        v.push(self.step);
        v
    }

    /// Restores what [`OwnedState::dynamic_values`] and
    /// [`OwnedState::dynamic_ints`] saved; false if the lengths do not fit.
    pub fn restore_dynamic(&mut self, values: &[f64], ints: &[u32]) -> bool {
        let need_v: usize = [&self.x_pre, &self.x_post1, &self.x_post2]
            .iter()
            .map(|b| b.len())
            .sum::<usize>()
            + 3 * self.exc.v.len()
            + 4 * self.inh.v.len();
        let need_i =
            self.pre_last.len() + self.pre_hist.len() + self.exc.refractory.len() + self.inh.refractory.len() + 1;
        if values.len() != need_v || ints.len() != need_i {
            return false;
        }
        let mut it = values.iter().map(|&x| T::from_f64(x));
        let e = &mut self.exc;
        let i = &mut self.inh;
        for b in [
            &mut self.x_pre,
            &mut self.x_post1,
            &mut self.x_post2,
            &mut e.v,
            &mut e.ge,
            &mut e.gi,
            &mut i.v,
            &mut i.ge,
            &mut i.gi,
            &mut i.theta,
        ] {
            for x in b.iter_mut() {
                *x = it.next().unwrap_or(T::ZERO);
            }
        }
        let (a, rest) = ints.split_at(self.pre_last.len());
        self.pre_last.copy_from_slice(a);
        let (h, rest) = rest.split_at(self.pre_hist.len());
        self.pre_hist.copy_from_slice(h);
        let (b, rest) = rest.split_at(e.refractory.len());
        e.refractory.copy_from_slice(b);
        let (c, rest) = rest.split_at(i.refractory.len());
        i.refractory.copy_from_slice(c);
        self.step = rest[0];
        // Checkpoints are written while learning, when the traces are
        // decayed up to the current step.
        self.post_step = self.step;
        e.activity = Activity::All;
        i.activity = Activity::All;
        true
    }
}
