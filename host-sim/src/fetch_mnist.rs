//! Download the four MNIST files from public mirrors and verify them.

use std::path::PathBuf;

use anyhow::Result;
use stdp_host::formats::mnist;

/// Its arguments.
#[derive(clap::Args)]
pub struct Args {
    /// Directory to write to.
    #[arg(long)]
    pub out: PathBuf,
    /// Mirror base URL (repeatable; default: $STDP_MNIST_MIRRORS, else the
    /// built-in list).
    #[arg(long)]
    pub mirror: Vec<String>,
}

/// Runs it.
pub fn run(a: Args) -> Result<()> {
    let Args { out, mut mirror } = a;
    if mirror.is_empty() {
        mirror = mnist::mirrors();
    }
    let mirrors: Vec<&str> = mirror.iter().map(String::as_str).collect();
    mnist::fetch(&out, &mirrors)
}
