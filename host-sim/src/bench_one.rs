//! One row of `bench`, in this process (used by `bench`).

use std::path::PathBuf;

use crate::args::choice;
use anyhow::Result;
use stdp_host::backend::Backend;
use stdp_host::examples::InputArg;

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
    #[arg(long, value_parser = choice::<stdp_host::bench::Settings>())]
    pub settings: stdp_host::bench::Settings,
    #[arg(long)]
    pub backend: Backend,
    #[arg(long, value_parser = choice::<stdp_host::bench::Mode>())]
    pub mode: stdp_host::bench::Mode,
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
    let data = stdp_host::examples::load(&data, input, None)?;
    let row = stdp_host::bench::run_one(&*data.train, neurons, settings, backend, mode, examples, threads)?;
    println!("{}", serde_json::to_string(&row)?);
    Ok(())
}
