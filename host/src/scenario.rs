//! Scenario files (docs/scenario-format.md): parse and check a
//! TOML file, run it on a backend, produce the JSON output.
//!
//! Every problem with a file is reported as one line that names the key
//! (`neurons.tau_m_ms: must be > 0`) or the line (`line 7: unknown field
//! `tau`...`), and nothing is run.

use std::fmt::Write as _;

use anyhow::{anyhow, bail, Result};
use serde::{Deserialize, Serialize};
use stdp_core::{
    Error as CoreError, Fx, Inhibition, Network, NetworkParams, NeuronModel, NeuronParams, Real, Rule, StdpParams,
    TraceMode, MAX_INPUTS, MAX_NEURONS,
};

use crate::backend::Backend;
use crate::names::Named as _;
use crate::sim::owned::OwnedState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    dt_ms: f64,
    duration_ms: f64,
    neurons: NeuronsSection,
    inputs: InputsSection,
    synapses: SynapsesSection,
    #[serde(default)]
    record: RecordSection,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NeuronsSection {
    count: i64,
    model: NeuronModel,
    v_rest_mv: f64,
    v_reset_mv: f64,
    v_thresh_mv: f64,
    tau_m_ms: f64,
    refractory_ms: f64,
    #[serde(default)]
    theta_plus_mv: f64,
    tau_theta_ms: Option<f64>,
    tau_ge_ms: Option<f64>,
    e_exc_mv: Option<f64>,
    tau_gi_ms: Option<f64>,
    e_inh_mv: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InputsSection {
    count: i64,
    #[serde(default)]
    spikes: Vec<(i64, f64)>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SynapsesSection {
    weights: Vec<Vec<f64>>,
    w_max: f64,
    rule: Rule,
    trace_mode: Option<TraceMode>,
    nu_pre: Option<f64>,
    nu_post: Option<f64>,
    tau_pre_ms: Option<f64>,
    tau_post1_ms: Option<f64>,
    tau_post2_ms: Option<f64>,
    x_tar: Option<f64>,
    mu: Option<f64>,
    beta: Option<f64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RecordSection {
    #[serde(default)]
    v: bool,
    weights_every_ms: Option<f64>,
}

/// A checked scenario, ready to run on any backend.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The network (sizes, neurons, rule; no inhibition).
    pub params: NetworkParams,
    /// Number of steps, round(duration / dt).
    pub steps: u32,
    /// Inputs that spike in each step, in on_pre order (time as written, then index).
    pub schedule: Vec<Vec<u16>>,
    /// Initial weights, inputs x neurons.
    pub weights: Vec<Vec<f64>>,
    /// Record v of every neuron at every step.
    pub record_v: bool,
    /// Take a weight snapshot every this many steps.
    pub weights_every: Option<u32>,
}

/// One weight snapshot.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Snapshot {
    /// Time of the step's start (ms).
    pub t_ms: f64,
    /// Weights, inputs x neurons.
    pub weights: Vec<Vec<f64>>,
}

/// The JSON output of a run (scenario-format.md).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Output {
    /// `[neuron, t_ms]` sorted by (step, neuron).
    pub spikes: Vec<(usize, f64)>,
    /// Weights after the last step, inputs x neurons.
    pub final_weights: Vec<Vec<f64>>,
    /// `v[j][k]`: v of neuron j at the end of step k (when recorded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub v: Vec<Vec<f64>>,
    /// Weight snapshots.
    #[serde(default)]
    pub weights_history: Vec<Snapshot>,
    /// Backend that produced it.
    pub backend: String,
}

/// The line (1-based) of byte offset `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Where a parameter named by the core lives in a scenario file.
fn key_of(name: &str) -> String {
    match name {
        "dt_ms" => name.to_string(),
        "w_max" | "nu_pre" | "nu_post" | "tau_pre_ms" | "tau_post1_ms" | "tau_post2_ms" | "x_tar" | "mu" | "beta" => {
            format!("synapses.{name}")
        }
        "n_inputs" => "inputs.count".to_string(),
        "n_neurons" => "neurons.count".to_string(),
        _ => format!("neurons.{name}"),
    }
}

/// A core error as a one-line message naming the scenario key.
fn explain(e: CoreError) -> anyhow::Error {
    match e {
        CoreError::InvalidParameter(p) => {
            let hint = if p.starts_with("tau") {
                "must be > 0"
            } else {
                "is out of its valid range"
            };
            anyhow!("{}: {hint}", key_of(p))
        }
        CoreError::NotRepresentable(p) => {
            anyhow!(
                "{}: outside the fixed-point range [-2048, 2048) of the fixed backend",
                key_of(p)
            )
        }
        other => anyhow!("{other}"),
    }
}

fn require(v: Option<f64>, key: &str, why: &str) -> Result<f64> {
    v.ok_or_else(|| anyhow!("{key}: missing (required for {why})"))
}

fn finite(x: f64, key: &str) -> Result<f64> {
    if x.is_finite() {
        Ok(x)
    } else {
        bail!("{key}: must be a finite number")
    }
}

fn positive(x: f64, key: &str) -> Result<f64> {
    if x > 0.0 && !x.is_nan() {
        Ok(x)
    } else {
        bail!("{key}: must be > 0 (got {x})")
    }
}

impl Scenario {
    /// Parses and checks scenario text. Errors are one line and name the key or line.
    pub fn parse(text: &str) -> Result<Scenario> {
        let f: File = toml::from_str(text).map_err(|e| {
            let msg = e.message().replace('\n', " ");
            match e.span() {
                Some(s) => anyhow!("line {}: {}", line_of(text, s.start), msg.trim()),
                None => anyhow!("{}", msg.trim()),
            }
        })?;
        Self::check(f)
    }

    fn check(f: File) -> Result<Scenario> {
        let dt = positive(finite(f.dt_ms, "dt_ms")?, "dt_ms")?;
        let duration = positive(finite(f.duration_ms, "duration_ms")?, "duration_ms")?;
        let steps = (duration / dt).round();
        if !(1.0..=u32::MAX as f64 / 2.0).contains(&steps) {
            bail!("duration_ms: gives {steps} steps of dt_ms; need 1 to 2^31");
        }
        let steps = steps as u32;

        let nn = &f.neurons;
        if !(1..=MAX_NEURONS as i64).contains(&nn.count) {
            bail!("neurons.count: must be 1 to {MAX_NEURONS} (got {})", nn.count);
        }
        // The synaptic-current model (`cuba-lif`) has no scenario form yet.
        if nn.model == NeuronModel::CubaLif {
            bail!("neurons.model: must be \"lif\" or \"conductance\" (got \"cuba-lif\")");
        }
        let cond = nn.model == NeuronModel::Conductance;
        let cond_only = [
            (nn.tau_ge_ms, "tau_ge_ms"),
            (nn.e_exc_mv, "e_exc_mv"),
            (nn.tau_gi_ms, "tau_gi_ms"),
            (nn.e_inh_mv, "e_inh_mv"),
        ];
        let mut cond_vals = [0.0; 4];
        for (slot, (v, name)) in cond_vals.iter_mut().zip(cond_only) {
            match (cond, v) {
                (true, Some(x)) => *slot = finite(x, &format!("neurons.{name}"))?,
                (true, None) => bail!("neurons.{name}: missing (required for model = \"conductance\")"),
                (false, Some(_)) => bail!("neurons.{name}: applies only to model = \"conductance\""),
                (false, None) => {}
            }
        }
        for (x, key) in [
            (nn.v_rest_mv, "neurons.v_rest_mv"),
            (nn.v_reset_mv, "neurons.v_reset_mv"),
            (nn.v_thresh_mv, "neurons.v_thresh_mv"),
            (nn.theta_plus_mv, "neurons.theta_plus_mv"),
        ] {
            finite(x, key)?;
        }
        positive(nn.tau_m_ms, "neurons.tau_m_ms")?;
        if !(nn.refractory_ms >= 0.0 && nn.refractory_ms.is_finite()) {
            bail!("neurons.refractory_ms: must be >= 0 (got {})", nn.refractory_ms);
        }
        if nn.theta_plus_mv < 0.0 {
            bail!("neurons.theta_plus_mv: must be >= 0 (got {})", nn.theta_plus_mv);
        }
        let tau_theta = match nn.tau_theta_ms {
            Some(t) => positive(t, "neurons.tau_theta_ms")?,
            None => f64::INFINITY,
        };
        let exc = NeuronParams {
            model: nn.model,
            v_rest_mv: nn.v_rest_mv,
            v_reset_mv: nn.v_reset_mv,
            v_thresh_mv: nn.v_thresh_mv,
            v_init_mv: nn.v_rest_mv,
            tau_m_ms: nn.tau_m_ms,
            refractory_ms: nn.refractory_ms,
            threshold_block_ms: 0.0,
            theta_plus_mv: nn.theta_plus_mv,
            tau_theta_ms: tau_theta,
            theta_init_mv: 0.0,
            theta_offset_mv: 0.0,
            tau_ge_ms: if cond {
                positive(cond_vals[0], "neurons.tau_ge_ms")?
            } else {
                1.0
            },
            e_exc_mv: cond_vals[1],
            tau_gi_ms: if cond {
                positive(cond_vals[2], "neurons.tau_gi_ms")?
            } else {
                1.0
            },
            e_inh_mv: cond_vals[3],
        };

        let n_in = f.inputs.count;
        if !(1..=MAX_INPUTS as i64).contains(&n_in) {
            bail!("inputs.count: must be 1 to {MAX_INPUTS} (got {n_in})");
        }
        let (n_in, n) = (n_in as usize, nn.count as usize);
        // Each step's spikes, as (time, index), sorted into on_pre order.
        let mut per_step: Vec<Vec<(f64, u16)>> = vec![Vec::new(); steps as usize];
        let mut seen = std::collections::HashMap::new();
        for (s, &(i, t)) in f.inputs.spikes.iter().enumerate() {
            if !(0..n_in as i64).contains(&i) {
                bail!("inputs.spikes[{s}]: input index {i} is out of range (inputs.count = {n_in})");
            }
            if !(t >= 0.0 && t.is_finite()) {
                bail!("inputs.spikes[{s}]: time {t} ms must be finite and >= 0");
            }
            let k = (t / dt + 0.001).floor();
            if let Some((s0, t0)) = seen.insert((i, k as u64), (s, t)) {
                bail!("inputs.spikes[{s}]: input {i} already spikes in step {k} (inputs.spikes[{s0}] at {t0} ms, this one at {t} ms)");
            }
            if k < steps as f64 {
                per_step[k as usize].push((t, i as u16));
            }
        }
        let schedule = per_step
            .into_iter()
            .map(|mut v| {
                v.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                v.into_iter().map(|(_, i)| i).collect()
            })
            .collect();

        let sy = &f.synapses;
        let w_max = positive(finite(sy.w_max, "synapses.w_max")?, "synapses.w_max")?;
        if sy.weights.len() != n_in {
            bail!(
                "synapses.weights: has {} rows, needs one per input (inputs.count = {n_in})",
                sy.weights.len()
            );
        }
        for (i, row) in sy.weights.iter().enumerate() {
            if row.len() != n {
                bail!(
                    "synapses.weights[{i}]: has {} entries, needs one per neuron (neurons.count = {n})",
                    row.len()
                );
            }
            for (j, &w) in row.iter().enumerate() {
                if !(0.0..=w_max).contains(&w) {
                    bail!("synapses.weights[{i}][{j}]: {w} is outside [0, w_max = {w_max}]");
                }
            }
        }
        let rule = sy.rule;
        let why = format!("rule = \"{}\"", rule.name());
        let learns = rule != Rule::None;
        let uses_pre = matches!(rule, Rule::Pair | Rule::Triplet);
        let weight_dep = matches!(rule, Rule::PowerLaw | Rule::ExpWeight);
        // A value that the rule needs must be present; one it ignores may
        // be present (files are often edited from one rule to another).
        let get = |v: Option<f64>, name: &str, needed: bool, default: f64| -> Result<f64> {
            let key = format!("synapses.{name}");
            match v {
                Some(x) => finite(x, &key),
                None if needed => require(None, &key, &why),
                None => Ok(default),
            }
        };
        let tau = |v: Option<f64>, name: &str, needed: bool| -> Result<f64> {
            let x = get(v, name, needed, 20.0)?;
            positive(x, &format!("synapses.{name}"))
        };
        let stdp = StdpParams {
            rule,
            trace_mode: sy.trace_mode.unwrap_or(TraceMode::Set),
            nu_pre: get(sy.nu_pre, "nu_pre", uses_pre, 0.0)?,
            nu_post: get(sy.nu_post, "nu_post", learns, 0.0)?,
            tau_pre_ms: tau(sy.tau_pre_ms, "tau_pre_ms", learns)?,
            tau_post1_ms: tau(sy.tau_post1_ms, "tau_post1_ms", uses_pre)?,
            tau_post2_ms: tau(sy.tau_post2_ms, "tau_post2_ms", rule == Rule::Triplet)?,
            w_max,
            x_tar: get(sy.x_tar, "x_tar", weight_dep, 0.0)?,
            mu: get(sy.mu, "mu", rule == Rule::PowerLaw, 1.0)?,
            beta: get(sy.beta, "beta", rule == Rule::ExpWeight, 1.0)?,
        };
        for (x, key) in [(stdp.nu_pre, "synapses.nu_pre"), (stdp.nu_post, "synapses.nu_post")] {
            if x < 0.0 {
                bail!("{key}: must be >= 0 (got {x})");
            }
        }

        let weights_every = match f.record.weights_every_ms {
            None => None,
            Some(w) => {
                let w = positive(finite(w, "record.weights_every_ms")?, "record.weights_every_ms")?;
                let r = w / dt;
                if (r - r.round()).abs() > 1e-9 * r.max(1.0) || r.round() < 1.0 {
                    bail!("record.weights_every_ms: {w} is not a multiple of dt_ms = {dt}");
                }
                Some(r.round() as u32)
            }
        };

        let params = NetworkParams {
            n_inputs: n_in,
            n_neurons: n,
            dt_ms: dt,
            exc,
            stdp,
            inhibition: Inhibition::None,
        };
        // Let the core check what it checks (all backends accept the same set
        // except for the fixed range, which `run` reports).
        Network::<f64>::new(&params).map_err(explain)?;
        Ok(Scenario {
            params,
            steps,
            schedule,
            weights: sy.weights.clone(),
            record_v: f.record.v,
            weights_every,
        })
    }

    /// Runs the scenario on `backend`.
    pub fn run(&self, backend: Backend) -> Result<Output> {
        match backend {
            Backend::F64 => self.run_on::<f64>(backend.name()),
            Backend::F32 => self.run_on::<f32>(backend.name()),
            Backend::Fixed => self.run_on::<Fx>(backend.name()),
        }
    }

    fn run_on<T: Real>(&self, name: &str) -> Result<Output> {
        let net = Network::<T>::new(&self.params).map_err(explain)?;
        let (n_in, n) = (self.params.n_inputs, self.params.n_neurons);
        let mut st = OwnedState::new(&net);
        for (i, row) in self.weights.iter().enumerate() {
            for (j, &w) in row.iter().enumerate() {
                st.weights[i * n + j] = T::from_f64(w);
            }
        }
        net.init_state(&mut st.view()).map_err(explain)?;
        let dt = self.params.dt_ms;
        let snapshot = |w: &[T]| -> Vec<Vec<f64>> {
            (0..n_in)
                .map(|i| w[i * n..(i + 1) * n].iter().map(|x| x.to_f64()).collect())
                .collect()
        };
        let mut out = Output {
            spikes: Vec::new(),
            final_weights: Vec::new(),
            v: vec![Vec::with_capacity(if self.record_v { self.steps as usize } else { 0 }); n],
            weights_history: Vec::new(),
            backend: name.to_string(),
        };
        for (k, inputs) in self.schedule.iter().enumerate() {
            net.step(&mut st.view(), inputs).map_err(explain)?;
            let t = k as f64 * dt;
            for (j, &s) in st.exc.spiked.iter().enumerate() {
                if s {
                    out.spikes.push((j, t));
                }
            }
            if self.record_v {
                for (vj, &v) in out.v.iter_mut().zip(&st.exc.v) {
                    vj.push(v.to_f64());
                }
            }
            if let Some(every) = self.weights_every {
                if (k as u32).is_multiple_of(every) {
                    out.weights_history.push(Snapshot {
                        t_ms: t,
                        weights: snapshot(&st.weights),
                    });
                }
            }
        }
        if !self.record_v {
            out.v.clear();
        }
        out.final_weights = snapshot(&st.weights);
        Ok(out)
    }
}

/// How two outputs differ, for the acceptance checks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Comparison {
    /// Spike counts per neuron differ.
    pub counts_differ: bool,
    /// Largest difference in step of corresponding spikes (when counts agree).
    pub max_spike_shift_steps: u32,
    /// Largest |w_a - w_b| over final weights and every snapshot.
    pub max_weight_diff: f64,
    /// Largest |v_a - v_b| (mV) over recorded v (0 if not recorded by both).
    pub max_v_diff: f64,
}

impl Comparison {
    /// Compares `a` with `b` (same scenario), `dt_ms` to convert times to steps.
    pub fn of(a: &Output, b: &Output, dt_ms: f64) -> Comparison {
        let mut c = Comparison::default();
        let n = a
            .final_weights
            .first()
            .map_or(0, Vec::len)
            .max(b.final_weights.first().map_or(0, Vec::len));
        let times = |o: &Output, j: usize| -> Vec<f64> { o.spikes.iter().filter(|s| s.0 == j).map(|s| s.1).collect() };
        for j in 0..n {
            let (ta, tb) = (times(a, j), times(b, j));
            if ta.len() != tb.len() {
                c.counts_differ = true;
                continue;
            }
            for (x, y) in ta.iter().zip(&tb) {
                let d = ((x - y).abs() / dt_ms).round() as u32;
                c.max_spike_shift_steps = c.max_spike_shift_steps.max(d);
            }
        }
        let mut wdiff = |wa: &[Vec<f64>], wb: &[Vec<f64>]| {
            for (ra, rb) in wa.iter().zip(wb) {
                for (x, y) in ra.iter().zip(rb) {
                    c.max_weight_diff = c.max_weight_diff.max((x - y).abs());
                }
            }
        };
        wdiff(&a.final_weights, &b.final_weights);
        for (sa, sb) in a.weights_history.iter().zip(&b.weights_history) {
            wdiff(&sa.weights, &sb.weights);
        }
        for (va, vb) in a.v.iter().zip(&b.v) {
            for (x, y) in va.iter().zip(vb) {
                c.max_v_diff = c.max_v_diff.max((x - y).abs());
            }
        }
        c
    }

    /// A short human summary.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let _ = write!(
            s,
            "counts {}, max spike shift {} steps, max |dw| {:.3e}, max |dv| {:.3e} mV",
            if self.counts_differ { "DIFFER" } else { "equal" },
            self.max_spike_shift_steps,
            self.max_weight_diff,
            self.max_v_diff
        );
        s
    }
}
