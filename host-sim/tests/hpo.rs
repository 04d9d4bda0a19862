//! Hyperparameter search end to end, on tiny studies (10 neurons, 200
//! training and 100 held-out examples per trial): concurrent workers on
//! SQLite and PostgreSQL, recovery of a killed worker's trial, resume,
//! pruning, reproducibility of the best trial, the report and its JSON.
//!
//! PostgreSQL: set `STDP_TEST_PG=postgres://USER:PASSWORD@HOST/DB` (CI
//! starts a local server and sets it). Unset, those tests are skipped with
//! a message, unless `CI` is set: then they fail, so CI cannot silently
//! stop testing that path.

use std::collections::BTreeSet;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use stdp_core::Rule;
use stdp_host::config::Config;
use stdp_host::formats::mnist::Dataset;
use stdp_search::report::StudyReport;
use stdp_search::sampler::TpeSampler;
use stdp_search::storage::{self, Claim, LeasePolicy, TrialState};
use stdp_search::{
    evaluate_config, open_study, paper_params, run_study, MedianPruner, RunOptions, Split, StudyRequest, WorkerSummary,
};

mod common;
use common::{host_sim_cmd, ok, say, shared};

fn train_set() -> &'static Dataset {
    static DATA: OnceLock<Dataset> = OnceLock::new();
    DATA.get_or_init(|| common::mnist().0)
}

/// A tiny study: 10 neurons, 200 training examples (windows of 50), 100 held out.
fn tiny(rule: Rule) -> StudyRequest {
    StudyRequest {
        neurons: Some(10),
        train_examples: Some(200),
        val_examples: Some(100),
        assign_examples: Some(100),
        window: Some(50),
        seed: Some(3),
        ..StudyRequest::new(rule)
    }
}

fn options(trials: u64) -> RunOptions {
    RunOptions {
        trials,
        sampler: TpeSampler { startup_trials: 3 },
        pruner: Some(MedianPruner {
            startup_trials: 2,
            warmup_points: 1,
        }),
        lease: LeasePolicy {
            lease_s: 30.0,
            max_attempts: 3,
        },
        baseline: false,
        progress: false,
    }
}

fn sqlite_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite:{}", dir.path().join("study.db").display())
}

/// The PostgreSQL URL, or `None` (with the reason printed) outside CI.
fn pg_url(test: &str) -> Option<String> {
    let in_ci = std::env::var_os("CI").is_some();
    let url = match std::env::var("STDP_TEST_PG") {
        Ok(u) if !u.is_empty() => u,
        _ => {
            assert!(
                !in_ci,
                "CI is set but STDP_TEST_PG is not: .ci/run must start PostgreSQL and export STDP_TEST_PG"
            );
            say(&format!(
                "SKIPPED {test}: set STDP_TEST_PG=postgres://USER:PASSWORD@HOST/DB to test the PostgreSQL storage"
            ));
            return None;
        }
    };
    match storage::open(&url) {
        Ok(_) => Some(url),
        Err(e) if in_ci => panic!("CI is set and PostgreSQL at STDP_TEST_PG is not reachable: {e:#}"),
        Err(e) => {
            say(&format!(
                "SKIPPED {test}: PostgreSQL at STDP_TEST_PG is not reachable: {e:#}"
            ));
            None
        }
    }
}

/// A study name of its own per test run (PostgreSQL databases are shared).
fn unique(name: &str) -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{name}-{}-{t}", std::process::id())
}

fn report(url: &str, name: &str) -> StudyReport {
    let mut st = storage::open(url).unwrap();
    StudyReport::load(&mut *st, Some(name)).unwrap()
}

/// Two workers (threads, each with its own connections) on one study.
fn two_workers(url: &str, name: &str, trials: u64) -> (WorkerSummary, WorkerSummary) {
    std::thread::scope(|s| {
        let a = s.spawn(|| run_study(url, name, &tiny(Rule::Triplet), &options(trials), train_set()).unwrap());
        let b = s.spawn(|| run_study(url, name, &tiny(Rule::Triplet), &options(trials), train_set()).unwrap());
        (a.join().unwrap(), b.join().unwrap())
    })
}

/// Exactly `n` trials, numbered 0..n, each finished once, each run by one worker.
fn assert_one_study_of(url: &str, name: &str, n: usize, workers: &[&WorkerSummary]) {
    let r = report(url, name);
    let numbers: Vec<i64> = r.trials.iter().map(|t| t.number).collect();
    assert_eq!(numbers, (0..n as i64).collect::<Vec<_>>(), "trial numbers");
    for t in &r.trials {
        assert!(
            matches!(t.state, TrialState::Complete | TrialState::Pruned),
            "trial {} is {:?}: {:?}",
            t.number,
            t.state,
            t.error
        );
        assert_eq!(t.attempt, 1, "trial {} ran more than once", t.number);
        assert!(t.params.is_some() && t.config.is_some());
    }
    let mut seen = BTreeSet::new();
    for w in workers {
        for (number, _) in &w.trials {
            assert!(seen.insert(*number), "trial {number} run by two workers");
        }
    }
    assert_eq!(seen.len(), n, "every trial was run by exactly one worker");
}

fn concurrent_workers_share_one_study(url: &str) {
    let name = unique("two-workers");
    let (a, b) = two_workers(url, &name, 6);
    assert!(a.created != b.created, "exactly one worker created the study");
    assert!(
        !a.trials.is_empty() && !b.trials.is_empty(),
        "both workers ran trials: {a:?} {b:?}"
    );
    assert_one_study_of(url, &name, 6, &[&a, &b]);
    // Run again with the same target: nothing to do.
    let again = run_study(url, &name, &tiny(Rule::Triplet), &options(6), train_set()).unwrap();
    assert!(again.trials.is_empty() && !again.created);
}

#[test]
fn sqlite_two_concurrent_workers_run_each_trial_once() {
    let dir = tempfile::tempdir().unwrap();
    concurrent_workers_share_one_study(&sqlite_url(&dir));
}

#[test]
fn postgres_two_concurrent_workers_run_each_trial_once() {
    if let Some(url) = pg_url("postgres_two_concurrent_workers_run_each_trial_once") {
        concurrent_workers_share_one_study(&url);
    }
}

/// Runs 2 trials, kills a worker in the middle of trial 2 (a claimed trial
/// whose heartbeat stops), resumes to 4: trial 2 is run again, the first
/// two are untouched.
fn killed_worker_is_recovered_and_the_study_resumes(url: &str) {
    let name = unique("resume");
    let req = tiny(Rule::Pair);
    let first = run_study(
        url,
        &name,
        &req,
        &RunOptions {
            baseline: true,
            ..options(2)
        },
        train_set(),
    )
    .unwrap();
    assert_eq!(first.trials.len(), 2);
    let before = report(url, &name);
    let paper = paper_params(&before.settings.space);
    assert_eq!(
        serde_json::from_str::<stdp_search::space::Params>(before.trials[0].params.as_deref().unwrap()).unwrap(),
        paper,
        "--baseline: trial 0 has the paper's values"
    );

    // The "killed" worker: claims trial 2, stores its parameters and one
    // intermediate value, then never sends another heartbeat.
    let mut st = storage::open(url).unwrap();
    let (study, settings, created) = open_study(&mut *st, &name, &req, train_set()).unwrap();
    assert!(!created);
    // Long enough that a live worker's heartbeats (every lease / 4) keep
    // their trials on a loaded machine.
    let policy = LeasePolicy {
        lease_s: 2.0,
        max_attempts: 3,
    };
    let Claim::Trial(dead) = st.claim(study.id, "killed-worker", 4, policy).unwrap().0 else {
        panic!("no trial to claim");
    };
    assert_eq!(dead.lease.number, 2);
    let params = serde_json::to_string(&paper_params(&settings.space)).unwrap();
    let cfg = serde_json::to_string(&Config::default()).unwrap();
    let optuna = settings.space.optuna_params(&paper_params(&settings.space)).unwrap();
    assert!(st.set_params(&dead.lease, &params, &optuna, &cfg).unwrap());
    assert!(st.report(&dead.lease, 100, 0.123).unwrap());
    std::thread::sleep(Duration::from_millis(2300));

    let mut opts = options(4);
    opts.lease = policy;
    let resumed = run_study(url, &name, &req, &opts, train_set()).unwrap();
    assert_eq!(resumed.recovered.len(), 1);
    assert_eq!(resumed.recovered[0].number, 2);
    assert_eq!(resumed.recovered[0].state, TrialState::Waiting);
    let ran: Vec<i64> = resumed.trials.iter().map(|t| t.0).collect();
    assert_eq!(ran, vec![2, 3], "the re-queued trial first, then a new one");
    assert!(!st.heartbeat(&dead.lease).unwrap(), "the dead worker's lease is void");

    let after = report(url, &name);
    assert_eq!(after.trials.len(), 4);
    assert_eq!(
        &after.trials[..2],
        &before.trials[..2],
        "resuming left the old trials alone"
    );
    let t2 = &after.trials[2];
    assert_eq!(t2.attempt, 2);
    assert!(matches!(t2.state, TrialState::Complete | TrialState::Pruned));
    assert_ne!(t2.worker.as_deref(), Some("killed-worker"));
    assert!(
        !t2.intermediate.contains(&(100, 0.123)),
        "the dead attempt's intermediate values are dropped"
    );
    assert_eq!(
        t2.params.as_deref(),
        Some(params.as_str()),
        "re-run with the same parameters"
    );
    for t in &after.trials[3..] {
        assert_eq!(t.attempt, 1);
    }
}

#[test]
fn sqlite_a_killed_workers_trial_is_rerun_and_the_study_resumes() {
    let dir = tempfile::tempdir().unwrap();
    killed_worker_is_recovered_and_the_study_resumes(&sqlite_url(&dir));
}

#[test]
fn postgres_a_killed_workers_trial_is_rerun_and_the_study_resumes() {
    if let Some(url) = pg_url("postgres_a_killed_workers_trial_is_rerun_and_the_study_resumes") {
        killed_worker_is_recovered_and_the_study_resumes(&url);
    }
}

#[test]
fn resuming_with_other_settings_is_refused_and_names_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let mut st = storage::open(&url).unwrap();
    open_study(&mut *st, "s", &tiny(Rule::Triplet), train_set()).unwrap();
    let other = StudyRequest {
        train_examples: Some(300),
        ..tiny(Rule::Triplet)
    };
    let e = format!("{:#}", open_study(&mut *st, "s", &other, train_set()).unwrap_err());
    assert!(e.contains("--train-examples 300 (the study has 200)"), "{e}");
    // Leaving the flags out resumes with the stored settings.
    let (_, s, created) = open_study(&mut *st, "s", &StudyRequest::new(Rule::Triplet), train_set()).unwrap();
    assert!(!created);
    assert_eq!((s.train_examples, s.neurons), (200, 10));
}

/// One worker, pruning after 2 complete trials: a deterministic study.
#[test]
fn pruning_stops_trials_below_the_median_the_best_trial_reproduces_and_the_report_works() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let req = tiny(Rule::Triplet);
    let summary = run_study(&url, "prune", &req, &options(8), train_set()).unwrap();
    assert_eq!(summary.trials.len(), 8);
    let r = report(&url, "prune");
    eprintln!("{}", r.text(10));

    // Every pruned trial stopped early, below the median of the trials
    // complete before it (one worker: those with a lower number).
    let mut pruned = 0;
    for t in &r.trials {
        if t.state != TrialState::Pruned {
            assert_eq!(t.examples, Some(200));
            continue;
        }
        pruned += 1;
        let (step, value) = *t.intermediate.last().unwrap();
        assert_eq!(t.examples, Some(step));
        assert!(step > 100, "pruned during warm-up (first accuracy at 100)");
        let earlier: Vec<f64> = r.trials[..t.number as usize]
            .iter()
            .filter(|u| u.state == TrialState::Complete)
            .filter_map(|u| u.intermediate.iter().find(|p| p.0 == step).map(|p| p.1))
            .collect();
        assert!(earlier.len() >= 2);
        assert!(value < stdp_search::median(&earlier));
    }
    // Deterministic for this seed; with 6 trials after the startup each
    // pruned with probability ~1/2, none pruned would also be very unlikely
    // after a change to the training code.
    assert!(pruned >= 1, "no trial was pruned:\n{}", r.text(10));
    let p = r.pruning();
    assert_eq!(p.pruned, pruned);
    assert!(p.saved_s > 0.0);
    let text = r.text(5);
    assert!(text.contains("pruning saved"), "{text}");
    assert!(text.contains("| rank | trial | accuracy |"), "{text}");

    // The best trial's parameters reproduce its score exactly.
    let best = r.best().unwrap();
    let cfg = r.best_config().unwrap();
    assert_eq!(cfg.n_neurons, 10);
    let split = Split::new(train_set(), 200, 100).unwrap();
    let ev = evaluate_config(&cfg, &r.settings, &split, &mut |_| ControlFlow::Continue(())).unwrap();
    assert_eq!(ev.accuracy, best.value, "same parameters and seed, same score");
    assert!(best.value.unwrap() > 0.1, "better than chance: {:?}", best.value);

    // --json is the best trial's Config (the CLI test trains with it).
    let json = r.best_config_json().unwrap();
    assert_eq!(serde_json::from_str::<Config>(&json).unwrap(), cfg);

    // Plots: the history and one per searched parameter, PNG and SVG.
    // `PLOTS_OUT=DIR` keeps them in DIR/hpo for a look.
    let figs = std::env::var_os("PLOTS_OUT").map_or_else(|| dir.path().join("figs"), |d| PathBuf::from(d).join("hpo"));
    let stems = r.plots(&figs).unwrap();
    assert_eq!(stems.len(), 1 + r.settings.space.params.len());
    for stem in &stems {
        let png = stem.with_extension("png");
        let decoder = png::Decoder::new(std::fs::File::open(&png).unwrap());
        let info = decoder.read_info().unwrap().info().clone();
        assert_eq!((info.width, info.height), (900, 560), "{}", png.display());
        let svg = std::fs::read_to_string(stem.with_extension("svg")).unwrap();
        assert!(svg.contains("<svg") && svg.contains("accuracy"));
    }
    assert!(figs.join("param_exc_theta_plus_mv.png").exists());
}

/// The CLI: `hpo space` as a --space file, two `hpo run` processes on one
/// SQLite study, `hpo report` (table, plots), and `hpo report --json` fed
/// to `host-sim train --params`.
#[test]
fn cli_two_worker_processes_then_report_json_trains_with_train_params() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let data = shared("mnist").display().to_string();
    let space = dir.path().join("space.toml");
    std::fs::write(&space, ok(&["hpo", "space", "--rule", "pair"])).unwrap();
    let space = space.display().to_string();
    let run = [
        "hpo",
        "run",
        "--study",
        &url,
        "--rule",
        "pair",
        "--trials",
        "6",
        "--space",
        &space,
        "--neurons",
        "10",
        "--train-examples",
        "200",
        "--val-examples",
        "100",
        "--assign-examples",
        "100",
        "--window",
        "50",
        "--startup-trials",
        "3",
        "--prune-startup",
        "2",
        "--quiet",
        "--data",
        &data,
    ];
    let workers: Vec<_> = (0..2).map(|_| host_sim_cmd(run).spawn().unwrap()).collect();
    for mut w in workers {
        assert!(w.wait().unwrap().success());
    }
    let r = report(&url, "pair");
    assert_eq!(r.trials.len(), 6);
    assert!(r.trials.iter().all(|t| t.attempt == 1));

    let figs = dir.path().join("figs");
    let figs_arg = figs.display().to_string();
    let text = ok(&["hpo", "report", "--study", &url, "--out", &figs_arg]);
    assert!(
        text.contains("study 'pair'") && text.contains("| rank | trial |"),
        "{text}"
    );
    assert!(figs.join("history.png").exists() && figs.join("param_nu_pre.svg").exists());

    let json = ok(&["hpo", "report", "--study", &url, "--json"]);
    let best: Config = serde_json::from_str(&json).unwrap();
    assert_eq!(best, r.best_config().unwrap());
    let params = dir.path().join("best.json");
    std::fs::write(&params, &json).unwrap();
    let model = dir.path().join("model.bin");
    let p = params.display().to_string();
    let m = model.display().to_string();
    ok(&[
        "train",
        "--quiet",
        "--params",
        &p,
        "--neurons",
        "10",
        "--limit",
        "20",
        "--assign",
        "20",
        "--data",
        &data,
        "--out",
        &m,
    ]);
    let trained = stdp_host::formats::model::Model::load(&model).unwrap();
    assert_eq!(trained.meta.config, best, "train --params used the study's parameters");
}

#[test]
fn cli_a_bad_space_file_is_reported_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let space = dir.path().join("bad.toml");
    std::fs::write(&space, "[params]\nnu_postt = { low = 1e-3, high = 1e-1, log = true }\n").unwrap();
    let url = sqlite_url(&dir);
    let out = host_sim_cmd([
        "hpo", "run", "--study", &url, "--rule", "triplet", "--trials", "1", "--space",
    ])
    .arg(&space)
    .output()
    .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.toml") && err.contains("'nu_postt' is not a Config field"),
        "{err}"
    );
    assert!(!dir.path().join("study.db").exists(), "no study was created");
}

/// Parameters the network rejects (a negative learning rate passes the
/// space's checks, which are the procedure's; the core refuses it when the
/// trial builds the network): each trial fails with the reason, and the
/// worker gives up after three failures in a row.
#[test]
fn trials_the_network_rejects_fail_with_the_reason_and_the_worker_stops() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let req = StudyRequest {
        space: Some(stdp_search::space::Space::parse("[params]\nnu_post = { low = -0.2, high = -0.1 }").unwrap()),
        ..tiny(Rule::Triplet)
    };
    let e = run_study(&url, "bad", &req, &options(10), train_set()).unwrap_err();
    assert!(format!("{e:#}").contains("3 trials in a row failed"), "{e:#}");
    let r = report(&url, "bad");
    assert_eq!(r.count(TrialState::Failed), 3);
    for t in &r.trials {
        assert!(t.error.as_deref().unwrap().contains("nu_post"), "{:?}", t.error);
    }
    assert!(r.text(5).contains("failed trials:"));
    assert!(r.best_config_json().is_err(), "no complete trial, no best parameters");
}
