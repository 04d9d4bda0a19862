//! Draw a model's figures (PNG + SVG): receptive fields, theta, training
//! curves; with --data also the confusion matrix and a digit's encoding (GIF).

use std::path::PathBuf;

use anyhow::Result;
use stdp_host::examples::InputArg;
use stdp_nir::load_model;

use crate::args::count;

/// Its arguments.
#[derive(clap::Args)]
pub struct Args {
    /// Model file.
    #[arg(long)]
    pub model: PathBuf,
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
    /// Directory with the IDX files, or N-MNIST-layout recordings (for the
    /// confusion matrix and the input of one example).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// What --data holds: auto (an N-MNIST layout directory is events,
    /// anything else digits), digits, events, or saccades.
    #[arg(long, value_enum, default_value_t = InputArg::Auto)]
    pub input: InputArg,
    /// The emulator's parameters (JSON) for --input saccades.
    #[arg(long, value_name = "FILE")]
    pub emulator: Option<PathBuf>,
    /// Test digits for the confusion matrix.
    #[arg(long, default_value_t = 10_000, value_parser = count())]
    pub limit: usize,
    /// Index of the test digit whose encoding is animated.
    #[arg(long, default_value_t = 0)]
    pub digit: usize,
}

/// Runs it.
pub fn run(a: Args) -> Result<()> {
    let Args {
        model,
        out,
        data,
        input,
        emulator,
        limit,
        digit,
    } = a;
    let model = load_model(&model)?;
    let data = match &data {
        Some(d) => Some(stdp_host::examples::load(d, input, emulator.as_deref())?),
        None => None,
    };
    let test = data.as_ref().map(|d| &*d.test);
    let written = stdp_plots::figures::plot_model(&model, &out, test, limit, digit)?;
    eprintln!("wrote {} to {}", written.join(", "), out.display());
    Ok(())
}
