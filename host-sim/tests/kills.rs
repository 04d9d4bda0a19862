//! Kill tests: `kill -9` (SIGKILL: no handler, no clean-up) of the real
//! `host-sim` processes at random moments, repeated, then the figures:
//!
//! - `train --checkpoint-every`, killed and resumed (`--resume` once a
//!   checkpoint exists) until it finishes: the model equals the one of an
//!   uninterrupted run, bit for bit (all but the wall-clock seconds), and no
//!   temporary file is left behind.
//! - `hpo run` with two worker processes on one study (SQLite, and
//!   PostgreSQL when `STDP_TEST_PG` is set), one of them killed and
//!   restarted at each kill: the study ends with every trial numbered once,
//!   complete or pruned, none failed; a trial seen finished is never lost or
//!   changed later; no trial is reported finished twice by the workers; and
//!   every trial's stored values equal those of the same configuration run
//!   uninterrupted in this process.
//!
//! The number of kills per test is `STDP_KILLS` (default 20); the moments
//! come from a seeded generator (`STDP_KILL_SEED`, default 1), printed with
//! the figures so a failure can be replayed.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use rand::{rngs::SmallRng, Rng, SeedableRng};
use stdp_host::formats::mnist;
use stdp_host::formats::model::Model;
use stdp_search::report::StudyReport;
use stdp_search::storage::{self, TrialRow, TrialState};
use stdp_search::{evaluate_config, Split};

mod common;
use common::{host_sim_cmd, say};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn kills() -> usize {
    env_u64("STDP_KILLS", 20) as usize
}

fn rng(test: u64) -> (SmallRng, u64) {
    let seed = env_u64("STDP_KILL_SEED", 1);
    (SmallRng::seed_from_u64(seed ^ (test << 32)), seed)
}

/// A small MNIST directory (raw IDX): the first `n_train` training digits
/// and the first 10 test digits of the shared set, so each restarted
/// process loads in milliseconds.
fn small_mnist(dir: &Path, n_train: usize) -> PathBuf {
    let (train, test) = common::mnist();
    let out = dir.join("mnist");
    std::fs::create_dir_all(&out).unwrap();
    let write = |set: &mnist::Dataset, n: usize, digits: &str, labels: &str| {
        let mut img = Vec::new();
        img.extend_from_slice(&0x0803u32.to_be_bytes());
        for d in [n as u32, 28, 28] {
            img.extend_from_slice(&d.to_be_bytes());
        }
        let mut lab = Vec::new();
        lab.extend_from_slice(&0x0801u32.to_be_bytes());
        lab.extend_from_slice(&(n as u32).to_be_bytes());
        for i in 0..n {
            img.extend_from_slice(set.digit(i));
            lab.push(set.label(i));
        }
        std::fs::write(out.join(digits), img).unwrap();
        std::fs::write(out.join(labels), lab).unwrap();
    };
    write(&train, n_train, mnist::TRAIN_DIGITS, mnist::TRAIN_LABELS);
    write(&test, 10, mnist::TEST_DIGITS, mnist::TEST_LABELS);
    out
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// Kills `child` with SIGKILL if it is still running; `true` if it was.
fn kill9(child: &mut Child) -> bool {
    if child.try_wait().unwrap().is_some() {
        return false;
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    true
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Where a killed run stood: the examples its checkpoint holds (`None`:
/// no checkpoint yet).
fn checkpoint_done(path: &Path) -> Option<u64> {
    if !path.exists() {
        return None;
    }
    let ck = Model::load(path).unwrap_or_else(|e| panic!("a kill left a damaged checkpoint: {e:#}"));
    Some(ck.meta.progress.expect("a checkpoint has its progress").done)
}

/// The model without what depends on the clock.
fn timeless(mut m: Model) -> Model {
    m.meta.train_seconds = 0.0;
    m
}

#[test]
fn train_killed_at_random_moments_and_resumed_equals_an_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let data = small_mnist(dir.path(), 300);
    let (mut rng, seed) = rng(1);
    let args = |out: &Path| {
        let mut a = strings(&[
            "train",
            "--neurons",
            "100",
            "--epochs",
            "2",
            "--limit",
            "200",
            "--window",
            "50",
            "--assign",
            "100",
            "--seed",
            "7",
            "--threads",
            "1",
            "--checkpoint-every",
            "5",
            "--quiet",
        ]);
        a.extend(["--data".into(), data.display().to_string()]);
        a.extend(["--out".into(), out.display().to_string()]);
        a
    };

    let reference = dir.path().join("reference.model");
    let t0 = Instant::now();
    let out = host_sim_cmd(args(&reference)).stdin(Stdio::null()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let wall = t0.elapsed();

    let runs = dir.path().join("killed");
    std::fs::create_dir(&runs).unwrap();
    let model = runs.join("m.model");
    let ckpt = runs.join("m.model.ckpt");
    let a = timeless(Model::load(&reference).unwrap());
    assert_eq!(a.meta.examples_trained, 400);
    // Each life lasts a random part of a quarter of the uninterrupted run
    // (or of its first 20 ms), so the kills fall everywhere: at start-up,
    // before the first checkpoint, between and during checkpoint writes, in
    // the final assignment, after the model is written. A run that gets through is compared with the
    // reference, then the next run starts afresh, until all kills landed.
    let max_life = wall.as_secs_f64() / 4.0;
    let mut stood_at = Vec::new();
    let (mut lives, mut rounds) = (0, 0);
    while stood_at.len() < kills() {
        rounds += 1;
        loop {
            let mut args = args(&model);
            if ckpt.exists() {
                args.push("--resume".into());
            }
            let mut child = host_sim_cmd(&args)
                .stdin(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            lives += 1;
            if stood_at.len() < kills() {
                // One life in five, and every other first life of a run, is
                // cut within its first 20 ms: while it starts, loads, or
                // before its first checkpoint.
                let short = rng.gen_bool(if ckpt.exists() { 0.2 } else { 0.5 });
                let life = if short { 0.02 } else { max_life };
                std::thread::sleep(Duration::from_secs_f64(rng.gen_range(0.0..life)));
                if kill9(&mut child) {
                    stood_at.push((checkpoint_done(&ckpt), model.exists()));
                    continue;
                }
            }
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            break;
        }
        let b = timeless(Model::load(&model).unwrap());
        assert!(
            a == b,
            "round {rounds}: the killed and resumed run trained another model"
        );
        assert_eq!(
            file_names(&runs),
            vec!["m.model".to_string()],
            "round {rounds}: only the model is left: no checkpoint, no temporary file"
        );
        std::fs::remove_file(&model).unwrap();
    }
    let before_first = stood_at.iter().filter(|s| s.0.is_none()).count();
    let after_model = stood_at.iter().filter(|s| s.1).count();
    let done: Vec<u64> = stood_at.iter().filter_map(|s| s.0).collect();
    say(&format!(
        "train kill test (STDP_KILL_SEED={seed}): {} kills in {lives} lives, {rounds} runs to the end \
         ({before_first} kills before the first checkpoint; the others with checkpoints at {done:?} of 400 \
         examples; {after_model} after the model was written); uninterrupted run {:.2} s; every run's model identical to it",
        stood_at.len(),
        wall.as_secs_f64()
    ));
}

/// The `hpo run` arguments of the kill tests: a tiny study, leases of 2 s
/// (a killed worker's trial is re-queued 2 s after its last heartbeat), and
/// attempts enough that no trial runs out of them.
fn hpo_args(url: &str, name: &str, data: &Path, trials: u64) -> Vec<String> {
    let mut a = strings(&[
        "hpo",
        "run",
        "--rule",
        "pair",
        "--neurons",
        "40",
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
        "--lease-secs",
        "2",
        "--max-attempts",
        "1000",
    ]);
    a.extend(["--study".into(), url.into(), "--name".into(), name.into()]);
    a.extend(["--trials".into(), trials.to_string()]);
    a.extend(["--data".into(), data.display().to_string()]);
    a
}

/// One worker process; its stderr goes to a file of its own.
fn spawn_worker(args: &[String], logs: &Path, life: usize) -> Child {
    let log = std::fs::File::create(logs.join(format!("worker-{life}.log"))).unwrap();
    host_sim_cmd(args).stdin(Stdio::null()).stderr(log).spawn().unwrap()
}

fn trials_of(url: &str, name: &str) -> Vec<TrialRow> {
    let mut st = storage::open(url).unwrap();
    match StudyReport::load(&mut *st, Some(name)) {
        Ok(r) => r.trials,
        Err(_) => Vec::new(), // not created yet
    }
}

/// What a finished trial must keep, as bits: state, value, intermediate
/// values, end.
type FinishedView = (TrialState, Option<u64>, Vec<(i64, u64)>, Option<u64>);

fn finished_view(t: &TrialRow) -> Option<FinishedView> {
    matches!(t.state, TrialState::Complete | TrialState::Pruned).then(|| {
        (
            t.state,
            t.value.map(f64::to_bits),
            t.intermediate.iter().map(|&(s, v)| (s, v.to_bits())).collect(),
            t.finished.map(f64::to_bits),
        )
    })
}

/// The finished trials by number, as [`finished_view`] shows them.
type Finished = BTreeMap<i64, FinishedView>;

/// Every trial in `seen` is still finished, unchanged, in `rows`; then
/// `seen` becomes what `rows` shows.
fn check_nothing_lost(seen: &mut Finished, rows: &[TrialRow]) {
    let now: Finished = rows
        .iter()
        .filter_map(|t| Some((t.number, finished_view(t)?)))
        .collect();
    for (n, v) in seen.iter() {
        assert_eq!(now.get(n), Some(v), "trial {n} was finished, then lost or changed");
    }
    *seen = now;
}

/// What one study of the hpo kill test went through.
#[derive(Default)]
struct Round {
    kills: usize,
    lives: usize,
    /// Trials finished when the last kill landed.
    finished_at_last_kill: usize,
    /// Trials whose run was cut by a kill and re-run.
    rerun: usize,
    /// Attempts of all trials.
    attempts: i64,
}

/// One study of `trials` trials with two workers, killed (at most
/// `max_kills` times) until it has all its trials, then checked.
fn hpo_round(url: &str, data: &Path, rng: &mut SmallRng, trials: u64, max_kills: usize) -> Round {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().to_path_buf();
    let name = format!(
        "kills-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let args = hpo_args(url, &name, data, trials);
    let mut r = Round::default();
    let spawn = |r: &mut Round| {
        r.lives += 1;
        spawn_worker(&args, &logs, r.lives)
    };
    let mut workers: Vec<Child> = vec![spawn(&mut r), spawn(&mut r)];
    let mut seen = Finished::new();
    while r.kills < max_kills && (seen.len() as u64) < trials {
        std::thread::sleep(Duration::from_secs_f64(rng.gen_range(0.05..0.8)));
        let w = rng.gen_range(0..2);
        if kill9(&mut workers[w]) {
            r.kills += 1;
            r.finished_at_last_kill = seen.len();
        }
        check_nothing_lost(&mut seen, &trials_of(url, &name));
        workers[w] = spawn(&mut r);
    }
    for mut w in workers {
        let status = w.wait().unwrap();
        assert!(status.success() || status.code().is_none(), "a worker failed: {status}");
    }
    // A last worker, in case the final kill left the study short.
    assert!(spawn(&mut r).wait().unwrap().success());
    let rows = trials_of(url, &name);
    check_nothing_lost(&mut seen, &rows);

    let numbers: Vec<i64> = rows.iter().map(|t| t.number).collect();
    assert_eq!(numbers, (0..trials as i64).collect::<Vec<_>>(), "trial numbers");
    for t in &rows {
        assert!(
            matches!(t.state, TrialState::Complete | TrialState::Pruned),
            "trial {} is {:?}: {:?}",
            t.number,
            t.state,
            t.error
        );
    }

    // No trial finished twice: every "trial N complete/pruned" line the
    // workers printed, counted.
    let mut reported: BTreeMap<i64, usize> = BTreeMap::new();
    for f in file_names(&logs) {
        for line in std::fs::read_to_string(logs.join(f)).unwrap().lines() {
            let Some(rest) = line.strip_prefix("trial ") else {
                continue;
            };
            let Some((n, what)) = rest.split_once(' ') else {
                continue;
            };
            if what.starts_with("complete") || what.starts_with("pruned") {
                *reported.entry(n.parse().unwrap()).or_default() += 1;
            }
        }
    }
    for (n, c) in &reported {
        assert_eq!(*c, 1, "trial {n} was reported finished {c} times");
    }

    // Every trial's values equal those of its configuration run
    // uninterrupted here: running accuracies (all of them, or up to the
    // pruning point) and the validation accuracy.
    let settings = {
        let mut st = storage::open(url).unwrap();
        StudyReport::load(&mut *st, Some(&name)).unwrap().settings
    };
    let (small, _) = mnist::load_dir(data).unwrap();
    let split = Split::new(&small, settings.train_examples, settings.val_examples).unwrap();
    for t in &rows {
        let cfg = serde_json::from_str(t.config.as_deref().unwrap()).unwrap();
        let mut points = Vec::new();
        let ev = evaluate_config(&cfg, &settings, &split, &mut |p| {
            if let Some(acc) = p.running_accuracy {
                points.push((p.examples as i64, acc));
            }
            ControlFlow::Continue(())
        })
        .unwrap();
        assert_eq!(
            t.intermediate,
            points[..t.intermediate.len()],
            "trial {}: running accuracies",
            t.number
        );
        if t.state == TrialState::Complete {
            assert_eq!(t.value, ev.accuracy, "trial {}: validation accuracy", t.number);
        }
    }
    r.rerun = rows.iter().filter(|t| t.attempt > 1).count();
    r.attempts = rows.iter().map(|t| t.attempt).sum();
    r
}

fn hpo_killed_workers(url: &str, test: u64) {
    let dir = tempfile::tempdir().unwrap();
    let data = small_mnist(dir.path(), 300);
    let (mut rng, seed) = rng(test);
    let trials = 16;
    let t0 = Instant::now();
    let mut rounds = Vec::new();
    while rounds.iter().map(|r: &Round| r.kills).sum::<usize>() < kills() {
        let left = kills() - rounds.iter().map(|r| r.kills).sum::<usize>();
        rounds.push(hpo_round(url, &data, &mut rng, trials, left));
    }
    let sum = |f: fn(&Round) -> usize| rounds.iter().map(f).sum::<usize>();
    say(&format!(
        "hpo kill test on {} (STDP_KILL_SEED={seed}): {} kills of 2 workers ({} worker lives) in {} studies \
         of {trials} trials (trials finished at each study's last kill: {:?}), {:.1} s; {} trials re-run \
         after a kill ({} attempts for {} trials); no trial lost, changed or finished twice; every trial \
         equals its uninterrupted run",
        storage::redact(url),
        sum(|r| r.kills),
        sum(|r| r.lives),
        rounds.len(),
        rounds.iter().map(|r| r.finished_at_last_kill).collect::<Vec<_>>(),
        t0.elapsed().as_secs_f64(),
        sum(|r| r.rerun),
        rounds.iter().map(|r| r.attempts).sum::<i64>(),
        rounds.len() as u64 * trials,
    ));
}

#[test]
fn hpo_sqlite_two_workers_killed_at_random_moments_lose_nothing_and_finish_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    hpo_killed_workers(&format!("sqlite:{}", dir.path().join("study.db").display()), 2);
}

#[test]
fn hpo_postgres_two_workers_killed_at_random_moments_lose_nothing_and_finish_nothing_twice() {
    let in_ci = std::env::var_os("CI").is_some();
    match std::env::var("STDP_TEST_PG") {
        Ok(url) if !url.is_empty() => hpo_killed_workers(&url, 3),
        _ => {
            assert!(!in_ci, "CI is set but STDP_TEST_PG is not");
            say("SKIPPED hpo postgres kill test: set STDP_TEST_PG=postgres://USER:PASSWORD@HOST/DB");
        }
    }
}
