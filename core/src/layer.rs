//! The plain data of a layer, shared by the neuron code and every backend:
//! the state buffers ([`LayerState`]) with their activity promise
//! ([`Activity`]), and the parameters a backend's own conductance step
//! needs ([`CondParams`], [`CondStep`]). A leaf: it knows no backend.

use crate::Error;

/// The state of a layer of `n` neurons, in caller-owned buffers of length `n`.
#[derive(Debug)]
pub struct LayerState<'a, T> {
    /// Membrane potential (mV).
    pub v: &'a mut [T],
    /// Excitatory conductance (dimensionless, relative to the leak).
    pub ge: &'a mut [T],
    /// Inhibitory conductance (dimensionless, relative to the leak).
    pub gi: &'a mut [T],
    /// Adaptive threshold theta (mV).
    pub theta: &'a mut [T],
    /// Refractory steps left, counting the current step: the neuron is
    /// refractory in this step while this is > 0.
    pub refractory: &'a mut [u32],
    /// Whether the neuron spiked in the last step.
    pub spiked: &'a mut [bool],
    /// Which neurons the next step must process (see [`Activity`]).
    pub activity: &'a mut Activity,
    /// With [`Activity::Listed`]: `false` promises that the neuron is at rest.
    pub active: &'a mut [bool],
}

/// What a layer's state promises about its neurons, so that the
/// fixed-point step (its integer kernel) can skip those at rest.
///
/// A neuron is *at rest* if v = v_rest, ge = gi = 0, it is not refractory,
/// did not spike, and its last step found it below threshold there. The
/// step sets the promise; every call that gives the layer input or moves
/// its state weakens it. Code that writes a [`LayerState`]'s buffers
/// directly must set [`Activity::All`] (always correct, only slower).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Activity {
    /// No promise: the step processes every neuron.
    #[default]
    All,
    /// Neurons whose `active` flag is `false` are at rest.
    Listed,
    /// Every neuron is at rest (every `active` flag is `false`).
    Rest,
}

impl<T> LayerState<'_, T> {
    /// Neuron `j` gets input: it must be processed by the next step.
    #[inline(always)]
    pub(crate) fn wake(&mut self, j: usize) {
        if *self.activity != Activity::All {
            if let Some(a) = self.active.get_mut(j) {
                *a = true;
                *self.activity = Activity::Listed;
            } else {
                *self.activity = Activity::All;
            }
        }
    }

    /// Number of neurons.
    pub fn len(&self) -> usize {
        self.v.len()
    }
    /// Whether the layer has no neurons.
    pub fn is_empty(&self) -> bool {
        self.v.is_empty()
    }
    pub(crate) fn check(&self, n: usize) -> Result<(), Error> {
        let ok = self.v.len() == n
            && self.active.len() == n
            && self.ge.len() == n
            && self.gi.len() == n
            && self.theta.len() == n
            && self.refractory.len() == n
            && self.spiked.len() == n;
        if ok {
            Ok(())
        } else {
            Err(Error::BufferSize("layer"))
        }
    }
}

/// The parameters of a conductance layer that its step needs (domain units).
#[derive(Debug, Clone, Copy)]
pub struct CondParams {
    /// dt / tau_m.
    pub a: f64,
    /// Resting potential (mV).
    pub v_rest: f64,
    /// Excitatory reversal potential (mV).
    pub e_exc: f64,
    /// Inhibitory reversal potential (mV).
    pub e_inh: f64,
    /// v_thresh - theta_offset (mV).
    pub thresh: f64,
}

/// Per-step inputs of a layer's step: the decay factors due at this step
/// ([`crate::Real::FACTOR_ONE`] when not due) and the refractory period.
#[derive(Debug, Clone, Copy)]
pub struct CondStep<F> {
    /// Factor of ge.
    pub ge_f: F,
    /// Factor of gi.
    pub gi_f: F,
    /// Factor of theta.
    pub theta_f: F,
    /// Steps from a spike to the next possible one (counter start).
    pub refractory_steps: u32,
    /// v is held while the counter is above this (1: for the whole period).
    pub hold_above: u32,
}
