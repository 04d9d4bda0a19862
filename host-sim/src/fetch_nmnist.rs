//! Download N-MNIST's Train.zip and Test.zip, check their MD5 and unpack them.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use stdp_host::formats::nmnist_fetch::{self, Progress, Unit};

/// Its arguments.
#[derive(clap::Args)]
pub struct Args {
    /// Directory to unpack into: Train/<label>/<id>.bin, Test/<label>/<id>.bin
    /// (downloads in progress are kept in its .download/ to be resumed).
    #[arg(long)]
    pub out: PathBuf,
    /// Base URL the files are fetched from (repeatable, tried in order;
    /// default: the published one, Mendeley Data).
    #[arg(long)]
    pub mirror: Vec<String>,
}

/// Runs it.
pub fn run(a: Args) -> Result<()> {
    let Args { out, mirror } = a;
    let mirrors: Vec<&str> = if mirror.is_empty() {
        vec![nmnist_fetch::BASE_URL]
    } else {
        mirror.iter().map(String::as_str).collect()
    };
    let mut bar = Bar(None);
    let mut lines = nmnist_fetch::Lines::default();
    let progress: &mut dyn Progress = if std::io::stderr().is_terminal() {
        &mut bar
    } else {
        &mut lines
    };
    let options = nmnist_fetch::Options::default();
    nmnist_fetch::fetch(&out, &mirrors, &nmnist_fetch::SPLITS, &options, progress)?;
    eprintln!("nmnist: N-MNIST is in {}", out.display());
    Ok(())
}

/// A bar on the terminal for each download (bytes) and unpack (files).
struct Bar(Option<ProgressBar>);

impl Progress for Bar {
    fn message(&mut self, line: &str) {
        match &self.0 {
            Some(bar) => bar.println(format!("nmnist: {line}")),
            None => eprintln!("nmnist: {line}"),
        }
    }

    fn start(&mut self, what: &str, unit: Unit, position: u64, total: Option<u64>) {
        let (counts, rate) = match unit {
            Unit::Bytes => ("{bytes}/{total_bytes}", "{bytes_per_sec}"),
            Unit::Files => ("{pos}/{len} files", "{per_sec}"),
        };
        let (bar, template) = match total {
            Some(total) => (
                ProgressBar::new(total),
                format!("{what} {{elapsed_precise}} [{{bar:30}}] {counts} {rate} ETA {{eta}}"),
            ),
            None => (
                ProgressBar::new_spinner(),
                format!(
                    "{what} {{elapsed_precise}} {{spinner}} {} {rate}",
                    if unit == Unit::Bytes { "{bytes}" } else { "{pos} files" }
                ),
            ),
        };
        bar.set_style(ProgressStyle::with_template(&template).unwrap_or_else(|_| ProgressStyle::default_bar()));
        bar.set_position(position);
        bar.reset_eta();
        self.0 = Some(bar);
    }

    fn set(&mut self, position: u64) {
        if let Some(bar) = &self.0 {
            bar.set_position(position);
        }
    }

    fn end(&mut self) {
        if let Some(bar) = self.0.take() {
            bar.finish_and_clear();
        }
    }
}
