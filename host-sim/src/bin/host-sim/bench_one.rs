//! One row of `bench`, in this process (used by `bench`).

use std::path::PathBuf;

use crate::args::choice;
use anyhow::Result;
use host_sim::backend::Backend;
use host_sim::examples::InputArg;

/// Its arguments.
#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    pub data: PathBuf,
    #[arg(long, value_enum, default_value_t = InputArg::Auto)]
    pub input: InputArg,
    #[arg(long)]
    pub neurons: usize,
    #[arg(long)]
    pub examples: usize,
    #[arg(long, value_parser = choice::<host_sim::bench::Settings>())]
    pub settings: host_sim::bench::Settings,
    #[arg(long)]
    pub backend: Backend,
    #[arg(long, value_parser = choice::<host_sim::bench::Mode>())]
    pub mode: host_sim::bench::Mode,
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
}

/// Runs it.
pub fn run(a: Args) -> Result<()> {
    let Args {
        data,
        input,
        neurons,
        examples,
        settings,
        backend,
        mode,
        threads,
    } = a;
    let data = host_sim::examples::load(&data, input, None)?;
    let row = host_sim::bench::run_one(&*data.train, neurons, settings, backend, mode, examples, threads)?;
    println!("{}", serde_json::to_string(&row)?);
    Ok(())
}
