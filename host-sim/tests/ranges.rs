//! Every parameter of a run (flags and `--params` JSON both end in a
//! `Config`) is checked before anything runs or allocates: one table of bad
//! values with the error each must give. A value inside its range passes.

use stdp_core::Network;
use stdp_host::config::Config;

mod common;

/// The first error of a configuration: the procedure's check, then the
/// network's (the core's), as `train`, `hpo` and `bench` do.
fn error_of(cfg: &Config) -> Option<String> {
    if let Err(e) = cfg.check() {
        return Some(format!("{e:#}"));
    }
    Network::<f32>::new(&cfg.network()).err().map(|e| e.to_string())
}

#[test]
fn bad_values_are_refused_with_the_parameter_named() {
    type Edit = fn(&mut Config);
    let table: &[(&str, Edit, &str)] = &[
        (
            "no neurons",
            |c| c.n_neurons = 0,
            "n_neurons must be 1 to 65535, the most a chip image holds",
        ),
        (
            "a billion neurons",
            |c| c.n_neurons = 1_000_000_000,
            "n_neurons must be 1 to 65535, the most a chip image holds",
        ),
        (
            "one neuron more than a chip image holds",
            |c| c.n_neurons = 65_536,
            "n_neurons must be 1 to 65535, the most a chip image holds (got 65536)",
        ),
        ("dt 0", |c| c.dt_ms = 0.0, "dt_ms must be > 0"),
        ("dt NaN", |c| c.dt_ms = f64::NAN, "dt_ms must be > 0"),
        (
            "present shorter than a step",
            |c| c.present_ms = 0.1,
            "present_ms must be at least one step",
        ),
        (
            "present 1e12 ms (hours of simulation)",
            |c| c.present_ms = 1e12,
            "present_ms and rest_ms must be <= 10000 ms",
        ),
        (
            "rest 1e12 ms",
            |c| c.rest_ms = 1e12,
            "present_ms and rest_ms must be <= 10000 ms",
        ),
        ("rest negative", |c| c.rest_ms = -1.0, "rest_ms must be >= 0"),
        ("tiny dt: 1e9 steps", |c| c.dt_ms = 1e-5, "must be <= 1000000 steps"),
        (
            "intensity 0",
            |c| c.intensity = 0.0,
            "0 < intensity <= max_intensity <= 1000",
        ),
        (
            "max intensity 1e6",
            |c| c.max_intensity = 1e6,
            "0 < intensity <= max_intensity <= 1000",
        ),
        ("norm target 0", |c| c.norm_target = 0.0, "norm_target must be > 0"),
        (
            "delays negative",
            |c| c.input_delay_ms = -1.0,
            "input_delay_ms must be in [0, 31 * dt_ms]",
        ),
        (
            "delays of 32 steps",
            |c| c.input_delay_ms = 16.0,
            "input_delay_ms must be in [0, 31 * dt_ms]",
        ),
        (
            "delays infinite",
            |c| c.input_delay_ms = f64::INFINITY,
            "input_delay_ms must be in [0, 31 * dt_ms]",
        ),
        ("other digit size", |c| c.n_inputs = 100, "n_inputs must be 784"),
        ("w_max 0", |c| c.stdp.w_max = 0.0, "w_max"),
        ("nu_pre negative", |c| c.stdp.nu_pre = -1.0, "nu_pre"),
        ("tau_pre 0", |c| c.stdp.tau_pre_ms = 0.0, "tau_pre_ms"),
        ("refractory negative", |c| c.exc.refractory_ms = -1.0, "refractory_ms"),
        (
            "threshold block negative",
            |c| c.exc.threshold_block_ms = -1.0,
            "threshold_block_ms",
        ),
        ("tau_m 0", |c| c.exc.tau_m_ms = 0.0, "tau_m_ms"),
    ];
    for (what, edit, want) in table {
        let mut cfg = Config::default();
        edit(&mut cfg);
        match error_of(&cfg) {
            Some(e) => assert!(e.contains(want), "{what}: error `{e}` does not say `{want}`"),
            None => panic!("{what}: accepted"),
        }
    }
}

#[test]
fn values_at_the_edges_of_their_ranges_pass() {
    let ok: &[fn(&mut Config)] = &[
        |c| c.n_neurons = 1,
        |c| c.n_neurons = stdp_core::MAX_NEURONS,
        |c| c.present_ms = 10_000.0,
        |c| c.rest_ms = 0.0,
        |c| c.input_delay_ms = 15.5,
        |c| c.exc.threshold_block_ms = 50.0,
        |c| c.max_intensity = 1000.0,
    ];
    for (k, edit) in ok.iter().enumerate() {
        let mut cfg = Config::default();
        edit(&mut cfg);
        assert_eq!(error_of(&cfg), None, "edit {k}");
    }
}

/// The same ranges at the command line, through the real binary: every bad
/// flag value, `--params` file, or input file ends the program at once with
/// one line `error: ...` naming what to fix, and writes nothing.
#[test]
fn cli_values_out_of_range_are_refused_at_once_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name).display().to_string();
    let data = common::shared("mnist").display().to_string();
    std::fs::write(d("unknown.json"), r#"{"n_neuronz": 10}"#).unwrap();
    let mut long = serde_json::to_value(Config::default()).unwrap();
    long["present_ms"] = serde_json::json!(1e12);
    std::fs::write(d("long.json"), long.to_string()).unwrap();
    let mut both = serde_json::to_value(Config::default()).unwrap();
    both["exc"]["cuba"] = serde_json::json!(true);
    std::fs::write(d("both.json"), both.to_string()).unwrap();
    std::fs::write(d("garbage.model"), b"not a model at all").unwrap();
    std::fs::write(d("huge.json"), r#"{"n_neurons": 65536}"#).unwrap();
    let out = d("out");
    let train = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = ["train", "--data", &data, "--out", &out].map(String::from).to_vec();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let study = format!("sqlite:{}", d("study.db"));
    let hpo = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = ["hpo", "run", "--study", &study, "--rule", "pair", "--data", &data]
            .map(String::from)
            .to_vec();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let mut table: Vec<(Vec<String>, &str)> = vec![
        (
            train(&["--present-ms", "1e12"]),
            "present_ms and rest_ms must be <= 10000 ms",
        ),
        (train(&["--rest-ms", "-5"]), "rest_ms must be >= 0"),
        (train(&["--dt-ms", "nan"]), "dt_ms must be > 0"),
        (
            train(&["--neurons", "0"]),
            "--neurons must be 1 to 65535, the most a chip image holds (got 0)",
        ),
        // One more than a chip image holds: refused before training, not
        // at `export` after it.
        (
            train(&["--neurons", "65536"]),
            "--neurons must be 1 to 65535, the most a chip image holds (got 65536)",
        ),
        (
            train(&["--params", &d("huge.json")]),
            "n_neurons must be 1 to 65535, the most a chip image holds (got 65536)",
        ),
        (
            train(&["--input-delay-ms", "100"]),
            "input_delay_ms must be in [0, 31 * dt_ms]",
        ),
        (train(&["--threshold-block-ms", "-1"]), "threshold_block_ms"),
        (train(&["--threads", "0"]), "'--threads <THREADS>': 0 is not in 1..=256"),
        (train(&["--epochs", "0"]), "'--epochs <EPOCHS>': 0 is not in 1..=1000"),
        (
            train(&["--limit", "0"]),
            "'--limit <LIMIT>': 0 is not in 1..=1000000000",
        ),
        (
            train(&["--window", "0"]),
            "'--window <WINDOW>': 0 is not in 1..=1000000000",
        ),
        (
            train(&["--checkpoint-every", "0"]),
            "'--checkpoint-every <CHECKPOINT_EVERY>': 0 is not in",
        ),
        (train(&["--params", &d("unknown.json")]), "unknown field `n_neuronz`"),
        (
            train(&["--params", &d("long.json")]),
            "present_ms and rest_ms must be <= 10000 ms",
        ),
        (train(&["--params", &d("none.json")]), "cannot read"),
        (
            train(&["--params", &d("both.json")]),
            "\"cuba\": true needs \"conductance\": false",
        ),
        (train(&["--resume"]), "--resume: cannot read model"),
        (
            ["train", "--data", "/nonexistent", "--out", &out]
                .map(String::from)
                .to_vec(),
            "MNIST directory /nonexistent does not exist",
        ),
        (
            ["eval", "--data", &data, "--model", &d("garbage.model")]
                .map(String::from)
                .to_vec(),
            "garbage.model",
        ),
        (
            ["eval", "--data", &data, "--model", &d("none.model"), "--limit", "0"]
                .map(String::from)
                .to_vec(),
            "'--limit <LIMIT>': 0 is not in 1..=1000000000",
        ),
        (
            ["export", "--model", &d("garbage.model"), "--out", &out]
                .map(String::from)
                .to_vec(),
            "garbage.model",
        ),
        (
            ["bench", "--data", &data, "--neurons", "0"].map(String::from).to_vec(),
            "--neurons must be 1 to 65535, the most a chip image holds (got 0)",
        ),
        (
            ["bench", "--data", &data, "--neurons", "100,65536"]
                .map(String::from)
                .to_vec(),
            "--neurons must be 1 to 65535, the most a chip image holds (got 65536)",
        ),
    ];
    // `hpo` (built with a study storage).
    let hpo_table: Vec<(Vec<String>, &str)> = vec![
        (hpo(&["--trials", "0"]), "'--trials <TRIALS>': 0 is not in 1..=1000000"),
        (
            hpo(&["--trials", "2", "--lease-secs", "0"]),
            "0 is not in 0.5..=86400 seconds",
        ),
        (
            hpo(&["--trials", "2", "--lease-secs", "nan"]),
            "nan is not in 0.5..=86400 seconds",
        ),
        (
            hpo(&["--trials", "2", "--max-attempts", "0"]),
            "'--max-attempts <MAX_ATTEMPTS>': 0 is not in 1..=1000",
        ),
        (
            hpo(&["--trials", "2", "--neurons", "0"]),
            "--neurons must be 1 to 65535, the most a chip image holds (got 0)",
        ),
        (
            hpo(&["--trials", "2", "--neurons", "65536"]),
            "--neurons must be 1 to 65535, the most a chip image holds (got 65536)",
        ),
        (hpo(&["--trials", "2", "--window", "0"]), "--window must be at least 1"),
        (
            hpo(&["--trials", "2", "--val-examples", "100000"]),
            "exceed the 60000 examples of the training set",
        ),
        (
            [
                "hpo",
                "run",
                "--study",
                "mysql://x",
                "--rule",
                "pair",
                "--trials",
                "2",
                "--data",
                &data,
            ]
            .map(String::from)
            .to_vec(),
            "use sqlite:///relative.db, sqlite:////absolute/path.db or postgresql://",
        ),
    ];
    if cfg!(feature = "hpo") {
        table.extend(hpo_table);
    }
    for (args, want) in &table {
        let o = common::host_sim_cmd(args).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        let first = err.lines().next().unwrap_or("");
        assert!(!o.status.success(), "{args:?}: accepted");
        assert!(
            first.starts_with("error: ") && first.contains(want),
            "{args:?}: first line `{first}` does not say `{want}`"
        );
        assert!(
            o.stdout.is_empty(),
            "{args:?}: printed {:?}",
            String::from_utf8_lossy(&o.stdout)
        );
    }
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        ["both.json", "garbage.model", "huge.json", "long.json", "unknown.json"],
        "nothing written, no study created"
    );
}
