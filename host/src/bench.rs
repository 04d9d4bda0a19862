//! `host-sim bench`: examples per second of training and inference, float
//! and fixed, on the paper's settings and on BindsNET's, with peak memory,
//! the threads one network used (its shards, [`crate::sim::shards`]) and the
//! instruction set of its loops ([`crate::sim::simd`]). Each configuration runs
//! in its own child process so that its peak resident memory (VmHWM) is
//! its own. With `--contend` each configuration runs three times: on one
//! thread, with the default threads, and with the default threads beside a
//! core kept busy by another thread of `bench` itself (what a compile or a
//! browser does to a laptop), which is where lockstep shards collapse
//! unless they adapt ([`crate::sim::adapt`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
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
    /// The paper's procedure with direct lateral inhibition instead of the
    /// inhibitory layer: the network of the yardstick (a minimal
    /// single-thread implementation, ../shared/docs/performance-notes.md).
    PaperDirect,
}

crate::named!(Settings {
    Paper = "paper",
    Bindsnet = "bindsnet",
    PaperDirect = "paper-direct"
});

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
    /// Inputs of the network: 784 (MNIST digits) or an event layout's
    /// (2,312 for N-MNIST recordings).
    #[serde(default)]
    pub inputs: usize,
    /// Share of the timed presentations that ran on all `threads` shards
    /// (the adaptive split, [`crate::sim::adapt`]; 1 with one thread).
    #[serde(default = "one")]
    pub split_share: f64,
    /// Another process kept one core busy meanwhile (`--contend`).
    #[serde(default)]
    pub busy_core: bool,
}

fn one() -> f64 {
    1.0
}

/// The configuration of a row.
pub fn config(neurons: usize, settings: Settings) -> Config {
    let mut c = Config {
        n_neurons: neurons,
        ..Config::default()
    };
    match settings {
        Settings::Paper => {}
        Settings::Bindsnet => {
            c.dt_ms = 1.0;
            c.present_ms = 250.0;
            c.rest_ms = 0.0;
        }
        Settings::PaperDirect => c.inhibition = stdp_core::InhibitionKind::Direct,
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
/// (digits, or recordings: an event network of the data's layout), their
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
    let (secs, split_share) = crate::with_backend!(backend, T => {
        let mut sim = ShardedSim::<T>::new(&cfg, &Sim::<T>::initial_weights(&cfg, 1), None, shards)?;
        let learn = mode == Mode::Train;
        // Warm-up example (page faults, caches), not timed.
        sim.present_example(&inputs[0], &mut example_rng(1, 9, 0), learn, !learn);
        let before = sim.adapt_stats();
        let t0 = Instant::now();
        for (i, input) in inputs.iter().enumerate() {
            let mut rng = example_rng(1, 0, i as u64);
            std::hint::black_box(sim.present_example(input, &mut rng, learn, !learn));
        }
        let secs = t0.elapsed().as_secs_f64();
        // The warm-up example ran on one shard: leave it out of the share.
        let share = match (before, sim.adapt_stats()) {
            (Some((s0, _)), Some((s1, _))) => (s1 * (examples + 1) as f64 - s0) / examples as f64,
            _ => 1.0,
        };
        (secs, share)
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
        split_share,
        busy_core: false,
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
    /// Each row also on one thread and beside a busy core.
    pub contend: bool,
}

/// One core kept busy by a spinning thread until dropped.
struct BusyCore {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl BusyCore {
    fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut x = 0u64;
            while !flag.load(Ordering::Relaxed) {
                x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
            }
        });
        BusyCore {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for BusyCore {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
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
                    // (threads, busy core) of each row of this configuration.
                    let runs: &[(usize, bool)] = if plan.contend {
                        &[(1, false), (plan.threads, false), (plan.threads, true)]
                    } else {
                        &[(plan.threads, false)]
                    };
                    for &(threads, busy) in runs {
                        let busy_core = busy.then(BusyCore::start);
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
                            .args(["--threads", &threads.to_string()])
                            .args([
                                "--settings",
                                name(settings),
                                "--backend",
                                backend.name(),
                                "--mode",
                                mode_name(mode),
                            ])
                            .output()?;
                        drop(busy_core);
                        if !out.status.success() {
                            bail!("bench-one failed: {}", String::from_utf8_lossy(&out.stderr).trim());
                        }
                        let mut row: Row = serde_json::from_slice(&out.stdout).context("bench-one output")?;
                        row.busy_core = busy;
                        eprintln!(
                            "{:>5} neurons {:>8} {:>5} {:>5}: {:8.1} examples/s ({} threads, split {:.0} %, {}{})",
                            n,
                            name(settings),
                            backend.name(),
                            mode_name(mode),
                            row.examples_per_s,
                            row.threads,
                            100.0 * row.split_share,
                            row.simd,
                            if busy { ", beside a busy core" } else { "" }
                        );
                        rows.push(row);
                    }
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
        Settings::PaperDirect => "paper-direct",
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
        "| neurons | inputs | settings | backend | mode | threads (split share) | busy core | SIMD | examples/s | vs 1 thread | vs BindsNET | peak RSS (MiB) |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let vs = match (r.mode, r.settings, bindsnet_train_rate(r.neurons)) {
            (Mode::Train, Settings::Bindsnet, Some(b)) => format!("{:.0}x", r.examples_per_s / b),
            _ => String::new(),
        };
        // The same configuration's one-thread row, quiet, if measured.
        let single = rows.iter().find(|o| {
            (
                o.neurons,
                o.inputs,
                o.settings,
                o.backend,
                o.mode,
                o.threads,
                o.busy_core,
            ) == (r.neurons, r.inputs, r.settings, r.backend, r.mode, 1, false)
        });
        let vs_one = match single {
            Some(o) if !std::ptr::eq(o, r) => format!("{:.2}x", r.examples_per_s / o.examples_per_s),
            _ => String::new(),
        };
        let threads = if r.threads > 1 {
            format!("{} ({:.0} %)", r.threads, 100.0 * r.split_share)
        } else {
            r.threads.to_string()
        };
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.0} | {} | {} | {:.0} |\n",
            r.neurons,
            r.inputs,
            name(r.settings),
            r.backend.name(),
            mode_name(r.mode),
            threads,
            if r.busy_core { "yes" } else { "" },
            r.simd,
            r.examples_per_s,
            vs_one,
            vs,
            r.peak_rss_mib
        ));
    }
    s
}
