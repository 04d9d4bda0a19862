//! `stdp-window`: the weight change of one synapse against the interval
//! between its presynaptic spike and the postsynaptic spike, for every
//! learning rule, from one pairing and from repeated pairings, float and
//! fixed.
//!
//! # The rig: how the post spike is produced
//! One current-based LIF neuron (v_rest = v_reset = -65 mV, v_thresh =
//! -63.5 mV, tau_m = 20 ms, no refractory period, no threshold adaptation)
//! and three inputs: the *probe* (input 0, initial weight w0 = 0.5, the
//! synapse that is measured) and two *drivers* (inputs 1 and 2, weight
//! w_max = 1). Both drivers spike at step `k_post - 1`; one step later v =
//! -65 + 2 * exp(-0.5/20) = -63.05 mV > -63.5 mV, so the neuron spikes at
//! exactly step `k_post`. The probe alone (w <= w_max = 1 mV) can never
//! reach the threshold (1.5 mV above rest), so it never makes a spike of
//! its own, whatever its weight becomes. The probe spikes at step
//! `k_pre = k_post - d`, and `dt_pre_post = d * dt` ms (positive: pre
//! before post). Every run checks that the neuron spiked exactly at the
//! intended steps and nowhere else.
//!
//! Repeated pairings repeat the same pair every `1000 / pairing_hz` ms;
//! the silence in between is skipped with `Network::rest` (exact for a
//! LIF). With the pair rule, 1 Hz pairing leaves every trace at
//! exp(-1000/20) ~ 2e-22 by the next pair, so 60 pairings give 60 times
//! the single-pair change (while the weight stays inside [0, w_max]).
//!
//! # Rules and parameters
//! tau_pre = tau_post1 = 20 ms, tau_post2 = 40 ms, traces set to 1 on a
//! spike (Diehl & Cook). Pair and triplet: nu_post = 0.005, nu_pre =
//! 0.00525 (slight depression dominance). Power-law (mu = 0.2) and
//! exp-weight (beta = 1): nu_post = 0.005, x_tar = 0.4. The single-pair
//! pair-rule window is, exactly in the discrete semantics,
//! `nu_post exp(-d dt / tau_pre)` for d >= 0 and
//! `-nu_pre exp(-|d| dt / tau_post1)` for d < 0.

use std::fmt::Write as _;

use anyhow::{anyhow, bail, Result};
use plotters::style::RGBColor;
use stdp_core::{Fx, Inhibition, Network, NetworkParams, NeuronModel, NeuronParams, Real, Rule, StdpParams, TraceMode};

use super::{backends, write_csv, ExperimentOptions};
use crate::panels::{self as px, Figure, Legend, Panel, Series, Style};
use stdp_host::backend::Backend;
use stdp_host::sim::owned::OwnedState;

/// Initial weight of the probe synapse.
pub const W0: f64 = 0.5;
/// w_max (and the drivers' weight).
pub const W_MAX: f64 = 1.0;
/// The four learning rules, with their names.
pub const RULES: [(Rule, &str); 4] = [
    (Rule::Pair, "pair"),
    (Rule::Triplet, "triplet"),
    (Rule::PowerLaw, "power-law"),
    (Rule::ExpWeight, "exp-weight"),
];

/// The STDP parameters of the window experiment for `rule`.
pub fn stdp_params(rule: Rule) -> StdpParams {
    StdpParams {
        rule,
        trace_mode: TraceMode::Set,
        nu_pre: 0.00525,
        nu_post: 0.005,
        tau_pre_ms: 20.0,
        tau_post1_ms: 20.0,
        tau_post2_ms: 40.0,
        w_max: W_MAX,
        x_tar: 0.4,
        mu: 0.2,
        beta: 1.0,
    }
}

fn rig_params(stdp: StdpParams, dt_ms: f64) -> NetworkParams {
    NetworkParams {
        n_inputs: 3,
        n_neurons: 1,
        dt_ms,
        exc: NeuronParams {
            model: NeuronModel::Lif,
            v_rest_mv: -65.0,
            v_reset_mv: -65.0,
            v_thresh_mv: -63.5,
            v_init_mv: -65.0,
            tau_m_ms: 20.0,
            refractory_ms: 0.0,
            threshold_block_ms: 0.0,
            theta_plus_mv: 0.0,
            tau_theta_ms: f64::INFINITY,
            theta_init_mv: 0.0,
            theta_offset_mv: 0.0,
            ..NeuronParams::diehl_cook_excitatory()
        },
        stdp,
        inhibition: Inhibition::None,
    }
}

/// A pairing protocol.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Protocol {
    /// Time step (ms).
    pub dt_ms: f64,
    /// Number of pairings (>= 1).
    pub pairings: u32,
    /// Steps between pairings.
    pub period_steps: u32,
}

impl Protocol {
    /// One pairing at dt = `dt_ms`.
    pub fn single(dt_ms: f64) -> Self {
        Protocol {
            dt_ms,
            pairings: 1,
            period_steps: 1,
        }
    }
    /// `n` pairings at `hz`.
    pub fn repeated(dt_ms: f64, n: u32, hz: f64) -> Self {
        Protocol {
            dt_ms,
            pairings: n,
            period_steps: (1000.0 / hz / dt_ms).round().max(1.0) as u32,
        }
    }
}

/// The probe's total weight change after the protocol, the probe spiking
/// `d` steps before the post spike (d < 0: after). Errors if the neuron
/// does not spike exactly once per pairing at the intended step.
pub fn weight_change<T: Real>(stdp: &StdpParams, proto: &Protocol, d: i32) -> Result<f64> {
    let net = Network::<T>::new(&rig_params(*stdp, proto.dt_ms)).map_err(|e| anyhow!("{e}"))?;
    let mut st = OwnedState::new(&net);
    st.weights
        .copy_from_slice(&[T::from_f64(W0), T::from_f64(W_MAX), T::from_f64(W_MAX)]);
    net.init_state(&mut st.view()).map_err(|e| anyhow!("{e}"))?;
    // The first post spike leaves room for a probe up to |d| steps before it.
    let first_post = d.unsigned_abs() + 2;
    let mut events: Vec<(u32, Vec<u16>)> = Vec::new();
    let mut expected = Vec::new();
    for n in 0..proto.pairings {
        let k_post = first_post + n * proto.period_steps;
        let k_pre = (k_post as i64 - d as i64) as u32;
        events.push((k_post - 1, vec![1, 2]));
        events.push((k_pre, vec![0]));
        expected.push(k_post);
    }
    events.sort_by_key(|e| e.0);
    // Merge events of one step (the probe with the drivers at d = 1).
    let mut merged: Vec<(u32, Vec<u16>)> = Vec::new();
    for (k, v) in events {
        match merged.last_mut() {
            Some((k0, v0)) if *k0 == k => {
                v0.extend(v);
                v0.sort_unstable();
            }
            _ => merged.push((k, v)),
        }
    }
    let last = expected
        .last()
        .copied()
        .unwrap_or(0)
        .max(merged.last().map_or(0, |e| e.0));
    let mut spikes = Vec::new();
    let mut k = 0u32;
    let mut last_input: Option<u32> = None;
    let mut ev = merged.iter().peekable();
    while k <= last + 1 {
        let inputs: &[u16] = match ev.peek() {
            Some((ke, v)) if *ke == k => {
                ev.next();
                last_input = Some(k);
                v
            }
            // An input can make the neuron spike one step later: step that
            // step, then relax in closed form through the silence.
            Some((ke, _)) if *ke > k + 1 && last_input.is_none_or(|l| k >= l + 2) => {
                let n = ke - k;
                net.rest(&mut st.view(), n).map_err(|e| anyhow!("{e}"))?;
                k += n;
                continue;
            }
            _ => &[],
        };
        net.step(&mut st.view(), inputs).map_err(|e| anyhow!("{e}"))?;
        if st.exc.spiked[0] {
            spikes.push(k);
        }
        k += 1;
    }
    if spikes != expected {
        bail!("the rig misfired at d = {d}: post spikes at {spikes:?}, expected {expected:?}");
    }
    Ok(st.weights[0].to_f64() - W0)
}

/// The window: (interval ms, total weight change) for d = -range..=range
/// steps in steps of `stride`.
pub fn window<T: Real>(stdp: &StdpParams, proto: &Protocol, range: i32, stride: usize) -> Result<Vec<(f64, f64)>> {
    (-range..=range)
        .step_by(stride)
        .map(|d| Ok((d as f64 * proto.dt_ms, weight_change::<T>(stdp, proto, d)?)))
        .collect()
}

/// The exact single-pair window of the pair rule (see the module docs).
pub fn pair_rule_theory(stdp: &StdpParams, interval_ms: f64) -> f64 {
    if interval_ms >= 0.0 {
        stdp.nu_post * (-interval_ms / stdp.tau_pre_ms).exp()
    } else {
        -stdp.nu_pre * (interval_ms / stdp.tau_post1_ms).exp()
    }
}

/// Adds `v` as two lines, t_post - t_pre < 0 and >= 0 (no vertical jump at 0).
fn branches(series: &mut Vec<Series>, name: String, v: Vec<(f64, f64)>, c: RGBColor, style: Style) {
    let (neg, pos): (Vec<_>, Vec<_>) = v.into_iter().partition(|q| q.0 < 0.0);
    series.push(Series::new(name, neg, c, style));
    series.push(Series::new("", pos, c, style));
}

/// Runs the experiment (see [`super::ExperimentOptions`]); returns the summary.
pub fn run(a: &ExperimentOptions) -> Result<String> {
    let dt = a.dt;
    let range = (100.0 / dt).round() as i32;
    let stride = (1.0 / dt).round().max(1.0) as usize;
    let single = Protocol::single(dt);
    let repeated = Protocol::repeated(dt, a.pairings.max(1), a.pairing_hz);
    let n_rep = repeated.pairings as f64;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "experiment stdp-window: dt = {dt} ms, intervals -100..+100 ms (t_post - t_pre), w0 = {W0}, w_max = {W_MAX};\n\
         single pairing, and {} pairings at {} Hz (shown as change per pairing)",
        repeated.pairings, a.pairing_hz
    );
    let mut panels = Vec::new();
    let mut rows: Vec<Vec<f64>> = Vec::new();
    let mut cols: Vec<String> = vec!["interval_ms".into()];
    let mut columns: Vec<Vec<f64>> = Vec::new();
    for (ri, &(rule, name)) in RULES.iter().enumerate() {
        let p = stdp_params(rule);
        let mut series = Vec::new();
        let mut curves: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
        for (b, fixed) in backends(a) {
            for (proto, label) in [(&single, "single"), (&repeated, "repeated")] {
                let w = if fixed {
                    window::<Fx>(&p, proto, range, stride)?
                } else {
                    window::<f64>(&p, proto, range, stride)?
                };
                cols.push(format!("{name}_{label}_{b}"));
                columns.push(w.iter().map(|q| q.1).collect());
                if ri == 0 && columns.len() == 1 {
                    rows = w.iter().map(|q| vec![q.0]).collect();
                }
                curves.push((format!("{label} {b}"), w));
            }
        }
        let get = |key: &str| curves.iter().find(|c| c.0 == key).map(|c| c.1.clone());
        // The curves are keyed by protocol and backend name ("single f64",
        // "repeated fixed"); the float reference is the f64 backend.
        let float = Backend::F64.name();
        let per = |v: Vec<(f64, f64)>| v.into_iter().map(|(x, y)| (x, y / n_rep)).collect::<Vec<_>>();
        let every = |v: Vec<(f64, f64)>, k: usize| v.into_iter().step_by(k).collect::<Vec<_>>();
        if let Some(v) = get(&format!("single {float}")) {
            branches(&mut series, "1 pairing, float".into(), v, px::color(0), Style::Line);
        }
        if let Some(v) = get("single fixed") {
            series.push(Series::new("1 pairing, fixed", every(v, 4), px::color(0), Style::Rings));
        }
        let rep_label = format!(
            "{} pairings at {} Hz / {}",
            repeated.pairings, a.pairing_hz, repeated.pairings
        );
        if let Some(v) = get(&format!("repeated {float}")) {
            branches(
                &mut series,
                format!("{rep_label}, float"),
                per(v),
                px::color(3),
                Style::Dashed,
            );
        }
        if let Some(v) = get("repeated fixed") {
            series.push(Series::new(
                format!("{rep_label}, fixed"),
                every(per(v), 4),
                px::color(3),
                Style::Rings,
            ));
        }
        if rule == Rule::Pair {
            let theory = (-range..=range)
                .step_by(stride)
                .map(|d| {
                    let x = d as f64 * dt;
                    (x, pair_rule_theory(&p, x))
                })
                .collect();
            let mut t = Vec::new();
            branches(
                &mut t,
                "nu exp(-|dt|/tau)".into(),
                theory,
                px::lighter(px::color(7), 0.2),
                Style::Thin,
            );
            series.splice(0..0, t);
        }
        // Fixed vs float agreement, per curve.
        let mut diffs = Vec::new();
        for label in ["single", "repeated"] {
            if let (Some(f), Some(x)) = (get(&format!("{label} {float}")), get(&format!("{label} fixed"))) {
                let m = f.iter().zip(&x).map(|(a, b)| (a.1 - b.1).abs()).fold(0.0, f64::max);
                diffs.push(format!("{label} {m:.1e}"));
            }
        }
        let extreme = |key: &str| {
            get(key).map(|v| {
                let mx = v
                    .iter()
                    .cloned()
                    .fold((0.0, f64::NEG_INFINITY), |m, q| if q.1 > m.1 { q } else { m });
                let mn = v
                    .iter()
                    .cloned()
                    .fold((0.0, f64::INFINITY), |m, q| if q.1 < m.1 { q } else { m });
                (mx, mn)
            })
        };
        let first = if a.runs(Backend::F64) { "f64" } else { "fixed" };
        if let Some((mx, mn)) = extreme(&format!("single {first}")) {
            let _ = writeln!(
                s,
                "{name}: single pairing ({first}): max {:+.3e} at {:+} ms, min {:+.3e} at {:+} ms",
                mx.1, mx.0, mn.1, mn.0
            );
        }
        if let Some((mx, mn)) = extreme(&format!("repeated {first}")) {
            let _ = writeln!(
                s,
                "{name}: {} pairings ({first}): total max {:+.3e} at {:+} ms, min {:+.3e} at {:+} ms",
                repeated.pairings, mx.1, mx.0, mn.1, mn.0
            );
        }
        if !diffs.is_empty() {
            let _ = writeln!(s, "{name}: max |fixed - float|: {}", diffs.join(", "));
        }
        let name_note = match rule {
            Rule::Triplet => format!("{name} rule (no LTP without an earlier post spike)"),
            _ => format!("{name} rule"),
        };
        let title = if diffs.is_empty() {
            name_note
        } else {
            format!("{name_note}; max |fixed - float| {}", diffs.join(", "))
        };
        panels.push(
            Panel::lines(&title, "t_post - t_pre (ms)", "weight change", series)
                .x(-100.0, 100.0)
                .legend(match rule {
                    Rule::Triplet => Legend::LowerRight,
                    Rule::Pair => Legend::UpperLeft,
                    _ => Legend::UpperLeft,
                }),
        );
    }
    for (row, k) in rows.iter_mut().zip(0..) {
        for c in &columns {
            row.push(c[k]);
        }
    }
    let hdr: Vec<&str> = cols.iter().map(String::as_str).collect();
    write_csv(&a.out.join("stdp_window.csv"), &hdr, rows)?;
    let _ = writeln!(
        s,
        "note: the triplet rule potentiates only if the neuron spiked within ~tau_post2 = 40 ms before: \
         at {} Hz pairing it only depresses (its LTP is frequency dependent)",
        a.pairing_hz
    );
    let _ = writeln!(s, "files: stdp_window.png/svg, stdp_window.csv (total changes)");
    px::save(
        &Figure {
            title: "STDP windows: weight change of one synapse against the pre-post interval".into(),
            panels,
            cols: 2,
            size: (1500, 1000),
        },
        &a.out.join("stdp_window"),
    )?;
    Ok(s)
}
