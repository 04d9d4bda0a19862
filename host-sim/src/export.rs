//! Write a model as the compact image the firmware runs (8-bit
//! weights), or as a NumPy .npz archive (`--format npz`).

use std::path::PathBuf;

use anyhow::{bail, Result};
use stdp_host::write_atomic;
use stdp_nir::load_model;

/// Its arguments.
#[derive(clap::Args)]
pub struct Args {
    /// Model file.
    #[arg(long)]
    pub model: PathBuf,
    /// Output file.
    #[arg(long)]
    pub out: PathBuf,
    /// What to write: `image` (the chip's), `npz` (weights, thetas,
    /// assignments, parameters and training history for NumPy), `nir`
    /// (a NIR graph; needs Python with `nir`). `--model` may itself be
    /// a NIR graph (`.nir`), e.g. to put one on the chip.
    #[arg(long, value_enum, default_value = "image")]
    pub format: ExportFormat,
    /// With `--format nir`: a model NIR cannot hold exactly (conductance
    /// synapses, two synaptic time constants) is written as the closest
    /// graph (driving forces taken at the mean threshold, one time constant).
    #[arg(long)]
    pub approximate: bool,
}

/// Runs it.
pub fn run(a: Args) -> Result<()> {
    let Args {
        model,
        out,
        format,
        approximate,
    } = a;
    if approximate && !matches!(format, ExportFormat::Nir) {
        bail!("--approximate applies to --format nir only");
    }
    let model = load_model(&model)?;
    if matches!(format, ExportFormat::Nir) {
        stdp_host::examples::refuse_events(
            &format!("export --format {format:?}").to_lowercase(),
            &model.meta.config.input,
        )?;
    }
    match format {
        ExportFormat::Image => write_atomic(&out, &stdp_host::export::export(&model)?)?,
        ExportFormat::Npz => write_atomic(&out, &stdp_host::formats::npz::to_npz(&model)?)?,
        ExportFormat::Nir => stdp_nir::export(&model, &out, approximate)?,
    }
    let len = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    eprintln!("wrote {} ({len} bytes)", out.display());
    Ok(())
}

/// `export --format`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum ExportFormat {
    /// The chip's model image (`stdp_core::image`).
    Image,
    /// A NumPy archive (`stdp_host::formats::npz`).
    Npz,
    /// A NIR graph (`stdp-nir`).
    Nir,
}
