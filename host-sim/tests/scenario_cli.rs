//! `host-sim scenario` on good and bad files: a bad file gets a one-line
//! error naming the key or line, a non-zero exit, and no output file.

use std::path::Path;

mod common;
use common::host_sim;

const GOOD: &str = r#"
dt_ms = 0.5
duration_ms = 50.0

[neurons]
count = 1
model = "lif"
v_rest_mv = -65.0
v_reset_mv = -65.0
v_thresh_mv = -52.0
tau_m_ms = 100.0
refractory_ms = 5.0

[inputs]
count = 2
spikes = [[0, 10.0], [1, 12.5], [0, 20.0]]

[synapses]
weights = [[14.0], [0.3]]
w_max = 20.0
rule = "pair"
nu_pre = 0.01
nu_post = 0.1
tau_pre_ms = 20.0
tau_post1_ms = 20.0

[record]
v = true
weights_every_ms = 10.0
"#;

fn run(text: &str, backend: &str, dir: &Path) -> (bool, String, bool) {
    let file = dir.join("s.toml");
    let out = dir.join("out.json");
    let _ = std::fs::remove_file(&out);
    std::fs::write(&file, text).unwrap();
    let o = host_sim(&[
        "scenario",
        file.to_str().unwrap(),
        "--backend",
        backend,
        "--out",
        out.to_str().unwrap(),
    ]);
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
        out.exists(),
    )
}

#[test]
fn the_ambiguous_backend_name_float_is_refused_with_what_to_write() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, err, exists) = run(GOOD, "float", dir.path());
    assert!(!ok && !exists, "{err}");
    assert!(
        err.contains("`float` is ambiguous") && err.contains("write f32 or f64"),
        "{err}"
    );
}

#[test]
fn good_file_writes_output_on_every_backend() {
    let dir = tempfile::tempdir().unwrap();
    for backend in ["f64", "f32", "fixed"] {
        let (ok, err, exists) = run(GOOD, backend, dir.path());
        assert!(ok && exists, "{backend}: {err}");
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("out.json")).unwrap()).unwrap();
        assert_eq!(json["backend"], backend);
        // The 14 mV input at 10 ms lifts v from -65 to -51 > -52: spike at the next step.
        assert_eq!(json["spikes"][0][1].as_f64(), Some(10.5));
        assert_eq!(json["v"][0].as_array().unwrap().len(), 100);
        assert_eq!(json["weights_history"].as_array().unwrap().len(), 5);
    }
}

#[test]
fn bad_files_fail_with_one_line_naming_the_problem_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str, &str)] = &[
        (
            "tau_m_ms = 100.0",
            "tau_m_ms = 100.0\ntau = 3.0",
            "line 12: unknown field `tau`",
        ),
        ("refractory_ms = 5.0\n", "", "missing field `refractory_ms`"),
        (
            "[1, 12.5]",
            "[2, 12.5]",
            "inputs.spikes[1]: input index 2 is out of range",
        ),
        (
            "[0, 20.0]",
            "[0, 10.3]",
            "inputs.spikes[2]: input 0 already spikes in step 20",
        ),
        ("tau_m_ms = 100.0", "tau_m_ms = 0.0", "neurons.tau_m_ms: must be > 0"),
        (
            "tau_pre_ms = 20.0",
            "tau_pre_ms = -20.0",
            "synapses.tau_pre_ms: must be > 0",
        ),
        ("nu_post = 0.1\n", "", "synapses.nu_post: missing"),
        ("[0.3]]", "[0.3, 0.1]]", "synapses.weights[1]: has 2 entries"),
        (
            "[0.3]]",
            "[25.0]]",
            "synapses.weights[1][0]: 25 is outside [0, w_max = 20]",
        ),
        (
            "weights_every_ms = 10.0",
            "weights_every_ms = 0.3",
            "record.weights_every_ms: 0.3 is not a multiple",
        ),
        (
            "model = \"lif\"",
            "model = \"izhikevich\"",
            "line 7: unknown variant `izhikevich`",
        ),
        (
            "model = \"lif\"",
            "model = \"cuba-lif\"",
            "neurons.model: must be \"lif\" or \"conductance\" (got \"cuba-lif\")",
        ),
        ("dt_ms = 0.5", "dt_ms = \"fast\"", "line 2: invalid type"),
        ("duration_ms = 50.0", "duration_ms = -1.0", "duration_ms: must be > 0"),
        (
            "v_rest_mv = -65.0",
            "v_rest_mv = -65.0\ntau_ge_ms = 1.0",
            "neurons.tau_ge_ms: applies only to model",
        ),
    ];
    for (from, to, expect) in cases {
        assert!(GOOD.contains(from), "{from}");
        let text = GOOD.replacen(from, to, 1);
        let (ok, err, exists) = run(&text, "f64", dir.path());
        assert!(!ok, "accepted: {to}");
        assert!(!exists, "wrote output for: {to}");
        assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
        assert!(err.contains(expect), "expected `{expect}` in: {err}");
    }
}

#[test]
fn parameters_outside_the_fixed_range_are_refused_by_the_fixed_backend_only() {
    let dir = tempfile::tempdir().unwrap();
    let text = GOOD.replacen("v_thresh_mv = -52.0", "v_thresh_mv = 3000.0", 1);
    let (ok, _, _) = run(&text, "f64", dir.path());
    assert!(ok);
    let (ok, err, exists) = run(&text, "fixed", dir.path());
    assert!(!ok && !exists);
    assert!(
        err.contains("neurons.v_thresh_mv: outside the fixed-point range"),
        "{err}"
    );
}

#[test]
fn missing_or_garbage_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, err, exists) = run("\u{0}\u{1}garbage = = =", "f64", dir.path());
    assert!(
        !ok && !exists && err.starts_with("error: ") && err.contains("line 1"),
        "{err}"
    );
    let o = host_sim(&[
        "scenario",
        "/nonexistent.toml",
        "--out",
        dir.path().join("x.json").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot read /nonexistent.toml"));
}
