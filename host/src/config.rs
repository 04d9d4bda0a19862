//! The Diehl & Cook experiment's configuration: network parameters and the
//! training procedure, serialisable (stored in model files, accepted as a
//! `--params` JSON file).

use std::borrow::Cow;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use stdp_core::present_events::{EventLayout, Polarity, Retry};
use stdp_core::{Inhibition, InhibitionKind, NetworkParams, NeuronParams, Procedure, Rule, StdpParams};

/// The learning rules a Diehl & Cook run is trained with, in the order
/// `--rule` lists them (`"none"`, which learns nothing, is for scenarios
/// and `--params` files).
pub const RULES: [Rule; 4] = [Rule::Triplet, Rule::Pair, Rule::PowerLaw, Rule::ExpWeight];

/// The lateral inhibitions host-sim runs, in the order `--inhibition` lists
/// them: Diehl & Cook's inhibitory layer (exc -> inh 10.4, inh -> exc
/// 17.0) and direct exc -> exc inhibition (cheaper). The core's `none` is
/// refused by [`Config::check`].
pub const INHIBITIONS: [InhibitionKind; 2] = [InhibitionKind::Layer, InhibitionKind::Direct];

/// The procedure's bounds: the core's, which a chip image is checked
/// against too.
pub use stdp_core::procedure::{MAX_INTENSITY, MAX_PHASE_MS, MAX_PHASE_STEPS};
/// The most excitatory neurons: the core's, what a chip image holds.
pub use stdp_core::MAX_NEURONS;

/// Checks a count of excitatory neurons, `what` in the error (`n_neurons`,
/// `--neurons`): 1 to [`MAX_NEURONS`], what a chip image holds, so that a
/// layer too large for the chip is refused before it trains rather than
/// at `export`.
pub fn check_neurons(what: &str, n: usize) -> anyhow::Result<()> {
    if n == 0 || n > MAX_NEURONS {
        anyhow::bail!("{what} must be 1 to {MAX_NEURONS}, the most a chip image holds (got {n})");
    }
    Ok(())
}

/// A named configuration that `train --preset` starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// Diehl & Cook's values and procedure ([`Config::default`]).
    Paper,
    /// The values searched on held-out training digits at 100 neurons
    /// (`docs/params/dc100-tuned.json`, embedded), training digits shuffled
    /// every epoch: the README's best 100- and 400-neuron rows.
    Best,
}
crate::named!(Preset { Paper = "paper", Best = "best" });

/// `docs/params/dc100-tuned.json`, in the binary so that `--preset best`
/// works from any directory.
const DC100_TUNED: &str = include_str!("../../docs/params/dc100-tuned.json");

impl Preset {
    /// The preset's configuration.
    pub fn config(self) -> anyhow::Result<Config> {
        Ok(match self {
            Preset::Paper => Config::default(),
            Preset::Best => Config {
                shuffle: true,
                ..serde_json::from_str(DC100_TUNED)?
            },
        })
    }
}

/// Everything that defines a Diehl & Cook run. Defaults: the paper.
///
/// In files (model headers, `train --params`, studies) the fields by their
/// names; a field left out has its default, an unknown one is refused. The
/// STDP rule and its parameters are the object `"stdp"` in core's serde form
/// ([`StdpParams`]); fields left out of it, or of the neuron objects
/// `"exc"` and `"inh"`, have their defaults too. Files
/// written before that (the flat form) hold them at the top
/// level (`"rule"`, `"nu_pre"`, ...): they still read (see [`upgrade`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields, default)]
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
    /// Lateral inhibition: one of [`INHIBITIONS`] (each kind's weights
    /// are kept, so a flag or a search can switch between them).
    pub inhibition: InhibitionKind,
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
    /// The learning rule and its rates, time constants and bounds (core's
    /// struct, as the network and the chip image hold it).
    pub stdp: StdpParams,
    /// Input -> excitatory delays: each synapse's delay is drawn uniformly
    /// from [0, this] ms (Diehl & Cook: 10), rounded to steps; at most 31
    /// steps. 0: no delays.
    pub input_delay_ms: f64,
    /// Present each epoch's training examples in a random order, a new
    /// permutation every epoch drawn from the run's seed (the same on every
    /// backend and thread count, and after `--resume`), instead of the
    /// file's order. Diehl & Cook's code goes through the file in order
    /// (false); BindsNET's example shuffles.
    pub shuffle: bool,
    /// What the inputs are: MNIST digits (Poisson rate coding, the default)
    /// or an event camera's recordings ([`InputConfig::Events`]). Left out of a
    /// file (every file written before event input) it is digits; written
    /// only when it is events, so a digit model's header is as it was.
    #[serde(skip_serializing_if = "InputConfig::is_digits")]
    pub input: InputConfig,
}

/// What a network's inputs are (`Config::input`; in files
/// `{"kind": "digits"}` (read as `"images"` too, its name before) or
/// `{"kind": "events", ...}`).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum InputConfig {
    /// MNIST digits, 28 x 28 grey pixels rate-coded as Poisson spike
    /// trains (784 inputs).
    #[default]
    #[serde(alias = "images")]
    Digits,
    /// An event camera's recordings, one input per pixel (cell) and
    /// polarity (core's [`stdp_core::present_events`]): each event is an
    /// input spike at its own time; a presentation is the first
    /// `present_ms` of a recording from its first event, then the rest.
    Events(EventInputConfig),
}

impl InputConfig {
    /// Whether this is [`InputConfig::Digits`].
    pub fn is_digits(&self) -> bool {
        matches!(self, InputConfig::Digits)
    }
    /// The event layout, `None` for digits.
    pub fn layout(&self) -> anyhow::Result<Option<EventLayout>> {
        match self {
            InputConfig::Digits => Ok(None),
            InputConfig::Events(e) => e.layout().map(Some),
        }
    }
    /// The number of inputs this input has (784 for digits).
    pub fn inputs(&self) -> anyhow::Result<usize> {
        Ok(self.layout()?.map_or(784, |l| l.inputs()))
    }
}

/// Event input's parameters (`Config::input` `{"kind": "events", ...}`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventInputConfig {
    /// Sensor width (pixels; N-MNIST: 34).
    pub width: u16,
    /// Sensor height (pixels; N-MNIST: 34).
    pub height: u16,
    /// 2: an ON and an OFF input per pixel (`input = (y * w + x) * 2 + p`);
    /// 1: polarities merged.
    pub channels: u8,
    /// Block of `f x f` pixels per input cell (1: none).
    pub downsample: u16,
    /// What to do when a recording evokes fewer than `min_spikes`
    /// excitatory spikes.
    pub retry: RetryConfig,
}

impl Default for EventInputConfig {
    fn default() -> Self {
        EventInputConfig {
            width: 34,
            height: 34,
            channels: 2,
            downsample: 1,
            retry: RetryConfig::None,
        }
    }
}

impl EventInputConfig {
    /// The core's layout (checked).
    pub fn layout(&self) -> anyhow::Result<EventLayout> {
        let polarity = match self.channels {
            2 => Polarity::Pairs,
            1 => Polarity::Merged,
            c => anyhow::bail!("input.channels must be 1 (merged polarities) or 2 (ON/OFF), got {c}"),
        };
        EventLayout::new(self.width, self.height, polarity, self.downsample)
            .map_err(|e| anyhow::anyhow!("input: event layout: {e}"))
    }
    /// The core's retry.
    pub fn retry(&self) -> Retry {
        match self.retry {
            RetryConfig::None => Retry::None,
            RetryConfig::Gain { max } => Retry::Gain { max },
            RetryConfig::Threshold { step_mv, max_steps } => Retry::Threshold { step_mv, max_steps },
        }
    }
}

/// A recording that evokes too few spikes (core's [`Retry`]); in files
/// `{"kind": "none"}`, `{"kind": "gain", "max": 4}`,
/// `{"kind": "threshold", "step_mv": 1.0, "max_steps": 4}`.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum RetryConfig {
    /// Shown once.
    #[default]
    None,
    /// Replayed with every event delivered g = 2, 3, ... `max` times.
    Gain {
        /// Largest gain.
        max: u8,
    },
    /// Replayed with the threshold lowered by r * `step_mv`, r = 1 ... `max_steps`.
    Threshold {
        /// Lowering per replay (mV).
        step_mv: f32,
        /// Most replays.
        max_steps: u8,
    },
}

impl std::str::FromStr for RetryConfig {
    type Err = String;
    /// `none`, `gain:K`, `threshold:MV:K`.
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?}: use none, gain:K (K = 1-255) or threshold:MV:K");
        let parts: Vec<&str> = s.split(':').collect();
        match parts.as_slice() {
            ["none"] => Ok(RetryConfig::None),
            ["gain", k] => Ok(RetryConfig::Gain {
                max: k.parse().ok().filter(|&k| k >= 1).ok_or_else(bad)?,
            }),
            ["threshold", mv, k] => Ok(RetryConfig::Threshold {
                step_mv: mv
                    .parse()
                    .ok()
                    .filter(|x: &f32| x.is_finite() && *x > 0.0)
                    .ok_or_else(bad)?,
                max_steps: k.parse().map_err(|_| bad())?,
            }),
            _ => Err(bad()),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            n_neurons: 100,
            n_inputs: 784,
            dt_ms: 0.5,
            present_ms: 350.0,
            rest_ms: 150.0,
            inhibition: InhibitionKind::Layer,
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
            stdp: StdpParams::diehl_cook(),
            input_delay_ms: 0.0,
            shuffle: false,
            input: InputConfig::Digits,
        }
    }
}

// The derive (`remote = "Self"`) writes `Config::serialize` and
// `Config::deserialize` as inherent functions; the trait impls add the
// reading of the flat form in front of them.
impl Serialize for Config {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Config::serialize(self, s)
    }
}

impl<'de> Deserialize<'de> for Config {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut v = Value::deserialize(d)?;
        upgrade(&mut v).map_err(D::Error::custom)?;
        Config::deserialize(v).map_err(D::Error::custom)
    }
}

/// The names of the STDP fields (core's serde form of [`StdpParams`]).
fn stdp_fields() -> Map<String, Value> {
    match serde_json::to_value(StdpParams::diehl_cook()) {
        Ok(Value::Object(m)) => m,
        _ => unreachable!("StdpParams serialises as an object"),
    }
}

/// Brings a serialised configuration to the current form, in place: STDP
/// fields at the top level (the flat form files had before `"stdp"`:
/// `"rule"`, `"nu_pre"`, ..., `"beta"`) move into `"stdp"`, and the fields
/// `"stdp"`, `"exc"` and `"inh"` leave out get their defaults. A field given both ways is an
/// error; anything else is left for the deserializer to judge.
pub fn upgrade(v: &mut Value) -> Result<(), String> {
    let Value::Object(top) = v else { return Ok(()) };
    let mut stdp = match top.remove("stdp") {
        None => Map::new(),
        Some(Value::Object(m)) => m,
        Some(other) => return Err(format!("\"stdp\" must be an object of STDP parameters (got {other})")),
    };
    for (name, default) in stdp_fields() {
        if let Some(x) = top.remove(&name) {
            if stdp.contains_key(&name) {
                return Err(format!(
                    "\"{name}\" is given twice: at the top level (the flat form of older files) and in \"stdp\""
                ));
            }
            stdp.insert(name, x);
        } else if !stdp.contains_key(&name) {
            stdp.insert(name, default);
        }
    }
    top.insert("stdp".into(), Value::Object(stdp));
    for (group, default) in [
        ("exc", NeuronParams::diehl_cook_excitatory()),
        ("inh", NeuronParams::diehl_cook_inhibitory()),
    ] {
        match top.get_mut(group) {
            None => {}
            Some(Value::Object(given)) => fill_neuron_defaults(given, &default),
            Some(other) => {
                return Err(format!(
                    "\"{group}\" must be an object of neuron parameters (got {other})"
                ))
            }
        }
    }
    Ok(())
}

/// Gives the fields a partial neuron object (`"exc"`, `"inh"`) leaves out
/// their defaults. The model is one choice written as two flags:
/// `"cuba": true` alone means `"conductance": false` (synaptic currents are
/// the current-based model), any other partial choice keeps the default's
/// other flag.
fn fill_neuron_defaults(given: &mut Map<String, Value>, default: &NeuronParams) {
    let Ok(Value::Object(all)) = serde_json::to_value(default) else {
        unreachable!("NeuronParams serialises as an object")
    };
    if given.get("cuba") == Some(&Value::Bool(true)) && !given.contains_key("conductance") {
        given.insert("conductance".into(), Value::Bool(false));
    }
    for (name, x) in all {
        given.entry(name).or_insert(x);
    }
}

/// The path of a configuration field as a study or `--params` names it:
/// the STDP fields may leave out their group (`"nu_pre"` for
/// `"stdp.nu_pre"`), as the flat form did; any other name is returned as it is.
pub fn field_path(name: &str) -> Cow<'_, str> {
    if stdp_fields().contains_key(name) {
        Cow::Owned(format!("stdp.{name}"))
    } else {
        Cow::Borrowed(name)
    }
}

impl Config {
    /// The core's network parameters.
    pub fn network(&self) -> NetworkParams {
        NetworkParams {
            n_inputs: self.n_inputs,
            n_neurons: self.n_neurons,
            dt_ms: self.dt_ms,
            exc: self.exc,
            stdp: self.stdp,
            inhibition: match self.inhibition {
                InhibitionKind::None => Inhibition::None,
                InhibitionKind::Direct => Inhibition::Direct {
                    w: self.direct_inh_weight,
                },
                InhibitionKind::Layer => Inhibition::Layer {
                    inh: self.inh,
                    w_exc_inh: self.w_exc_inh,
                    w_inh_exc: self.w_inh_exc,
                },
            },
        }
    }

    /// The presentation procedure as the core (and the chip) runs it.
    pub fn procedure(&self) -> Procedure {
        Procedure {
            intensity: self.intensity,
            max_intensity: self.max_intensity,
            present_ms: self.present_ms as f32,
            rest_ms: self.rest_ms as f32,
            min_spikes: self.min_spikes,
            norm_target: self.norm_target as f32,
        }
    }

    /// The configuration of a network and procedure as the core holds them
    /// (a chip image's header): the inverse of [`Config::network`] and
    /// [`Config::procedure`]. The fields the core's types do not hold
    /// (`init_weight_scale`, `input_delay_ms`, `shuffle`, the weights of
    /// the other inhibition) keep their defaults. Host-sim runs no network
    /// without inhibition: [`Inhibition::None`] is an error.
    pub fn from_core(p: &NetworkParams, q: &Procedure) -> anyhow::Result<Config> {
        let mut c = Config {
            n_neurons: p.n_neurons,
            n_inputs: p.n_inputs,
            dt_ms: p.dt_ms,
            present_ms: q.present_ms as f64,
            rest_ms: q.rest_ms as f64,
            intensity: q.intensity,
            max_intensity: q.max_intensity,
            min_spikes: q.min_spikes,
            norm_target: q.norm_target as f64,
            exc: p.exc,
            stdp: p.stdp,
            inhibition: p.inhibition.kind(),
            ..Config::default()
        };
        match p.inhibition {
            Inhibition::Layer {
                inh,
                w_exc_inh,
                w_inh_exc,
            } => (c.inh, c.w_exc_inh, c.w_inh_exc) = (inh, w_exc_inh, w_inh_exc),
            Inhibition::Direct { w } => c.direct_inh_weight = w,
            Inhibition::None => anyhow::bail!("networks without inhibition are not supported by host-sim"),
        }
        Ok(c)
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
        check_neurons("n_neurons", self.n_neurons)?;
        if !INHIBITIONS.contains(&self.inhibition) {
            bail!("inhibition must be \"layer\" or \"direct\" (host-sim runs no network without inhibition)");
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
        match self.input {
            InputConfig::Digits if self.n_inputs != 784 => bail!("n_inputs must be 784 (28x28 digits)"),
            InputConfig::Digits => {}
            InputConfig::Events(e) => {
                let want = e.layout()?.inputs();
                if self.n_inputs != want {
                    bail!(
                        "n_inputs must be {want} for this event input ({} x {} pixels, {} channel(s), downsample {})",
                        e.width,
                        e.height,
                        e.channels,
                        e.downsample
                    );
                }
                if self.input_delay_ms > 0.0 && matches!(e.retry, RetryConfig::Gain { max } if max > 1) {
                    bail!("input.retry gain above 1 cannot be combined with input delays (coincident events of one input merge)");
                }
            }
        }
        // What the checks above let through must make a chip image too:
        // the procedure in the image's f32 (a norm_target of 1e-50 is 0 there).
        self.procedure()
            .check(self.dt_ms)
            .map_err(|e| anyhow::anyhow!("the procedure in a chip image's precision: {e}"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_preset_is_the_default_and_best_is_the_tuned_file_shuffled() {
        assert_eq!(Preset::Paper.config().unwrap(), Config::default());
        let best = Preset::Best.config().unwrap();
        best.check().unwrap();
        assert!(best.shuffle);
        assert_eq!((best.n_neurons, best.w_inh_exc), (100, 37.60647604650885));
        assert_eq!(
            Config { shuffle: false, ..best },
            serde_json::from_str(DC100_TUNED).unwrap()
        );
    }

    /// The configuration of a 6,400-neuron checkpoint written by host-sim
    /// before `"stdp"` (the flat form), as it stands in the file's header.
    const FLAT: &str = r#"{"n_neurons": 6400, "n_inputs": 784, "dt_ms": 0.5, "present_ms": 350.0,
        "rest_ms": 150.0, "rule": "triplet", "inhibition": "layer", "direct_inh_weight": 17.0,
        "w_exc_inh": 10.4, "w_inh_exc": 17.0, "intensity": 2.0, "max_intensity": 32.0,
        "min_spikes": 5, "norm_target": 78.0, "init_weight_scale": 0.3,
        "exc": {"conductance": true, "v_rest_mv": -65.0, "v_reset_mv": -65.0, "v_thresh_mv": -52.0,
            "v_init_mv": -105.0, "tau_m_ms": 100.0, "refractory_ms": 5.0, "threshold_block_ms": 0.0,
            "theta_plus_mv": 0.05, "tau_theta_ms": 10000000.0, "theta_init_mv": 20.0,
            "theta_offset_mv": 20.0, "tau_ge_ms": 1.0, "tau_gi_ms": 2.0, "e_exc_mv": 0.0,
            "e_inh_mv": -100.0},
        "inh": {"conductance": true, "v_rest_mv": -60.0, "v_reset_mv": -45.0, "v_thresh_mv": -40.0,
            "v_init_mv": -100.0, "tau_m_ms": 10.0, "refractory_ms": 2.0, "threshold_block_ms": 0.0,
            "theta_plus_mv": 0.0, "tau_theta_ms": null, "theta_init_mv": 0.0, "theta_offset_mv": 0.0,
            "tau_ge_ms": 1.0, "tau_gi_ms": 2.0, "e_exc_mv": 0.0, "e_inh_mv": -85.0},
        "nu_pre": 0.0001, "nu_post": 0.01, "tau_pre_ms": 20.0, "tau_post1_ms": 20.0,
        "tau_post2_ms": 40.0, "w_max": 1.0, "x_tar": 0.4, "mu": 0.2, "beta": 1.0,
        "input_delay_ms": 0.0}"#;

    fn read(json: &str) -> Result<Config, String> {
        serde_json::from_str::<Config>(json).map_err(|e| e.to_string())
    }

    #[test]
    fn digit_input_reads_by_its_old_name_images_and_is_left_out_when_written() {
        let c = Config::default();
        assert_eq!(c.input, InputConfig::Digits);
        let mut v = serde_json::to_value(c).unwrap();
        assert!(v.get("input").is_none(), "digit input is left out of files, as before");
        for kind in ["images", "digits"] {
            v["input"] = serde_json::json!({ "kind": kind });
            assert_eq!(
                serde_json::from_value::<Config>(v.clone()).unwrap().input,
                InputConfig::Digits,
                "{kind}"
            );
        }
        assert_eq!(serde_json::to_value(InputConfig::Digits).unwrap()["kind"], "digits");
    }

    #[test]
    fn the_stdp_parameters_are_one_object_in_core_form() {
        let mut c = Config::default();
        c.stdp.rule = Rule::PowerLaw;
        c.stdp.trace_mode = stdp_core::TraceMode::Additive;
        let v = serde_json::to_value(c).unwrap();
        assert_eq!(v["stdp"], serde_json::to_value(c.stdp).unwrap());
        assert_eq!(v["stdp"]["rule"], "power-law");
        for flat in ["rule", "nu_pre", "beta", "trace_mode"] {
            assert!(v.get(flat).is_none(), "{flat} is inside stdp only");
        }
        assert_eq!(serde_json::from_value::<Config>(v).unwrap(), c);
    }

    #[test]
    fn files_of_the_flat_form_still_read() {
        let old = read(FLAT).unwrap();
        assert_eq!(
            old,
            Config {
                n_neurons: 6400,
                ..Config::default()
            }
        );
        // A `--params` file of the flat form names only what it changes.
        let c = read(r#"{"rule": "pair", "nu_pre": 0.0}"#).unwrap();
        assert_eq!((c.stdp.rule, c.stdp.nu_pre), (Rule::Pair, 0.0));
        assert_eq!(c.stdp.nu_post, Config::default().stdp.nu_post);
    }

    #[test]
    fn a_partial_stdp_object_keeps_the_other_defaults() {
        let c = read(r#"{"n_neurons": 10, "stdp": {"nu_post": 0.02}}"#).unwrap();
        let mut want = Config {
            n_neurons: 10,
            ..Config::default()
        };
        want.stdp.nu_post = 0.02;
        assert_eq!(c, want);
    }

    #[test]
    fn a_partial_neuron_object_keeps_the_other_defaults() {
        let c = read(r#"{"exc": {"tau_theta_ms": null}, "inh": {"refractory_ms": 1.0}}"#).unwrap();
        let mut want = Config::default();
        want.exc.tau_theta_ms = f64::INFINITY;
        want.inh.refractory_ms = 1.0;
        assert_eq!(c, want);
        // The model flags: naming one of them chooses the model alone.
        let model = |json: &str| read(json).map(|c| c.exc.model);
        use stdp_core::NeuronModel::{Conductance, CubaLif, Lif};
        assert_eq!(model(r#"{"exc": {"v_rest_mv": -65.0}}"#), Ok(Conductance));
        assert_eq!(model(r#"{"exc": {"cuba": true}}"#), Ok(CubaLif));
        assert_eq!(model(r#"{"exc": {"cuba": false}}"#), Ok(Conductance));
        assert_eq!(model(r#"{"exc": {"conductance": false}}"#), Ok(Lif));
        assert_eq!(model(r#"{"exc": {"conductance": true}}"#), Ok(Conductance));
        let e = read(r#"{"exc": {"conductance": true, "cuba": true}}"#).unwrap_err();
        assert!(e.contains("\"cuba\": true needs \"conductance\": false"), "{e}");
        let e = read(r#"{"exc": {"tau_m": 10.0}}"#).unwrap_err();
        assert!(e.contains("unknown field `tau_m`"), "{e}");
        let e = read(r#"{"inh": 3}"#).unwrap_err();
        assert!(e.contains("\"inh\" must be an object"), "{e}");
    }

    #[test]
    fn bad_stdp_fields_are_refused_with_their_name() {
        for (json, want) in [
            (
                r#"{"nu_pre": 0.0, "stdp": {"nu_pre": 0.1}}"#,
                "\"nu_pre\" is given twice",
            ),
            (r#"{"stdp": {"nu_pree": 0.1}}"#, "unknown field `nu_pree`"),
            (r#"{"nu_pree": 0.1}"#, "unknown field `nu_pree`"),
            (r#"{"stdp": 0.1}"#, "\"stdp\" must be an object"),
            (r#"{"stdp": {"rule": "quadruplet"}}"#, "unknown variant `quadruplet`"),
            (r#"{"rule": "none", "stdp": {"w_max": "one"}}"#, "invalid type"),
        ] {
            let e = read(json).unwrap_err();
            assert!(e.contains(want), "{json}: {e}");
        }
    }

    /// The field names of `v`, its values left out (an f32 written as f64
    /// has more digits than the file).
    fn shape(v: &Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(m.iter().map(|(k, x)| (k.clone(), shape(x))).collect()),
            _ => Value::Null,
        }
    }

    /// The README's example parameter files are valid and in the current
    /// form (written back field for field as they stand).
    #[test]
    fn the_example_parameter_files_are_in_the_current_form() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/params");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            // emulator*.json hold the DVS emulator's parameters, not a network's.
            let emulator = path
                .file_name()
                .is_some_and(|f| f.to_string_lossy().starts_with("emulator"));
            if path.extension().is_some_and(|e| e == "json") && !emulator {
                let text = std::fs::read_to_string(&path).unwrap();
                let c = read(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                c.check().unwrap();
                let file: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(
                    shape(&serde_json::to_value(c).unwrap()),
                    shape(&file),
                    "{}",
                    path.display()
                );
                n += 1;
            }
        }
        assert!(n >= 3, "{n} files in {}", dir.display());
    }

    #[test]
    fn the_inhibition_is_core_s_kind_by_its_file_name_and_none_is_refused() {
        for (name, kind) in [("layer", InhibitionKind::Layer), ("direct", InhibitionKind::Direct)] {
            let c = read(&format!(r#"{{"inhibition": "{name}"}}"#)).unwrap();
            assert_eq!(c.inhibition, kind);
            c.check().unwrap();
            assert_eq!(serde_json::to_value(c).unwrap()["inhibition"], name);
            assert_eq!(c.network().inhibition.kind(), kind);
        }
        // The core's third kind reads, and is refused by the check that
        // every run makes.
        let none = read(r#"{"inhibition": "none"}"#).unwrap();
        let e = none.check().unwrap_err().to_string();
        assert!(e.contains("inhibition must be \"layer\" or \"direct\""), "{e}");
        let e = read(r#"{"inhibition": "lateral"}"#).unwrap_err();
        assert!(e.contains("unknown variant `lateral`"), "{e}");
    }

    #[test]
    fn the_core_s_parameters_give_the_configuration_back() {
        let mut direct = Config {
            inhibition: InhibitionKind::Direct,
            direct_inh_weight: 12.5,
            n_neurons: 40,
            ..Config::default()
        };
        direct.stdp.rule = Rule::PowerLaw;
        direct.exc.model = stdp_core::NeuronModel::CubaLif;
        let layer = Config {
            w_inh_exc: 30.0,
            present_ms: 250.0,
            norm_target: 60.0,
            intensity: 2.5,
            ..Config::default()
        };
        for c in [Config::default(), direct, layer] {
            assert_eq!(Config::from_core(&c.network(), &c.procedure()).unwrap(), c);
        }
        let none = NetworkParams {
            inhibition: Inhibition::None,
            ..Config::default().network()
        };
        let e = Config::from_core(&none, &Config::default().procedure()).unwrap_err();
        assert!(e.to_string().contains("without inhibition"), "{e}");
    }

    #[test]
    fn a_procedure_that_a_chip_image_cannot_hold_is_refused() {
        for norm_target in [1e-50, 1e50] {
            let c = Config {
                norm_target,
                ..Config::default()
            };
            let e = format!("{:#}", c.check().unwrap_err());
            assert!(
                e.contains("in a chip image's precision") && e.contains("norm_target"),
                "{e}"
            );
        }
    }

    #[test]
    fn stdp_fields_may_be_named_without_their_group() {
        assert_eq!(field_path("nu_pre"), "stdp.nu_pre");
        assert_eq!(field_path("rule"), "stdp.rule");
        assert_eq!(field_path("stdp.mu"), "stdp.mu");
        assert_eq!(field_path("exc.theta_plus_mv"), "exc.theta_plus_mv");
        assert_eq!(field_path("intensity"), "intensity");
    }
}
