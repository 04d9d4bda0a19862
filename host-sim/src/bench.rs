//! Print a table of examples/s (training and inference, float and fixed,
//! paper and BindsNET settings) and peak memory.

use std::path::PathBuf;

use anyhow::Result;
use stdp_host::backend::Backend;
use stdp_host::examples::InputArg;

use crate::args::{choice, count, data_dir, threads};

/// Its arguments.
#[derive(clap::Args)]
pub struct Args {
    /// Directory with the IDX files, or N-MNIST-layout recordings (an
    /// event network of 2,312 inputs is timed on them).
    /// Default: MNIST in the cache directory ($STDP_DATA_DIR, else
    /// $XDG_CACHE_HOME/stdp/mnist, else ~/.cache/stdp/mnist), downloaded
    /// and checked there if it is missing.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// What --data holds: auto (an N-MNIST layout directory is events,
    /// anything else digits), digits, events, or saccades (MNIST digits
    /// through the calibrated DVS emulator, recorded before timing).
    #[arg(long, value_enum, default_value_t = InputArg::Auto)]
    pub input: InputArg,
    /// Excitatory layer sizes.
    #[arg(long, value_delimiter = ',', default_value = "100,400")]
    pub neurons: Vec<usize>,
    /// Examples timed per row (the first N of the training set).
    #[arg(long, default_value_t = 300, value_parser = count())]
    pub examples: usize,
    /// Timing settings to measure.
    #[arg(long, value_parser = choice::<stdp_host::bench::Settings>(), value_delimiter = ',', default_value = "paper,bindsnet")]
    pub settings: Vec<stdp_host::bench::Settings>,
    /// Backends to measure: f32, f64, fixed.
    #[arg(long, value_delimiter = ',', default_value = "f32,fixed")]
    pub backend: Vec<Backend>,
    /// Modes to measure.
    #[arg(long, value_parser = choice::<stdp_host::bench::Mode>(), value_delimiter = ',', default_value = "train,infer")]
    pub mode: Vec<stdp_host::bench::Mode>,
    /// Threads per network (default: all cores; small layers use one).
    #[arg(long, value_parser = threads())]
    pub threads: Option<u16>,
    /// Print JSON rows instead of a Markdown table.
    #[arg(long)]
    pub json: bool,
    /// Time each row three times: on one thread, with the default threads,
    /// and with the default threads while another thread of this process
    /// keeps one core busy.
    #[arg(long)]
    pub contend: bool,
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
        json,
        contend,
    } = a;
    for &n in &neurons {
        stdp_host::config::check_neurons("--neurons", n)?;
    }
    let plan = stdp_host::bench::Plan {
        neurons,
        settings,
        backends: backend,
        modes: mode,
        examples,
        threads: threads.map_or_else(stdp_host::sim::shards::available_threads, usize::from),
        input,
        contend,
    };
    let rows = stdp_host::bench::run_all(&data_dir(data)?, &plan)?;
    if json {
        println!("{}", serde_json::to_string(&rows)?);
    } else {
        print!("{}", stdp_host::bench::table(&rows));
    }
    Ok(())
}
