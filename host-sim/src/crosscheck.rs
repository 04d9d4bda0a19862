//! Run one model through the float and the fixed backend and compare.

use std::path::PathBuf;

use anyhow::Result;
use stdp_host::crosscheck::{crosscheck, CrossOptions};
use stdp_host::examples::{self, InputArg};
use stdp_nir::load_model;

use crate::args::{count, data_dir, threads, use_threads};

/// Its arguments.
#[derive(clap::Args)]
pub struct Args {
    /// Directory with the four IDX files, or an N-MNIST layout directory.
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
    /// Test examples (the first N).
    #[arg(long, default_value_t = 1000, value_parser = count())]
    pub limit: usize,
    /// Examples of training both backends from one seed, for the divergence.
    #[arg(long, default_value_t = 200)]
    pub train_examples: usize,
    /// Seed of the spike trains.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print one JSON object.
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
        limit,
        train_examples,
        seed,
        json,
        threads,
    } = a;
    use_threads(threads)?;
    let model = load_model(&model)?;
    let data = examples::load(&data_dir(data)?, input, emulator.as_deref())?;
    let opts = CrossOptions {
        limit,
        train_examples,
        seed,
        progress: !json,
    };
    let r = crosscheck(&model, data.train.as_ref(), data.test.as_ref(), &opts)?;
    if json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        println!("{}", r.summary());
    }
    Ok(())
}
