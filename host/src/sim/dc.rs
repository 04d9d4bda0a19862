//! The Diehl & Cook procedure on one backend: present an example (Poisson
//! rate coding, the intensity retry, rest), label assignment and
//! classification.

use anyhow::{anyhow, Result};
use stdp_core::present::PresentBuffers;
use stdp_core::rng::Xoshiro128pp;
use stdp_core::shard::{Alone, Collective};
use stdp_core::{Network, QuantizedWeights, Real};

use stdp_core::present_events::{EventInput, Retry, SliceSource};

use crate::config::{Config, InputConfig};
use crate::examples::Input;
use crate::sim::owned::OwnedState;
use crate::sim::simd::{present_events_on, present_on, Isa};

/// Number of classes.
pub const CLASSES: usize = stdp_core::present::CLASSES;
/// "No class" in an assignment (the neuron never fired on the labelled set).
pub const UNASSIGNED: u8 = u8::MAX;

/// The random stream of one presentation: a function of the run's seed,
/// the pass (epoch; `u64::MAX - k` for evaluation passes) and the example's
/// index, so every example's spike trains are reproducible on their own,
/// in any order and on any thread, and identical for every backend.
pub fn example_rng(seed: u64, pass: u64, index: u64) -> Rng {
    // The mixing lives in the core so that the firmware seeds the same way.
    Rng::seed_from_u64(stdp_core::rng::stream_seed(seed, pass, index))
}

/// The random generator of presentations: the core's portable
/// xoshiro128++, so the chip draws the same spike trains.
pub type Rng = Xoshiro128pp;

/// The input -> excitatory delays of `cfg` (steps, row-major by input;
/// empty without delays): Diehl & Cook draw each synapse's delay uniformly
/// from [0, input_delay_ms], here rounded to whole steps (as Brian rounds a
/// delay to dt). One fixed pattern per network size, the same for every
/// seed and backend (a wiring, like the network's connectivity).
pub fn input_delays(cfg: &Config) -> Vec<u8> {
    use rand::Rng as _;
    let max = cfg.delay_steps();
    if max == 0 {
        return Vec::new();
    }
    let mut rng = example_rng(0, u64::MAX / 3, 0);
    let span = cfg.input_delay_ms / cfg.dt_ms;
    (0..cfg.n_inputs * cfg.n_neurons)
        .map(|_| ((rng.gen::<f64>() * span).round() as u32).min(max) as u8)
        .collect()
}

/// What one example did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExampleResult {
    /// Excitatory spikes per neuron in the final presentation.
    pub counts: Vec<u32>,
    /// Presentations repeated at a higher intensity.
    pub retries: u32,
    /// Input spikes delivered, all presentations.
    pub input_spikes: u64,
}

/// A network on backend `T` with its state and input buffers.
#[derive(Debug, Clone)]
pub struct Sim<T: Real> {
    /// The procedure's configuration.
    pub cfg: Config,
    /// The network's constants.
    pub net: Network<T>,
    /// Its state (weights, theta, ...).
    pub st: OwnedState<T>,
    /// The instruction set the presentations run on ([`Isa::chosen`] by
    /// default; every one gives the same numbers).
    pub isa: Isa,
    next: Vec<u32>,
    inv_log: Vec<f32>,
    link: Vec<u16>,
    rates: Vec<f32>,
    spikes: Vec<u16>,
    /// Event input (`None`: digits) and its step's spike list.
    events: Option<EventInput>,
    event_spikes: Vec<u16>,
}

/// Entries of a step's spike list for event input, per unit of gain:
/// N-MNIST's busiest 0.5 ms steps carry 15-26 events (core's
/// [`stdp_core::present_events`]), so this leaves a wide margin.
pub const EVENT_SPIKES_PER_GAIN: usize = 1024;

impl<T: Real> Sim<T> {
    /// A network for `cfg` with the given weights (`n_inputs * n_neurons`,
    /// row-major by input) and theta (mV), in the start-of-run state.
    pub fn new(cfg: &Config, weights: &[f64], theta: Option<&[f64]>) -> Result<Self> {
        cfg.check()?;
        let net = Network::<T>::new(&cfg.network()).map_err(|e| anyhow!("network parameters: {e}"))?;
        let mut st = OwnedState::new(&net);
        st.set_delays(input_delays(cfg));
        if weights.len() != st.weights.len() {
            return Err(anyhow!("weights: {} values, need {}", weights.len(), st.weights.len()));
        }
        for (w, &x) in st.weights.iter_mut().zip(weights) {
            *w = T::from_f64(x);
        }
        net.init_state(&mut st.view()).map_err(|e| anyhow!("{e}"))?;
        if let Some(theta) = theta {
            if theta.len() != cfg.n_neurons {
                return Err(anyhow!("theta: {} values, need {}", theta.len(), cfg.n_neurons));
            }
            net.load_theta(&mut st.view(), theta.iter().map(|&x| T::from_f64(x)))
                .map_err(|e| anyhow!("{e}"))?;
        }
        let n_in = cfg.n_inputs;
        let events = match cfg.input {
            InputConfig::Digits => None,
            InputConfig::Events(e) => Some(EventInput {
                retry: e.retry(),
                ..EventInput::new(e.layout()?)
            }),
        };
        let gain = match events.map(|e| e.retry) {
            Some(Retry::Gain { max }) => max.max(1) as usize,
            _ => 1,
        };
        let event_spikes = if events.is_some() {
            vec![0; EVENT_SPIKES_PER_GAIN * gain]
        } else {
            Vec::new()
        };
        Ok(Sim {
            cfg: *cfg,
            net,
            st,
            isa: Isa::chosen(),
            next: vec![0; n_in],
            inv_log: vec![0.0; n_in],
            link: vec![0; n_in],
            rates: vec![0.0; n_in],
            spikes: vec![0; n_in],
            events,
            event_spikes,
        })
    }

    /// Diehl & Cook's initial weights: (uniform(0,1) + 0.01) * scale, clipped to w_max.
    pub fn initial_weights(cfg: &Config, seed: u64) -> Vec<f64> {
        use rand::Rng as _;
        let mut rng = example_rng(seed, u64::MAX / 2, 0);
        (0..cfg.n_inputs * cfg.n_neurons)
            .map(|_| ((rng.gen::<f64>() + 0.01) * cfg.init_weight_scale).min(cfg.stdp.w_max))
            .collect()
    }

    /// Weights as f64, row-major by input.
    pub fn weights_f64(&self) -> Vec<f64> {
        self.st.weights.iter().map(|w| w.to_f64()).collect()
    }

    /// theta (mV) as f64.
    pub fn theta_f64(&self) -> Vec<f64> {
        self.st.exc.theta.iter().map(|w| w.to_f64()).collect()
    }

    /// Presents one digit with the core's procedure
    /// ([`stdp_core::present::present`]): (learning: normalise weights),
    /// Poisson input at pixel / 8 * intensity Hz for `present_ms`, then
    /// `rest_ms` of silence (or, with rest 0 or `independent`, a reset of
    /// the dynamics first); fewer than `min_spikes` excitatory spikes:
    /// intensity += 1 and again, up to `max_intensity`. `learn` switches
    /// STDP and theta adaptation. `quantized`: run with these read-only
    /// 8-bit weights instead (what the chip does).
    pub fn present_with(
        &mut self,
        pixels: &[u8],
        rng: &mut Rng,
        learn: bool,
        independent: bool,
        quantized: Option<&QuantizedWeights<'_, T>>,
    ) -> Result<ExampleResult> {
        self.present_in(pixels, rng, learn, independent, quantized, &mut Alone)
    }

    /// [`Sim::present_with`] as one shard of a network split across
    /// threads (see [`crate::sim::shards`]).
    pub fn present_in<C: Collective + ?Sized>(
        &mut self,
        pixels: &[u8],
        rng: &mut Rng,
        learn: bool,
        independent: bool,
        quantized: Option<&QuantizedWeights<'_, T>>,
        c: &mut C,
    ) -> Result<ExampleResult> {
        let mut counts = vec![0; self.cfg.n_neurons];
        let mut bufs = PresentBuffers {
            next: &mut self.next,
            inv_log: &mut self.inv_log,
            link: &mut self.link,
            rates: &mut self.rates,
            spikes: &mut self.spikes,
        };
        let o = present_on(
            self.isa,
            &mut self.net,
            &mut self.st.view(),
            quantized,
            pixels,
            &self.cfg.procedure(),
            learn,
            independent,
            &mut bufs,
            rng,
            &mut counts,
            c,
        )
        .map_err(|e| anyhow!("presentation: {e}"))?;
        Ok(ExampleResult {
            counts,
            retries: o.retries,
            input_spikes: o.input_spikes as u64,
        })
    }

    /// Presents one example's input ([`Input`]): a digit as
    /// [`Sim::present_in`], a recording with the core's
    /// [`stdp_core::present_events`] (the rng is then not used). Errors:
    /// an input of the other kind than the network's.
    pub fn present_input<C: Collective + ?Sized>(
        &mut self,
        input: &Input<'_>,
        rng: &mut Rng,
        learn: bool,
        independent: bool,
        quantized: Option<&QuantizedWeights<'_, T>>,
        c: &mut C,
    ) -> Result<ExampleResult> {
        match (input, self.events) {
            (Input::Pixels(p), None) => self.present_in(p, rng, learn, independent, quantized, c),
            (Input::Events(ev), Some(ei)) => {
                let mut counts = vec![0; self.cfg.n_neurons];
                let o = present_events_on(
                    self.isa,
                    &mut self.net,
                    &mut self.st.view(),
                    quantized,
                    &mut SliceSource::new(ev),
                    &ei,
                    &self.cfg.procedure(),
                    learn,
                    independent,
                    &mut self.event_spikes,
                    &mut counts,
                    c,
                )
                .map_err(|e| anyhow!("presentation of events: {e}"))?;
                Ok(ExampleResult {
                    counts,
                    retries: o.present.retries,
                    input_spikes: o.present.input_spikes as u64,
                })
            }
            (Input::Pixels(_), Some(_)) => Err(anyhow!("this network takes events, not digits")),
            (Input::Events(_), None) => Err(anyhow!("this network takes digits, not events")),
        }
    }

    /// [`Sim::present_input`] alone on the network's own weights; a
    /// failure (an input of the wrong kind, checked by the commands before)
    /// panics.
    pub fn present_example(
        &mut self,
        input: &Input<'_>,
        rng: &mut Rng,
        learn: bool,
        independent: bool,
    ) -> ExampleResult {
        match self.present_input(input, rng, learn, independent, None, &mut Alone) {
            Ok(r) => r,
            Err(e) => panic!("{e:#}"),
        }
    }

    /// [`Sim::present_with`] on the network's own weights. The buffers were
    /// sized by this network and the digit by the data set's checks, so it
    /// cannot fail; a failure would be a bug and panics.
    pub fn present(&mut self, pixels: &[u8], rng: &mut Rng, learn: bool, independent: bool) -> ExampleResult {
        match self.present_with(pixels, rng, learn, independent, None) {
            Ok(r) => r,
            Err(e) => panic!("{e:#}"),
        }
    }
}

/// Per-neuron spike counts accumulated by class, for label assignment.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassCounts {
    /// `sums[j * 10 + c]`: spikes of neuron j over examples of class c.
    pub sums: Vec<f64>,
    /// Examples of each class.
    pub examples: [u64; CLASSES],
}

impl ClassCounts {
    /// Empty, for `n` neurons.
    pub fn new(n: usize) -> Self {
        ClassCounts {
            sums: vec![0.0; n * CLASSES],
            examples: [0; CLASSES],
        }
    }
    /// Adds one example's counts.
    pub fn add(&mut self, counts: &[u32], label: u8) {
        let c = label as usize % CLASSES;
        self.examples[c] += 1;
        for (j, &k) in counts.iter().enumerate() {
            self.sums[j * CLASSES + c] += k as f64;
        }
    }
    /// Adds `other`'s counts (exact: the sums are whole numbers far below
    /// 2^53, so any grouping of the examples gives the same result).
    pub fn merge(mut self, other: ClassCounts) -> ClassCounts {
        for (a, b) in self.sums.iter_mut().zip(&other.sums) {
            *a += b;
        }
        for (a, b) in self.examples.iter_mut().zip(other.examples) {
            *a += b;
        }
        self
    }
    /// Each neuron's class: the one with the highest mean count
    /// ([`UNASSIGNED`] if it never fired).
    pub fn assign(&self) -> Vec<u8> {
        self.sums
            .chunks_exact(CLASSES)
            .map(|s| {
                let mut best = (UNASSIGNED, 0.0);
                for (c, (&sum, &examples)) in s.iter().zip(&self.examples).enumerate() {
                    if examples > 0 && sum / examples as f64 > best.1 {
                        best = (c as u8, sum / examples as f64);
                    }
                }
                best.0
            })
            .collect()
    }
}

pub use stdp_core::present::classify;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignment_picks_highest_mean_not_highest_total() {
        let mut cc = ClassCounts::new(2);
        // Neuron 0: 10 spikes over 10 examples of class 3 (mean 1), 4 over 2 of class 5 (mean 2).
        for _ in 0..10 {
            cc.add(&[1, 0], 3);
        }
        for _ in 0..2 {
            cc.add(&[2, 0], 5);
        }
        assert_eq!(cc.assign(), vec![5, UNASSIGNED]);
    }

    #[test]
    fn classify_uses_mean_over_assigned_neurons() {
        // Class 1 has two neurons (5 + 1 = mean 3), class 2 one neuron (4).
        assert_eq!(classify(&[5, 1, 4], &[1, 1, 2]), 2);
        assert_eq!(classify(&[0, 0, 0], &[1, 1, 2]), 0);
        assert_eq!(classify(&[9, 1], &[UNASSIGNED, 7]), 7);
    }

    #[test]
    fn example_streams_differ_by_index_and_pass_but_repeat() {
        use rand::RngCore;
        let a = example_rng(1, 0, 5).next_u64();
        assert_eq!(a, example_rng(1, 0, 5).next_u64());
        assert_ne!(a, example_rng(1, 0, 6).next_u64());
        assert_ne!(a, example_rng(1, 1, 5).next_u64());
        assert_ne!(a, example_rng(2, 0, 5).next_u64());
    }
}
