//! `host-sim`: the desktop program of the project. See the README.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use host_sim::backend::Backend;
use host_sim::config::{Config, InhibArg, RuleArg};
use host_sim::crosscheck::{crosscheck, CrossOptions};
use host_sim::model::Model;
use host_sim::scenario::Scenario;
use host_sim::train::{assign, default_checkpoint, evaluate, sim_from_model, train, EvalReport, TrainOptions};
use host_sim::{mnist, with_backend, write_atomic};

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
    Scenario {
        /// The scenario file.
        file: PathBuf,
        /// Numeric backend: f64 (the Brian 2 reference), f32, fixed.
        #[arg(long, default_value = "f64")]
        backend: Backend,
        /// Output JSON file (written only if the run succeeds).
        #[arg(long)]
        out: PathBuf,
    },
    /// Train the Diehl & Cook network on an MNIST-format data set.
    Train(TrainArgs),
    /// Classify the test set with a trained model.
    Eval {
        /// Directory with the four IDX files (gzip or raw).
        #[arg(long)]
        data: PathBuf,
        /// Model file.
        #[arg(long)]
        model: PathBuf,
        /// Backend: f32, f64, fixed (default: the one that trained the model).
        #[arg(long)]
        backend: Option<Backend>,
        /// Test examples (the first N).
        #[arg(long, value_parser = count())]
        limit: Option<usize>,
        /// Recompute the label assignment from the last N training examples
        /// instead of using the model's.
        #[arg(long, value_parser = count())]
        reassign: Option<usize>,
        /// Seed of the test spike trains.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Run one model through the float and the fixed backend and compare.
    Crosscheck {
        /// Directory with the four IDX files.
        #[arg(long)]
        data: PathBuf,
        /// Model file.
        #[arg(long)]
        model: PathBuf,
        /// Test examples (the first N).
        #[arg(long, default_value_t = 1000, value_parser = count())]
        limit: usize,
        /// Examples of training both backends from one seed, for the divergence.
        #[arg(long, default_value_t = 200)]
        train_examples: usize,
        /// Seed of the spike trains.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    #[cfg(feature = "plots")]
    /// Draw a model's figures (PNG + SVG): receptive fields, theta, training
    /// curves; with --data also the confusion matrix and a digit's encoding (GIF).
    Plot {
        /// Model file.
        #[arg(long)]
        model: PathBuf,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// Directory with the IDX files (for the confusion matrix and the encoding).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Test digits for the confusion matrix.
        #[arg(long, default_value_t = 10_000, value_parser = count())]
        limit: usize,
        /// Index of the test digit whose encoding is animated.
        #[arg(long, default_value_t = 0)]
        digit: usize,
    },
    /// Print a table of examples/s (training and inference, float and fixed,
    /// paper and BindsNET settings) and peak memory.
    Bench {
        /// Directory with the IDX files.
        #[arg(long)]
        data: PathBuf,
        /// Excitatory layer sizes.
        #[arg(long, value_delimiter = ',', default_value = "100,400")]
        neurons: Vec<usize>,
        /// Examples timed per row (the first N of the training set).
        #[arg(long, default_value_t = 300, value_parser = count())]
        examples: usize,
        /// Timing settings to measure.
        #[arg(long, value_enum, value_delimiter = ',', default_value = "paper,bindsnet")]
        settings: Vec<host_sim::bench::Settings>,
        /// Backends to measure: f32, f64, fixed.
        #[arg(long, value_delimiter = ',', default_value = "f32,fixed")]
        backend: Vec<Backend>,
        /// Modes to measure.
        #[arg(long, value_enum, value_delimiter = ',', default_value = "train,infer")]
        mode: Vec<host_sim::bench::Mode>,
        /// Threads per network (default: all cores; small layers use one).
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
        threads: Option<u16>,
        /// Print JSON rows instead of a Markdown table.
        #[arg(long)]
        json: bool,
    },
    /// One row of `bench`, in this process (used by `bench`).
    #[command(hide = true)]
    BenchOne {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        neurons: usize,
        #[arg(long)]
        examples: usize,
        #[arg(long, value_enum)]
        settings: host_sim::bench::Settings,
        #[arg(long)]
        backend: Backend,
        #[arg(long, value_enum)]
        mode: host_sim::bench::Mode,
        #[arg(long, default_value_t = 1)]
        threads: usize,
    },
    /// Write a model as the compact image the firmware runs (8-bit
    /// weights), or as a NumPy .npz archive (`--format npz`).
    Export {
        /// Model file.
        #[arg(long)]
        model: PathBuf,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
        /// What to write: `image` (the chip's), `npz` (weights, thetas,
        /// assignments, parameters and training history for NumPy), `nir`
        /// (a NIR graph; needs Python with `nir`). `--model` may itself be
        /// a NIR graph (`.nir`), e.g. to put one on the chip.
        #[arg(long, value_enum, default_value = "image")]
        format: ExportFormat,
        /// With `--format nir`: a model NIR cannot hold exactly (conductance
        /// synapses, two synaptic time constants) is written as the closest
        /// graph (driving forces taken at the mean threshold, one time constant).
        #[arg(long)]
        approximate: bool,
    },
    #[cfg(feature = "hpo")]
    /// Hyperparameter search (TPE; studies in SQLite or PostgreSQL shared by
    /// many workers; median pruning; reports with plots).
    Hpo(host_sim::hpo::HpoArgs),
    #[cfg(feature = "plots")]
    /// Run a classic experiment (neuron, stdp-window, weight-history,
    /// encoding): figures (PNG + SVG), data (CSV) and summary.txt in --out.
    Experiment(host_sim::experiments::ExperimentArgs),
    /// Classify test digits on the firmware over its UART (upload, then compare with the host).
    Device(host_sim::device::DeviceArgs),
    #[cfg(feature = "fetch")]
    /// Download the four MNIST files from public mirrors and verify them.
    FetchMnist {
        /// Directory to write to.
        #[arg(long)]
        out: PathBuf,
        /// Mirror base URL (repeatable; default: the built-in list).
        #[arg(long)]
        mirror: Vec<String>,
    },
}

/// `export --format`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum ExportFormat {
    /// The chip's model image (`stdp_core::image`).
    Image,
    /// A NumPy archive (`host_sim::npz`).
    Npz,
    /// A NIR graph (`host_sim::export::nir`).
    Nir,
}

/// Most examples, windows or checkpoint intervals a flag may name.
const MAX_COUNT: u64 = 1_000_000_000;

/// A count of examples: 1 to [`MAX_COUNT`] (0 would run nothing and
/// write an empty result).
fn count() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::new().range(1..=MAX_COUNT)
}

#[derive(Args)]
struct TrainArgs {
    /// Directory with the four IDX files (gzip or raw).
    #[arg(long)]
    data: PathBuf,
    /// Excitatory neurons (default 100, or the --params file's).
    #[arg(long)]
    neurons: Option<usize>,
    /// Output model file.
    #[arg(long)]
    out: PathBuf,
    /// Passes over the training examples.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    epochs: u32,
    /// Train on the first N examples only.
    #[arg(long, value_parser = count())]
    limit: Option<usize>,
    /// Backend: f32, f64, fixed.
    #[arg(long, default_value = "f32")]
    backend: Backend,
    /// Learning rule.
    #[arg(long, value_enum)]
    rule: Option<RuleArg>,
    /// Lateral inhibition.
    #[arg(long, value_enum)]
    inhibition: Option<InhibArg>,
    /// Time step (ms).
    #[arg(long, allow_negative_numbers = true)]
    dt_ms: Option<f64>,
    /// Presentation time (ms).
    #[arg(long, allow_negative_numbers = true)]
    present_ms: Option<f64>,
    /// Rest time (ms); 0 resets the dynamics between examples instead.
    #[arg(long, allow_negative_numbers = true)]
    rest_ms: Option<f64>,
    /// Input -> excitatory delays: each synapse's delay uniform in [0, MS]
    /// ms, rounded to steps (Diehl & Cook's code: 10; default 0: none).
    #[arg(long, value_name = "MS", allow_negative_numbers = true)]
    input_delay_ms: Option<f64>,
    /// Excitatory neurons: the threshold stays off MS ms after a spike
    /// while v is held only for the refractory period (Diehl & Cook's
    /// code: 50, from its timer running at 0.1; default 0: no block).
    #[arg(long, value_name = "MS", allow_negative_numbers = true)]
    threshold_block_ms: Option<f64>,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Parameters as JSON (a `Config`; e.g. from `hpo report --json`); the
    /// flags above override it.
    #[arg(long)]
    params: Option<PathBuf>,
    /// Examples per assignment window (running accuracy, history).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=MAX_COUNT))]
    window: u64,
    /// Training examples (the last ones) of the final label assignment.
    #[arg(long, default_value_t = 10_000)]
    assign: usize,
    /// Write a checkpoint every K examples.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=MAX_COUNT))]
    checkpoint_every: Option<u64>,
    /// Checkpoint file (default: OUT.ckpt).
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Resume from the checkpoint.
    #[arg(long)]
    resume: bool,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Threads for the network (default and most: all cores). Layers of at
    /// least 1,024 neurons are split into one shard per thread, at least
    /// 512 neurons each; the trained model is the same for any number.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: Option<u16>,
}

fn train_config(a: &TrainArgs) -> Result<Config> {
    let mut cfg = match &a.params {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
            serde_json::from_str::<Config>(&text)
                .with_context(|| format!("{}: not a valid parameter file", p.display()))?
        }
        None => Config::default(),
    };
    if let Some(n) = a.neurons {
        cfg.n_neurons = n;
    }
    if let Some(r) = a.rule {
        cfg.rule = r;
    }
    if let Some(i) = a.inhibition {
        cfg.inhibition = i;
    }
    if let Some(x) = a.dt_ms {
        cfg.dt_ms = x;
    }
    if let Some(x) = a.present_ms {
        cfg.present_ms = x;
    }
    if let Some(x) = a.rest_ms {
        cfg.rest_ms = x;
    }
    if let Some(x) = a.input_delay_ms {
        cfg.input_delay_ms = x;
    }
    if let Some(x) = a.threshold_block_ms {
        cfg.exc.threshold_block_ms = x;
    }
    if cfg.n_neurons == 0 || cfg.n_neurons > 65_536 {
        bail!("--neurons must be 1 to 65536");
    }
    cfg.check()?;
    Ok(cfg)
}

fn print_report(r: &EvalReport) {
    println!(
        "backend {}: accuracy {:.2} % on {} test examples ({} neurons assigned, {:.1} spikes/example, {} retries, {:.1} s)",
        r.backend,
        100.0 * r.accuracy,
        r.examples,
        r.assigned_neurons,
        r.spikes_per_example,
        r.retries,
        r.seconds
    );
    println!(
        "per class: {}",
        r.per_class
            .iter()
            .map(|a| format!("{:.1}", 100.0 * a))
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!("confusion (rows: true 0-9, columns: predicted 0-9):");
    for row in &r.confusion {
        println!("  {}", row.iter().map(|c| format!("{c:5}")).collect::<String>());
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Scenario { file, backend, out } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let sc = Scenario::parse(&text).with_context(|| file.display().to_string())?;
            let output = sc.run(backend).with_context(|| file.display().to_string())?;
            write_atomic(&out, &serde_json::to_vec(&output)?)
        }
        Command::Train(a) => {
            let cfg = train_config(&a)?;
            let (train_set, _) = mnist::load_dir(&a.data)?;
            let opts = TrainOptions {
                backend: a.backend,
                epochs: a.epochs,
                limit: a.limit,
                seed: a.seed,
                window: a.window,
                assign_examples: a.assign,
                checkpoint_every: a.checkpoint_every,
                checkpoint: a.checkpoint.clone().unwrap_or_else(|| default_checkpoint(&a.out)),
                resume: a.resume,
                progress: !a.quiet,
                threads: a.threads.map_or_else(host_sim::shards::available_threads, usize::from),
            };
            let model = train(&cfg, &opts, &train_set)?;
            model.save(&a.out)?;
            if opts.checkpoint_every.is_some() {
                let _ = std::fs::remove_file(&opts.checkpoint);
            }
            // What killed earlier runs of this command left half-written.
            for p in [&a.out, &opts.checkpoint] {
                host_sim::remove_stale_temps(p)?;
            }
            let m = &model.meta;
            eprintln!(
                "trained {} examples in {:.1} s ({:.1} examples/s), {} retries; model written to {}",
                m.examples_trained,
                m.train_seconds,
                m.examples_trained as f64 / m.train_seconds.max(1e-9),
                m.retries,
                a.out.display()
            );
            Ok(())
        }
        Command::Eval {
            data,
            model,
            backend,
            limit,
            reassign,
            seed,
            json,
        } => {
            let model = Model::load(&model)?;
            let backend = backend.unwrap_or_else(|| model.backend());
            let (train_set, test_set) = mnist::load_dir(&data)?;
            let report = with_backend!(backend, T => {
                let sim = sim_from_model::<T>(&model)?;
                let assignments = match reassign {
                    Some(m) => assign(&sim, &train_set, m, seed, !json),
                    None if !model.meta.assignments.is_empty() => model.meta.assignments.clone(),
                    None => assign(&sim, &train_set, 10_000, seed, !json),
                };
                evaluate(&sim, &assignments, &test_set, limit.unwrap_or(usize::MAX), seed, !json).0
            });
            if json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                print_report(&report);
            }
            Ok(())
        }
        Command::Crosscheck {
            data,
            model,
            limit,
            train_examples,
            seed,
            json,
        } => {
            let model = Model::load(&model)?;
            let (train_set, test_set) = mnist::load_dir(&data)?;
            let opts = CrossOptions {
                limit,
                train_examples,
                seed,
                progress: !json,
            };
            let r = crosscheck(&model, &train_set, &test_set, &opts)?;
            if json {
                println!("{}", serde_json::to_string(&r)?);
            } else {
                println!("{}", r.summary());
            }
            Ok(())
        }
        #[cfg(feature = "plots")]
        Command::Plot {
            model,
            out,
            data,
            limit,
            digit,
        } => {
            let model = Model::load(&model)?;
            let sets = match &data {
                Some(d) => Some(mnist::load_dir(d)?),
                None => None,
            };
            let written =
                host_sim::figures::plot_model(&model, &out, sets.as_ref().map(|(a, b)| (a, b)), limit, digit)?;
            eprintln!("wrote {} to {}", written.join(", "), out.display());
            Ok(())
        }
        Command::Bench {
            data,
            neurons,
            examples,
            settings,
            backend,
            mode,
            threads,
            json,
        } => {
            if let Some(&n) = neurons.iter().find(|&&n| n == 0 || n > 65_536) {
                bail!("--neurons: {n} is not 1 to 65536");
            }
            let plan = host_sim::bench::Plan {
                neurons,
                settings,
                backends: backend,
                modes: mode,
                examples,
                threads: threads.map_or_else(host_sim::shards::available_threads, usize::from),
            };
            let rows = host_sim::bench::run_all(&data, &plan)?;
            if json {
                println!("{}", serde_json::to_string(&rows)?);
            } else {
                print!("{}", host_sim::bench::table(&rows));
            }
            Ok(())
        }
        Command::BenchOne {
            data,
            neurons,
            examples,
            settings,
            backend,
            mode,
            threads,
        } => {
            let (train_set, _) = mnist::load_dir(&data)?;
            let row = host_sim::bench::run_one(&train_set, neurons, settings, backend, mode, examples, threads)?;
            println!("{}", serde_json::to_string(&row)?);
            Ok(())
        }
        Command::Export {
            model,
            out,
            format,
            approximate,
        } => {
            if approximate && !matches!(format, ExportFormat::Nir) {
                bail!("--approximate applies to --format nir only");
            }
            let model = Model::load(&model)?;
            match format {
                ExportFormat::Image => write_atomic(&out, &host_sim::export::export(&model)?)?,
                ExportFormat::Npz => write_atomic(&out, &host_sim::npz::to_npz(&model)?)?,
                ExportFormat::Nir => host_sim::export::nir::export(&model, &out, approximate)?,
            }
            let len = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
            eprintln!("wrote {} ({len} bytes)", out.display());
            Ok(())
        }
        #[cfg(feature = "hpo")]
        Command::Hpo(a) => host_sim::hpo::run(&a),
        #[cfg(feature = "plots")]
        Command::Experiment(a) => host_sim::experiments::run(&a),
        Command::Device(a) => host_sim::device::run(&a),
        #[cfg(feature = "fetch")]
        Command::FetchMnist { out, mirror } => {
            let mirrors: Vec<&str> = if mirror.is_empty() {
                mnist::MIRRORS.to_vec()
            } else {
                mirror.iter().map(String::as_str).collect()
            };
            mnist::fetch(&out, &mirrors)
        }
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
            Command::FetchMnist { .. } => true,
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
    // fetch-mnist): there a closed peer must stay an error to handle.
    #[cfg(unix)]
    if !cli.command.talks_to_peers() {
        // SAFETY: called in main before any thread is started; SIG_DFL is a
        // valid disposition for SIGPIPE.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    // A bad STDP_SIMD is an error here, not a silent fallback later.
    if let Err(e) = host_sim::simd::Path::from_env() {
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
