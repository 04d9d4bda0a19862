//! `host-sim experiment NAME --out DIR`: a classic experiment (neuron,
//! stdp-window, weight-history, encoding): figures (PNG + SVG), data (CSV)
//! and summary.txt. The experiments are `stdp_plots::experiments`; their
//! defaults are the library's (`ExperimentOptions::new`), shown here.

use std::path::PathBuf;

use anyhow::Result;
use stdp_core::trains::Correlation;
use stdp_host::backend::Backend;
use stdp_plots::experiments::{ExperimentName, ExperimentOptions, TrainKind};

use crate::args::choice;

/// The library's defaults.
fn d() -> ExperimentOptions {
    ExperimentOptions::new(ExperimentName::Neuron, PathBuf::new())
}

/// The default backends as `--backend` takes them (`f64,fixed`; clap would
/// show a list default joined by spaces).
static DEFAULT_BACKENDS: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| d().backend.iter().map(|b| b.name()).collect::<Vec<_>>().join(","));

/// Its arguments (each documented in `ExperimentOptions`).
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The experiment.
    #[arg(value_parser = choice::<ExperimentName>())]
    pub name: ExperimentName,
    /// Output directory (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Numeric backends, overlaid in the figures: f64 (the float
    /// reference), fixed (Q11.20), or both (`f64,fixed`).
    #[arg(long, value_delimiter = ',', default_value = DEFAULT_BACKENDS.as_str())]
    pub backend: Vec<Backend>,
    /// Seed of every random spike train.
    #[arg(long, default_value_t = d().seed)]
    pub seed: u64,
    /// Time step (ms).
    #[arg(long, default_value_t = d().dt)]
    pub dt: f64,
    /// Simulated time in ms [neuron: 1000; weight-history: 150000; encoding: 350].
    #[arg(long)]
    pub duration: Option<f64>,
    /// Input rate in Hz [neuron: 20; weight-history: 15].
    #[arg(long)]
    pub rate: Option<f64>,

    /// neuron: the input trains.
    #[arg(long, value_parser = choice::<TrainKind>(), default_value = "poisson")]
    pub train: TrainKind,
    /// neuron: number of inputs.
    #[arg(long, default_value_t = d().inputs)]
    pub inputs: usize,
    /// neuron: input spikes from a CSV file of `index,time_ms` lines (overrides --train).
    #[arg(long)]
    pub spikes_csv: Option<PathBuf>,
    /// neuron (--train poisson-dead): dead time (ms).
    #[arg(long, default_value_t = d().dead_time)]
    pub dead_time: f64,
    /// neuron (--train correlated) / weight-history: pairwise correlation of a group.
    #[arg(long, default_value_t = d().correlation)]
    pub correlation: f64,

    /// stdp-window: number of repeated pairings.
    #[arg(long, default_value_t = d().pairings)]
    pub pairings: u32,
    /// stdp-window: frequency of the repeated pairings (Hz).
    #[arg(long, default_value_t = d().pairing_hz)]
    pub pairing_hz: f64,

    /// weight-history: number of inputs.
    #[arg(long, default_value_t = d().n_inputs)]
    pub n_inputs: usize,
    /// weight-history: correlation of each correlated group (comma-separated; one group each).
    #[arg(long, value_delimiter = ',', default_values_t = d().correlations)]
    pub correlations: Vec<f64>,
    /// weight-history: inputs per correlated group (the rest are independent).
    #[arg(long, default_value_t = d().group_size)]
    pub group_size: usize,
    /// weight-history: construction of the correlated groups.
    #[arg(long, value_parser = choice::<Correlation>(), default_value = "mixture")]
    pub correlation_kind: Correlation,
    /// weight-history: number of (independent, identical) neurons.
    #[arg(long, default_value_t = d().neurons)]
    pub neurons: usize,

    /// encoding: directory of the MNIST IDX files.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// encoding: index of the test digit.
    #[arg(long, default_value_t = d().digit)]
    pub digit: usize,
    /// encoding: intensity (rate = pixel / 8 * intensity Hz).
    #[arg(long, default_value_t = d().intensity)]
    pub intensity: f32,
}

impl From<Args> for ExperimentOptions {
    fn from(a: Args) -> Self {
        ExperimentOptions {
            name: a.name,
            out: a.out,
            backend: a.backend,
            seed: a.seed,
            dt: a.dt,
            duration: a.duration,
            rate: a.rate,
            train: a.train,
            inputs: a.inputs,
            spikes_csv: a.spikes_csv,
            dead_time: a.dead_time,
            correlation: a.correlation,
            pairings: a.pairings,
            pairing_hz: a.pairing_hz,
            n_inputs: a.n_inputs,
            correlations: a.correlations,
            group_size: a.group_size,
            correlation_kind: a.correlation_kind,
            neurons: a.neurons,
            data: a.data,
            digit: a.digit,
            intensity: a.intensity,
        }
    }
}

/// Runs it.
pub fn run(a: Args) -> Result<()> {
    stdp_plots::experiments::run(&a.into())
}
