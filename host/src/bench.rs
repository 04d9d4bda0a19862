//! `host-sim bench`: examples per second of training and inference, float
//! and fixed, on the paper's settings and on BindsNET's, with peak memory,
//! the threads one network used (its shards, [`crate::sim::shards`]) and the
//! instruction set of its loops ([`crate::sim::simd`]). Each configuration runs
//! in its own child process so that its peak resident memory (VmHWM) is
//! its own.

use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::ValueEnum;
use serde::{Deserialize, Serialize};

use crate::backend::Backend;
use crate::config::Config;
use crate::examples::{input_for, Examples, InputArg};
use crate::sim::dc::{example_rng, Sim};
use crate::sim::shards::{shards_for, ShardedSim};

/// Timing settings of a benchmark row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Settings {
    /// Diehl & Cook: 350 ms + 150 ms rest at dt 0.5 ms.
    Paper,
    /// BindsNET's example: 250 ms at dt 1 ms, no rest.
    Bindsnet,
}

crate::named!(Settings { Paper = "paper", Bindsnet = "bindsnet" });

/// What is timed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Training (STDP, theta, normalisation), from fresh weights.
    Train,
    /// Inference with frozen weights (one network, as in training).
    Infer,
}

crate::named!(Mode { Train = "train", Infer = "infer" });

/// One measured row.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Row {
    /// Excitatory neurons.
    pub neurons: usize,
    /// Settings.
    pub settings: Settings,
    /// Backend.
    pub backend: Backend,
    /// Mode.
    pub mode: Mode,
    /// Examples timed.
    pub examples: usize,
    /// Examples per second.
    pub examples_per_s: f64,
    /// Threads of the network (its shards).
    pub threads: usize,
    /// Instruction set of the loops.
    pub simd: String,
    /// Peak resident memory of the process (MiB), data set included.
    pub peak_rss_mib: f64,
    /// Inputs of the network: 784 (MNIST images) or an event layout's
    /// (2,312 for N-MNIST recordings).
    #[serde(default)]
    pub inputs: usize,
}

/// The configuration of a row.
pub fn config(neurons: usize, settings: Settings) -> Config {
    let mut c = Config {
        n_neurons: neurons,
        ..Config::default()
    };
    if settings == Settings::Bindsnet {
        c.dt_ms = 1.0;
        c.present_ms = 250.0;
        c.rest_ms = 0.0;
    }
    c
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse::<f64>().ok()))
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

/// Measures one row in this process: the first `examples` of `train`
/// (images, or recordings: an event network of the data's layout), their
/// inputs read or emulated before the clock starts.
pub fn run_one(
    train: &dyn Examples,
    neurons: usize,
    settings: Settings,
    backend: Backend,
    mode: Mode,
    examples: usize,
    threads: usize,
) -> Result<Row> {
    let mut cfg = config(neurons, settings);
    cfg.input = input_for(&cfg.input, train.kind());
    cfg.n_inputs = cfg.input.inputs()?;
    let examples = examples.min(train.len());
    if examples == 0 {
        bail!("no examples to time");
    }
    let inputs = (0..examples)
        .map(|i| train.input(i, 1, 0))
        .collect::<Result<Vec<_>>>()?;
    let shards = shards_for(neurons, threads);
    let secs = crate::with_backend!(backend, T => {
        let mut sim = ShardedSim::<T>::new(&cfg, &Sim::<T>::initial_weights(&cfg, 1), None, shards)?;
        let learn = mode == Mode::Train;
        // Warm-up example (page faults, caches), not timed.
        sim.present_example(&inputs[0], &mut example_rng(1, 9, 0), learn, !learn);
        let t0 = Instant::now();
        for (i, input) in inputs.iter().enumerate() {
            let mut rng = example_rng(1, 0, i as u64);
            std::hint::black_box(sim.present_example(input, &mut rng, learn, !learn));
        }
        t0.elapsed().as_secs_f64()
    });
    Ok(Row {
        neurons,
        settings,
        backend,
        mode,
        examples,
        examples_per_s: examples as f64 / secs,
        threads: shards,
        simd: crate::sim::simd::Isa::chosen().name().to_string(),
        peak_rss_mib: peak_rss_mib(),
        inputs: cfg.n_inputs,
    })
}

/// What `bench` measures: every combination of these, one row each.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Excitatory layer sizes.
    pub neurons: Vec<usize>,
    /// Timing settings.
    pub settings: Vec<Settings>,
    /// Backends.
    pub backends: Vec<Backend>,
    /// Modes.
    pub modes: Vec<Mode>,
    /// Examples timed per row.
    pub examples: usize,
    /// Threads per network.
    pub threads: usize,
    /// What the data directory holds.
    pub input: InputArg,
}

/// Runs every row of `plan` in a child process (`host-sim bench-one ...`)
/// and returns them.
pub fn run_all(data: &std::path::Path, plan: &Plan) -> Result<Vec<Row>> {
    let exe = std::env::current_exe().context("cannot find the host-sim executable")?;
    let mut rows = Vec::new();
    for &n in &plan.neurons {
        for &settings in &plan.settings {
            for &backend in &plan.backends {
                for &mode in &plan.modes {
                    let out = std::process::Command::new(&exe)
                        .arg("bench-one")
                        .arg("--data")
                        .arg(data)
                        .arg("--input")
                        .arg(
                            plan.input
                                .to_possible_value()
                                .map_or("auto".into(), |v| v.get_name().to_string()),
                        )
                        .args(["--neurons", &n.to_string(), "--examples", &plan.examples.to_string()])
                        .args(["--threads", &plan.threads.to_string()])
                        .args([
                            "--settings",
                            name(settings),
                            "--backend",
                            backend.name(),
                            "--mode",
                            mode_name(mode),
                        ])
                        .output()?;
                    if !out.status.success() {
                        bail!("bench-one failed: {}", String::from_utf8_lossy(&out.stderr).trim());
                    }
                    let row: Row = serde_json::from_slice(&out.stdout).context("bench-one output")?;
                    eprintln!(
                        "{:>5} neurons {:>8} {:>5} {:>5}: {:8.1} examples/s ({} threads, {})",
                        n,
                        name(settings),
                        backend.name(),
                        mode_name(mode),
                        row.examples_per_s,
                        row.threads,
                        row.simd
                    );
                    rows.push(row);
                }
            }
        }
    }
    Ok(rows)
}

fn name(s: Settings) -> &'static str {
    match s {
        Settings::Paper => "paper",
        Settings::Bindsnet => "bindsnet",
    }
}

fn mode_name(m: Mode) -> &'static str {
    match m {
        Mode::Train => "train",
        Mode::Infer => "infer",
    }
}

/// BindsNET 0.3.4's Diehl & Cook example on a machine like this one (2
/// cores, torch CPU, one thread), training, 250 ms at dt 1 ms: examples/s.
pub fn bindsnet_train_rate(neurons: usize) -> Option<f64> {
    match neurons {
        100 => Some(6.6),
        400 => Some(4.4),
        _ => None,
    }
}

/// A Markdown table of `rows`.
pub fn table(rows: &[Row]) -> String {
    let mut s = String::from(
        "| neurons | inputs | settings | backend | mode | threads | SIMD | examples/s | vs BindsNET | peak RSS (MiB) |\n|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let vs = match (r.mode, r.settings, bindsnet_train_rate(r.neurons)) {
            (Mode::Train, Settings::Bindsnet, Some(b)) => format!("{:.0}x", r.examples_per_s / b),
            _ => String::new(),
        };
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {:.0} | {} | {:.0} |\n",
            r.neurons,
            r.inputs,
            name(r.settings),
            r.backend.name(),
            mode_name(r.mode),
            r.threads,
            r.simd,
            r.examples_per_s,
            vs,
            r.peak_rss_mib
        ));
    }
    s
}
