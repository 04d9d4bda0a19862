//! `weight-history`: many inputs onto one neuron, one (or more) groups of
//! them correlated, the others independent at the same rate; the weights
//! over time. The classic result (Song, Miller & Abbott 2000; Song &
//! Abbott 2001; Kempter, Gerstner & van Hemmen 1999): with additive STDP
//! and slightly dominant depression the synapses compete, and the
//! correlated group, whose synchronous spikes make the neuron fire right
//! after them, ends with the larger weights while the independent inputs
//! are depressed.
//!
//! # Set-up (defaults)
//! - 200 inputs at 15 Hz; inputs 0-49 form a group with pairwise
//!   correlation c = 0.2 (mixture construction, see
//!   `stdp_core::trains::Correlation`), inputs 50-199 are independent
//!   Poisson trains. All trains are Bernoulli processes on the step grid.
//! - One current-based LIF neuron as in Song et al.: v_rest = -70 mV,
//!   v_reset = -60 mV, v_thresh = -54 mV, tau_m = 20 ms, refractory 1 ms,
//!   no threshold adaptation, no inhibition, no normalisation.
//! - Pair rule with additive traces (every pre-post pair counts, as in
//!   Song et al.), tau_pre = tau_post1 = 20 ms, nu_post = 0.005,
//!   nu_pre = 0.006 (depression 20 % stronger: the integral of the window
//!   is negative, so uncorrelated inputs drift down; with Song et al.'s
//!   5 % and only 200 inputs the neuron stays driven at ~100 Hz and half
//!   of the independent inputs keep strong weights), weights in
//!   [0, w_max = 1 mV], all starting at 0.5 mV.
//!
//! Why this is robust: with uncorrelated inputs the expected change is the
//! window's integral times the rates (negative), while the correlated
//! group's synchronous events are followed by output spikes within a few
//! ms, which adds a positive term proportional to c and to the group's
//! total weight, so the group's weights grow and theirs keep growing
//! (rich get richer) until w_max bounds them.

use std::fmt::Write as _;

use anyhow::{anyhow, bail, Result};
use plotters::style::RGBColor;
use stdp_core::trains::{CorrelatedGroup, Correlation, Pending, PoissonTrain};
use stdp_core::{Fx, Inhibition, Network, NetworkParams, NeuronModel, NeuronParams, Real, Rule, StdpParams, TraceMode};

use super::inputs::rng;
use super::{backends, write_csv, ExperimentOptions};
use crate::panels::{self as px, Figure, Legend, Panel, Series, Style};
use stdp_host::sim::owned::OwnedState;

/// Parameters of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Time step (ms).
    pub dt_ms: f64,
    /// Simulated time (ms).
    pub duration_ms: f64,
    /// Number of inputs.
    pub n_inputs: usize,
    /// Rate of every input (Hz).
    pub rate_hz: f64,
    /// Correlation of each correlated group (inputs `g * group_size ..`).
    pub correlations: Vec<f64>,
    /// Inputs per correlated group.
    pub group_size: usize,
    /// Construction of the correlated groups.
    pub kind: Correlation,
    /// Number of neurons (independent, same inputs, no inhibition).
    pub n_neurons: usize,
    /// Weight snapshot interval (ms).
    pub record_every_ms: f64,
    /// Length of the raster kept at the end of the run (ms).
    pub raster_ms: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            dt_ms: 0.5,
            duration_ms: 150_000.0,
            n_inputs: 200,
            rate_hz: 15.0,
            correlations: vec![0.2],
            group_size: 50,
            kind: Correlation::Mixture,
            n_neurons: 1,
            record_every_ms: 1000.0,
            raster_ms: 1000.0,
        }
    }
}

impl Config {
    /// Group of input `i`: `g` for the correlated group g, or the number of
    /// correlated groups for the independent inputs.
    pub fn group_of(&self, i: usize) -> usize {
        let g = i / self.group_size.max(1);
        g.min(self.correlations.len())
    }

    /// Number of groups, the independent inputs included.
    pub fn groups(&self) -> usize {
        self.correlations.len() + 1
    }

    fn check(&self) -> Result<()> {
        if self.correlations.len() * self.group_size > self.n_inputs {
            bail!(
                "{} groups of {} inputs do not fit in {} inputs",
                self.correlations.len(),
                self.group_size,
                self.n_inputs
            );
        }
        if self.n_inputs == 0 || self.n_inputs > stdp_core::MAX_INPUTS {
            bail!("n_inputs must be 1 to {}", stdp_core::MAX_INPUTS);
        }
        Ok(())
    }
}

/// The neuron (Song, Miller & Abbott 2000, current-based).
pub fn neuron() -> NeuronParams {
    NeuronParams {
        model: NeuronModel::Lif,
        v_rest_mv: -70.0,
        v_reset_mv: -60.0,
        v_thresh_mv: -54.0,
        v_init_mv: -70.0,
        tau_m_ms: 20.0,
        refractory_ms: 1.0,
        threshold_block_ms: 0.0,
        theta_plus_mv: 0.0,
        tau_theta_ms: f64::INFINITY,
        theta_init_mv: 0.0,
        theta_offset_mv: 0.0,
        ..NeuronParams::diehl_cook_excitatory()
    }
}

/// The learning rule: additive pair STDP, depression 20 % stronger.
pub fn stdp() -> StdpParams {
    StdpParams {
        rule: Rule::Pair,
        trace_mode: TraceMode::Additive,
        nu_pre: 0.005 * DEPRESSION,
        nu_post: 0.005,
        tau_pre_ms: 20.0,
        tau_post1_ms: 20.0,
        tau_post2_ms: 40.0,
        w_max: 1.0,
        x_tar: 0.0,
        mu: 0.0,
        beta: 0.0,
    }
}

/// nu_pre / nu_post.
pub const DEPRESSION: f64 = 1.2;

/// Initial weight of every synapse (mV).
pub const W_INIT: f64 = 0.5;

/// What a run recorded.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// Snapshot times (ms).
    pub t_ms: Vec<f64>,
    /// Mean weight of each group onto neuron 0 at each snapshot: `[group][snapshot]`.
    pub group_means: Vec<Vec<f64>>,
    /// A few individual weights onto neuron 0: (input, weight at each snapshot).
    pub samples: Vec<(usize, Vec<f64>)>,
    /// Output spikes of neuron 0 in each snapshot interval, as a rate (Hz).
    pub output_rate_hz: Vec<f64>,
    /// Final weights onto neuron 0, by input.
    pub final_weights: Vec<f64>,
    /// Input spikes (t ms, input) in the last `raster_ms` of the run.
    pub raster: Vec<(f64, u32)>,
    /// Output spikes (t ms, neuron) in the last `raster_ms` of the run.
    pub out_raster: Vec<(f64, u32)>,
    /// Total input spikes per group.
    pub input_spikes: Vec<u64>,
    /// Total output spikes of neuron 0.
    pub output_spikes: u64,
}

impl History {
    /// Final mean weight of each group.
    pub fn final_means(&self) -> Vec<f64> {
        self.group_means
            .iter()
            .map(|g| g.last().copied().unwrap_or(f64::NAN))
            .collect()
    }
}

/// Runs the network of `cfg` on backend `T` with the trains of `seed`.
/// Both backends see the same input trains.
pub fn simulate<T: Real>(cfg: &Config, seed: u64) -> Result<History> {
    cfg.check()?;
    let core = |e: stdp_core::Error| anyhow!("{e}");
    let n_in = cfg.n_inputs;
    let n = cfg.n_neurons.max(1);
    let params = NetworkParams {
        n_inputs: n_in,
        n_neurons: n,
        dt_ms: cfg.dt_ms,
        exc: neuron(),
        stdp: stdp(),
        inhibition: Inhibition::None,
    };
    let net = Network::<T>::new(&params).map_err(core)?;
    let mut st = OwnedState::new(&net);
    st.weights.fill(T::from_f64(W_INIT));
    net.init_state(&mut st.view()).map_err(core)?;

    // Inputs: one correlated group object per group, one Poisson train per
    // independent input, each with its own random stream.
    let ng = cfg.correlations.len();
    let mut bufs: Vec<Vec<u32>> = vec![vec![0u32; cfg.group_size]; ng];
    let mut grng: Vec<_> = (0..ng).map(|g| rng(seed, 1_000_000 + g as u64)).collect();
    let mut groups = Vec::with_capacity(ng);
    for ((buf, &c), r) in bufs.iter_mut().zip(&cfg.correlations).zip(grng.iter_mut()) {
        groups.push(CorrelatedGroup::new(cfg.kind, cfg.rate_hz, c, cfg.dt_ms, buf, r).map_err(core)?);
    }
    let first_indep = ng * cfg.group_size;
    let mut irng: Vec<_> = (first_indep..n_in).map(|i| rng(seed, i as u64)).collect();
    let mut indep = Vec::with_capacity(n_in - first_indep);
    for r in irng.iter_mut() {
        indep.push(Pending::new(
            PoissonTrain::new(cfg.rate_hz, cfg.dt_ms).map_err(core)?,
            r,
        ));
    }

    let steps = (cfg.duration_ms / cfg.dt_ms).round() as u32;
    let every = ((cfg.record_every_ms / cfg.dt_ms).round() as u32).max(1);
    let raster_from = steps.saturating_sub((cfg.raster_ms / cfg.dt_ms).round() as u32);
    let n_groups = cfg.groups();
    let sizes: Vec<usize> = (0..n_groups)
        .map(|g| (0..n_in).filter(|&i| cfg.group_of(i) == g).count())
        .collect();
    let sample_inputs: Vec<usize> = (0..n_groups)
        .flat_map(|g| (0..n_in).filter(move |&i| cfg.group_of(i) == g).take(6))
        .collect();
    let mut h = History {
        group_means: vec![Vec::new(); n_groups],
        samples: sample_inputs.iter().map(|&i| (i, Vec::new())).collect(),
        input_spikes: vec![0; n_groups],
        ..History::default()
    };
    let snapshot = |h: &mut History, st: &OwnedState<T>, t: f64| {
        h.t_ms.push(t);
        let mut sums = vec![0.0; n_groups];
        for i in 0..n_in {
            sums[cfg.group_of(i)] += st.weights[i * n].to_f64();
        }
        for (g, s) in sums.iter().enumerate() {
            h.group_means[g].push(s / sizes[g].max(1) as f64);
        }
        for (input, v) in h.samples.iter_mut() {
            v.push(st.weights[*input * n].to_f64());
        }
    };
    snapshot(&mut h, &st, 0.0);
    let mut out = vec![0u16; cfg.group_size.max(1)];
    let mut inputs: Vec<u16> = Vec::with_capacity(n_in);
    let mut window_spikes = 0u64;
    for k in 0..steps {
        inputs.clear();
        for (g, (grp, r)) in groups.iter_mut().zip(grng.iter_mut()).enumerate() {
            let m = grp.spikes(k, r, &mut out).map_err(core)?;
            inputs.extend(out[..m].iter().map(|&i| (g * cfg.group_size) as u16 + i));
        }
        for (j, (p, r)) in indep.iter_mut().zip(irng.iter_mut()).enumerate() {
            if p.fires(k, r) {
                inputs.push((first_indep + j) as u16);
            }
        }
        for &i in &inputs {
            h.input_spikes[cfg.group_of(i as usize)] += 1;
        }
        net.step(&mut st.view(), &inputs).map_err(core)?;
        let t = k as f64 * cfg.dt_ms;
        if k >= raster_from {
            h.raster.extend(inputs.iter().map(|&i| (t, i as u32)));
            for (j, &s) in st.exc.spiked.iter().enumerate() {
                if s {
                    h.out_raster.push((t, j as u32));
                }
            }
        }
        if st.exc.spiked[0] {
            window_spikes += 1;
            h.output_spikes += 1;
        }
        if (k + 1) % every == 0 {
            snapshot(&mut h, &st, (k + 1) as f64 * cfg.dt_ms);
            h.output_rate_hz
                .push(window_spikes as f64 / (every as f64 * cfg.dt_ms / 1000.0));
            window_spikes = 0;
        }
    }
    h.final_weights = (0..n_in).map(|i| st.weights[i * n].to_f64()).collect();
    Ok(h)
}

fn group_name(cfg: &Config, g: usize) -> String {
    match cfg.correlations.get(g) {
        Some(c) => format!(
            "inputs {}-{}, c = {c}",
            g * cfg.group_size,
            (g + 1) * cfg.group_size - 1
        ),
        None => format!(
            "inputs {}-{}, independent",
            cfg.correlations.len() * cfg.group_size,
            cfg.n_inputs - 1
        ),
    }
}

/// Colour of group g (the independent inputs are grey).
fn group_color(cfg: &Config, g: usize) -> RGBColor {
    if g < cfg.correlations.len() {
        px::color([3, 0, 2, 4, 5][g % 5])
    } else {
        px::color(7)
    }
}

/// Runs the experiment (see [`super::ExperimentOptions`]); returns the summary.
pub fn run(a: &ExperimentOptions) -> Result<String> {
    let cfg = Config {
        dt_ms: a.dt,
        duration_ms: a.duration.unwrap_or(150_000.0),
        n_inputs: a.n_inputs,
        rate_hz: a.rate.unwrap_or(15.0),
        correlations: a.correlations.clone(),
        group_size: a.group_size,
        kind: a.correlation_kind,
        n_neurons: a.neurons,
        ..Config::default()
    };
    let mut runs = Vec::new();
    for (b, fixed) in backends(a) {
        let h = if fixed {
            simulate::<Fx>(&cfg, a.seed)?
        } else {
            simulate::<f64>(&cfg, a.seed)?
        };
        runs.push((b, h));
    }
    let (first_name, first) = (&runs[0].0, &runs[0].1);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "experiment weight-history: {} inputs at {} Hz onto {} LIF neuron(s), {} s at dt = {} ms, seed {}",
        cfg.n_inputs,
        cfg.rate_hz,
        cfg.n_neurons,
        cfg.duration_ms / 1000.0,
        cfg.dt_ms,
        a.seed
    );
    let _ = writeln!(
        s,
        "rule: pair, additive traces, nu_post = 0.005, nu_pre = {}, tau 20 ms, w in [0, 1] mV, start {W_INIT} mV; \
         correlation construction {:?}",
        0.005 * DEPRESSION,
        cfg.kind
    );
    for (b, h) in &runs {
        let secs = cfg.duration_ms / 1000.0;
        for g in 0..cfg.groups() {
            let size = (0..cfg.n_inputs).filter(|&i| cfg.group_of(i) == g).count().max(1);
            let fw: Vec<f64> = (0..cfg.n_inputs)
                .filter(|&i| cfg.group_of(i) == g)
                .map(|i| h.final_weights[i])
                .collect();
            let high = fw.iter().filter(|&&w| w > 0.9).count();
            let low = fw.iter().filter(|&&w| w < 0.1).count();
            let _ = writeln!(
                s,
                "  {b}: {}: final mean weight {:.3} mV ({high} of {} above 0.9, {low} below 0.1), measured input rate {:.2} Hz",
                group_name(&cfg, g),
                h.final_means()[g],
                fw.len(),
                h.input_spikes[g] as f64 / size as f64 / secs
            );
        }
        let _ = writeln!(
            s,
            "  {b}: output {} spikes ({:.1} Hz overall, {:.1} Hz in the last second)",
            h.output_spikes,
            h.output_spikes as f64 / secs,
            h.output_rate_hz.last().copied().unwrap_or(0.0)
        );
        let m = h.final_means();
        let verdict = if m[..cfg.correlations.len()]
            .iter()
            .all(|&x| x > m[cfg.correlations.len()])
        {
            "the correlated group(s) won"
        } else {
            "the correlated group(s) did NOT win"
        };
        let _ = writeln!(s, "  {b}: {verdict}");
    }

    // CSV: snapshots of group means (every backend) and the sample weights (first backend).
    let mut hdr = vec!["time_ms".to_string()];
    for (b, _) in &runs {
        for g in 0..cfg.groups() {
            hdr.push(format!("mean_group{g}_{b}"));
        }
        hdr.push(format!("output_rate_hz_{b}"));
    }
    for (i, _) in &first.samples {
        hdr.push(format!("w{i}_{first_name}"));
    }
    let hdr_ref: Vec<&str> = hdr.iter().map(String::as_str).collect();
    write_csv(
        &a.out.join("weight_history.csv"),
        &hdr_ref,
        (0..first.t_ms.len()).map(|k| {
            let mut row = vec![first.t_ms[k]];
            for (_, h) in &runs {
                for g in 0..cfg.groups() {
                    row.push(h.group_means[g][k]);
                }
                row.push(if k == 0 { f64::NAN } else { h.output_rate_hz[k - 1] });
            }
            for (_, v) in &first.samples {
                row.push(v[k]);
            }
            row
        }),
    )?;
    write_csv(
        &a.out.join("final_weights.csv"),
        &["input", "group", "weight"],
        first
            .final_weights
            .iter()
            .enumerate()
            .map(|(i, &w)| vec![i as f64, cfg.group_of(i) as f64, w]),
    )?;

    // Figure.
    let secs = |v: &[f64]| v.iter().map(|t| t / 1000.0).collect::<Vec<_>>();
    let ts = secs(&first.t_ms);
    let mut series = Vec::new();
    for (input, v) in &first.samples {
        let c = px::lighter(group_color(&cfg, cfg.group_of(*input)), 0.55);
        series.push(Series::new(
            "",
            ts.iter().copied().zip(v.iter().copied()).collect(),
            c,
            Style::Thin,
        ));
    }
    for (k, (b, h)) in runs.iter().enumerate() {
        for g in 0..cfg.groups() {
            let style = if k == 0 { Style::Line } else { Style::Dashed };
            series.push(Series::new(
                format!("mean, {} ({b})", group_name(&cfg, g)),
                ts.iter().copied().zip(h.group_means[g].iter().copied()).collect(),
                group_color(&cfg, g),
                style,
            ));
        }
    }
    let final_pts: Vec<Vec<(f64, f64)>> = (0..cfg.groups())
        .map(|g| {
            first
                .final_weights
                .iter()
                .enumerate()
                .filter(|(i, _)| cfg.group_of(*i) == g)
                .map(|(i, &w)| (i as f64, w))
                .collect()
        })
        .collect();
    let final_series = final_pts
        .into_iter()
        .enumerate()
        .map(|(g, pts)| Series::new(group_name(&cfg, g), pts, group_color(&cfg, g), Style::Markers))
        .collect();
    let t_end = cfg.duration_ms;
    let t0 = (t_end - cfg.raster_ms).max(0.0);
    let mut raster: Vec<(f64, u32, RGBColor)> = first
        .raster
        .iter()
        .map(|&(t, i)| (t / 1000.0, i, group_color(&cfg, cfg.group_of(i as usize))))
        .collect();
    // Output spikes on top, in black, eight rows tall.
    let top = cfg.n_inputs as u32 + 3;
    for &(t, j) in &first.out_raster {
        if j == 0 {
            for r in 0..8 {
                raster.push((t / 1000.0, top + r, RGBColor(0, 0, 0)));
            }
        }
    }
    let raster_title = format!(
        "last {} s ({first_name}): input spikes by group; output spikes on top, black ({} in this window)",
        cfg.raster_ms / 1000.0,
        first.out_raster.iter().filter(|s| s.1 == 0).count()
    );
    px::save(
        &Figure {
            title: format!(
                "Weights of {} inputs onto one LIF neuron under additive pair STDP ({} Hz inputs)",
                cfg.n_inputs, cfg.rate_hz
            ),
            panels: vec![
                Panel::lines(
                    "weights over time: group means (thick), six individual weights per group (thin)",
                    "time (s)",
                    "weight (mV)",
                    series,
                )
                .y(-0.03, 1.32)
                .legend(Legend::UpperRight)
                .height(1.4),
                Panel::lines(
                    &format!("final weight of each input ({first_name})"),
                    "input index",
                    "weight (mV)",
                    final_series,
                )
                .y(-0.05, 1.05)
                .legend(Legend::None)
                .height(0.8),
                Panel {
                    x_label: "time (s)".into(),
                    ..Panel::raster(&raster_title, "input", raster, top + 8)
                }
                .x(t0 / 1000.0, t_end / 1000.0)
                .height(1.0),
            ],
            cols: 1,
            size: (1300, 1250),
        },
        &a.out.join("weight_history"),
    )?;
    let _ = writeln!(
        s,
        "files: weight_history.png/svg, weight_history.csv, final_weights.csv"
    );
    Ok(s)
}
