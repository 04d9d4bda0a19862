//! Training (sequential, the paper's procedure), frozen passes (parallel),
//! label assignment, evaluation and the fixed-vs-float cross-check.

use std::io::IsTerminal;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use rand::RngCore;
use rayon::prelude::*;
use serde::Serialize;
use stdp_core::Real;

use crate::backend::Backend;
use crate::config::Config;
use crate::examples::{check_fits, Examples};
use crate::formats::model::{HistoryPoint, Meta, Model, Progress, ValueType};
use crate::sim::dc::{classify, example_rng, ClassCounts, ExampleResult, Sim, CLASSES};
use crate::sim::shards::{shards_for, ShardedSim};

/// Pass identifiers of the random streams (training uses the epoch number).
pub const PASS_ASSIGN: u64 = u64::MAX - 1;
/// The test pass.
pub const PASS_TEST: u64 = u64::MAX - 2;
/// The stream of the training order's permutations (`Config::shuffle`;
/// the index is the epoch).
pub const PASS_SHUFFLE: u64 = u64::MAX - 3;

/// The order in which epoch `epoch` presents examples `0..n`: the file's
/// order, or with `shuffle` a permutation drawn from `(seed, epoch)` by
/// Fisher-Yates over the core's xoshiro128++ (64-bit draws reduced modulo
/// i + 1; the bias, below n / 2^64, is far under anything measurable), so
/// it is the same on every platform.
pub fn epoch_order(n: usize, shuffle: bool, seed: u64, epoch: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    if shuffle {
        let mut rng = example_rng(seed, PASS_SHUFFLE, epoch);
        for i in (1..n).rev() {
            let j = (rng.next_u64() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
    }
    order
}

/// Options of a training run.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Backend.
    pub backend: Backend,
    /// Epochs.
    pub epochs: u32,
    /// Use only the first `limit` training examples per epoch.
    pub limit: Option<usize>,
    /// Seed of weights and spike trains.
    pub seed: u64,
    /// Examples per assignment window (running accuracy, history).
    pub window: u64,
    /// Examples of the final, frozen assignment pass (the last ones of the set).
    pub assign_examples: usize,
    /// Write a checkpoint every this many examples.
    pub checkpoint_every: Option<u64>,
    /// Checkpoint file.
    pub checkpoint: PathBuf,
    /// Resume from the checkpoint.
    pub resume: bool,
    /// Show a progress bar.
    pub progress: bool,
    /// Threads for one network (large layers are split into shards, see
    /// [`crate::sim::shards`]; the result is the same for any number).
    pub threads: usize,
}

fn value_type(b: Backend) -> ValueType {
    match b {
        Backend::F32 => ValueType::F32,
        Backend::F64 => ValueType::F64,
        Backend::Fixed => ValueType::Q11_20,
    }
}

/// Trains a model on `train` (the first `limit` examples per epoch).
pub fn train(cfg: &Config, opts: &TrainOptions, train: &dyn Examples) -> Result<Model> {
    train_observed(cfg, opts, train, &mut |_| ControlFlow::Continue(()))
}

/// [`train`] starting from a trained model's weights and thresholds (theta)
/// instead of random weights: fine-tuning, e.g. on real recordings after
/// emulated ones. The model's network must have `cfg`'s inputs and
/// neurons; everything else (rule, rates, procedure) is `cfg`'s. The
/// result is a new model: its examples, history and label assignment are
/// this run's.
pub fn train_from(cfg: &Config, opts: &TrainOptions, train: &dyn Examples, start: &Model) -> Result<Model> {
    cfg.check()?;
    if opts.resume {
        bail!("a run that starts from a model cannot also resume a checkpoint");
    }
    let (n_in, n) = (start.meta.config.n_inputs, start.meta.config.n_neurons);
    if (n_in, n) != (cfg.n_inputs, cfg.n_neurons) {
        bail!(
            "the model to start from has {n_in} inputs and {n} neurons; this run has {} and {} (use the model's --neurons and input)",
            cfg.n_inputs,
            cfg.n_neurons
        );
    }
    if start.weights.len() != n_in * n || start.theta.len() != n {
        bail!("the model to start from is damaged: its weights or thresholds do not fit its network");
    }
    if train.is_empty() {
        bail!("the training set is empty");
    }
    check_fits(&cfg.input, train.kind())?;
    let observe = &mut |_: &HistoryPoint| ControlFlow::Continue(());
    crate::with_backend!(opts.backend, T => train_on::<T>(cfg, opts, train, observe, Some(start)))
}

/// [`train`], calling `observe` with each new history point (every
/// `opts.window` examples); `ControlFlow::Break` stops training there (the
/// model then has fewer `examples_trained`; used by pruning).
pub fn train_observed(
    cfg: &Config,
    opts: &TrainOptions,
    train: &dyn Examples,
    observe: &mut dyn FnMut(&HistoryPoint) -> ControlFlow<()>,
) -> Result<Model> {
    cfg.check()?;
    if train.is_empty() {
        bail!("the training set is empty");
    }
    check_fits(&cfg.input, train.kind())?;
    crate::with_backend!(opts.backend, T => train_on::<T>(cfg, opts, train, observe, None))
}

struct Window {
    counts: ClassCounts,
    correct: u64,
    predicted: u64,
    spikes: u64,
    retries: u64,
}

impl Window {
    fn new(n: usize) -> Self {
        Window {
            counts: ClassCounts::new(n),
            correct: 0,
            predicted: 0,
            spikes: 0,
            retries: 0,
        }
    }
}

fn train_on<T: Real>(
    cfg: &Config,
    opts: &TrainOptions,
    data: &dyn Examples,
    observe: &mut dyn FnMut(&HistoryPoint) -> ControlFlow<()>,
    start: Option<&Model>,
) -> Result<Model> {
    let per_epoch = opts.limit.unwrap_or(data.len()).min(data.len()) as u64;
    let total = per_epoch * opts.epochs as u64;
    let vt = value_type(opts.backend);
    let n = cfg.n_neurons;
    let window_len = opts.window.max(1);

    let mut meta = Meta {
        written_by: format!("host-sim {}", env!("CARGO_PKG_VERSION")),
        config: *cfg,
        backend: opts.backend,
        value_type: vt,
        seed: opts.seed,
        examples_trained: 0,
        retries: 0,
        train_seconds: 0.0,
        assignments: Vec::new(),
        history: Vec::new(),
        progress: None,
    };
    let mut window = Window::new(n);
    let shards = shards_for(n, opts.threads);
    let (mut sim, mut done) = if opts.resume {
        let ck = Model::load(&opts.checkpoint).context("--resume")?;
        let p = ck
            .meta
            .progress
            .clone()
            .context("--resume: the file is a model, not a checkpoint")?;
        if ck.meta.config != *cfg || ck.meta.seed != opts.seed || ck.meta.backend != meta.backend {
            bail!("--resume: the checkpoint was made with other parameters, seed or backend; use the same command");
        }
        if p.per_epoch != per_epoch {
            bail!(
                "--resume: the checkpoint was made with {} examples per epoch (--limit), not {per_epoch}",
                p.per_epoch
            );
        }
        // Nothing in training depends on the number of epochs but where it
        // stops, so a run may be extended (more --epochs than the
        // checkpoint's run had); it may not end before the checkpoint.
        if p.done >= total {
            bail!(
                "--resume: the checkpoint is at example {} ({} epochs done); --epochs {} ends at {total}: ask for more epochs",
                p.done,
                p.done / per_epoch,
                opts.epochs
            );
        }
        let mut sim = ShardedSim::<T>::new(cfg, &ck.weights, Some(&ck.theta), shards)?;
        if !sim.restore_dynamic(&ck.dynamic_values, &ck.dynamic_ints) {
            bail!("--resume: the checkpoint's state does not fit this network");
        }
        window.counts.sums = p.window_sums;
        window.counts.examples = p.window_examples;
        window.correct = p.window_correct;
        window.predicted = p.window_predicted;
        window.spikes = p.window_spikes;
        window.retries = p.window_retries;
        meta = Meta {
            progress: None,
            ..ck.meta
        };
        (sim, p.done)
    } else if let Some(m) = start {
        (ShardedSim::<T>::new(cfg, &m.weights, Some(&m.theta), shards)?, 0)
    } else {
        (
            ShardedSim::<T>::new(cfg, &Sim::<T>::initial_weights(cfg, opts.seed), None, shards)?,
            0,
        )
    };

    let bar = progress_bar(opts.progress, total, "train");
    bar.set_position(done);
    // Without a terminal (nohup, a CI log) the bar is hidden: write a plain
    // line every LOG_EVERY examples and at each checkpoint instead.
    let log = opts.progress && !std::io::stderr().is_terminal();
    let t0 = Instant::now();
    let done_before = done;
    let seconds_before = meta.train_seconds;
    let mut order = (u64::MAX, Vec::new());
    while done < total {
        let (epoch, pos) = (done / per_epoch, (done % per_epoch) as usize);
        if order.0 != epoch {
            order = (epoch, epoch_order(per_epoch as usize, cfg.shuffle, opts.seed, epoch));
        }
        // The spike trains' stream follows the position in the epoch, the
        // image the order.
        let idx = order.1[pos];
        let mut rng = example_rng(opts.seed, epoch, pos as u64);
        // An emulated recording follows the example and the epoch.
        let input = data.input(idx, opts.seed, epoch)?;
        let res = sim.present_example(&input, &mut rng, true, false);
        let label = data.label(idx);
        if !meta.assignments.is_empty() {
            window.predicted += 1;
            window.correct += (classify(&res.counts, &meta.assignments) == label) as u64;
        }
        window.counts.add(&res.counts, label);
        window.spikes += res.counts.iter().map(|&c| c as u64).sum::<u64>();
        window.retries += res.retries as u64;
        meta.retries += res.retries as u64;
        done += 1;
        meta.examples_trained = done;
        if done % window_len == 0 || done == total {
            let len = done - (done - 1) / window_len * window_len;
            let point = HistoryPoint {
                examples: done,
                running_accuracy: (window.predicted > 0).then(|| window.correct as f64 / window.predicted as f64),
                spikes_per_example: window.spikes as f64 / len as f64,
                retries: window.retries,
            };
            meta.history.push(point);
            meta.assignments = window.counts.assign();
            window = Window::new(n);
            if let Some(acc) = point.running_accuracy {
                bar.set_message(format!("running accuracy {:.1} %", 100.0 * acc));
            }
            if log && (done / LOG_EVERY != (done - len) / LOG_EVERY || done == total) {
                let secs = t0.elapsed().as_secs_f64();
                eprintln!(
                    "train: {done}/{total} examples (epoch {}), {:.0} s, {:.1} examples/s; last {len}: running accuracy {}, {:.1} spikes/example, {} retries",
                    (done - 1) / per_epoch + 1,
                    secs,
                    (done - done_before) as f64 / secs.max(1e-9),
                    point.running_accuracy.map_or("-".to_string(), |a| format!("{:.1} %", 100.0 * a)),
                    point.spikes_per_example,
                    point.retries,
                );
            }
            if observe(&point).is_break() {
                break;
            }
        }
        if opts.checkpoint_every.is_some_and(|k| k > 0 && done % k == 0) && done < total {
            meta.train_seconds = seconds_before + t0.elapsed().as_secs_f64();
            let progress = Progress {
                epochs: opts.epochs,
                per_epoch,
                done,
                window_sums: window.counts.sums.clone(),
                window_examples: window.counts.examples,
                window_correct: window.correct,
                window_predicted: window.predicted,
                window_spikes: window.spikes,
                window_retries: window.retries,
            };
            let ck = Model {
                meta: Meta {
                    progress: Some(progress),
                    ..meta.clone()
                },
                weights: sim.weights_f64(),
                theta: sim.theta_f64(),
                dynamic_values: sim.dynamic_values(),
                dynamic_ints: sim.dynamic_ints(),
            };
            ck.save(&opts.checkpoint)?;
            if log {
                eprintln!(
                    "train: checkpoint {} written ({done}/{total} examples)",
                    opts.checkpoint.display()
                );
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    meta.train_seconds = seconds_before + t0.elapsed().as_secs_f64();

    // The paper's assignment: the trained network, frozen, on labelled training data.
    meta.assignments = assign(&sim.whole()?, data, opts.assign_examples, opts.seed, opts.progress)?;
    Ok(Model {
        meta,
        weights: sim.weights_f64(),
        theta: sim.theta_f64(),
        dynamic_values: vec![],
        dynamic_ints: vec![],
    })
}

/// Examples between two log lines of [`train`] when stderr is not a terminal.
const LOG_EVERY: u64 = 10_000;

pub(crate) fn progress_bar(show: bool, len: u64, what: &str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    let style = ProgressStyle::with_template(&format!(
        "{what} {{elapsed_precise}} [{{bar:30}}] {{pos}}/{{len}} {{per_sec}} ETA {{eta}} {{msg}}"
    ))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}

/// A pass of the frozen network (no learning, theta fixed) over examples
/// `range` of `data`, in parallel. Every example starts from rest with its
/// own random stream `(seed, pass, index)`, so no result depends on the
/// order or the thread.
#[derive(Clone)]
pub struct FrozenPass<'a, T: Real> {
    /// The network.
    pub sim: &'a Sim<T>,
    /// The examples.
    pub data: &'a dyn Examples,
    /// Which of them.
    pub range: std::ops::Range<usize>,
    /// Seed of the spike trains.
    pub seed: u64,
    /// Pass identifier of the random streams (`PASS_TEST`, `PASS_ASSIGN`).
    pub pass: u64,
    /// Show a progress bar labelled `what`.
    pub progress: bool,
    /// The progress bar's label.
    pub what: &'a str,
}

impl<T: Real> FrozenPass<'_, T> {
    /// Keeps only what `add` folds in: no example's result is held longer
    /// than its fold (a pass over 10,000 examples at 6,400 neurons would
    /// otherwise hold 256 MB of spike counts). `add` sees each example with
    /// its index; the accumulators of the threads' parts are joined by
    /// `merge` in index order.
    ///
    /// An example that cannot be read (a recording listed, then unreadable)
    /// ends the pass with its error, naming the file.
    pub fn fold<A: Send>(
        self,
        init: impl Fn() -> A + Sync + Send,
        add: impl Fn(A, usize, ExampleResult) -> A + Sync + Send,
        merge: impl Fn(A, A) -> A + Sync + Send,
    ) -> Result<A> {
        let FrozenPass {
            sim,
            data,
            range,
            seed,
            pass,
            progress,
            what,
        } = self;
        let bar = progress_bar(progress, range.len() as u64, what);
        let out = range
            .into_par_iter()
            .with_min_len(32)
            .map_init(
                || sim.clone(),
                |s, i| -> Result<(usize, ExampleResult)> {
                    let mut rng = example_rng(seed, pass, i as u64);
                    let input = data.input(i, seed, pass)?;
                    let r = s.present_example(&input, &mut rng, false, true);
                    bar.inc(1);
                    Ok((i, r))
                },
            )
            .try_fold(&init, |a, x| x.map(|(i, r)| add(a, i, r)))
            .try_reduce(&init, |a, b| Ok(merge(a, b)));
        bar.finish_and_clear();
        out
    }

    /// Every example's result, in index order (rayon's fold and reduce keep
    /// the order of an indexed range).
    pub fn collect(self) -> Result<Vec<ExampleResult>> {
        self.fold(
            Vec::new,
            |mut v, _, r| {
                v.push(r);
                v
            },
            |mut a, mut b| {
                a.append(&mut b);
                a
            },
        )
    }
}

/// The tallies of a classification pass, from which [`EvalReport`] is made.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Tally {
    /// `confusion[true][predicted]`.
    pub confusion: [[u32; CLASSES]; CLASSES],
    /// Excitatory spikes.
    pub spikes: u64,
    /// Presentations repeated at higher intensity.
    pub retries: u64,
}

impl Tally {
    /// Adds one example of class `label` classified with `assignments`.
    pub fn add(mut self, label: u8, r: &ExampleResult, assignments: &[u8]) -> Tally {
        let p = classify(&r.counts, assignments);
        self.confusion[label as usize % CLASSES][p as usize] += 1;
        self.spikes += r.counts.iter().map(|&c| c as u64).sum::<u64>();
        self.retries += r.retries as u64;
        self
    }

    /// Both tallies together.
    pub fn merge(mut self, o: Tally) -> Tally {
        for (a, b) in self.confusion.iter_mut().flatten().zip(o.confusion.iter().flatten()) {
            *a += b;
        }
        self.spikes += o.spikes;
        self.retries += o.retries;
        self
    }

    /// The report of `m` examples on backend `backend`.
    pub fn report(&self, backend: &str, m: usize, assignments: &[u8], seconds: f64) -> EvalReport {
        let confusion = self.confusion;
        let correct: u32 = (0..CLASSES).map(|c| confusion[c][c]).sum();
        let per_class = (0..CLASSES)
            .map(|c| {
                let n: u32 = confusion[c].iter().sum();
                if n > 0 {
                    confusion[c][c] as f64 / n as f64
                } else {
                    0.0
                }
            })
            .collect();
        EvalReport {
            backend: backend.to_string(),
            examples: m,
            accuracy: if m > 0 { correct as f64 / m as f64 } else { 0.0 },
            per_class,
            confusion,
            assigned_neurons: assignments.iter().filter(|&&a| (a as usize) < CLASSES).count(),
            spikes_per_example: if m > 0 { self.spikes as f64 / m as f64 } else { 0.0 },
            retries: self.retries,
            seconds,
        }
    }
}

/// Evaluation report.
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    /// Backend.
    pub backend: String,
    /// Test examples.
    pub examples: usize,
    /// Fraction correct, in [0, 1].
    pub accuracy: f64,
    /// Per class: fraction correct.
    pub per_class: Vec<f64>,
    /// `confusion[true][predicted]`.
    pub confusion: [[u32; CLASSES]; CLASSES],
    /// Neurons with a class.
    pub assigned_neurons: usize,
    /// Mean excitatory spikes per test example.
    pub spikes_per_example: f64,
    /// Presentations repeated at higher intensity.
    pub retries: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// A model on a backend, ready for frozen passes.
pub fn sim_from_model<T: Real>(model: &Model) -> Result<Sim<T>> {
    Sim::<T>::new(&model.meta.config, &model.weights, Some(&model.theta))
}

/// Classifies `test[..limit]` with `assignments`.
pub fn evaluate<T: Real>(
    sim: &Sim<T>,
    assignments: &[u8],
    test: &dyn Examples,
    limit: usize,
    seed: u64,
    progress: bool,
) -> Result<EvalReport> {
    let t0 = Instant::now();
    let m = limit.min(test.len());
    let pass = FrozenPass {
        sim,
        data: test,
        range: 0..m,
        seed,
        pass: PASS_TEST,
        progress,
        what: "test",
    };
    let tally = pass.fold(
        Tally::default,
        |t, i, r| t.add(test.label(i), &r, assignments),
        Tally::merge,
    )?;
    Ok(tally.report(T::NAME, m, assignments, t0.elapsed().as_secs_f64()))
}

/// Assignments recomputed from `m` training examples (the last ones).
pub fn assign<T: Real>(sim: &Sim<T>, train: &dyn Examples, m: usize, seed: u64, progress: bool) -> Result<Vec<u8>> {
    let m = m.min(train.len());
    let n = sim.cfg.n_neurons;
    let pass = FrozenPass {
        sim,
        data: train,
        range: train.len() - m..train.len(),
        seed,
        pass: PASS_ASSIGN,
        progress,
        what: "assign",
    };
    pass.fold(
        || ClassCounts::new(n),
        |mut cc, i, r| {
            cc.add(&r.counts, train.label(i));
            cc
        },
        ClassCounts::merge,
    )
    .map(|cc| cc.assign())
}

/// Default checkpoint path of a model path: `MODEL.ckpt`.
pub fn default_checkpoint(model: &Path) -> PathBuf {
    let mut s = model.as_os_str().to_owned();
    s.push(".ckpt");
    PathBuf::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_training_order_is_the_files_or_a_seeded_permutation_per_epoch() {
        assert_eq!(epoch_order(5, false, 1, 3), vec![0, 1, 2, 3, 4]);
        let a = epoch_order(1000, true, 1, 0);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..1000).collect::<Vec<_>>(), "a permutation");
        assert_eq!(a, epoch_order(1000, true, 1, 0), "the same for the same seed and epoch");
        assert_ne!(a, epoch_order(1000, true, 1, 1), "another every epoch");
        assert_ne!(a, epoch_order(1000, true, 2, 0), "another for another seed");
        // Pinned: the order of a seed is part of a run's definition (models
        // and checkpoints of a shuffled run resume and reproduce with it).
        assert_eq!(epoch_order(10, true, 1, 0), vec![8, 7, 3, 9, 6, 0, 1, 4, 5, 2]);
        assert!(epoch_order(0, true, 1, 0).is_empty());
        assert_eq!(epoch_order(1, true, 1, 0), vec![0]);
    }
}
