//! The Diehl & Cook experiment's configuration: network parameters and the
//! training procedure, serialisable (stored in model files, accepted as a
//! `--params` JSON file).

use serde::{Deserialize, Serialize};
use stdp_core::{Inhibition, NetworkParams, NeuronParams, Rule, StdpParams, TraceMode};

/// Learning rule names as on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleArg {
    /// Diehl & Cook's triplet rule (their code's default).
    Triplet,
    /// Pair rule.
    Pair,
    /// Power-law weight dependence.
    PowerLaw,
    /// Exponential weight dependence.
    ExpWeight,
}

crate::named!(RuleArg { Triplet = "triplet", Pair = "pair", PowerLaw = "power-law", ExpWeight = "exp-weight" });

impl From<RuleArg> for Rule {
    fn from(r: RuleArg) -> Rule {
        match r {
            RuleArg::Triplet => Rule::Triplet,
            RuleArg::Pair => Rule::Pair,
            RuleArg::PowerLaw => Rule::PowerLaw,
            RuleArg::ExpWeight => Rule::ExpWeight,
        }
    }
}

/// Lateral inhibition as on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InhibArg {
    /// Diehl & Cook's inhibitory layer (exc -> inh 10.4, inh -> exc 17.0).
    Layer,
    /// Direct exc -> exc inhibition (cheaper).
    Direct,
}

crate::named!(InhibArg { Layer = "layer", Direct = "direct" });

/// The procedure's bounds: the core's, which a chip image is checked
/// against too.
pub use stdp_core::image::{MAX_INTENSITY, MAX_PHASE_MS, MAX_PHASE_STEPS};

/// Everything that defines a Diehl & Cook run. Defaults: the paper.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Excitatory neurons.
    pub n_neurons: usize,
    /// Inputs (pixels).
    pub n_inputs: usize,
    /// Time step (ms).
    pub dt_ms: f64,
    /// Presentation time per example (ms).
    pub present_ms: f64,
    /// Rest after each example (ms); 0 resets the dynamics instead.
    pub rest_ms: f64,
    /// Learning rule.
    pub rule: RuleArg,
    /// Lateral inhibition.
    pub inhibition: InhibArg,
    /// Weight of direct inhibition (gi units).
    pub direct_inh_weight: f64,
    /// Exc -> inh weight of the inhibitory layer.
    pub w_exc_inh: f64,
    /// Inh -> exc weight of the inhibitory layer.
    pub w_inh_exc: f64,
    /// Starting input intensity: rate = pixel / 8 * intensity Hz.
    pub intensity: f32,
    /// Intensity cap of the retry loop (a presentation at this intensity is final).
    pub max_intensity: f32,
    /// Fewer excitatory spikes than this: intensity += 1 and present again.
    pub min_spikes: u32,
    /// Each neuron's input weights are rescaled to sum to this before every
    /// training example (Diehl & Cook: 78 for 784 inputs).
    pub norm_target: f64,
    /// Initial weights: (uniform(0,1) + 0.01) * this.
    pub init_weight_scale: f64,
    /// Excitatory neurons (in files: core's serde form, `stdp_core`'s
    /// `ser_de`: the model as the flags `conductance` and `cuba`, no decay
    /// of theta as `"tau_theta_ms": null`).
    pub exc: NeuronParams,
    /// Inhibitory neurons (inhibitory layer only).
    pub inh: NeuronParams,
    /// nu_pre.
    pub nu_pre: f64,
    /// nu_post.
    pub nu_post: f64,
    /// ms.
    pub tau_pre_ms: f64,
    /// ms.
    pub tau_post1_ms: f64,
    /// ms.
    pub tau_post2_ms: f64,
    /// w_max.
    pub w_max: f64,
    /// x_tar (power-law, exp-weight).
    pub x_tar: f64,
    /// mu (power-law).
    pub mu: f64,
    /// beta (exp-weight).
    pub beta: f64,
    /// Input -> excitatory delays: each synapse's delay is drawn uniformly
    /// from [0, this] ms (Diehl & Cook: 10), rounded to steps; at most 31
    /// steps. 0: no delays.
    pub input_delay_ms: f64,
}

impl Default for Config {
    fn default() -> Self {
        let s = StdpParams::diehl_cook();
        Config {
            n_neurons: 100,
            n_inputs: 784,
            dt_ms: 0.5,
            present_ms: 350.0,
            rest_ms: 150.0,
            rule: RuleArg::Triplet,
            inhibition: InhibArg::Layer,
            direct_inh_weight: 17.0,
            w_exc_inh: 10.4,
            w_inh_exc: 17.0,
            intensity: 2.0,
            max_intensity: 32.0,
            min_spikes: 5,
            norm_target: 78.0,
            init_weight_scale: 0.3,
            exc: NeuronParams::diehl_cook_excitatory(),
            inh: NeuronParams::diehl_cook_inhibitory(),
            nu_pre: s.nu_pre,
            nu_post: s.nu_post,
            tau_pre_ms: s.tau_pre_ms,
            tau_post1_ms: s.tau_post1_ms,
            tau_post2_ms: s.tau_post2_ms,
            w_max: s.w_max,
            x_tar: s.x_tar,
            mu: s.mu,
            beta: s.beta,
            input_delay_ms: 0.0,
        }
    }
}

impl Config {
    /// The core's network parameters.
    pub fn network(&self) -> NetworkParams {
        NetworkParams {
            n_inputs: self.n_inputs,
            n_neurons: self.n_neurons,
            dt_ms: self.dt_ms,
            neurons: self.exc,
            stdp: StdpParams {
                rule: self.rule.into(),
                trace_mode: TraceMode::Set,
                nu_pre: self.nu_pre,
                nu_post: self.nu_post,
                tau_pre_ms: self.tau_pre_ms,
                tau_post1_ms: self.tau_post1_ms,
                tau_post2_ms: self.tau_post2_ms,
                w_max: self.w_max,
                x_tar: self.x_tar,
                mu: self.mu,
                beta: self.beta,
            },
            inhibition: match self.inhibition {
                InhibArg::Direct => Inhibition::Direct {
                    w: self.direct_inh_weight,
                },
                InhibArg::Layer => Inhibition::Layer {
                    neurons: self.inh,
                    w_exc_inh: self.w_exc_inh,
                    w_inh_exc: self.w_inh_exc,
                },
            },
        }
    }

    /// The presentation procedure as the core (and the chip) runs it.
    pub fn procedure(&self) -> stdp_core::image::Procedure {
        stdp_core::image::Procedure {
            intensity: self.intensity,
            max_intensity: self.max_intensity,
            present_ms: self.present_ms as f32,
            rest_ms: self.rest_ms as f32,
            min_spikes: self.min_spikes,
            norm_target: self.norm_target as f32,
        }
    }

    /// Steps of presentation.
    pub fn present_steps(&self) -> u32 {
        (self.present_ms / self.dt_ms).round() as u32
    }

    /// Steps of rest.
    pub fn rest_steps(&self) -> u32 {
        (self.rest_ms / self.dt_ms).round() as u32
    }

    /// The longest input delay in steps (0: no delays).
    pub fn delay_steps(&self) -> u32 {
        (self.input_delay_ms / self.dt_ms).round() as u32
    }

    /// Checks the procedure's own parameters (the core checks the network's).
    pub fn check(&self) -> anyhow::Result<()> {
        use anyhow::bail;
        if self.n_neurons == 0 || self.n_neurons > 65_536 {
            bail!("n_neurons must be 1 to 65536 (got {})", self.n_neurons);
        }
        if !(self.dt_ms > 0.0 && self.dt_ms.is_finite()) {
            bail!("dt_ms must be > 0");
        }
        if !(self.present_ms >= self.dt_ms && self.present_ms.is_finite()) {
            bail!("present_ms must be at least one step");
        }
        if !(self.rest_ms >= 0.0 && self.rest_ms.is_finite()) {
            bail!("rest_ms must be >= 0");
        }
        if !(self.intensity > 0.0
            && self.max_intensity >= self.intensity
            && f64::from(self.max_intensity) <= MAX_INTENSITY)
        {
            bail!("need 0 < intensity <= max_intensity <= {MAX_INTENSITY}");
        }
        if !(self.norm_target > 0.0 && self.init_weight_scale >= 0.0) {
            bail!("norm_target must be > 0 and init_weight_scale >= 0");
        }
        if !(self.present_ms <= MAX_PHASE_MS && self.rest_ms <= MAX_PHASE_MS) {
            bail!("present_ms and rest_ms must be <= {MAX_PHASE_MS} ms (one example's phase)");
        }
        if !(self.present_ms / self.dt_ms <= MAX_PHASE_STEPS as f64
            && self.rest_ms / self.dt_ms <= MAX_PHASE_STEPS as f64)
        {
            bail!("present_ms / dt_ms and rest_ms / dt_ms must be <= {MAX_PHASE_STEPS} steps");
        }
        if !(self.input_delay_ms >= 0.0 && self.input_delay_ms.is_finite() && self.delay_steps() <= 31) {
            bail!(
                "input_delay_ms must be in [0, 31 * dt_ms] (at most 31 steps; dt_ms = {})",
                self.dt_ms
            );
        }
        if self.n_inputs != 784 {
            bail!("n_inputs must be 784 (28x28 images)");
        }
        Ok(())
    }
}
