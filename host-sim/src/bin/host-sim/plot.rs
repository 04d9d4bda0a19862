//! Draw a model's figures (PNG + SVG): receptive fields, theta, training
//! curves; with --data also the confusion matrix and a digit's encoding (GIF).

use std::path::PathBuf;

use anyhow::Result;
use host_sim::formats::mnist;
use host_sim::formats::model::Model;

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
    /// Directory with the IDX files (for the confusion matrix and the encoding).
    #[arg(long)]
    pub data: Option<PathBuf>,
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
        limit,
        digit,
    } = a;
    let model = Model::load(&model)?;
    host_sim::examples::refuse_events("plot", &model.meta.config.input)?;
    if let Some(d) = &data {
        host_sim::examples::refuse_event_data("plot", d)?;
    }
    let sets = match &data {
        Some(d) => Some(mnist::load_dir(d)?),
        None => None,
    };
    let written = host_sim::figures::plot_model(&model, &out, sets.as_ref().map(|(a, b)| (a, b)), limit, digit)?;
    eprintln!("wrote {} to {}", written.join(", "), out.display());
    Ok(())
}
