//! `events info` and `events convert`.

use std::path::PathBuf;

use anyhow::Result;

/// `events info` arguments.
#[derive(clap::Args)]
pub struct InfoArgs {
    /// The recording (format detected from its content).
    pub file: PathBuf,
    /// Print JSON (keys as in reference.json) instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `events convert` arguments.
#[derive(clap::Args)]
pub struct ConvertArgs {
    /// The recording to read.
    pub file: PathBuf,
    /// The output; its extension picks the format.
    #[arg(long)]
    pub out: PathBuf,
}

pub fn info(_a: InfoArgs) -> Result<()> {
    anyhow::bail!("events info: not implemented yet")
}

pub fn convert(_a: ConvertArgs) -> Result<()> {
    anyhow::bail!("events convert: not implemented yet")
}
