//! `events render`: pictures of a recording.

use std::path::PathBuf;

use anyhow::Result;

/// `events render` arguments.
#[derive(clap::Args)]
pub struct RenderArgs {
    /// The recording.
    pub file: PathBuf,
    /// Output: .gif (animation of time bins) or .png (count images and rate histogram).
    #[arg(long)]
    pub out: PathBuf,
}

pub fn render(_a: RenderArgs) -> Result<()> {
    anyhow::bail!("events render: not implemented yet")
}
