//! Hyperparameter search for the Diehl & Cook network, in the manner of
//! Optuna: a TPE sampler ([`sampler`]), a study stored in SQLite or
//! PostgreSQL that many workers share ([`storage`]), a median pruner on the
//! running accuracy of training, and a report with plots ([`report`]).
//!
//! A study is a named set of trials in a database, with fixed settings: the
//! rule, the layer size, the split, the seed, the backend and the search
//! space ([`space`]). Each trial trains a fresh network on the first
//! `train_examples` examples of the MNIST *training* set and scores it on the
//! last `val_examples` examples of the training set (held out; the test set
//! is never used), with the study's seed, so a trial's score is a function
//! of its parameters alone.
//!
//! `hpo run --trials N` runs trials until the study has N of them (complete
//! or pruned, counting earlier runs and other workers): the same command in
//! several processes, or again after a crash, converges on one study of N
//! trials. Failed trials do not count.

pub mod report;
pub mod sampler;
pub mod space;
pub mod storage;

use std::ops::ControlFlow;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use stdp_core::Rule;

use stdp_host::backend::Backend;
use stdp_host::config::{Config, RULES};
use stdp_host::examples::{check_fits, Examples, Kind, Slice};
use stdp_host::formats::model::HistoryPoint;
use stdp_host::sim::train::{assign, evaluate, sim_from_model, train_observed, TrainOptions};
use stdp_host::with_backend;

use sampler::{Observation, TpeSampler};
use space::{Params, Space};
use storage::{Claim, Finish, LeasePolicy, Recovered, StudyRow, StudyStore, TrialRow, TrialState};

/// Default training examples per trial.
pub const DEFAULT_TRAIN_EXAMPLES: usize = 2000;
/// Default held-out examples per trial.
pub const DEFAULT_VAL_EXAMPLES: usize = 1000;
/// Default examples per intermediate value.
pub const DEFAULT_WINDOW: u64 = 250;
/// Default excitatory neurons.
pub const DEFAULT_NEURONS: usize = 100;
/// Default seed.
pub const DEFAULT_SEED: u64 = 1;

/// Shortest and longest lease (s): heartbeats go every lease / 4, so a
/// shorter one would flood the database, and a dead worker's trial waits
/// a lease before it is re-run.
pub const LEASE_SECS: std::ops::RangeInclusive<f64> = 0.5..=86_400.0;

/// The kebab-case name of a rule (also the default study name).
pub fn rule_name(rule: Rule) -> &'static str {
    stdp_host::names::Named::name(rule)
}

// ---------------------------------------------------------------------------
// Study settings

/// What identifies the data a study used: changing any of it would make
/// trials incomparable, so a resumed study must see the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataFingerprint {
    /// Examples in the training set the split was taken from.
    pub train_set_len: usize,
    /// CRC-32 of the trial's training and held-out examples (a digit's
    /// pixels, a recording file's bytes) and their labels.
    pub crc32: u32,
    /// Examples in the held-out set (`--val-data`); absent: held out from
    /// the training set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub val_set_len: Option<usize>,
    /// What the examples are beyond their bytes (recordings, or saccades
    /// with the emulator's parameters); absent: MNIST digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// A study's fixed settings, stored with it (JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudySettings {
    /// Learning rule.
    pub rule: Rule,
    /// Excitatory neurons.
    pub neurons: usize,
    /// Training examples per trial: the first ones of the training set.
    pub train_examples: usize,
    /// Held-out examples: the last ones of the training set.
    pub val_examples: usize,
    /// Label assignment examples: the last ones of the trial's training examples.
    pub assign_examples: usize,
    /// Examples per intermediate value.
    pub window: u64,
    /// Seed of weights, spike trains and sampler.
    pub seed: u64,
    /// Numeric backend.
    pub backend: Backend,
    /// Search space.
    pub space: Space,
    /// The data.
    pub data: DataFingerprint,
}

impl StudySettings {
    /// What the study's examples are: events if its data names a source
    /// (recordings or saccades), else MNIST digits.
    pub fn kind(&self) -> Kind {
        if self.data.source.is_some() {
            Kind::Events
        } else {
            Kind::Digits
        }
    }
}

/// What a worker asks of a study: the rule, and the settings it was given
/// (`None`: the stored value of an existing study, the default of a new one).
#[derive(Debug, Clone, PartialEq)]
pub struct StudyRequest {
    /// Learning rule.
    pub rule: Rule,
    /// Search space.
    pub space: Option<Space>,
    /// Excitatory neurons.
    pub neurons: Option<usize>,
    /// Training examples per trial.
    pub train_examples: Option<usize>,
    /// Held-out examples.
    pub val_examples: Option<usize>,
    /// Label assignment examples.
    pub assign_examples: Option<usize>,
    /// Examples per intermediate value.
    pub window: Option<u64>,
    /// Seed.
    pub seed: Option<u64>,
    /// Backend.
    pub backend: Option<Backend>,
}

impl StudyRequest {
    /// A request with only the rule: every other setting default or stored.
    pub fn new(rule: Rule) -> Self {
        StudyRequest {
            rule,
            space: None,
            neurons: None,
            train_examples: None,
            val_examples: None,
            assign_examples: None,
            window: None,
            seed: None,
            backend: None,
        }
    }

    /// The settings of a new study on `data`.
    pub fn new_settings<'a>(&self, data: impl Into<StudyData<'a>>) -> Result<StudySettings> {
        let data = data.into();
        let train_examples = self.train_examples.unwrap_or(DEFAULT_TRAIN_EXAMPLES);
        let val_examples = self.val_examples.unwrap_or(DEFAULT_VAL_EXAMPLES);
        let neurons = self.neurons.unwrap_or(DEFAULT_NEURONS);
        let window = self.window.unwrap_or(DEFAULT_WINDOW);
        let assign_examples = self.assign_examples.unwrap_or(train_examples.min(1000));
        let space = match &self.space {
            Some(s) => s.clone(),
            None => space::default_space(self.rule),
        };
        StudyRequest {
            neurons: Some(neurons),
            train_examples: Some(train_examples),
            val_examples: Some(val_examples),
            assign_examples: Some(assign_examples),
            window: Some(window),
            space: Some(space.clone()),
            ..self.clone()
        }
        .check_given(data)?;
        let split = data.split(train_examples, val_examples)?;
        let settings = StudySettings {
            rule: self.rule,
            neurons,
            train_examples,
            val_examples,
            assign_examples,
            window,
            seed: self.seed.unwrap_or(DEFAULT_SEED),
            backend: self.backend.unwrap_or(Backend::F32),
            space,
            data: split.fingerprint()?,
        };
        // The space's network must take the data (checked before a study is created).
        trial_config(&settings, &paper_params(&settings.space), split.kind())?;
        Ok(settings)
    }

    /// Checks the ranges of the settings given (on `data`), before any
    /// database is opened or created.
    pub fn check_given<'a>(&self, data: impl Into<StudyData<'a>>) -> Result<()> {
        let data = data.into();
        let train_set_len = data.train.len();
        if !RULES.contains(&self.rule) {
            bail!("--rule none: a study searches how a rule learns, and none learns nothing");
        }
        if let Some(n) = self.neurons {
            stdp_host::config::check_neurons("--neurons", n)?;
        }
        if self.window == Some(0) {
            bail!("--window must be at least 1");
        }
        if self.train_examples == Some(0) || self.val_examples == Some(0) {
            bail!("--train-examples and --val-examples must be at least 1");
        }
        let (train, val) = (self.train_examples.unwrap_or(0), self.val_examples.unwrap_or(0));
        check_sizes(train, val, train_set_len, data.val.map(|v| v.len()))?;
        if let Some(a) = self.assign_examples {
            let most = self.train_examples.unwrap_or(train_set_len);
            if a == 0 || a > most {
                bail!("--assign-examples must be 1 to --train-examples ({most})");
            }
        }
        if let Some(space) = &self.space {
            space.check()?;
        }
        Ok(())
    }

    /// Errors unless every setting given equals the study's.
    pub fn check_against(&self, s: &StudySettings, name: &str) -> Result<()> {
        fn same<T: PartialEq + std::fmt::Debug>(flag: &str, given: Option<T>, stored: T, out: &mut Vec<String>) {
            if let Some(g) = given {
                if g != stored {
                    out.push(format!("{flag} {g:?} (the study has {stored:?})"));
                }
            }
        }
        let mut diff = Vec::new();
        same("--rule", Some(self.rule), s.rule, &mut diff);
        same("--neurons", self.neurons, s.neurons, &mut diff);
        same("--train-examples", self.train_examples, s.train_examples, &mut diff);
        same("--val-examples", self.val_examples, s.val_examples, &mut diff);
        same("--assign-examples", self.assign_examples, s.assign_examples, &mut diff);
        same("--window", self.window, s.window, &mut diff);
        same("--seed", self.seed, s.seed, &mut diff);
        same("--backend", self.backend, s.backend, &mut diff);
        if self.space.as_ref().is_some_and(|sp| *sp != s.space) {
            diff.push("--space (a different search space)".into());
        }
        if !diff.is_empty() {
            bail!(
                "study '{name}' exists with other settings: {}. Leave those flags out to resume it, or use another --name",
                diff.join(", ")
            );
        }
        Ok(())
    }
}

/// What a study searches on: a training set, and the set the held-out
/// examples come from if not from the training set itself.
#[derive(Clone, Copy)]
pub struct StudyData<'a> {
    /// The training set (its first examples train, its last are held out
    /// unless `val` is given).
    pub train: &'a dyn Examples,
    /// Another set whose last examples are held out (`--val-data`).
    pub val: Option<&'a dyn Examples>,
}

impl<'a, T: Examples> From<&'a T> for StudyData<'a> {
    fn from(train: &'a T) -> Self {
        StudyData { train, val: None }
    }
}

impl<'a> StudyData<'a> {
    /// The split of a study with these sizes.
    pub fn split(&self, train: usize, val: usize) -> Result<Split<'a>> {
        Split::of(self.train, self.val, train, val)
    }
}

/// A trial's data: training examples and held-out examples, disjoint:
/// the first `train` examples of a training set and either its last `val`
/// or (`Split::held_out`) the last `val` of another set, e.g. real
/// recordings held out for a network trained on emulated ones.
#[derive(Clone, Copy)]
pub struct Split<'a> {
    /// The first `train_examples` examples.
    pub train: Slice<'a>,
    /// The last `val_examples` examples (of the training set or the held-out set).
    pub val: Slice<'a>,
    /// Examples in the set the training examples come from.
    train_set_len: usize,
    /// Examples in the held-out set, if it is another.
    val_set_len: Option<usize>,
}

impl<'a> Split<'a> {
    /// Splits `data` (a training set).
    pub fn new(data: &'a dyn Examples, train: usize, val: usize) -> Result<Split<'a>> {
        Split::of(data, None, train, val)
    }

    /// The first `train` of `data` for training, the last `val` of
    /// `held_out` (a different set: its own examples, of the same kind) for
    /// the score.
    pub fn held_out(data: &'a dyn Examples, held_out: &'a dyn Examples, train: usize, val: usize) -> Result<Split<'a>> {
        Split::of(data, Some(held_out), train, val)
    }

    /// [`Split::new`] or [`Split::held_out`].
    pub fn of(
        data: &'a dyn Examples,
        held_out: Option<&'a dyn Examples>,
        train: usize,
        val: usize,
    ) -> Result<Split<'a>> {
        if train == 0 || val == 0 {
            bail!("--train-examples and --val-examples must be at least 1");
        }
        check_sizes(train, val, data.len(), held_out.map(|h| h.len()))?;
        let v = held_out.unwrap_or(data);
        if v.kind() != data.kind() {
            bail!("the held-out examples (--val-data) are not of the training examples' kind (digits and events)");
        }
        Ok(Split {
            train: Slice::new(data, 0..train)?,
            val: Slice::new(v, v.len() - val..v.len())?,
            train_set_len: data.len(),
            val_set_len: held_out.map(|h| h.len()),
        })
    }

    /// What the examples are.
    pub fn kind(&self) -> Kind {
        self.train.kind()
    }

    /// Reads every example of the split once (a recording that cannot be
    /// read is an error here, before a study is created or resumed).
    fn fingerprint(&self) -> Result<DataFingerprint> {
        let mut h = crc32fast::Hasher::new();
        for d in [&self.train, &self.val] {
            for i in 0..d.len() {
                d.digest(i, &mut h)?;
            }
            let labels: Vec<u8> = (0..d.len()).map(|i| d.label(i)).collect();
            h.update(&labels);
        }
        let source = match (self.train.source(), self.val_set_len.and(self.val.source())) {
            (None, None) => None,
            (t, v) => Some(match v {
                // "images": the stored name of MNIST digits (studies written
                // so far hold it, and a study is resumed on equal data only).
                Some(v) => format!("{}; held out: {v}", t.unwrap_or_else(|| "images".into())),
                None => t.unwrap_or_else(|| "images".into()),
            }),
        };
        Ok(DataFingerprint {
            train_set_len: self.train_set_len,
            crc32: h.finalize(),
            val_set_len: self.val_set_len,
            source,
        })
    }
}

/// The sizes check of a split: `train + val` of one set, or `train` of
/// one and `val` of another (`val_set_len`).
fn check_sizes(train: usize, val: usize, train_set_len: usize, val_set_len: Option<usize>) -> Result<()> {
    match val_set_len {
        None if train.saturating_add(val) > train_set_len => bail!(
            "--train-examples {train} + --val-examples {val} exceed the {train_set_len} examples of the training set"
        ),
        Some(_) if train > train_set_len => {
            bail!("--train-examples {train} exceeds the {train_set_len} examples of the training set")
        }
        Some(v) if val > v => bail!("--val-examples {val} exceeds the {v} examples of --val-data"),
        _ => Ok(()),
    }
}

/// A trial's configuration: the space's, with the input the data needs
/// (events for event data, unless the space fixes an event input itself).
pub fn trial_config(settings: &StudySettings, params: &Params, kind: Kind) -> Result<Config> {
    let cfg = settings.space.config(settings.rule, settings.neurons, params, kind)?;
    check_fits(&cfg.input, kind)?;
    Ok(cfg)
}

/// Finds or creates study `name` and checks that `req` and `data` agree
/// with it. Returns the study, its settings, and whether it was created.
pub fn open_study<'a>(
    st: &mut dyn StudyStore,
    name: &str,
    req: &StudyRequest,
    data: impl Into<StudyData<'a>>,
) -> Result<(StudyRow, StudySettings, bool)> {
    let data = data.into();
    let fresh = req.new_settings(data);
    // A new study needs valid settings; an existing one only needs a
    // request that agrees with it, so check for it first.
    let existing = st.studies()?.into_iter().find(|s| s.name == name);
    let (row, created) = match existing {
        Some(row) => (row, false),
        None => {
            let settings = fresh?;
            st.get_or_create_study(name, &serde_json::to_string(&settings)?)?
        }
    };
    let settings: StudySettings = serde_json::from_str(&row.settings)
        .with_context(|| format!("study '{name}': its stored settings are not readable by this version"))?;
    req.check_against(&settings, name)?;
    // The space's network must take the data (an event space on digits is
    // an error here, not in every trial).
    trial_config(&settings, &paper_params(&settings.space), data.train.kind())
        .with_context(|| format!("study '{name}' on this data"))?;
    let split = data.split(settings.train_examples, settings.val_examples)?;
    if split.fingerprint()? != settings.data {
        bail!("study '{name}' was run on other data (the examples differ from the ones it was created with)");
    }
    Ok((row, settings, created))
}

// ---------------------------------------------------------------------------
// Pruning

/// Optuna's median pruner: stop a trial whose intermediate value is below
/// the median of the complete trials' values at the same step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MedianPruner {
    /// Complete trials with a value at the step before the pruner acts.
    pub startup_trials: usize,
    /// A trial's first intermediate values that are never pruned on.
    pub warmup_points: usize,
}

impl MedianPruner {
    /// `Some(median)` if the trial should stop at its `point`-th
    /// intermediate value (0-based) `value`, given the complete trials'
    /// values at the same step.
    pub fn prune(&self, point: usize, value: f64, completed: &[f64]) -> Option<f64> {
        if point < self.warmup_points || completed.len() < self.startup_trials.max(1) {
            return None;
        }
        let m = median(completed);
        (value < m).then_some(m)
    }
}

/// The median (mean of the middle two for an even count).
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

// ---------------------------------------------------------------------------
// Trials

/// What a trial's evaluation gave.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Validation accuracy; `None` if `observe` stopped training.
    pub accuracy: Option<f64>,
    /// Examples trained.
    pub examples: u64,
    /// Seconds of the training loop.
    pub train_s: f64,
}

/// Trains `cfg` on the split's training examples and scores it on the
/// held-out ones, as a trial of a study with settings `s` does. `observe`
/// sees every intermediate point and may stop training (then no score).
pub fn evaluate_config(
    cfg: &Config,
    s: &StudySettings,
    split: &Split,
    observe: &mut dyn FnMut(&HistoryPoint) -> ControlFlow<()>,
) -> Result<Evaluation> {
    let opts = TrainOptions {
        backend: s.backend,
        epochs: 1,
        limit: None,
        seed: s.seed,
        window: s.window,
        // Assigned below, and only if the trial gets scored: a pruned trial
        // skips the assignment pass too.
        assign_examples: 0,
        checkpoint_every: None,
        checkpoint: PathBuf::new(),
        resume: false,
        progress: false,
        threads: 1,
    };
    let mut stopped = false;
    let model = train_observed(cfg, &opts, &split.train, &mut |p| {
        let flow = observe(p);
        stopped |= flow.is_break();
        flow
    })?;
    let accuracy = if stopped {
        None
    } else {
        // The paper's assignment (what `train` does with `assign_examples`:
        // the frozen network on the last labelled training examples), then
        // the held-out examples.
        Some(with_backend!(s.backend, T => {
            let sim = sim_from_model::<T>(&model)?;
            let assignments = assign(&sim, &split.train, s.assign_examples, s.seed, false)?;
            evaluate(&sim, &assignments, &split.val, usize::MAX, s.seed, false)?.accuracy
        }))
    };
    Ok(Evaluation {
        accuracy,
        examples: model.meta.examples_trained,
        train_s: model.meta.train_seconds,
    })
}

/// The sampler's view of the finished trials.
pub fn observations(trials: &[TrialRow]) -> Vec<Observation> {
    trials
        .iter()
        .filter_map(|t| {
            let params: Params = serde_json::from_str(t.params.as_deref()?).ok()?;
            let loss = match t.state {
                TrialState::Complete => -t.value?,
                TrialState::Pruned => 1.0 - t.intermediate.last()?.1,
                _ => return None,
            };
            Some(Observation { params, loss })
        })
        .collect()
}

/// Options of a worker.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Trials the study should have (complete + pruned).
    pub trials: u64,
    /// The sampler.
    pub sampler: TpeSampler,
    /// The pruner (`None`: no pruning).
    pub pruner: Option<MedianPruner>,
    /// When a running trial is abandoned.
    pub lease: LeasePolicy,
    /// Queue the paper's values as the first trial of a new study.
    pub baseline: bool,
    /// One line per trial on stderr.
    pub progress: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            trials: 20,
            sampler: TpeSampler::default(),
            pruner: Some(MedianPruner {
                startup_trials: 5,
                warmup_points: 1,
            }),
            lease: LeasePolicy {
                lease_s: 60.0,
                max_attempts: 3,
            },
            baseline: false,
            progress: true,
        }
    }
}

/// What one worker did.
#[derive(Debug, Clone, Default)]
pub struct WorkerSummary {
    /// The worker's name.
    pub worker: String,
    /// Trials this worker ended: (number, state).
    pub trials: Vec<(i64, TrialState)>,
    /// Trials of dead workers this worker recovered.
    pub recovered: Vec<Recovered>,
    /// Whether this worker created the study.
    pub created: bool,
}

impl WorkerSummary {
    /// One line for the terminal.
    pub fn line(&self) -> String {
        let count = |s| self.trials.iter().filter(|t| t.1 == s).count();
        format!(
            "worker {}: {} trials ({} complete, {} pruned, {} failed){}",
            self.worker,
            self.trials.len(),
            count(TrialState::Complete),
            count(TrialState::Pruned),
            count(TrialState::Failed),
            if self.recovered.is_empty() {
                String::new()
            } else {
                format!(", recovered {} from dead workers", self.recovered.len())
            }
        )
    }
}

/// A name for this worker, unique across hosts, processes and threads.
fn worker_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{host}:{}:{}:{:08x}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        nanos
    )
}

/// Adds a `waiting` trial with `params` (checked against the space) to a
/// study; the next worker runs it before sampling new ones. Returns its number.
pub fn enqueue(st: &mut dyn StudyStore, study: &StudyRow, settings: &StudySettings, params: &Params) -> Result<i64> {
    trial_config(settings, params, settings.kind())?;
    st.enqueue(study.id, &serde_json::to_string(params)?)
}

/// The paper's values of the space's searched parameters.
pub fn paper_params(space: &Space) -> Params {
    let paper = serde_json::to_value(Config::default()).unwrap_or_default();
    space
        .params
        .keys()
        .filter_map(|name| {
            let mut v = &paper;
            // The flat STDP names (`nu_post`) live under `stdp.`.
            for part in stdp_host::config::field_path(name).split('.') {
                v = v.get(part)?;
            }
            Some((name.clone(), v.clone()))
        })
        .collect()
}

/// One worker: opens (or creates) study `name` at `url` and runs trials
/// until the study has `opts.trials`; waits for other workers' running
/// trials (one of them may die and need re-running) before returning.
pub fn run_study<'a>(
    url: &str,
    name: &str,
    req: &StudyRequest,
    opts: &RunOptions,
    data: impl Into<StudyData<'a>>,
) -> Result<WorkerSummary> {
    let data = data.into();
    req.check_given(data)?;
    let mut st = storage::open(url)?;
    let (study, settings, created) = open_study(&mut *st, name, req, data)?;
    if created && opts.baseline {
        enqueue(&mut *st, &study, &settings, &paper_params(&settings.space))?;
    }
    let split = data.split(settings.train_examples, settings.val_examples)?;
    let mut heart = storage::open(url)?;
    let worker = worker_name();
    let mut summary = WorkerSummary {
        worker: worker.clone(),
        created,
        ..WorkerSummary::default()
    };
    if opts.progress {
        eprintln!(
            "study '{name}' at {} ({}): target {} trials",
            storage::redact(url),
            if created { "created" } else { "resumed" },
            opts.trials
        );
    }
    let poll = Duration::from_secs_f64((opts.lease.lease_s / 4.0).clamp(0.05, 5.0));
    let mut consecutive_failures = 0;
    let mut waiting = false;
    loop {
        let (claim, recovered) = st.claim(study.id, &worker, opts.trials, opts.lease)?;
        for r in &recovered {
            if opts.progress {
                eprintln!(
                    "trial {}: its worker stopped sending heartbeats; {}",
                    r.number,
                    if r.state == TrialState::Waiting {
                        "re-queued"
                    } else {
                        "marked failed (no attempts left)"
                    }
                );
            }
        }
        summary.recovered.extend(recovered);
        let claimed = match claim {
            Claim::Done => break,
            Claim::Wait { running } => {
                if opts.progress && !waiting {
                    eprintln!("waiting for {running} running trial(s) of other workers (re-run if their workers die)");
                }
                waiting = true;
                std::thread::sleep(poll);
                continue;
            }
            Claim::Trial(c) => {
                waiting = false;
                c
            }
        };
        let number = claimed.lease.number;
        let state = run_trial(&mut *st, &mut *heart, &study, &settings, &split, opts, claimed)?;
        if let Some(state) = state {
            summary.trials.push((number, state));
            if state == TrialState::Failed {
                consecutive_failures += 1;
                if consecutive_failures >= 3 {
                    bail!("3 trials in a row failed; see `hpo report` for their errors");
                }
            } else {
                consecutive_failures = 0;
            }
        }
    }
    Ok(summary)
}

/// Runs one claimed trial to its end. `None` if the lease was lost (another
/// worker has the trial now).
fn run_trial(
    st: &mut dyn StudyStore,
    heart: &mut dyn StudyStore,
    study: &StudyRow,
    settings: &StudySettings,
    split: &Split,
    opts: &RunOptions,
    claimed: storage::Claimed,
) -> Result<Option<TrialState>> {
    let t0 = Instant::now();
    let lease = claimed.lease;
    let params: Params = match claimed.params {
        Some(p) => serde_json::from_str(&p).context("a queued trial's parameters")?,
        None => {
            let history = observations(&st.trials(study.id)?);
            opts.sampler
                .sample(&settings.space, &history, settings.seed, lease.number as u64)?
        }
    };
    let fail = |st: &mut dyn StudyStore, e: anyhow::Error| -> Result<Option<TrialState>> {
        let f = Finish {
            state: TrialState::Failed,
            value: None,
            duration_s: t0.elapsed().as_secs_f64(),
            train_s: 0.0,
            examples: 0,
            error: Some(format!("{e:#}")),
        };
        if opts.progress {
            eprintln!("trial {} failed: {e:#}", lease.number);
        }
        Ok(st.finish(&lease, &f)?.then_some(TrialState::Failed))
    };
    let cfg = match trial_config(settings, &params, split.kind()) {
        Ok(c) => c,
        Err(e) => return fail(st, e),
    };
    let optuna = settings.space.optuna_params(&params)?;
    if !st.set_params(
        &lease,
        &serde_json::to_string(&params)?,
        &optuna,
        &serde_json::to_string(&cfg)?,
    )? {
        return Ok(None);
    }

    let lost = AtomicBool::new(false);
    let mut storage_error = None;
    let mut pruned_at = None;
    let evaluation = std::thread::scope(|s| {
        let (stop, stopped) = mpsc::channel::<()>();
        let interval = Duration::from_secs_f64((opts.lease.lease_s / 4.0).max(0.01));
        let beat_lease = &lease;
        let lost = &lost;
        s.spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                match heart.heartbeat(beat_lease) {
                    Ok(true) => {}
                    Ok(false) => {
                        lost.store(true, Ordering::Relaxed);
                        break;
                    }
                    // A transient database error: the next beat may get through.
                    Err(e) => eprintln!("trial {}: heartbeat failed: {e:#}", beat_lease.number),
                }
            }
        });
        let mut point = 0;
        // A panic in training (a parameter the core rejects mid-run) fails
        // the trial, not the worker.
        let r = std::panic::catch_unwind(AssertUnwindSafe(|| {
            evaluate_config(&cfg, settings, split, &mut |p| {
                if lost.load(Ordering::Relaxed) {
                    return ControlFlow::Break(());
                }
                let Some(acc) = p.running_accuracy else {
                    return ControlFlow::Continue(());
                };
                let step = p.examples as i64;
                let decision = (|| -> Result<ControlFlow<()>> {
                    if !st.report(&lease, step, acc)? {
                        lost.store(true, Ordering::Relaxed);
                        return Ok(ControlFlow::Break(()));
                    }
                    if let Some(pruner) = &opts.pruner {
                        let completed = st.completed_values_at(study.id, step)?;
                        if let Some(m) = pruner.prune(point, acc, &completed) {
                            pruned_at = Some((step, acc, m));
                            return Ok(ControlFlow::Break(()));
                        }
                    }
                    Ok(ControlFlow::Continue(()))
                })();
                point += 1;
                decision.unwrap_or_else(|e| {
                    storage_error = Some(e);
                    ControlFlow::Break(())
                })
            })
        }))
        .unwrap_or_else(|panic| {
            let msg = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)");
            Err(anyhow!("training panicked: {msg}"))
        });
        drop(stop);
        r
    });
    if let Some(e) = storage_error {
        return Err(e.context(format!("trial {}: storing an intermediate value", lease.number)));
    }
    if lost.load(Ordering::Relaxed) {
        if opts.progress {
            eprintln!(
                "trial {}: lease lost (another worker took it over); result discarded",
                lease.number
            );
        }
        return Ok(None);
    }
    let ev = match evaluation {
        Ok(ev) => ev,
        Err(e) => return fail(st, e),
    };
    let state = if ev.accuracy.is_some() {
        TrialState::Complete
    } else {
        TrialState::Pruned
    };
    let f = Finish {
        state,
        value: ev.accuracy,
        duration_s: t0.elapsed().as_secs_f64(),
        train_s: ev.train_s,
        examples: ev.examples as i64,
        error: None,
    };
    if !st.finish(&lease, &f)? {
        return Ok(None);
    }
    if opts.progress {
        match (ev.accuracy, pruned_at) {
            (Some(acc), _) => eprintln!(
                "trial {} complete: accuracy {:.2} % ({:.1} s)",
                lease.number,
                100.0 * acc,
                f.duration_s
            ),
            (None, Some((step, acc, m))) => eprintln!(
                "trial {} pruned after {step} examples: running accuracy {:.1} % < median {:.1} % ({:.1} s)",
                lease.number,
                100.0 * acc,
                100.0 * m,
                f.duration_s
            ),
            (None, None) => {}
        }
    }
    Ok(Some(state))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_baseline_has_every_searched_parameter_flat_stdp_names_too() {
        let sp = space::default_space(Rule::Triplet);
        let p = paper_params(&sp);
        assert_eq!(p.len(), sp.params.len(), "{p:?}");
        let d = Config::default();
        assert_eq!(p["nu_post"], serde_json::json!(d.stdp.nu_post));
        assert_eq!(p["nu_pre"], serde_json::json!(d.stdp.nu_pre));
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn the_pruner_waits_for_warm_up_and_startup_then_prunes_below_the_median() {
        let p = MedianPruner {
            startup_trials: 3,
            warmup_points: 1,
        };
        let done = [0.5, 0.6, 0.7];
        assert_eq!(p.prune(0, 0.1, &done), None, "warm-up point");
        assert_eq!(p.prune(1, 0.1, &done[..2]), None, "too few complete trials");
        assert_eq!(p.prune(1, 0.1, &done), Some(0.6));
        assert_eq!(p.prune(1, 0.6, &done), None, "at the median: kept");
        assert_eq!(p.prune(2, 0.65, &done), None);
    }

    #[test]
    fn a_pruned_trial_ranks_below_every_complete_one_for_the_sampler() {
        let row = |state, value: Option<f64>, last: f64| TrialRow {
            id: 0,
            number: 0,
            state,
            params: Some("{}".into()),
            config: None,
            value,
            worker: None,
            attempt: 1,
            started: None,
            heartbeat: None,
            finished: None,
            duration_s: None,
            train_s: None,
            examples: None,
            error: None,
            intermediate: vec![(100, last)],
        };
        let obs = observations(&[
            row(TrialState::Complete, Some(0.05), 0.1),
            row(TrialState::Pruned, None, 0.9),
            row(TrialState::Failed, None, 0.9),
            row(TrialState::Running, None, 0.9),
        ]);
        assert_eq!(obs.len(), 2);
        assert!(obs[0].loss < obs[1].loss);
    }
}
