//! Heap-allocated network state for the host (the chip uses
//! `stdp_core::Storage` in a `static`).

use stdp_core::neuron::LayerState;
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
        }
    }
}

/// The whole state of a network in `Vec`s, sized for one [`Network`].
#[derive(Debug, Clone, Default)]
pub struct OwnedState<T> {
    /// Next step number.
    pub step: u32,
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
            weights: vec![T::ZERO; ni * n],
            x_pre: vec![T::ZERO; ni],
            pre_last: vec![0; ni],
            x_pre_now: vec![T::ZERO; ni],
            x_post1: vec![T::ZERO; n],
            x_post2: vec![T::ZERO; n],
            scratch: vec![T::ZERO; n],
            exc: OwnedLayer::new(n),
            inh: OwnedLayer::new(if net.has_inhibitory_layer() { n } else { 0 }),
        }
    }

    /// The view that `Network`'s methods take.
    pub fn view(&mut self) -> State<'_, T> {
        State {
            step: &mut self.step,
            weights: &mut self.weights,
            x_pre: &mut self.x_pre,
            pre_last: &mut self.pre_last,
            x_pre_now: &mut self.x_pre_now,
            x_post1: &mut self.x_post1,
            x_post2: &mut self.x_post2,
            scratch: &mut self.scratch,
            exc: self.exc.view(),
            inh: self.inh.view(),
        }
    }
}
