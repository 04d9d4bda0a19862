//! `host-sim hpo`: hyperparameter search (run a study's worker, report it,
//! print a default search space). The search itself is `stdp_search`.

use std::path::PathBuf;

use crate::args::{choice_of, data_dir};
use anyhow::Result;
use stdp_core::Rule;
use stdp_host::backend::Backend;
use stdp_host::config::RULES;
use stdp_host::examples::{self, InputArg};
use stdp_search::sampler::TpeSampler;
use stdp_search::space::{self, Space};
use stdp_search::storage::{self, LeasePolicy};
use stdp_search::{report, rule_name, run_study, MedianPruner, RunOptions, StudyData, StudyRequest, LEASE_SECS};

/// `host-sim hpo`: hyperparameter search.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub command: HpoCommand,
}

/// The `hpo` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum HpoCommand {
    /// Run trials of a study (creating it, or resuming it) until it has N.
    Run(Box<RunArgs>),
    /// The best trials as a table, the time pruning saved, plots (--out);
    /// --json prints the best parameters as a Config for `train --params`.
    Report(ReportArgs),
    /// Print a rule's default search space (the --space format).
    Space {
        /// Learning rule.
        #[arg(long, value_parser = choice_of(&RULES))]
        rule: Rule,
    },
}

/// `hpo run`.
#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    /// Study database, as Optuna spells it: sqlite:///relative.db, sqlite:////absolute/path.db, postgresql://USER:PASSWORD@HOST/DATABASE (also sqlite:PATH, postgres://).
    #[arg(long)]
    pub study: String,
    /// Study name in the database (default: the rule's name).
    #[arg(long)]
    pub name: Option<String>,
    /// Learning rule.
    #[arg(long, value_parser = choice_of(&RULES))]
    pub rule: Rule,
    /// Trials the study should have in total (complete + pruned), counting
    /// those of earlier runs and of other workers.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub trials: u64,
    /// Search space (TOML; see `hpo space`). Default: the rule's.
    #[arg(long)]
    pub space: Option<PathBuf>,
    /// Directory with the MNIST files, or N-MNIST-layout event recordings
    /// (`Train/<label>/<id>.bin`): the training set's first examples train
    /// each trial, its last are held out (unless --val-data). Default:
    /// MNIST in the cache directory (see `train --help`), downloaded there
    /// if it is missing.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// What --data holds: auto (an N-MNIST layout directory is events,
    /// anything else digits), digits, events, or saccades (MNIST digits
    /// through the DVS emulator, recorded on the fly).
    #[arg(long, value_enum, default_value_t = InputArg::Auto)]
    pub input: InputArg,
    /// The emulator's parameters (JSON) for --input saccades (default: the calibrated ones).
    #[arg(long, value_name = "FILE")]
    pub emulator: Option<PathBuf>,
    /// Hold out the last --val-examples of this directory's training set
    /// instead (e.g. real N-MNIST Train recordings for a search that
    /// trains on --input saccades); never a test set.
    #[arg(long, value_name = "DIR")]
    pub val_data: Option<PathBuf>,
    /// Training examples per trial (the first N of the training set) [new study: 2000].
    #[arg(long)]
    pub train_examples: Option<usize>,
    /// Held-out examples (the last N of the training set) [new study: 1000].
    #[arg(long)]
    pub val_examples: Option<usize>,
    /// Examples of the label assignment (the last of the trial's training examples) [new study: min(train, 1000)].
    #[arg(long)]
    pub assign_examples: Option<usize>,
    /// Examples per intermediate value (running accuracy) [new study: 250].
    #[arg(long)]
    pub window: Option<u64>,
    /// Excitatory neurons [new study: 100].
    #[arg(long)]
    pub neurons: Option<usize>,
    /// Seed of weights and spike trains (all trials) and of the sampler [new study: 1].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Numeric backend: f32, f64, fixed [new study: f32].
    #[arg(long)]
    pub backend: Option<Backend>,
    /// Random trials before TPE.
    #[arg(long, default_value_t = 10)]
    pub startup_trials: usize,
    /// Never prune.
    #[arg(long)]
    pub no_prune: bool,
    /// Complete trials needed before the pruner acts.
    #[arg(long, default_value_t = 5)]
    pub prune_startup: usize,
    /// Intermediate values of each trial never pruned on.
    #[arg(long, default_value_t = 1)]
    pub prune_warmup: usize,
    /// Seconds without a heartbeat after which a running trial's worker is presumed dead.
    #[arg(long, default_value_t = 60.0, value_parser = lease_secs)]
    pub lease_secs: f64,
    /// Attempts of a trial whose workers die before it is marked failed.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(i64).range(1..=1000))]
    pub max_attempts: i64,
    /// When creating the study, queue the paper's values as its first trial (a baseline).
    #[arg(long)]
    pub baseline: bool,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
}

/// `--lease-secs`: a number of seconds in [`LEASE_SECS`].
fn lease_secs(s: &str) -> Result<f64, String> {
    let x: f64 = s.parse().map_err(|_| format!("'{s}' is not a number of seconds"))?;
    if !LEASE_SECS.contains(&x) {
        return Err(format!(
            "{s} is not in {}..={} seconds",
            LEASE_SECS.start(),
            LEASE_SECS.end()
        ));
    }
    Ok(x)
}

/// `hpo report`.
#[derive(clap::Args, Debug, Clone)]
pub struct ReportArgs {
    /// Study database, as Optuna spells it: sqlite:///relative.db, sqlite:////absolute/path.db, postgresql://USER:PASSWORD@HOST/DATABASE (also sqlite:PATH, postgres://).
    #[arg(long)]
    pub study: String,
    /// Study name (needed if the database holds several).
    #[arg(long)]
    pub name: Option<String>,
    /// Print only the best trial's Config as JSON (for `host-sim train --params`).
    #[arg(long)]
    pub json: bool,
    /// Write the plots (PNG + SVG) to this directory.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Rows of the best-trials table.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
}

/// Runs `host-sim hpo ...`.
pub fn run(args: &Args) -> Result<()> {
    match &args.command {
        HpoCommand::Run(a) => {
            let req = request(a)?;
            let data = examples::load(&data_dir(a.data.clone())?, a.input, a.emulator.as_deref())?;
            let val = a
                .val_data
                .as_deref()
                .map(|d| examples::load(d, InputArg::Auto, None))
                .transpose()?;
            let study_data = StudyData {
                train: &*data.train,
                val: val.as_ref().map(|v| &*v.train),
            };
            let name = a.name.clone().unwrap_or_else(|| rule_name(a.rule).to_string());
            let opts = RunOptions {
                trials: a.trials,
                sampler: TpeSampler {
                    startup_trials: a.startup_trials,
                },
                pruner: (!a.no_prune).then_some(MedianPruner {
                    startup_trials: a.prune_startup,
                    warmup_points: a.prune_warmup,
                }),
                lease: LeasePolicy {
                    lease_s: a.lease_secs,
                    max_attempts: a.max_attempts,
                },
                baseline: a.baseline,
                progress: !a.quiet,
            };
            let summary = run_study(&a.study, &name, &req, &opts, study_data)?;
            if !a.quiet {
                eprintln!("{}", summary.line());
                let mut st = storage::open(&a.study)?;
                let r = report::StudyReport::load(&mut *st, Some(&name))?;
                eprint!("{}", r.text(5));
            }
            Ok(())
        }
        HpoCommand::Report(a) => {
            let mut st = storage::open(&a.study)?;
            let r = report::StudyReport::load(&mut *st, a.name.as_deref())?;
            if a.json {
                stdout(&format!("{}\n", r.best_config_json()?))?;
            } else {
                stdout(&r.text(a.top))?;
            }
            if let Some(out) = &a.out {
                let written = r.plots(out)?;
                eprintln!("wrote {} figures (PNG + SVG) to {}", written.len(), out.display());
            }
            Ok(())
        }
        HpoCommand::Space { rule } => stdout(&format!(
            "# Default search space of the {} rule (host-sim hpo run --space FILE).\n{}",
            rule_name(*rule),
            space::default_space(*rule).to_toml()
        )),
    }
}

/// Writes `text` to stdout; a closed pipe (`| head`) is not an error.
fn stdout(text: &str) -> Result<()> {
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// What `hpo run`'s flags ask of the study.
fn request(a: &RunArgs) -> Result<StudyRequest> {
    Ok(StudyRequest {
        rule: a.rule,
        space: a.space.as_deref().map(Space::load).transpose()?,
        neurons: a.neurons,
        train_examples: a.train_examples,
        val_examples: a.val_examples,
        assign_examples: a.assign_examples,
        window: a.window,
        seed: a.seed,
        backend: a.backend,
    })
}
