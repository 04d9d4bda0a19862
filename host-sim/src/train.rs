//! Train the Diehl & Cook network on an MNIST-format data set.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use stdp_core::{InhibitionKind, Rule};
use stdp_host::backend::Backend;
use stdp_host::config::{check_neurons, Config, InputConfig, Preset, RetryConfig, INHIBITIONS, RULES};
use stdp_host::examples::{self, input_for, InputArg, Kind};
use stdp_host::sim::train::{default_checkpoint, train, train_from, TrainOptions};
use stdp_nir::load_model;

use crate::args::{choice, choice_of, count, data_dir, threads, use_threads, MAX_COUNT};

/// Its arguments.
#[derive(clap::Args)]
pub struct Args {
    /// Directory with the four IDX files (gzip or raw), or an N-MNIST
    /// layout directory (`Train/<label>/<id>.bin`; trains on `Train/`).
    /// Default: MNIST in the cache directory ($STDP_DATA_DIR, else
    /// $XDG_CACHE_HOME/stdp/mnist, else ~/.cache/stdp/mnist), downloaded
    /// and checked there if it is missing.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// What --data holds: auto (an N-MNIST layout directory is events,
    /// anything else digits), digits, events, or saccades (MNIST digits
    /// through the DVS emulator, recorded on the fly: an event model).
    #[arg(long, value_enum, default_value_t = InputArg::Auto)]
    pub input: InputArg,
    /// The emulator's parameters (JSON, `EmulatorParams`) for --input
    /// saccades (default: the calibrated ones).
    #[arg(long, value_name = "FILE")]
    pub emulator: Option<PathBuf>,
    /// Event input: what to do with a recording that evokes fewer than
    /// min_spikes spikes: none, gain:K (replay with each event delivered
    /// 2..K times) or threshold:MV:K (replay with the threshold lowered by
    /// MV, 2 MV, ... K times). Default: none, or the --params file's.
    #[arg(long, value_name = "RETRY")]
    pub retry: Option<RetryConfig>,
    /// Event input: 2 (an ON and an OFF input per pixel) or 1 (merged).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=2))]
    pub channels: Option<u8>,
    /// Event input: pixels per input cell side (1: none).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=34))]
    pub downsample: Option<u16>,
    /// Excitatory neurons (default 100, or the --params file's).
    #[arg(long)]
    pub neurons: Option<usize>,
    /// Output model file.
    #[arg(long)]
    pub out: PathBuf,
    /// Passes over the training examples.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub epochs: u32,
    /// Train on the first N examples only.
    #[arg(long, value_parser = count())]
    pub limit: Option<usize>,
    /// Backend: f32, f64, fixed.
    #[arg(long, default_value = "f32")]
    pub backend: Backend,
    /// Learning rule.
    #[arg(long, value_parser = choice_of(&RULES))]
    pub rule: Option<Rule>,
    /// Lateral inhibition.
    #[arg(long, value_parser = choice_of(&INHIBITIONS))]
    pub inhibition: Option<InhibitionKind>,
    /// Time step (ms).
    #[arg(long, allow_negative_numbers = true)]
    pub dt_ms: Option<f64>,
    /// Presentation time (ms).
    #[arg(long, allow_negative_numbers = true)]
    pub present_ms: Option<f64>,
    /// Rest time (ms); 0 resets the dynamics between examples instead.
    #[arg(long, allow_negative_numbers = true)]
    pub rest_ms: Option<f64>,
    /// Input -> excitatory delays: each synapse's delay uniform in [0, MS]
    /// ms, rounded to steps (Diehl & Cook's code: 10; default 0: none).
    #[arg(long, value_name = "MS", allow_negative_numbers = true)]
    pub input_delay_ms: Option<f64>,
    /// Excitatory neurons: the threshold stays off MS ms after a spike
    /// while v is held only for the refractory period (Brian 2 ports of
    /// Diehl & Cook: 50, their timer running at 0.1; 5 with `--params`
    /// `{"exc": {"refractory_ms": 0.0}}`: the original Brian 1 code's
    /// refractory period, which does not hold v; default 0: no block).
    #[arg(long, value_name = "MS", allow_negative_numbers = true)]
    pub threshold_block_ms: Option<f64>,
    /// Present the training examples in a new random order every epoch
    /// (from the seed) instead of the file's order (Diehl & Cook: the
    /// file's order).
    #[arg(long)]
    pub shuffle: bool,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Parameters as JSON (a `Config`; e.g. from `hpo report --json`); the
    /// flags above override it.
    #[arg(long)]
    pub params: Option<PathBuf>,
    /// Named parameters to start from instead of --params: paper (Diehl &
    /// Cook's values and procedure, the default) or best (the values tuned
    /// at 100 neurons, docs/params/dc100-tuned.json, with --shuffle). The
    /// flags above override it.
    #[arg(long, value_parser = choice::<Preset>(), conflicts_with = "params")]
    pub preset: Option<Preset>,
    /// Examples per assignment window (running accuracy, history).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=MAX_COUNT))]
    pub window: u64,
    /// Training examples (the last ones) of the final label assignment.
    #[arg(long, default_value_t = 10_000)]
    pub assign: usize,
    /// Write a checkpoint every K examples.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=MAX_COUNT))]
    pub checkpoint_every: Option<u64>,
    /// Checkpoint file (default: OUT.ckpt).
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Resume from the checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Start from this trained model's weights and thresholds instead of
    /// random weights (fine-tuning: e.g. emulated digits first, then real
    /// recordings). Its network must have this run's inputs and --neurons;
    /// the training parameters are this run's (give the same --params).
    #[arg(long, value_name = "MODEL", conflicts_with = "resume")]
    pub init: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Threads for the network (default and most: all cores). Layers of at
    /// least 1,024 neurons are split into one shard per thread, at least
    /// 512 neurons each; the trained model is the same for any number. The
    /// final label assignment uses as many.
    #[arg(long, value_parser = threads())]
    pub threads: Option<u16>,
}

fn config(a: &Args, kind: Kind) -> Result<Config> {
    let mut cfg = match &a.params {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
            serde_json::from_str::<Config>(&text)
                .with_context(|| format!("{}: not a valid parameter file", p.display()))?
        }
        None => a.preset.unwrap_or(Preset::Paper).config()?,
    };
    if let Some(n) = a.neurons {
        check_neurons("--neurons", n)?;
        cfg.n_neurons = n;
    }
    if let Some(r) = a.rule {
        cfg.stdp.rule = r;
    }
    if let Some(i) = a.inhibition {
        cfg.inhibition = i;
    }
    if let Some(x) = a.dt_ms {
        cfg.dt_ms = x;
    }
    if let Some(x) = a.present_ms {
        cfg.present_ms = x;
    }
    if let Some(x) = a.rest_ms {
        cfg.rest_ms = x;
    }
    if let Some(x) = a.input_delay_ms {
        cfg.input_delay_ms = x;
    }
    if let Some(x) = a.threshold_block_ms {
        cfg.exc.threshold_block_ms = x;
    }
    if a.shuffle {
        cfg.shuffle = true;
    }
    cfg.input = input_for(&cfg.input, kind);
    match &mut cfg.input {
        InputConfig::Events(e) => {
            if let Some(r) = a.retry {
                e.retry = r;
            }
            if let Some(c) = a.channels {
                e.channels = c;
            }
            if let Some(f) = a.downsample {
                e.downsample = f;
            }
        }
        InputConfig::Digits => {
            if a.retry.is_some() || a.channels.is_some() || a.downsample.is_some() {
                bail!("--retry, --channels and --downsample apply to event input (N-MNIST-layout data or --input saccades)");
            }
        }
    }
    cfg.n_inputs = cfg.input.inputs()?;
    cfg.check()?;
    Ok(cfg)
}

/// Runs it.
pub fn run(a: Args) -> Result<()> {
    let data = examples::load(&data_dir(a.data.clone())?, a.input, a.emulator.as_deref())?;
    let cfg = config(&a, data.train.kind())?;
    let opts = TrainOptions {
        backend: a.backend,
        epochs: a.epochs,
        limit: a.limit,
        seed: a.seed,
        window: a.window,
        assign_examples: a.assign,
        checkpoint_every: a.checkpoint_every,
        checkpoint: a.checkpoint.clone().unwrap_or_else(|| default_checkpoint(&a.out)),
        resume: a.resume,
        progress: !a.quiet,
        threads: use_threads(a.threads)?,
    };
    let model = match &a.init {
        Some(m) => {
            let start = load_model(m).with_context(|| format!("--init {}", m.display()))?;
            train_from(&cfg, &opts, data.train.as_ref(), &start).context("--init")?
        }
        None => train(&cfg, &opts, data.train.as_ref())?,
    };
    model.save(&a.out)?;
    if opts.checkpoint_every.is_some() {
        let _ = std::fs::remove_file(&opts.checkpoint);
    }
    // What killed earlier runs of this command left half-written.
    for p in [&a.out, &opts.checkpoint] {
        stdp_host::remove_stale_temps(p)?;
    }
    let m = &model.meta;
    eprintln!(
        "trained {} examples in {:.1} s ({:.1} examples/s), {} retries; model written to {}",
        m.examples_trained,
        m.train_seconds,
        m.examples_trained as f64 / m.train_seconds.max(1e-9),
        m.retries,
        a.out.display()
    );
    Ok(())
}
