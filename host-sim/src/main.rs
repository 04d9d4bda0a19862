//! `host-sim`: the desktop program of the project. See the README.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use host_sim::scenario::{Backend, Scenario};

#[derive(Parser)]
#[command(name = "host-sim", version, about = "Spiking networks with STDP on the desktop: scenarios, MNIST, experiments")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario file (TOML, see scenario-format.md) and write its JSON output.
    Scenario {
        /// The scenario file.
        file: PathBuf,
        /// Numeric backend.
        #[arg(long, value_enum, default_value = "float")]
        backend: Backend,
        /// Output JSON file (written only if the run succeeds).
        #[arg(long)]
        out: PathBuf,
    },
}

/// Writes `bytes` to `path` atomically: a temporary file in the same
/// directory, then a rename, so a reader never sees half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().context("output path has no file name")?;
    let tmp = dir.join(format!(".{}.tmp{}", name.to_string_lossy(), std::process::id()));
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Scenario { file, backend, out } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let sc = Scenario::parse(&text).with_context(|| file.display().to_string())?;
            let output = sc.run(backend).with_context(|| file.display().to_string())?;
            let json = serde_json::to_vec(&output)?;
            write_atomic(&out, &json)
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
