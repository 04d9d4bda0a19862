//! Network parameters in domain units (`f64`), as a user writes them.
//!
//! They are checked and converted to the backend once, by
//! [`crate::network::Network::new`]. Defaults are those of Diehl & Cook
//! (2015) and of their published code.

/// Most excitatory neurons of a network: 65,535, what a chip image holds
/// (its neuron count is a `u16`, [`crate::image`]). [`crate::Network::new`]
/// refuses more, so a network too large for the chip is refused when it is
/// made, not when it is exported.
pub const MAX_NEURONS: usize = u16::MAX as usize;

/// Most inputs of a network: 65,535, what a chip image holds (its input
/// count is a `u16`; input indices are `u16`).
pub const MAX_INPUTS: usize = u16::MAX as usize;

/// The membrane equation of a neuron layer.
///
/// In files (feature `serde`): `"lif"`, `"conductance"`, `"cuba-lif"` (a
/// scenario's `model`; a layer's parameters, [`NeuronParams`], write it as
/// two flags instead, see `ser_de.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum NeuronModel {
    /// Current-based leaky integrate-and-fire: tau_m dv/dt = v_rest - v;
    /// an input spike adds its weight (mV) to v.
    Lif,
    /// Conductance-based LIF (Diehl & Cook 2015):
    /// tau_m dv/dt = (v_rest - v) + ge (e_exc - v) + gi (e_inh - v);
    /// an input spike adds its weight to ge (dimensionless, relative to the
    /// leak conductance).
    Conductance,
    /// Current-based LIF with exponentially decaying synaptic currents
    /// (NIR's `CubaLIF`; the conductance model with its driving forces
    /// fixed at rest): tau_m dv/dt = (v_rest - v) + ge (e_exc - v_rest) +
    /// gi (e_inh - v_rest); ge and gi decay with tau_ge, tau_gi and an
    /// input spike adds its weight to ge (gi for inhibition), as in the
    /// conductance model.
    CubaLif,
}

/// Parameters of one layer of neurons. Potentials in mV, times in ms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NeuronParams {
    /// Membrane model.
    pub model: NeuronModel,
    /// Resting potential (mV).
    pub v_rest_mv: f64,
    /// Potential after a spike, held during the refractory period (mV).
    pub v_reset_mv: f64,
    /// Threshold without adaptation (mV).
    pub v_thresh_mv: f64,
    /// Potential at the start of a run (mV); Diehl & Cook start 40 mV below rest.
    pub v_init_mv: f64,
    /// Membrane time constant (ms, > 0).
    pub tau_m_ms: f64,
    /// Refractory period (ms, >= 0); R = floor(refractory/dt + 0.001) steps:
    /// v is held at v_reset and the threshold is off.
    pub refractory_ms: f64,
    /// Shortest time from a spike to the next (ms, >= 0): the threshold
    /// stays off this long after a spike while v, held only for
    /// `refractory_ms`, integrates again. Values <= `refractory_ms` change
    /// nothing. The Brian 2 ports of Diehl & Cook's code block the
    /// excitatory threshold for 50 ms (their `timer` grows at 0.1 ms per ms
    /// and must pass 5 ms); the original Brian 1 code's timer grows at 100
    /// ms per ms, so it blocks nothing, but its refractory period does not
    /// hold v: `refractory_ms` 0 with this at 5 is that neuron. The default
    /// here is 0 (the paper's text: 5 ms refractory, v held).
    pub threshold_block_ms: f64,
    /// Adaptive threshold: increment of theta per spike (mV, >= 0).
    pub theta_plus_mv: f64,
    /// Time constant of theta's decay toward 0 (ms, > 0; `f64::INFINITY`: none).
    pub tau_theta_ms: f64,
    /// theta at the start of training (mV). Diehl & Cook: 20 mV.
    pub theta_init_mv: f64,
    /// The neuron spikes when v > v_thresh + theta - theta_offset (mV).
    /// Diehl & Cook: 20 mV, so that the threshold starts at v_thresh.
    pub theta_offset_mv: f64,
    /// Excitatory conductance time constant (ms, > 0; conductance model).
    pub tau_ge_ms: f64,
    /// Inhibitory conductance time constant (ms, > 0; conductance model).
    pub tau_gi_ms: f64,
    /// Excitatory reversal potential (mV; conductance model).
    pub e_exc_mv: f64,
    /// Inhibitory reversal potential (mV; conductance model).
    pub e_inh_mv: f64,
}

impl NeuronParams {
    /// Diehl & Cook's excitatory neurons (conductance LIF, adaptive threshold).
    pub const fn diehl_cook_excitatory() -> Self {
        NeuronParams {
            model: NeuronModel::Conductance,
            v_rest_mv: -65.0,
            v_reset_mv: -65.0,
            v_thresh_mv: -52.0,
            v_init_mv: -105.0,
            tau_m_ms: 100.0,
            refractory_ms: 5.0,
            threshold_block_ms: 0.0,
            theta_plus_mv: 0.05,
            tau_theta_ms: 1e7,
            theta_init_mv: 20.0,
            theta_offset_mv: 20.0,
            tau_ge_ms: 1.0,
            tau_gi_ms: 2.0,
            e_exc_mv: 0.0,
            e_inh_mv: -100.0,
        }
    }

    /// Diehl & Cook's inhibitory neurons (conductance LIF, fixed threshold).
    pub const fn diehl_cook_inhibitory() -> Self {
        NeuronParams {
            model: NeuronModel::Conductance,
            v_rest_mv: -60.0,
            v_reset_mv: -45.0,
            v_thresh_mv: -40.0,
            v_init_mv: -100.0,
            tau_m_ms: 10.0,
            refractory_ms: 2.0,
            threshold_block_ms: 0.0,
            theta_plus_mv: 0.0,
            tau_theta_ms: f64::INFINITY,
            theta_init_mv: 0.0,
            theta_offset_mv: 0.0,
            tau_ge_ms: 1.0,
            tau_gi_ms: 2.0,
            e_exc_mv: 0.0,
            e_inh_mv: -85.0,
        }
    }
}

/// The STDP learning rule of the input -> excitatory synapses.
///
/// In files (feature `serde`): `"none"`, `"pair"`, `"triplet"`,
/// `"power-law"`, `"exp-weight"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum Rule {
    /// No plasticity.
    None,
    /// Pair rule: pre: w -= nu_pre x_post1; post: w += nu_post x_pre.
    Pair,
    /// Triplet rule of Diehl & Cook's code: pre: w -= nu_pre x_post1;
    /// post: w += nu_post x_pre x_post2 (x_post2 as before this spike).
    Triplet,
    /// Power-law weight dependence: post: w += nu_post (x_pre - x_tar) (w_max - w)^mu.
    PowerLaw,
    /// Exponential weight dependence:
    /// post: w += nu_post (x_pre e^(-beta w) - x_tar e^(-beta (w_max - w))).
    ExpWeight,
}

/// How a trace responds to its own spike.
///
/// In files (feature `serde`): `"set"`, `"additive"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum TraceMode {
    /// x <- 1 (Diehl & Cook).
    Set,
    /// x <- x + 1.
    Additive,
}

/// STDP parameters. Weights in weight units (conductance or mV, by model).
///
/// In files (feature `serde`): an object with these field names, every
/// field required, unknown fields refused.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct StdpParams {
    /// Learning rule.
    pub rule: Rule,
    /// Trace update on a spike.
    pub trace_mode: TraceMode,
    /// Depression rate (weight units per unit trace, >= 0).
    pub nu_pre: f64,
    /// Potentiation rate (weight units per unit trace, >= 0).
    pub nu_post: f64,
    /// Presynaptic trace time constant (ms, > 0).
    pub tau_pre_ms: f64,
    /// First postsynaptic trace time constant (ms, > 0).
    pub tau_post1_ms: f64,
    /// Second (triplet) postsynaptic trace time constant (ms, > 0).
    pub tau_post2_ms: f64,
    /// Weights are clipped to [0, w_max] after every update (> 0).
    pub w_max: f64,
    /// Target presynaptic trace (power-law and exp-weight rules).
    pub x_tar: f64,
    /// Exponent of the power-law rule (>= 0).
    pub mu: f64,
    /// Steepness of the exp-weight rule (per weight unit, >= 0).
    pub beta: f64,
}

impl StdpParams {
    /// Diehl & Cook's triplet rule with their rates and time constants.
    pub const fn diehl_cook() -> Self {
        StdpParams {
            rule: Rule::Triplet,
            trace_mode: TraceMode::Set,
            nu_pre: 1e-4,
            nu_post: 1e-2,
            tau_pre_ms: 20.0,
            tau_post1_ms: 20.0,
            tau_post2_ms: 40.0,
            w_max: 1.0,
            x_tar: 0.4,
            mu: 0.2,
            beta: 1.0,
        }
    }
}

/// Lateral inhibition among the excitatory neurons.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Inhibition {
    /// None.
    None,
    /// Direct exc -> exc inhibition: a spike of neuron j adds `w` to gi of
    /// every other neuron (conductance model) or subtracts `w` mV from v (LIF).
    Direct {
        /// Inhibitory weight.
        w: f64,
    },
    /// Diehl & Cook's inhibitory layer: exc j -> inh j (one to one, weight
    /// `w_exc_inh` onto the inhibitory neuron's ge), inh j -> every exc
    /// neuron but j (weight `w_inh_exc` onto gi).
    Layer {
        /// The inhibitory neurons' parameters.
        inh: NeuronParams,
        /// Excitatory -> inhibitory weight (Diehl & Cook: 10.4).
        w_exc_inh: f64,
        /// Inhibitory -> excitatory weight (Diehl & Cook: 17.0).
        w_inh_exc: f64,
    },
}

impl Inhibition {
    /// Diehl & Cook's inhibitory layer with their weights.
    pub const fn diehl_cook_layer() -> Self {
        Inhibition::Layer {
            inh: NeuronParams::diehl_cook_inhibitory(),
            w_exc_inh: 10.4,
            w_inh_exc: 17.0,
        }
    }

    /// Which kind of inhibition this is.
    pub const fn kind(&self) -> InhibitionKind {
        match self {
            Inhibition::None => InhibitionKind::None,
            Inhibition::Direct { .. } => InhibitionKind::Direct,
            Inhibition::Layer { .. } => InhibitionKind::Layer,
        }
    }
}

/// The kinds of [`Inhibition`], without their parameters: what a
/// configuration chooses while it keeps every kind's weights (host-sim's
/// `Config`, a search over both kinds).
///
/// In files (feature `serde`): `"none"`, `"direct"`, `"layer"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum InhibitionKind {
    /// [`Inhibition::None`].
    None,
    /// [`Inhibition::Direct`].
    Direct,
    /// [`Inhibition::Layer`].
    Layer,
}

/// Everything that defines a network: sizes, time step, neurons, learning,
/// inhibition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NetworkParams {
    /// Number of inputs (1 to [`MAX_INPUTS`]).
    pub n_inputs: usize,
    /// Number of excitatory neurons (1 to [`MAX_NEURONS`]).
    pub n_neurons: usize,
    /// Time step (ms, > 0).
    pub dt_ms: f64,
    /// The excitatory neurons' parameters (`neurons` before; "neurons" is a
    /// count elsewhere, as in `n_neurons` and `--neurons`).
    pub exc: NeuronParams,
    /// The learning rule on input -> excitatory synapses.
    pub stdp: StdpParams,
    /// Lateral inhibition.
    pub inhibition: Inhibition,
}

impl NetworkParams {
    /// Diehl & Cook 2015 with `n_inputs` inputs and `n_neurons` excitatory
    /// neurons, dt = 0.5 ms.
    pub const fn diehl_cook(n_inputs: usize, n_neurons: usize) -> Self {
        NetworkParams {
            n_inputs,
            n_neurons,
            dt_ms: 0.5,
            exc: NeuronParams::diehl_cook_excitatory(),
            stdp: StdpParams::diehl_cook(),
            inhibition: Inhibition::diehl_cook_layer(),
        }
    }
}
