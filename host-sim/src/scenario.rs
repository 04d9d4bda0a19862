//! Run a scenario file (TOML, see docs/scenario-format.md) and write its JSON output.

use std::path::PathBuf;

use anyhow::{Context, Result};
use stdp_host::backend::Backend;
use stdp_host::scenario::Scenario;
use stdp_host::write_atomic;

/// Its arguments.
#[derive(clap::Args)]
pub struct Args {
    /// The scenario file.
    pub file: PathBuf,
    /// Numeric backend: f64 (the Brian 2 reference), f32, fixed.
    #[arg(long, default_value = "f64")]
    pub backend: Backend,
    /// Output JSON file (written only if the run succeeds).
    #[arg(long)]
    pub out: PathBuf,
}

/// Runs it.
pub fn run(a: Args) -> Result<()> {
    let Args { file, backend, out } = a;
    let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
    let sc = Scenario::parse(&text).with_context(|| file.display().to_string())?;
    let output = sc.run(backend).with_context(|| file.display().to_string())?;
    write_atomic(&out, &serde_json::to_vec(&output)?)
}
