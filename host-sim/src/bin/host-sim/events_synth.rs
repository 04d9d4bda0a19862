//! `events synth`: N-MNIST-like recordings from MNIST with the DVS emulator.

use std::path::PathBuf;

use anyhow::Result;

/// `events synth` arguments.
#[derive(clap::Args)]
pub struct SynthArgs {
    /// MNIST directory (IDX files).
    #[arg(long)]
    pub data: PathBuf,
    /// Output directory (N-MNIST's layout).
    #[arg(long)]
    pub out: PathBuf,
}

pub fn synth(_a: SynthArgs) -> Result<()> {
    anyhow::bail!("events synth: not implemented yet")
}
