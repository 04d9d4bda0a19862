//! `host-sim`: the desktop program of the project (see the README). A thin
//! command line over the libraries (`stdp-host`, `stdp-search`,
//! `stdp-plots`, `stdp-nir`): one module per subcommand, each owning its
//! arguments and calling them.

use std::alloc::{GlobalAlloc, Layout, System};
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// The system allocator, with every block of 256 bytes or more starting
/// on a 64-byte cache line. glibc's malloc gives blocks 16-byte alignment
/// (those above its mmap threshold of 128 KB start at 16 mod 64), so a
/// 512-bit vector loop over the weights or a layer's state straddled two
/// cache lines at every access. The numbers are the same; only where the
/// buffers start changes.
struct LineAligned;

impl LineAligned {
    const FROM: usize = 256;

    fn layout(l: Layout) -> Layout {
        if l.size() >= Self::FROM && l.align() < 64 {
            // 64 is a power of two and the size is unchanged: always valid.
            Layout::from_size_align(l.size(), 64).unwrap_or(l)
        } else {
            l
        }
    }
}

// SAFETY: every call goes to `System` with a layout of the caller's size
// and an alignment at least the caller's, and a block is given back to
// `System` with the layout it was allocated with (`layout` is a function of
// the caller's layout, which the caller passes again to `dealloc`).
unsafe impl GlobalAlloc for LineAligned {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        System.alloc(Self::layout(l))
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        System.alloc_zeroed(Self::layout(l))
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, Self::layout(l))
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new_size: usize) -> *mut u8 {
        let new = Layout::from_size_align_unchecked(new_size, l.align());
        if Self::layout(l) == l && Self::layout(new) == new {
            return System.realloc(p, l, new_size);
        }
        let q = self.alloc(new);
        if !q.is_null() {
            std::ptr::copy_nonoverlapping(p, q, l.size().min(new_size));
            self.dealloc(p, l);
        }
        q
    }
}

#[global_allocator]
static ALLOC: LineAligned = LineAligned;

mod args;
mod bench;
mod bench_one;
mod crosscheck;
mod device;
mod eval;
mod events;
#[cfg(feature = "plots")]
mod experiment;
mod export;
#[cfg(feature = "fetch")]
mod fetch_mnist;
#[cfg(feature = "fetch")]
mod fetch_nmnist;
#[cfg(feature = "hpo")]
mod hpo;
#[cfg(feature = "plots")]
mod plot;
mod scenario;
mod train;

#[derive(Parser)]
#[command(
    name = "host-sim",
    version,
    about = "Spiking networks with STDP on the desktop: scenarios, MNIST, experiments"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario file (TOML, see docs/scenario-format.md) and write its JSON output.
    Scenario(scenario::Args),
    /// Train the Diehl & Cook network on an MNIST-format data set.
    Train(train::Args),
    /// Classify the test set with a trained model.
    Eval(eval::Args),
    /// Event-camera recordings: info, convert, synth (the DVS emulator).
    Events(events::Args),
    /// Run one model through the float and the fixed backend and compare.
    Crosscheck(crosscheck::Args),
    #[cfg(feature = "plots")]
    /// Draw a model's figures (PNG + SVG): receptive fields, theta, training
    /// curves; with --data also the confusion matrix and a digit's encoding (GIF).
    Plot(plot::Args),
    /// Print a table of examples/s (training and inference, float and fixed,
    /// paper and BindsNET settings) and peak memory.
    Bench(bench::Args),
    /// One row of `bench`, in this process (used by `bench`).
    #[command(hide = true)]
    BenchOne(bench_one::Args),
    /// Write a model as the compact image the firmware runs (8-bit
    /// weights), or as a NumPy .npz archive (`--format npz`).
    Export(export::Args),
    #[cfg(feature = "hpo")]
    /// Hyperparameter search (TPE; studies in SQLite or PostgreSQL shared by
    /// many workers; median pruning; reports with plots).
    Hpo(hpo::Args),
    #[cfg(feature = "plots")]
    /// Run a classic experiment (neuron, stdp-window, weight-history,
    /// encoding): figures (PNG + SVG), data (CSV) and summary.txt in --out.
    Experiment(experiment::Args),
    /// Classify test digits on the firmware over its UART (upload, then compare with the host).
    Device(device::Args),
    #[cfg(feature = "fetch")]
    /// Download the four MNIST files from public mirrors and verify them.
    FetchMnist(fetch_mnist::Args),
    #[cfg(feature = "fetch")]
    /// Download N-MNIST (Train.zip, Test.zip; resumable), check their MD5s and
    /// unpack them into --out as Train/<label>/<id>.bin, Test/<label>/<id>.bin.
    FetchNmnist(fetch_nmnist::Args),
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Scenario(a) => scenario::run(a),
        Command::Train(a) => train::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Crosscheck(a) => crosscheck::run(a),
        Command::Events(a) => events::run(a),
        #[cfg(feature = "plots")]
        Command::Plot(a) => plot::run(a),
        Command::Bench(a) => bench::run(a),
        Command::BenchOne(a) => bench_one::run(a),
        Command::Export(a) => export::run(a),
        #[cfg(feature = "hpo")]
        Command::Hpo(a) => hpo::run(&a),
        #[cfg(feature = "plots")]
        Command::Experiment(a) => experiment::run(a),
        Command::Device(a) => device::run(&a),
        #[cfg(feature = "fetch")]
        Command::FetchMnist(a) => fetch_mnist::run(a),
        #[cfg(feature = "fetch")]
        Command::FetchNmnist(a) => fetch_nmnist::run(a),
    }
}

impl Command {
    /// Whether the command talks to sockets or serial ports (a closed peer
    /// is an error to handle there, not a quiet end).
    #[cfg(unix)]
    fn talks_to_peers(&self) -> bool {
        match self {
            #[cfg(feature = "hpo")]
            Command::Hpo(_) => true,
            #[cfg(feature = "fetch")]
            Command::FetchMnist(_) => true,
            #[cfg(feature = "fetch")]
            Command::FetchNmnist(_) => true,
            Command::Device(_) => true,
            _ => false,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `host-sim eval ... | head` must end quietly when head closes the
    // pipe, as other Unix tools do, not panic in println!. Not for the
    // commands that talk to sockets or serial ports (hpo, device,
    // fetch-mnist, fetch-nmnist): there a closed peer must stay an error to handle.
    #[cfg(unix)]
    if !cli.command.talks_to_peers() {
        // SAFETY: called in main before any thread is started; SIG_DFL is a
        // valid disposition for SIGPIPE.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    // A bad STDP_SIMD is an error here, not a silent fallback later.
    if let Err(e) = stdp_host::sim::simd::Isa::from_env() {
        eprintln!("error: {e:#}");
        return ExitCode::FAILURE;
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
