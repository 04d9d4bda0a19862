//! `neuron`: what one neuron does with a spike train, and the f-I curve of
//! the current-based LIF against its closed form.
//!
//! # Traces
//! One neuron of each model (current-based LIF, conductance-based LIF)
//! receives the same input trains (default: 10 Poisson inputs at 20 Hz);
//! every step records v (mV, after the reset), ge (conductance model) and
//! the threshold `v_thresh + theta` (mV). The threshold adapts visibly
//! (theta += 1 mV per spike, tau_theta = 200 ms; Diehl & Cook's 0.05 mV and
//! 1e7 ms would be a flat line). No inhibition, no learning, so gi = 0.
//!
//! # f-I curve: the closed form of the core's discrete semantics
//! A current-based LIF (v_rest, v_reset, v_thresh, tau_m, refractory R
//! steps) receives one regular input of weight `w` (mV) every `P` steps.
//! Let `f = exp(-dt/tau_m)`, `F = f^P`, `theta = v_thresh - v_rest`,
//! `x_r = v_reset - v_rest`, `R' = max(R, 1)`. In the core's step order
//! (decay, threshold, input, reset) v rises only through inputs and decays
//! in between, so a spike comes exactly one step after an input, and the
//! input of the spike step itself is lost (refractory, or overwritten by
//! the reset). After a spike the neuron is held at v_reset for R' - 1
//! steps, then decays; the first input it takes is number
//! `i0 = ceil((R' + 1)/P)` after the one that fired it, when v - v_rest is
//! `z_0 = x_r f^(i0 P - R') + w`; after n more inputs
//! `z_n = z_inf + (z_0 - z_inf) F^n`, `z_inf = w / (1 - F)`, and the
//! threshold sees `f z_n` one step later. So the steady inter-spike
//! interval is `(i0 + n) P` steps with n the first integer such that
//! `f z_n > theta`:
//!
//! `n = 0` if `f z_0 > theta`, else `n = floor(L) + 1`,
//! `L = tau_m/(P dt) * ln((z_inf - z_0)/(z_inf - theta/f))`,
//!
//! and no spike at all if `f z_inf <= theta`. This is the discrete
//! counterpart of the continuous `ISI = t_ref + tau_m ln((V_inf -
//! v_reset)/(V_inf - v_thresh))` with `V_inf - v_rest = w tau_m / (P dt)`
//! (the mean current of the input), which the figure shows dashed.

use std::fmt::Write as _;

use anyhow::{anyhow, Result};
use stdp_core::{Fx, Inhibition, Network, NetworkParams, NeuronModel, NeuronParams, Real, Rule, StdpParams};

use super::inputs::{make_trains, read_spike_csv, schedule_from_spikes, Schedule, TrainSpec};
use super::{backends, write_csv, ExperimentOptions};
use crate::panels::{self as px, Figure, Legend, Panel, Series, Style};
use stdp_host::backend::Backend;
use stdp_host::sim::owned::OwnedState;

/// The neuron of the traces for `model` (see the module documentation).
pub fn trace_params(model: NeuronModel) -> NeuronParams {
    let base = match model {
        NeuronModel::Lif => NeuronParams {
            model,
            tau_m_ms: 20.0,
            refractory_ms: 2.0,
            ..NeuronParams::diehl_cook_excitatory()
        },
        NeuronModel::Conductance => NeuronParams::diehl_cook_excitatory(),
        NeuronModel::CubaLif => NeuronParams {
            model,
            ..NeuronParams::diehl_cook_excitatory()
        },
    };
    NeuronParams {
        v_init_mv: -65.0,
        theta_plus_mv: 1.0,
        tau_theta_ms: 200.0,
        theta_init_mv: 0.0,
        theta_offset_mv: 0.0,
        ..base
    }
}

/// Input weight of the traces: mV (LIF) or ge (conductance, relative to the leak).
pub fn trace_weight(model: NeuronModel) -> f64 {
    match model {
        NeuronModel::Lif => 3.5,
        NeuronModel::Conductance | NeuronModel::CubaLif => 1.2,
    }
}

fn params(n_inputs: usize, dt_ms: f64, exc: NeuronParams) -> NetworkParams {
    NetworkParams {
        n_inputs,
        n_neurons: 1,
        dt_ms,
        exc,
        stdp: StdpParams {
            rule: Rule::None,
            ..StdpParams::diehl_cook()
        },
        inhibition: Inhibition::None,
    }
}

/// Per-step record of one neuron.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    /// v at the end of each step, after the reset (mV).
    pub v: Vec<f64>,
    /// ge at the end of each step (conductance model; 0 for LIF).
    pub ge: Vec<f64>,
    /// v_thresh + theta - theta_offset at the end of each step (mV).
    pub threshold: Vec<f64>,
    /// Steps at which the neuron spiked.
    pub spikes: Vec<u32>,
}

/// Runs one neuron with `neuron` on `schedule` (all input weights `w`).
pub fn trace<T: Real>(
    neuron: &NeuronParams,
    w: f64,
    n_inputs: usize,
    dt_ms: f64,
    schedule: &Schedule,
) -> Result<Trace> {
    let net = Network::<T>::new(&params(n_inputs, dt_ms, *neuron)).map_err(|e| anyhow!("{e}"))?;
    let mut st = OwnedState::new(&net);
    st.weights.fill(T::from_f64(w));
    net.init_state(&mut st.view()).map_err(|e| anyhow!("{e}"))?;
    let offset = neuron.v_thresh_mv - neuron.theta_offset_mv;
    let mut t = Trace::default();
    for (k, inputs) in schedule.iter().enumerate() {
        net.step(&mut st.view(), inputs).map_err(|e| anyhow!("{e}"))?;
        t.v.push(st.exc.v[0].to_f64());
        t.ge.push(st.exc.ge[0].to_f64());
        t.threshold.push(offset + st.exc.theta[0].to_f64());
        if st.exc.spiked[0] {
            t.spikes.push(k as u32);
        }
    }
    Ok(t)
}

/// A current-based LIF driven by one regular input (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LifDrive {
    /// Time step (ms).
    pub dt_ms: f64,
    /// Membrane time constant (ms).
    pub tau_m_ms: f64,
    /// Resting potential (mV).
    pub v_rest_mv: f64,
    /// Reset potential (mV).
    pub v_reset_mv: f64,
    /// Threshold (mV).
    pub v_thresh_mv: f64,
    /// Refractory period (ms).
    pub refractory_ms: f64,
    /// Input weight (mV per input spike).
    pub w_mv: f64,
    /// The input spikes every this many steps (>= 1).
    pub period_steps: u32,
}

impl LifDrive {
    /// The f-I neuron: rest = reset = -65 mV, threshold -52 mV, tau_m = 20
    /// ms, refractory 2 ms, dt = 0.5 ms; input every step (P = 1) of `w_mv`.
    pub fn standard(w_mv: f64) -> Self {
        LifDrive {
            dt_ms: 0.5,
            tau_m_ms: 20.0,
            v_rest_mv: -65.0,
            v_reset_mv: -65.0,
            v_thresh_mv: -52.0,
            refractory_ms: 2.0,
            w_mv,
            period_steps: 1,
        }
    }

    /// Input rate (Hz).
    pub fn input_rate_hz(&self) -> f64 {
        1000.0 / (self.period_steps as f64 * self.dt_ms)
    }

    /// The mean depolarisation of the equivalent constant current,
    /// V_inf - v_rest = w tau_m / (P dt) (mV).
    pub fn drive_mv(&self) -> f64 {
        self.w_mv * self.tau_m_ms / (self.period_steps as f64 * self.dt_ms)
    }

    fn neuron(&self) -> NeuronParams {
        NeuronParams {
            model: NeuronModel::Lif,
            v_rest_mv: self.v_rest_mv,
            v_reset_mv: self.v_reset_mv,
            v_thresh_mv: self.v_thresh_mv,
            v_init_mv: self.v_rest_mv,
            tau_m_ms: self.tau_m_ms,
            refractory_ms: self.refractory_ms,
            threshold_block_ms: 0.0,
            theta_plus_mv: 0.0,
            tau_theta_ms: f64::INFINITY,
            theta_init_mv: 0.0,
            theta_offset_mv: 0.0,
            ..NeuronParams::diehl_cook_excitatory()
        }
    }
}

/// The closed-form steady inter-spike interval of a [`LifDrive`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IsiPrediction {
    /// ISI in steps (`None`: the neuron never spikes).
    pub isi_steps: Option<u64>,
    /// Distance (mV) between the threshold and the nearest threshold test
    /// that decides the ISI (how robust the prediction is to rounding).
    pub margin_mv: f64,
}

impl IsiPrediction {
    /// Output rate (Hz) at time step `dt_ms`.
    pub fn rate_hz(&self, dt_ms: f64) -> f64 {
        self.isi_steps.map_or(0.0, |n| 1000.0 / (n as f64 * dt_ms))
    }
}

/// The discrete closed form (module documentation).
pub fn lif_isi_closed_form(d: &LifDrive) -> IsiPrediction {
    let p = d.period_steps.max(1) as f64;
    let f = (-d.dt_ms / d.tau_m_ms).exp();
    let big_f = f.powf(p);
    let theta = d.v_thresh_mv - d.v_rest_mv;
    let x_r = d.v_reset_mv - d.v_rest_mv;
    let r = (d.refractory_ms / d.dt_ms + 0.001).floor() as u64;
    let r1 = r.max(1) as f64;
    let i0 = ((r1 + 1.0) / p).ceil();
    let z0 = x_r * f.powf(i0 * p - r1) + d.w_mv;
    let z_inf = d.w_mv / (1.0 - big_f);
    let check = |n: f64| f * (z_inf + (z0 - z_inf) * big_f.powf(n));
    if f * z0 > theta {
        return IsiPrediction {
            isi_steps: Some((i0 * p) as u64),
            margin_mv: f * z0 - theta,
        };
    }
    if f * z_inf <= theta {
        return IsiPrediction {
            isi_steps: None,
            margin_mv: theta - f * z_inf,
        };
    }
    let l = d.tau_m_ms / (p * d.dt_ms) * ((z_inf - z0) / (z_inf - theta / f)).ln();
    let n = l.floor() + 1.0;
    IsiPrediction {
        isi_steps: Some(((i0 + n) * p) as u64),
        margin_mv: (check(n) - theta).min(theta - check(n - 1.0)),
    }
}

/// The continuous-time LIF's ISI (ms) under the equivalent constant
/// current: `t_ref + tau_m ln((V_inf - v_reset)/(V_inf - v_thresh))`.
pub fn lif_isi_continuous_ms(d: &LifDrive) -> Option<f64> {
    let v_inf = d.v_rest_mv + d.drive_mv();
    (v_inf > d.v_thresh_mv)
        .then(|| d.refractory_ms + d.tau_m_ms * ((v_inf - d.v_reset_mv) / (v_inf - d.v_thresh_mv)).ln())
}

/// Simulates `d` for at most `max_steps` steps on backend `T` and returns
/// the inter-spike intervals (steps) after the first spike (up to 8).
pub fn lif_isis_simulated<T: Real>(d: &LifDrive, max_steps: u32) -> Result<Vec<u32>> {
    let net = Network::<T>::new(&params(1, d.dt_ms, d.neuron())).map_err(|e| anyhow!("{e}"))?;
    let mut st = OwnedState::new(&net);
    st.weights[0] = T::from_f64(d.w_mv);
    net.init_state(&mut st.view()).map_err(|e| anyhow!("{e}"))?;
    let p = d.period_steps.max(1);
    let mut spikes = Vec::new();
    for k in 0..max_steps {
        let inputs: &[u16] = if k % p == 0 { &[0] } else { &[] };
        net.step(&mut st.view(), inputs).map_err(|e| anyhow!("{e}"))?;
        if st.exc.spiked[0] {
            spikes.push(k);
            if spikes.len() > 9 {
                break;
            }
        }
    }
    Ok(spikes.windows(2).skip(1).map(|w| w[1] - w[0]).collect())
}

/// Output rate (Hz) from simulated ISIs (0 without two ISIs).
pub fn rate_from_isis(isis: &[u32], dt_ms: f64) -> f64 {
    if isis.is_empty() {
        return 0.0;
    }
    let mean = isis.iter().map(|&x| x as f64).sum::<f64>() / isis.len() as f64;
    1000.0 / (mean * dt_ms)
}

/// The weight sweep of the f-I figure (P = 1): 0.05 to 1.5 mV in 0.025 mV.
pub fn fi_weights() -> Vec<f64> {
    (2..=60).map(|k| k as f64 * 0.025).collect()
}

/// The input weight (mV) and periods (steps) of the rate-in/rate-out sweep.
pub const RATE_SWEEP_W_MV: f64 = 4.0;
/// Periods 1..=40 steps (2000 Hz down to 50 Hz at dt = 0.5 ms).
pub fn rate_sweep_periods() -> Vec<u32> {
    (1..=40).collect()
}

fn simulate_fi(d: &LifDrive, fixed: bool) -> Result<f64> {
    let isis = if fixed {
        lif_isis_simulated::<Fx>(d, 40_000)?
    } else {
        lif_isis_simulated::<f64>(d, 40_000)?
    };
    Ok(rate_from_isis(&isis, d.dt_ms))
}

/// Runs the experiment (see [`super::ExperimentOptions`]); returns the summary.
pub fn run(a: &ExperimentOptions) -> Result<String> {
    let dt = a.dt;
    let duration = a.duration.unwrap_or(1000.0);
    let rate = a.rate.unwrap_or(20.0);
    let steps = (duration / dt).round() as u32;
    let (schedule, n_inputs, source) = match &a.spikes_csv {
        Some(path) => {
            let spikes = read_spike_csv(path)?;
            let n = spikes.iter().map(|s| s.0 as usize + 1).max().unwrap_or(1);
            (
                schedule_from_spikes(&spikes, n, dt, steps)?,
                n,
                format!("{} ({} spikes)", path.display(), spikes.len()),
            )
        }
        None => (
            make_trains(
                &TrainSpec {
                    kind: a.train,
                    n: a.inputs,
                    rate_hz: rate,
                    dead_time_ms: a.dead_time,
                    correlation: a.correlation,
                },
                dt,
                steps,
                a.seed,
            )?,
            a.inputs,
            format!("{} x {:?} at {rate} Hz, seed {}", a.inputs, a.train, a.seed),
        ),
    };
    let out = &a.out;
    let mut s = String::new();
    let _ = writeln!(s, "experiment neuron: {duration} ms at dt = {dt} ms; inputs: {source}");
    let in_spikes: Vec<(f64, u32)> = schedule
        .iter()
        .enumerate()
        .flat_map(|(k, v)| v.iter().map(move |&i| (k as f64 * dt, i as u32)))
        .collect();
    write_csv(
        &out.join("input_spikes.csv"),
        &["time_ms", "input"],
        in_spikes.iter().map(|&(t, i)| vec![t, i as f64]),
    )?;
    let _ = writeln!(s, "input spikes: {}", in_spikes.len());

    for (model, name) in [(NeuronModel::Lif, "lif"), (NeuronModel::Conductance, "conductance")] {
        let np = trace_params(model);
        let w = trace_weight(model);
        let mut runs = Vec::new();
        for (b, fixed) in backends(a) {
            let t = if fixed {
                trace::<Fx>(&np, w, n_inputs, dt, &schedule)?
            } else {
                trace::<f64>(&np, w, n_inputs, dt, &schedule)?
            };
            runs.push((b, t));
        }
        let mut header = vec!["time_ms".to_string()];
        for (b, _) in &runs {
            for q in ["v_mv", "ge", "threshold_mv", "spike"] {
                header.push(format!("{q}_{b}"));
            }
        }
        let hdr: Vec<&str> = header.iter().map(String::as_str).collect();
        write_csv(
            &out.join(format!("trace_{name}.csv")),
            &hdr,
            (0..steps as usize).map(|k| {
                let mut row = vec![k as f64 * dt];
                for (_, t) in &runs {
                    row.extend([
                        t.v[k],
                        t.ge[k],
                        t.threshold[k],
                        t.spikes.binary_search(&(k as u32)).is_ok() as u8 as f64,
                    ]);
                }
                row
            }),
        )?;
        let unit = if model == NeuronModel::Lif {
            "mV"
        } else {
            "(ge, x leak)"
        };
        let _ = writeln!(
            s,
            "{name}: v_rest {} mV, v_thresh {} mV, tau_m {} ms, refractory {} ms, theta += {} mV per spike (tau {} ms), input weight {w} {unit}",
            np.v_rest_mv, np.v_thresh_mv, np.tau_m_ms, np.refractory_ms, np.theta_plus_mv, np.tau_theta_ms
        );
        for (b, t) in &runs {
            let _ = writeln!(
                s,
                "  {b}: {} output spikes ({:.1} Hz), threshold at the end {:.2} mV",
                t.spikes.len(),
                t.spikes.len() as f64 / (duration / 1000.0),
                t.threshold.last().copied().unwrap_or(f64::NAN)
            );
        }
        if let [(_, f), (_, x)] = runs.as_slice() {
            let dv = f.v.iter().zip(&x.v).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
            let _ = writeln!(
                s,
                "  fixed vs float: max |dv| = {dv:.2e} mV, spike trains {}",
                if f.spikes == x.spikes { "identical" } else { "differ" }
            );
        }
        trace_figure(
            &runs,
            &in_spikes,
            n_inputs,
            &np,
            model,
            duration,
            dt,
            &out.join(format!("neuron_{name}")),
        )?;
    }

    // f-I and rate-in / rate-out.
    let mut fi_rows = Vec::new();
    let mut fi = [Vec::new(), Vec::new(), Vec::new(), Vec::new()];
    let mut worst = 0.0f64;
    for w in fi_weights() {
        let d = LifDrive {
            dt_ms: dt,
            ..LifDrive::standard(w)
        };
        let [exact, cont, fl, fx] = fi_point(&d, a, &mut worst)?;
        let x = d.drive_mv();
        fi[0].push((x, exact));
        fi[1].push((x, cont));
        fi[2].push((x, fl));
        fi[3].push((x, fx));
        fi_rows.push(vec![w, x, d.input_rate_hz(), exact, cont, fl, fx]);
    }
    let mut rr = [Vec::new(), Vec::new(), Vec::new(), Vec::new()];
    for p in rate_sweep_periods() {
        let d = LifDrive {
            dt_ms: dt,
            period_steps: p,
            ..LifDrive::standard(RATE_SWEEP_W_MV)
        };
        let [exact, cont, fl, fx] = fi_point(&d, a, &mut worst)?;
        let x = d.input_rate_hz();
        rr[0].push((x, exact));
        rr[1].push((x, cont));
        rr[2].push((x, fl));
        rr[3].push((x, fx));
        fi_rows.push(vec![d.w_mv, d.drive_mv(), x, exact, cont, fl, fx]);
    }
    write_csv(
        &out.join("fi_curve.csv"),
        &[
            "w_mv",
            "drive_mv",
            "input_rate_hz",
            "rate_closed_form_hz",
            "rate_continuous_hz",
            "rate_float_hz",
            "rate_fixed_hz",
        ],
        fi_rows,
    )?;
    let _ = writeln!(
        s,
        "f-I (current LIF, rest = reset = -65 mV, threshold -52 mV, tau_m 20 ms, refractory 2 ms): \
         simulated rates vs the discrete closed form: max |difference| = {worst:.3e} Hz"
    );
    let series = |pts: &[Vec<(f64, f64)>; 4], x_is_rate: bool| {
        let mut v = vec![
            Series::new("discrete closed form", pts[0].clone(), px::color(0), Style::Line),
            Series::new(
                "continuous LIF, mean current",
                pts[1].clone(),
                px::color(7),
                Style::Dashed,
            ),
        ];
        if a.runs(Backend::F64) {
            v.push(Series::new(
                "simulated, float",
                pts[2].clone(),
                px::color(1),
                Style::Markers,
            ));
        }
        if a.runs(Backend::Fixed) {
            v.push(Series::new(
                "simulated, fixed",
                pts[3].clone(),
                px::color(3),
                Style::Rings,
            ));
        }
        let _ = x_is_rate;
        v
    };
    let fig = Figure {
        title: "Current-based LIF under constant drive: simulation vs closed form".into(),
        panels: vec![
            Panel::lines(
                "f-I: an input every step (2 kHz), weight 0.05 to 1.5 mV",
                "drive w tau_m / dt = V_inf - v_rest (mV)",
                "output rate (Hz)",
                series(&fi, false),
            )
            .legend(Legend::UpperLeft),
            Panel::lines(
                &format!("rate in / rate out: regular input, w = {RATE_SWEEP_W_MV} mV"),
                "input rate (Hz)",
                "output rate (Hz)",
                series(&rr, true),
            )
            .legend(Legend::UpperLeft),
        ],
        cols: 2,
        size: (1500, 620),
    };
    px::save(&fig, &out.join("fi_curve"))?;
    let _ = writeln!(
        s,
        "files: neuron_lif.png/svg, neuron_conductance.png/svg, fi_curve.png/svg, trace_*.csv, fi_curve.csv, input_spikes.csv"
    );
    Ok(s)
}

#[allow(clippy::too_many_arguments)]
fn trace_figure(
    runs: &[(&str, Trace)],
    in_spikes: &[(f64, u32)],
    n_inputs: usize,
    np: &NeuronParams,
    model: NeuronModel,
    duration: f64,
    dt: f64,
    stem: &std::path::Path,
) -> Result<()> {
    let raster: Vec<_> = in_spikes
        .iter()
        .map(|&(t, i)| (t, i, plotters::style::RGBColor(25, 25, 112)))
        .collect();
    let mut v_series = Vec::new();
    let mut g_series = Vec::new();
    for (k, (b, t)) in runs.iter().enumerate() {
        // 1-px lines: plotters joins wide polylines with unbounded miters,
        // which draw needles at the sharp corners of spiky traces.
        let style = if k == 0 { Style::Thin } else { Style::ThinDashed };
        let (cv, ct) = if k == 0 {
            (px::color(0), px::color(3))
        } else {
            (px::color(1), px::color(4))
        };
        // v with each spike drawn as a stroke from the threshold up to +20 mV.
        let mut pts = Vec::with_capacity(t.v.len() + 3 * t.spikes.len());
        let mut next = t.spikes.iter().peekable();
        for (j, &v) in t.v.iter().enumerate() {
            let time = j as f64 * dt;
            if next.next_if(|&&s| s as usize == j).is_some() {
                let before = if j > 0 { t.v[j - 1] } else { v };
                pts.push((time, before.max(t.threshold[j.saturating_sub(1)])));
                pts.push((time, t.threshold[j] + 20.0));
                pts.push((time, v));
            } else {
                pts.push((time, v));
            }
        }
        v_series.push(Series::new(format!("v ({b})"), pts, cv, style));
        v_series.push(Series::new(
            format!("threshold v_thresh + theta ({b})"),
            t.threshold
                .iter()
                .enumerate()
                .map(|(j, &x)| (j as f64 * dt, x))
                .collect(),
            ct,
            style,
        ));
        g_series.push(Series::new(
            format!("ge ({b})"),
            t.ge.iter().enumerate().map(|(j, &x)| (j as f64 * dt, x)).collect(),
            cv,
            style,
        ));
    }
    let spikes_txt: Vec<String> = runs
        .iter()
        .map(|(b, t)| format!("{} spikes {b}", t.spikes.len()))
        .collect();
    let (title, v_title) = match model {
        NeuronModel::Lif => (
            "Current-based LIF: an input spike adds its weight to v",
            format!("membrane and adaptive threshold ({})", spikes_txt.join(", ")),
        ),
        NeuronModel::Conductance => (
            "Conductance-based LIF (Diehl & Cook): an input spike adds its weight to ge",
            format!("membrane and adaptive threshold ({})", spikes_txt.join(", ")),
        ),
        NeuronModel::CubaLif => (
            "Current-based LIF with synaptic currents: an input spike adds its weight to ge",
            format!("membrane and adaptive threshold ({})", spikes_txt.join(", ")),
        ),
    };
    // Room below the reset for the legend.
    let v_lo = np.v_reset_mv.min(np.v_rest_mv) - 13.0;
    let v_hi = runs
        .iter()
        .flat_map(|(_, t)| t.threshold.iter())
        .fold(np.v_thresh_mv, |m, &x| m.max(x))
        + 22.0;
    let mut panels = vec![
        Panel::raster(
            &format!("{n_inputs} input trains ({} spikes)", in_spikes.len()),
            "input",
            raster,
            n_inputs as u32,
        )
        .x(0.0, duration)
        .height(0.55),
        Panel::lines(&v_title, "", "mV", v_series)
            .x(0.0, duration)
            .y(v_lo, v_hi)
            .legend(Legend::LowerRight)
            .height(1.2),
    ];
    if model == NeuronModel::Conductance {
        panels.push(
            Panel::lines(
                "excitatory conductance ge (tau_ge = 1 ms; gi = 0: no inhibition)",
                "time (ms)",
                "ge (x leak)",
                g_series,
            )
            .x(0.0, duration)
            .legend(Legend::UpperRight)
            .height(0.7),
        );
    } else if let Some(p) = panels.last_mut() {
        p.x_label = "time (ms)".into();
    }
    let h = if model == NeuronModel::Conductance { 900 } else { 700 };
    px::save(
        &Figure {
            title: title.into(),
            panels,
            cols: 1,
            size: (1300, h),
        },
        stem,
    )
}

/// One point of the f-I / rate curves: output rate (Hz) by the discrete
/// closed form, by the continuous LIF, and simulated in float and in fixed
/// point (NaN for a backend not asked for); `worst` takes the largest
/// |simulated - closed form|.
fn fi_point(d: &LifDrive, a: &ExperimentOptions, worst: &mut f64) -> Result<[f64; 4]> {
    let exact = lif_isi_closed_form(d).rate_hz(d.dt_ms);
    let cont = lif_isi_continuous_ms(d).map_or(0.0, |isi| 1000.0 / isi);
    let fl = if a.runs(Backend::F64) {
        simulate_fi(d, false)?
    } else {
        f64::NAN
    };
    let fx = if a.runs(Backend::Fixed) {
        simulate_fi(d, true)?
    } else {
        f64::NAN
    };
    for r in [fl, fx] {
        if r.is_finite() {
            *worst = worst.max((r - exact).abs());
        }
    }
    Ok([exact, cont, fl, fx])
}
