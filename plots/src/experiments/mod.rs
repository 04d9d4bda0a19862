//! `host-sim experiment NAME --out DIR`: the classic single-neuron and STDP
//! experiments on the core (float and fixed), each writing PNG + SVG
//! figures, the data as CSV and a short `summary.txt`.
//!
//! | name | what it shows |
//! |---|---|
//! | `neuron` | membrane, conductance and threshold traces of one neuron of each model for a chosen input train; the current-based LIF's f-I and rate-in/rate-out curves against their discrete closed form |
//! | `stdp-window` | weight change against the pre-post interval (-100..+100 ms) of every learning rule, one pairing and repeated pairings, float and fixed overlaid |
//! | `weight-history` | many inputs onto one neuron, one group correlated: the weights over time (the correlated group wins) and a raster |
//! | `encoding` | how an MNIST digit becomes Poisson spike trains (raster and animated GIF) |
//!
//! Every experiment is also a library function with typed parameters (see
//! each module), which the tests call to check the science.

pub mod encoding;
pub mod inputs;
pub mod neuron;
pub mod stdp_window;
pub mod weight_history;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use stdp_core::trains::Correlation;

use stdp_host::backend::Backend;

/// The experiments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExperimentName {
    /// Traces of one neuron per model, and the LIF's f-I curve.
    Neuron,
    /// STDP windows of every rule, single and repeated pairings.
    StdpWindow,
    /// Weights of many inputs onto one neuron, some correlated, over time.
    WeightHistory,
    /// An MNIST digit's Poisson encoding (raster and GIF).
    Encoding,
}

stdp_host::named!(ExperimentName { Neuron = "neuron", StdpWindow = "stdp-window", WeightHistory = "weight-history", Encoding = "encoding" });

/// The input trains of the `neuron` experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrainKind {
    /// Homogeneous Poisson at --rate.
    Poisson,
    /// Poisson at --rate with a dead time of --dead-time ms.
    PoissonDead,
    /// Regular at --rate, inputs evenly staggered in phase.
    Regular,
    /// Bursts of 4 spikes 3 ms apart, mean rate --rate.
    Bursts,
    /// Piecewise-constant rate: 200 ms at --rate / 4, 200 ms at 2 x --rate, repeated.
    Pattern,
    /// One correlated group (mixture construction) at --rate with correlation --correlation.
    Correlated,
}

stdp_host::named!(TrainKind { Poisson = "poisson", PoissonDead = "poisson-dead", Regular = "regular", Bursts = "bursts", Pattern = "pattern", Correlated = "correlated" });

/// The options of an experiment (`host-sim experiment`'s flags; defaults
/// in [`ExperimentOptions::new`]). Options that belong to one experiment
/// say which; the others ignore them.
#[derive(Debug, Clone)]
pub struct ExperimentOptions {
    /// The experiment.
    pub name: ExperimentName,
    /// Output directory (created if missing).
    pub out: PathBuf,
    /// Numeric backends, overlaid in the figures: f64 (the float
    /// reference), fixed (Q11.20), or both (`f64,fixed`).
    pub backend: Vec<Backend>,
    /// Seed of every random spike train.
    pub seed: u64,
    /// Time step (ms).
    pub dt: f64,
    /// Simulated time in ms [neuron: 1000; weight-history: 150000; encoding: 350].
    pub duration: Option<f64>,
    /// Input rate in Hz [neuron: 20; weight-history: 15].
    pub rate: Option<f64>,

    /// neuron: the input trains.
    pub train: TrainKind,
    /// neuron: number of inputs.
    pub inputs: usize,
    /// neuron: input spikes from a CSV file of `index,time_ms` lines (overrides --train).
    pub spikes_csv: Option<PathBuf>,
    /// neuron (--train poisson-dead): dead time (ms).
    pub dead_time: f64,
    /// neuron (--train correlated) / weight-history: pairwise correlation of a group.
    pub correlation: f64,

    /// stdp-window: number of repeated pairings.
    pub pairings: u32,
    /// stdp-window: frequency of the repeated pairings (Hz).
    pub pairing_hz: f64,

    /// weight-history: number of inputs.
    pub n_inputs: usize,
    /// weight-history: correlation of each correlated group (comma-separated; one group each).
    pub correlations: Vec<f64>,
    /// weight-history: inputs per correlated group (the rest are independent).
    pub group_size: usize,
    /// weight-history: construction of the correlated groups (`mip`:
    /// every spike a copy of a mother train's; `mixture`: a shared mother
    /// thinned, plus independent spikes).
    pub correlation_kind: Correlation,
    /// weight-history: number of (independent, identical) neurons.
    pub neurons: usize,

    /// encoding: directory of the MNIST IDX files.
    pub data: Option<PathBuf>,
    /// encoding: index of the test digit.
    pub digit: usize,
    /// encoding: intensity (rate = pixel / 8 * intensity Hz).
    pub intensity: f32,
}

impl ExperimentOptions {
    /// Experiment `name` writing to `out`, every other option at its
    /// default (the command line's defaults are these).
    pub fn new(name: ExperimentName, out: PathBuf) -> Self {
        ExperimentOptions {
            name,
            out,
            backend: vec![Backend::F64, Backend::Fixed],
            seed: 1,
            dt: 0.5,
            duration: None,
            rate: None,
            train: TrainKind::Poisson,
            inputs: 10,
            spikes_csv: None,
            dead_time: 5.0,
            correlation: 0.5,
            pairings: 60,
            pairing_hz: 1.0,
            n_inputs: 200,
            correlations: vec![0.2],
            group_size: 50,
            correlation_kind: Correlation::Mixture,
            neurons: 1,
            data: None,
            digit: 0,
            intensity: 2.0,
        }
    }
}

/// Runs the experiment `args.name`, writing into `args.out`.
pub fn run(args: &ExperimentOptions) -> Result<()> {
    if let Some(b) = args
        .backend
        .iter()
        .find(|b| !matches!(b, Backend::F64 | Backend::Fixed))
    {
        bail!("--backend {b}: the experiments run on f64 and fixed");
    }
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let summary = match args.name {
        ExperimentName::Neuron => neuron::run(args)?,
        ExperimentName::StdpWindow => stdp_window::run(args)?,
        ExperimentName::WeightHistory => weight_history::run(args)?,
        ExperimentName::Encoding => encoding::run(args)?,
    };
    write_text(&args.out.join("summary.txt"), &summary)?;
    print!("{summary}");
    Ok(())
}

/// Writes a text file (parent must exist).
pub(crate) fn write_text(path: &Path, text: &str) -> Result<()> {
    stdp_host::write_atomic(path, text.as_bytes())
}

/// Writes a CSV file from a header and rows of numbers.
pub(crate) fn write_csv(path: &Path, header: &[&str], rows: impl IntoIterator<Item = Vec<f64>>) -> Result<()> {
    let mut s = header.join(",");
    s.push('\n');
    for row in rows {
        let mut first = true;
        for x in row {
            if !first {
                s.push(',');
            }
            first = false;
            if x.fract() == 0.0 && x.abs() < 1e15 {
                let _ = write!(s, "{}", x as i64);
            } else {
                let _ = write!(s, "{x}");
            }
        }
        s.push('\n');
    }
    write_text(path, &s)
}

impl ExperimentOptions {
    /// Whether backend `b` runs.
    pub fn runs(&self, b: Backend) -> bool {
        self.backend.contains(&b)
    }
}

/// The backends to run, f64 first, as (name, is_fixed).
pub(crate) fn backends(a: &ExperimentOptions) -> Vec<(&'static str, bool)> {
    [Backend::F64, Backend::Fixed]
        .into_iter()
        .filter(|&b| a.runs(b))
        .map(|b| (b.name(), b == Backend::Fixed))
        .collect()
}
