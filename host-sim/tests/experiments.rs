//! The experiments check the science, through their library functions:
//!
//! - the pair rule's single-pair window is nu_post exp(-dt/tau_pre) for
//!   pre-before-post and -nu_pre exp(-|dt|/tau_post1) for post-before-pre,
//!   to 1e-12 (float); 60 pairings at 1 Hz give exactly 60 times that;
//! - fixed and float windows of every rule agree within 4 Q11.20 steps
//!   (3.8e-6 weight units) per pairing;
//! - the current-based LIF's inter-spike intervals equal the discrete
//!   closed form of `experiments::neuron` exactly, in float and fixed, and
//!   that closed form tends to the continuous LIF's as dt shrinks;
//! - in `weight-history` the correlated group ends with the larger mean
//!   weight (three seeds float, one fixed), and not without correlation;
//! - the generators' rates and correlation as the host builds them, and
//!   every experiment's files.

use std::path::Path;

use stdp_core::{Fx, Rule};
use stdp_plots::experiments::inputs::{make_trains, parse_spike_csv, schedule_from_spikes, TrainSpec};
use stdp_plots::experiments::neuron::{
    fi_weights, lif_isi_closed_form, lif_isi_continuous_ms, lif_isis_simulated, rate_sweep_periods, LifDrive,
    RATE_SWEEP_W_MV,
};
use stdp_plots::experiments::stdp_window::{pair_rule_theory, stdp_params, window, Protocol, RULES};
use stdp_plots::experiments::weight_history::{simulate, Config};
use stdp_plots::experiments::TrainKind;

mod common;

const DT: f64 = 0.5;
/// One step of Q11.20 (weight units).
const FX_STEP: f64 = 1.0 / (1u32 << 20) as f64;

#[test]
fn pair_rule_window_is_nu_exp_on_both_sides() {
    let p = stdp_params(Rule::Pair);
    let single = window::<f64>(&p, &Protocol::single(DT), 200, 1).unwrap();
    assert_eq!(single.len(), 401);
    let mut worst = 0.0f64;
    for &(x, dw) in &single {
        worst = worst.max((dw - pair_rule_theory(&p, x)).abs());
    }
    eprintln!("pair window: max |dw - nu exp(-|dt|/tau)| = {worst:.1e}");
    assert!(worst < 1e-12, "max |dw - nu exp(-|dt|/tau)| = {worst:e}");
    // Both sides are there: LTP at +0.5 ms, LTD at -0.5 ms, decaying with tau = 20 ms.
    let at = |x: f64| single.iter().find(|q| (q.0 - x).abs() < 1e-9).unwrap().1;
    assert!((at(0.5) / at(20.5) - 1f64.exp()).abs() < 1e-9);
    assert!((at(-0.5) / at(-20.5) - 1f64.exp()).abs() < 1e-9);
    assert!(at(0.5) > 0.0 && at(-0.5) < 0.0);
    // 60 pairings at 1 Hz: the traces are back to ~1e-22 between pairs.
    let rep = window::<f64>(&p, &Protocol::repeated(DT, 60, 1.0), 200, 5).unwrap();
    for &(x, dw) in &rep {
        let one = at(x);
        assert!((dw - 60.0 * one).abs() < 1e-10, "at {x} ms: {dw} vs 60 x {one}");
    }
}

#[test]
fn fixed_and_float_windows_agree_within_four_steps_per_pairing() {
    for &(rule, name) in &RULES {
        let p = stdp_params(rule);
        for proto in [Protocol::single(DT), Protocol::repeated(DT, 60, 1.0)] {
            let f = window::<f64>(&p, &proto, 200, 4).unwrap();
            let x = window::<Fx>(&p, &proto, 200, 4).unwrap();
            let worst = f.iter().zip(&x).map(|(a, b)| (a.1 - b.1).abs()).fold(0.0, f64::max);
            let bound = 4.0 * FX_STEP * proto.pairings as f64;
            eprintln!(
                "{name}, {} pairing(s): max |fixed - float| = {worst:.2e} (bound {bound:.2e})",
                proto.pairings
            );
            assert!(
                worst <= bound,
                "{name}, {} pairings: {worst:e} > {bound:e}",
                proto.pairings
            );
        }
    }
}

#[test]
fn lif_isis_equal_the_discrete_closed_form() {
    let mut drives: Vec<LifDrive> = fi_weights().into_iter().map(LifDrive::standard).collect();
    drives.extend(rate_sweep_periods().into_iter().map(|p| LifDrive {
        period_steps: p,
        ..LifDrive::standard(RATE_SWEEP_W_MV)
    }));
    // Other corners: no refractory period, a reset below rest, a short tau.
    for w in [0.3, 0.5, 1.0, 2.5] {
        for p in [1, 3, 7] {
            drives.push(LifDrive {
                refractory_ms: 0.0,
                v_reset_mv: -70.0,
                tau_m_ms: 10.0,
                period_steps: p,
                ..LifDrive::standard(w)
            });
            drives.push(LifDrive {
                refractory_ms: 5.0,
                period_steps: p,
                ..LifDrive::standard(w)
            });
        }
    }
    let (mut firing, mut silent, mut skipped) = (0, 0, 0);
    for d in &drives {
        let pred = lif_isi_closed_form(d);
        for fixed in [false, true] {
            let isis = if fixed {
                lif_isis_simulated::<Fx>(d, 40_000).unwrap()
            } else {
                lif_isis_simulated::<f64>(d, 40_000).unwrap()
            };
            match pred.isi_steps {
                Some(n) => {
                    // The fixed backend may only differ where a threshold test
                    // is within its rounding (~1e-4 mV) of the threshold.
                    if fixed && pred.margin_mv < 1e-4 {
                        skipped += 1;
                        continue;
                    }
                    assert!(!isis.is_empty(), "{d:?}: no spikes, predicted ISI {n}");
                    assert!(
                        isis.iter().all(|&i| i as u64 == n),
                        "{d:?} fixed={fixed}: {isis:?} vs {n}"
                    );
                }
                None => assert!(isis.is_empty(), "{d:?}: predicted silent, got {isis:?}"),
            }
        }
        if pred.isi_steps.is_some() {
            firing += 1;
        } else {
            silent += 1;
        }
    }
    eprintln!("{firing} firing and {silent} silent drives; fixed skipped (margin < 1e-4 mV): {skipped}");
    assert!(
        firing >= 60 && silent >= 20 && skipped <= 2,
        "{firing} firing, {silent} silent, {skipped} skipped"
    );
}

#[test]
fn discrete_closed_form_tends_to_the_continuous_lif() {
    // Same mean current (w / dt fixed), dt from 0.5 to 0.005 ms.
    for drive in [15.0, 20.0, 40.0] {
        let mut errs = Vec::new();
        for dt in [0.5, 0.05, 0.005] {
            let d = LifDrive {
                dt_ms: dt,
                w_mv: drive * dt / 20.0,
                ..LifDrive::standard(0.0)
            };
            let discrete = lif_isi_closed_form(&d).isi_steps.unwrap() as f64 * dt;
            let continuous = lif_isi_continuous_ms(&d).unwrap();
            errs.push((discrete - continuous).abs() / continuous);
        }
        assert!(
            errs[2] < errs[0] && errs[2] < 0.005,
            "drive {drive} mV: relative ISI errors {errs:?}"
        );
    }
}

#[test]
fn correlated_group_wins() {
    let cfg = Config::default();
    for seed in [1, 2, 3] {
        let h = simulate::<f64>(&cfg, seed).unwrap();
        let m = h.final_means();
        eprintln!("seed {seed}: final means {m:?}");
        assert!(
            m[0] > m[1] + 0.5,
            "seed {seed}: correlated {} vs independent {}",
            m[0],
            m[1]
        );
    }
    let h = simulate::<Fx>(&cfg, 1).unwrap();
    let m = h.final_means();
    assert!(m[0] > m[1] + 0.5, "fixed: correlated {} vs independent {}", m[0], m[1]);
    // Control: the same inputs without correlation; no group is favoured.
    let control = Config {
        correlations: vec![0.0],
        ..cfg
    };
    let m = simulate::<f64>(&control, 1).unwrap().final_means();
    eprintln!("control (c = 0): final means {m:?}");
    assert!((m[0] - m[1]).abs() < 0.25, "without correlation: {m:?}");
}

fn spec(kind: TrainKind, n: usize, correlation: f64) -> TrainSpec {
    TrainSpec {
        kind,
        n,
        rate_hz: 20.0,
        dead_time_ms: 5.0,
        correlation,
    }
}

#[test]
fn host_trains_have_their_rate_and_correlation() {
    let steps = 200_000; // 100 s
    let p = 20.0 * DT * 1e-3;
    for kind in [
        TrainKind::Poisson,
        TrainKind::PoissonDead,
        TrainKind::Regular,
        TrainKind::Bursts,
    ] {
        let s = make_trains(&spec(kind, 10, 0.0), DT, steps, 3).unwrap();
        let mut counts = [0f64; 10];
        for k in &s {
            assert!(
                k.windows(2).all(|w| w[0] < w[1]),
                "sorted, one spike per input per step"
            );
            for &i in k {
                counts[i as usize] += 1.0;
            }
        }
        let mean = steps as f64 * p;
        let total: f64 = counts.iter().sum();
        // 4 sd of a Poisson count; the other trains are more regular.
        assert!(
            (total - 10.0 * mean).abs() < 4.0 * (10.0 * mean).sqrt(),
            "{kind:?}: {total}"
        );
    }
    // Correlated group: c = 0.5 between two inputs' 10 ms counts.
    let s = make_trains(&spec(TrainKind::Correlated, 2, 0.5), DT, 2_000_000, 4).unwrap();
    let bins: Vec<[f64; 2]> = s
        .chunks(20)
        .map(|c| {
            let mut b = [0.0; 2];
            for k in c {
                for &i in k {
                    b[i as usize] += 1.0;
                }
            }
            b
        })
        .collect();
    let n = bins.len() as f64;
    let m: Vec<f64> = (0..2).map(|j| bins.iter().map(|b| b[j]).sum::<f64>() / n).collect();
    let cov = bins.iter().map(|b| (b[0] - m[0]) * (b[1] - m[1])).sum::<f64>() / n;
    let var = |j: usize| bins.iter().map(|b| (b[j] - m[j]).powi(2)).sum::<f64>() / n;
    let r = cov / (var(0) * var(1)).sqrt();
    assert!((r - 0.5).abs() < 0.03, "measured correlation {r}");
}

#[test]
fn csv_trains_become_schedules_and_bad_lines_are_named() {
    let spikes = parse_spike_csv("index,time_ms\n0,1.0\n2,1.2\n1,3.25\n").unwrap();
    let s = schedule_from_spikes(&spikes, 3, DT, 10).unwrap();
    assert_eq!((s[2].clone(), s[6].clone()), (vec![0, 2], vec![1]));
    let e = parse_spike_csv("0,1\n0,x\n").unwrap_err().to_string();
    assert!(e.starts_with("line 2:"), "{e}");
}

/// Runs `host-sim experiment LINE --out OUT` (the real binary) and returns
/// summary.txt.
fn run(line: &str, out: &Path) -> String {
    let o = common::host_sim_cmd(["experiment"])
        .args(line.split_whitespace())
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{line}: {}", String::from_utf8_lossy(&o.stderr));
    std::fs::read_to_string(out.join("summary.txt")).unwrap()
}

fn assert_png(path: &Path) {
    let decoder = png::Decoder::new(std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())));
    let info = decoder.read_info().unwrap();
    assert!(
        info.info().width >= 600 && info.info().height >= 400,
        "{}",
        path.display()
    );
    assert!(path.with_extension("svg").exists(), "{}", path.display());
}

#[test]
fn every_experiment_writes_figures_data_and_summary() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = run("neuron --duration 300", &d.join("n"));
    assert!(s.contains("max |difference| = 0.000e0 Hz"), "{s}");
    for f in ["neuron_lif.png", "neuron_conductance.png", "fi_curve.png"] {
        assert_png(&d.join("n").join(f));
    }
    for f in [
        "trace_lif.csv",
        "trace_conductance.csv",
        "fi_curve.csv",
        "input_spikes.csv",
    ] {
        assert!(d.join("n").join(f).exists(), "{f}");
    }
    // A chosen input train from a CSV file.
    std::fs::write(d.join("in.csv"), "index,time_ms\n0,10\n1,10\n0,50\n").unwrap();
    let s = run(
        &format!(
            "neuron --duration 100 --backend f64 --spikes-csv {}",
            d.join("in.csv").display()
        ),
        &d.join("c"),
    );
    assert!(s.contains("3 spikes"), "{s}");

    let s = run("stdp-window --pairings 5", &d.join("w"));
    assert!(s.contains("pair: single pairing (f64): max +5.000e-3 at +0 ms"), "{s}");
    assert_png(&d.join("w").join("stdp_window.png"));
    // Fixed point against the float curves, for every rule, in the summary
    // and in the panels' titles and legends (the float curves once went
    // missing when their series were renamed).
    for rule in ["pair", "triplet", "power-law", "exp-weight"] {
        let line = s
            .lines()
            .find(|l| l.starts_with(&format!("{rule}: max |fixed - float|")))
            .unwrap_or_else(|| panic!("{rule}: no fixed-vs-float line in {s}"));
        for v in line
            .split(", ")
            .map(|p| p.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        {
            assert!(v < 1e-4, "{line}: fixed and float differ by more than 1e-4");
        }
    }
    let svg = std::fs::read_to_string(d.join("w").join("stdp_window.svg")).unwrap();
    assert_eq!(
        svg.matches("1 pairing, float").count(),
        4,
        "the float curve in each rule's legend"
    );
    assert_eq!(svg.matches("max |fixed - float|").count(), 4, "each panel's title");

    let s = run("weight-history --duration 20000", &d.join("h"));
    assert!(s.contains("input rate"), "{s}");
    assert_png(&d.join("h").join("weight_history.png"));
    assert!(d.join("h").join("final_weights.csv").exists());

    let data = common::shared("mnist");
    if data.is_dir() {
        let s = run(&format!("encoding --data {}", data.display()), &d.join("e"));
        // Spike count within 4 sd of its expectation (written in the summary).
        let line = s.lines().find(|l| l.contains("expected")).unwrap();
        let nums: Vec<f64> = line
            .split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .filter_map(|t| t.parse().ok())
            .collect();
        let (got, expected, sd) = (nums[0], nums[3], nums[4]);
        assert!((got - expected).abs() < 4.0 * sd, "{line}");
        assert_png(&d.join("e").join("encoding_raster.png"));
        assert!(d.join("e").join("encoding.gif").exists());
    } else {
        eprintln!("skipping encoding: no MNIST at {}", data.display());
    }
}
