//! Acceptance of the scenario runner against Brian 2 (issue: foundation).
//!
//! Every `tests/scenarios/NAME.toml` has `NAME.brian2.json`, written by
//! Brian 2.9 (see tests/brian2/README.md). Bounds:
//! - float (f64): identical spike steps, weights and v within 1e-6;
//! - fixed (Q11.20): same spike count per neuron, spike times within one
//!   step, weights within 1 % of w_max at every snapshot and at the end,
//!   v within 0.05 mV while both rasters agree.

use std::path::{Path, PathBuf};

use stdp_host::backend::Backend;
use stdp_host::scenario::{Comparison, Output, Scenario};

fn scenario_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

fn cases() -> Vec<(String, Scenario, Output, f64)> {
    let mut v = Vec::new();
    for entry in std::fs::read_dir(scenario_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&path).unwrap();
            let sc = Scenario::parse(&text).unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
            let reference = path.with_extension("brian2.json");
            let brian: Output = serde_json::from_slice(&std::fs::read(&reference).unwrap()).unwrap();
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let dt = sc.params.dt_ms;
            v.push((name, sc, brian, dt));
        }
    }
    v.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(v.len() >= 10, "expected the scenario suite, found {}", v.len());
    v
}

fn spike_steps(o: &Output, dt: f64) -> Vec<(usize, u64)> {
    o.spikes.iter().map(|&(j, t)| (j, (t / dt).round() as u64)).collect()
}

#[test]
fn float_backend_reproduces_brian2() {
    for (name, sc, brian, dt) in cases() {
        let out = sc.run(Backend::F64).unwrap();
        assert!(!brian.spikes.is_empty(), "{name}: reference has no spikes");
        assert_eq!(spike_steps(&out, dt), spike_steps(&brian, dt), "{name}: spike steps");
        assert_eq!(
            out.weights_history.len(),
            brian.weights_history.len(),
            "{name}: snapshots"
        );
        for (a, b) in out.weights_history.iter().zip(&brian.weights_history) {
            assert!((a.t_ms - b.t_ms).abs() < 1e-9, "{name}: snapshot times");
        }
        let c = Comparison::of(&out, &brian, dt);
        assert!(c.max_weight_diff <= 1e-6, "{name}: {}", c.summary());
        assert!(c.max_v_diff <= 1e-6, "{name}: {}", c.summary());
        if sc.record_v {
            assert_eq!(out.v.len(), brian.v.len(), "{name}: v recorded");
            assert_eq!(out.v[0].len(), sc.steps as usize);
        }
    }
}

#[test]
fn fixed_backend_follows_brian2_within_stated_bounds() {
    for (name, sc, brian, dt) in cases() {
        let out = sc.run(Backend::Fixed).unwrap();
        let c = Comparison::of(&out, &brian, dt);
        // The table of docs/results/brian2.md: `cargo test -p stdp-tests --test scenarios -- --nocapture`.
        eprintln!("fixed vs Brian 2, {name}: {}", c.summary());
        let w_max = sc.params.stdp.w_max;
        assert!(!c.counts_differ, "{name}: spike counts: {}", c.summary());
        assert!(c.max_spike_shift_steps <= 1, "{name}: {}", c.summary());
        assert!(c.max_weight_diff <= 0.01 * w_max, "{name}: {}", c.summary());
        if spike_steps(&out, dt) == spike_steps(&brian, dt) {
            assert!(c.max_v_diff <= 0.05, "{name}: {}", c.summary());
        }
    }
}

#[test]
fn f32_backend_keeps_spike_counts() {
    for (name, sc, brian, dt) in cases() {
        let out = sc.run(Backend::F32).unwrap();
        let c = Comparison::of(&out, &brian, dt);
        assert!(
            !c.counts_differ && c.max_spike_shift_steps <= 1,
            "{name}: {}",
            c.summary()
        );
        assert!(
            c.max_weight_diff <= 1e-3 * sc.params.stdp.w_max,
            "{name}: {}",
            c.summary()
        );
    }
}
