//! The application's memory, all caller-owned: `static`s on the chip,
//! boxes in host tests.

use stdp_core::{FrozenBuffers, Fx, NetworkBuffers};

/// Caller-owned memory of the application. Capacities: `N` neurons for
/// inference ([`FrozenBuffers`]), `LI` x `LN` for learning ([`NetworkBuffers`]
/// with weights in RAM), `inputs` slices for `max_inputs` inputs.
pub struct Memory<'a, const N: usize, const LI: usize, const LN: usize> {
    /// Two upload slots of equal size (empty: no upload). The image being
    /// uploaded goes to the slot that does not hold the current model.
    pub slots: [&'a mut [u8]; 2],
    /// A model image built into flash, loaded at start and after a reset
    /// that forgets the uploaded model.
    pub builtin: Option<&'a [u8]>,
    /// Inference state (weights stay in the image).
    pub frozen: &'a mut FrozenBuffers<Fx, N>,
    /// Learning state (weights in RAM); `None`: no learning.
    pub plastic: Option<&'a mut NetworkBuffers<Fx, LI, LN>>,
    /// Input buffers, all of the same length (the most inputs).
    pub inputs: InputMemory<'a>,
    /// Spike counts of the last run (N).
    pub counts: &'a mut [u32],
    /// A streamed recording's events kept for replays (the retry of an
    /// event model), packed by [`crate::app::pack_event`]; empty: no replays.
    pub replay: &'a mut [u64],
}

/// The per-input buffers: the Poisson source's and the current digit's.
pub struct InputMemory<'a> {
    /// Poisson: next spike step.
    pub next: &'a mut [u32],
    /// Poisson: 1 / ln(1 - p).
    pub inv_log: &'a mut [f32],
    /// Poisson: bucket links.
    pub link: &'a mut [u16],
    /// Rates (Hz).
    pub rates: &'a mut [f32],
    /// Inputs spiking in a step (also a streamed recording's step list).
    pub spikes: &'a mut [u16],
    /// The digit's pixels of [`Request::PresentDigit`].
    pub pixels: &'a mut [u8],
}
