//! hpo studies in Optuna's own schema, read and written by the real
//! Optuna and optuna-dashboard (from PyPI):
//!
//! - a study made by two host-sim worker processes loads with
//!   `optuna.load_study`, every trial equal to host-sim's own report
//!   (state, value, parameters with their distributions, intermediate
//!   values);
//! - optuna-dashboard, started on loopback, serves the study and its
//!   trials through its HTTP API;
//! - a Python Optuna worker and a host-sim worker running on one study at
//!   the same time leave a study both read back whole: trials numbered
//!   once, none left running, each side's trials with its own parameters.
//!
//! Python: `STDP_TEST_PYTHON` (with optuna and optuna-dashboard; `.ci/run`
//! makes the virtual environment), else `python3`; skipped without them
//! unless `CI` is set.

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use stdp_search::report::StudyReport;
use stdp_search::storage::{self, TrialState};

fn data() -> String {
    common::shared("mnist").display().to_string()
}

/// `hpo run` of a tiny pair-rule study `name` at `url`.
fn hpo_run(url: &str, name: &str, trials: u64) -> Command {
    let mut c = common::host_sim_cmd(["hpo", "run", "--study", url, "--name", name, "--rule", "pair"]);
    c.args(["--trials", &trials.to_string()])
        .args(["--neurons", "10", "--train-examples", "200", "--val-examples", "100"])
        .args(["--assign-examples", "100", "--window", "50", "--startup-trials", "3"])
        .args(["--prune-startup", "2", "--quiet", "--data", &data()])
        .stdin(Stdio::null());
    c
}

/// Runs `script` with `STUDY` and `NAME` set to Optuna's storage URL and
/// the study's name; its stdout as JSON.
fn python_json(py: &Path, dir: &Path, script: &str, storage: &str, name: &str) -> Value {
    let o = Command::new(py)
        .arg("-c")
        .arg(script)
        .env("STUDY", storage)
        .env("NAME", name)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "python: {}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)))
}

/// Every trial as Optuna sees it.
const LOAD: &str = r#"
import json, os, optuna
optuna.logging.set_verbosity(optuna.logging.WARNING)
s = optuna.load_study(study_name=os.environ["NAME"], storage=os.environ["STUDY"])
print(json.dumps({
    "direction": s.direction.name,
    "user_attrs": list(s.user_attrs),
    "trials": [{
        "number": t.number,
        "state": t.state.name,
        "value": t.value,
        "params": t.params,
        "distributions": {k: type(d).__name__ for k, d in t.distributions.items()},
        "intermediate": sorted([int(k), v] for k, v in t.intermediate_values.items()),
        "complete": t.datetime_complete is not None,
    } for t in s.trials],
}))
"#;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1e-300)
}

/// The study `name` at host-sim's `url` (Optuna's spelling `storage`)
/// made by two host-sim workers, then read by Optuna and optuna-dashboard.
fn optuna_reads_two_workers_study(py: &Path, url: &str, storage: &str, name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let workers: Vec<_> = (0..2).map(|_| hpo_run(url, name, 6).spawn().unwrap()).collect();
    for mut w in workers {
        assert!(w.wait().unwrap().success());
    }
    let mine = {
        let mut st = storage::open(url).unwrap();
        StudyReport::load(&mut *st, Some(name)).unwrap()
    };
    assert_eq!(mine.trials.len(), 6);
    let v = python_json(py, dir.path(), LOAD, storage, name);
    assert_eq!(v["direction"], "MAXIMIZE");
    assert_eq!(v["user_attrs"], serde_json::json!(["host_sim_settings"]));
    let theirs = v["trials"].as_array().unwrap();
    assert_eq!(theirs.len(), mine.trials.len());
    for (o, t) in theirs.iter().zip(&mine.trials) {
        let n = t.number;
        assert_eq!(o["number"], n);
        let state = match t.state {
            TrialState::Complete => "COMPLETE",
            TrialState::Pruned => "PRUNED",
            other => panic!("trial {n} is {other:?}"),
        };
        assert_eq!(o["state"], state, "trial {n}");
        assert_eq!(o["complete"], true);
        // Optuna's value: the validation accuracy, or a pruned trial's
        // last intermediate value.
        let want = t.value.unwrap_or_else(|| t.intermediate.last().unwrap().1);
        assert!(
            close(o["value"].as_f64().unwrap(), want),
            "trial {n}: value {} vs {want}",
            o["value"]
        );
        let params: serde_json::Map<String, Value> = serde_json::from_str(t.params.as_deref().unwrap()).unwrap();
        let op = o["params"].as_object().unwrap();
        assert_eq!(op.len(), params.len(), "trial {n}: parameters");
        for (k, x) in &params {
            match (x.as_f64(), op[k].as_f64()) {
                (Some(a), Some(b)) => assert!(close(a, b), "trial {n}: {k} {a} vs {b}"),
                _ => assert_eq!(&op[k], x, "trial {n}: {k}"),
            }
            assert_eq!(o["distributions"][k], "FloatDistribution", "trial {n}: {k}");
        }
        let inter: Vec<(i64, f64)> = serde_json::from_value(o["intermediate"].clone()).unwrap();
        assert_eq!(inter.len(), t.intermediate.len(), "trial {n}: intermediate values");
        for ((s1, v1), (s2, v2)) in inter.iter().zip(&t.intermediate) {
            assert!(s1 == s2 && close(*v1, *v2), "trial {n}: step {s1} {v1} vs {s2} {v2}");
        }
    }

    // optuna-dashboard on loopback, read back through its HTTP API.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new(py)
        .arg("-c")
        .arg(format!(
            "import os, optuna_dashboard; optuna_dashboard.run_server(os.environ['STUDY'], host='127.0.0.1', port={port})"
        ))
        .env("STUDY", storage)
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let get = |path: &str| -> Option<Value> {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
        write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
        let mut r = Vec::new();
        s.read_to_end(&mut r).ok()?;
        let text = String::from_utf8_lossy(&r);
        let (head, body) = text.split_once("\r\n\r\n")?;
        head.starts_with("HTTP/1.0 200")
            .then(|| serde_json::from_str(body).ok())?
    };
    let t0 = Instant::now();
    let studies = loop {
        if let Some(v) = get("/api/studies") {
            break v;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "optuna-dashboard did not answer"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let summary = studies["study_summaries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["study_name"] == name)
        .unwrap_or_else(|| panic!("no study {name} in {studies}"));
    let id = summary["study_id"].as_i64().unwrap();
    let study = get(&format!("/api/studies/{id}")).expect("the study's page");
    let trials = study["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 6);
    let best = mine.best().unwrap();
    assert!(
        study["best_trials"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["number"] == best.number),
        "the dashboard's best trial is host-sim's best"
    );
    let importances = get(&format!("/api/studies/{id}/param_importances"));
    let _ = server.kill();
    let _ = server.wait();
    let importances = importances.expect("parameter importances");
    assert!(
        !importances["param_importances"][0].as_array().unwrap().is_empty(),
        "{importances}"
    );
}

#[test]
fn optuna_loads_a_sqlite_study_of_two_host_sim_workers_and_the_dashboard_serves_it() {
    let Some(py) = common::python("optuna, optuna_dashboard") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("study.db");
    let storage = format!("sqlite:///{}", db.display()); // sqlite:////abs/path
    optuna_reads_two_workers_study(&py, &storage, &storage, "pair");
}

#[test]
fn optuna_loads_a_postgres_study_of_two_host_sim_workers_and_the_dashboard_serves_it() {
    let Ok(url) = std::env::var("STDP_TEST_PG") else {
        assert!(std::env::var_os("CI").is_none(), "CI is set but STDP_TEST_PG is not");
        common::say("SKIPPED the Optuna test on PostgreSQL: set STDP_TEST_PG");
        return;
    };
    let Some(py) = common::python("optuna, optuna_dashboard, psycopg") else {
        return;
    };
    // SQLAlchemy's spelling with the driver named.
    let storage = url
        .replacen("postgres://", "postgresql://", 1)
        .replacen("postgresql://", "postgresql+psycopg://", 1);
    let name = format!(
        "optuna-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    optuna_reads_two_workers_study(&py, &url, &storage, &name);
}

/// A Python worker (its own objective, one parameter) beside a host-sim
/// worker on one study.
const PY_WORKER: &str = r#"
import os, time, optuna
optuna.logging.set_verbosity(optuna.logging.WARNING)
for _ in range(600):
    try:
        s = optuna.load_study(study_name=os.environ["NAME"], storage=os.environ["STUDY"])
        break
    except KeyError:
        time.sleep(0.05)
s.optimize(lambda t: t.suggest_float("nu_post", 1e-3, 1e-1, log=True), n_trials=4)
"#;

#[test]
fn a_python_optuna_worker_and_a_host_sim_worker_share_one_study_without_harm() {
    let Some(py) = common::python("optuna") else { return };
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("study.db").display());
    let mut host = hpo_run(&url, "pair", 16).spawn().unwrap();
    let python = Command::new(&py)
        .arg("-c")
        .arg(PY_WORKER)
        .env("STUDY", "sqlite:///study.db")
        .env("NAME", "pair")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        python.status.success(),
        "python: {}",
        String::from_utf8_lossy(&python.stderr)
    );
    assert!(host.wait().unwrap().success());

    let v = python_json(&py, dir.path(), LOAD, "sqlite:///study.db", "pair");
    let trials = v["trials"].as_array().unwrap();
    let numbers: Vec<i64> = trials.iter().map(|t| t["number"].as_i64().unwrap()).collect();
    assert_eq!(
        numbers,
        (0..trials.len() as i64).collect::<Vec<_>>(),
        "numbered once each"
    );
    for t in trials {
        assert!(
            ["COMPLETE", "PRUNED"].contains(&t["state"].as_str().unwrap()),
            "trial {} is {}",
            t["number"],
            t["state"]
        );
    }
    let mine = {
        let mut st = storage::open(&url).unwrap();
        StudyReport::load(&mut *st, Some("pair")).unwrap()
    };
    let (host_trials, py_trials): (Vec<_>, Vec<_>) = mine.trials.iter().partition(|t| t.worker.is_some());
    assert_eq!(py_trials.len(), 4, "the Python worker's trials");
    assert!(host_trials.len() >= 12, "host-sim ran the rest of its 16");
    assert_eq!(mine.trials.len(), trials.len());
    for t in &py_trials {
        let p: serde_json::Map<String, Value> = serde_json::from_str(t.params.as_deref().unwrap()).unwrap();
        assert_eq!(p.keys().collect::<Vec<_>>(), ["nu_post"], "trial {}", t.number);
        assert!(t.config.is_none());
    }
    for t in &host_trials {
        assert!(t.config.is_some() && t.attempt == 1, "trial {}", t.number);
        let p: serde_json::Map<String, Value> = serde_json::from_str(t.params.as_deref().unwrap()).unwrap();
        assert!(p.len() > 1, "trial {}: host-sim's whole space", t.number);
    }
    // host-sim's report reads the mixed study (the best trial may be
    // either's); `--json` gives the best of host-sim's own trials.
    assert!(mine.text(5).contains("study 'pair'"));
    let best = mine.best_config().unwrap();
    let best_host = host_trials
        .iter()
        .filter(|t| t.state == TrialState::Complete)
        .max_by(|a, b| {
            a.value
                .unwrap()
                .total_cmp(&b.value.unwrap())
                .then(b.number.cmp(&a.number))
        })
        .unwrap();
    assert_eq!(
        best,
        serde_json::from_str(best_host.config.as_deref().unwrap()).unwrap()
    );
}
