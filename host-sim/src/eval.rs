//! Classify the test set with a trained model.

use std::path::PathBuf;

use anyhow::Result;
use stdp_host::backend::Backend;
use stdp_host::examples::{self, check_fits, InputArg};
use stdp_host::sim::train::{assign, evaluate, sim_from_model, EvalReport};
use stdp_host::with_backend;
use stdp_nir::load_model;

use crate::args::{count, data_dir, threads, use_threads};

/// Its arguments.
#[derive(clap::Args)]
pub struct Args {
    /// Directory with the four IDX files (gzip or raw), or an N-MNIST
    /// layout directory (evaluates on `Test/`, assigns from `Train/`).
    /// Default: MNIST in the cache directory ($STDP_DATA_DIR, else
    /// $XDG_CACHE_HOME/stdp/mnist, else ~/.cache/stdp/mnist), downloaded
    /// and checked there if it is missing.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// What --data holds: auto, digits, events, saccades (see `train`).
    #[arg(long, value_enum, default_value_t = InputArg::Auto)]
    pub input: InputArg,
    /// The emulator's parameters (JSON) for --input saccades.
    #[arg(long, value_name = "FILE")]
    pub emulator: Option<PathBuf>,
    /// Model file.
    #[arg(long)]
    pub model: PathBuf,
    /// Backend: f32, f64, fixed (default: the one that trained the model).
    #[arg(long)]
    pub backend: Option<Backend>,
    /// Test examples (the first N).
    #[arg(long, value_parser = count())]
    pub limit: Option<usize>,
    /// Recompute the label assignment from the last N training examples
    /// instead of using the model's.
    #[arg(long, value_parser = count())]
    pub reassign: Option<usize>,
    /// Seed of the test spike trains.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Threads (default and most: all cores); the result is the same for
    /// any number.
    #[arg(long, value_parser = threads())]
    pub threads: Option<u16>,
}

/// Runs it.
pub fn run(a: Args) -> Result<()> {
    let Args {
        data,
        input,
        emulator,
        model,
        backend,
        limit,
        reassign,
        seed,
        json,
        threads,
    } = a;
    use_threads(threads)?;
    let model = load_model(&model)?;
    let backend = backend.unwrap_or_else(|| model.backend());
    let data = examples::load(&data_dir(data)?, input, emulator.as_deref())?;
    check_fits(&model.meta.config.input, data.test.kind())?;
    let (train_set, test_set) = (data.train.as_ref(), data.test.as_ref());
    let report = with_backend!(backend, T => {
        let sim = sim_from_model::<T>(&model)?;
        let assignments = match reassign {
            Some(m) => assign(&sim, train_set, m, seed, !json)?,
            None if !model.meta.assignments.is_empty() => model.meta.assignments.clone(),
            None => assign(&sim, train_set, 10_000, seed, !json)?,
        };
        evaluate(&sim, &assignments, test_set, limit.unwrap_or(usize::MAX), seed, !json)?
    });
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_report(&report);
    }
    Ok(())
}

fn print_report(r: &EvalReport) {
    println!(
        "backend {}: accuracy {:.2} % on {} test examples ({} neurons assigned, {:.1} spikes/example, {} retries, {:.1} s)",
        r.backend,
        100.0 * r.accuracy,
        r.examples,
        r.assigned_neurons,
        r.spikes_per_example,
        r.retries,
        r.seconds
    );
    println!(
        "per class: {}",
        r.per_class
            .iter()
            .map(|a| format!("{:.1}", 100.0 * a))
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!("confusion (rows: true 0-9, columns: predicted 0-9):");
    for row in &r.confusion {
        println!("  {}", row.iter().map(|c| format!("{c:5}")).collect::<String>());
    }
}
