//! `host-sim export --format npz` read back by the real NumPy: every array
//! equals the model's values bit for bit, and the lines of docs/results/python.md that draw
//! the receptive fields run as written.
//!
//! Python: `STDP_TEST_PYTHON` (an interpreter with numpy, and matplotlib
//! for that figure; `.ci/run` makes a virtual environment with
//! both), else `python3` if it imports numpy. Without one the test is
//! skipped with a message, unless `CI` is set: then it fails.

use std::path::Path;
use std::process::Command;

use stdp_host::config::Config;
use stdp_host::formats::model::Model;

mod common;
use common::{ok, say};

fn run_python(py: &Path, dir: &Path, script: &str) -> String {
    let o = Command::new(py)
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "python: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

/// What NumPy sees in the archive, as JSON (float arrays as the hex of
/// their little-endian f64 bytes, so the comparison is bit for bit).
const READ_BACK: &str = r#"
import json, numpy as np
z = np.load("m.npz")
f = lambda a: np.ascontiguousarray(a, dtype="<f8").tobytes().hex()
print(json.dumps({
    "names": sorted(z.files),
    "dtypes": {k: z[k].dtype.str for k in z.files},
    "shapes": {k: list(z[k].shape) for k in z.files},
    "weights": f(z["weights"]),
    "weights_col0": f(z["weights"][:, 0]),
    "theta_mv": f(z["theta_mv"]),
    "assignments": z["assignments"].tolist(),
    "history_examples": z["history_examples"].tolist(),
    "history_running_accuracy": f(z["history_running_accuracy"]),
    "history_spikes_per_example": f(z["history_spikes_per_example"]),
    "history_retries": z["history_retries"].tolist(),
    "config": json.loads(z["config_json"].item()),
    "meta": json.loads(z["meta_json"].item()),
}))
"#;

/// The lines of docs/results/python.md ("NumPy"), with the model's file name.
const DOC_SNIPPET: &str = r#"import numpy as np, matplotlib.pyplot as plt
z = np.load("dc100.npz")  # weights (784, N), theta_mv, assignments, history_*, config_json
fields = z["weights"].T.reshape(-1, 28, 28)  # one 28 x 28 receptive field per neuron
plt.imsave("fields.png", np.vstack([np.hstack(list(fields[r:r + 10])) for r in range(0, len(fields), 10)]), cmap="hot_r")"#;

#[test]
fn numpy_reads_every_array_of_the_exported_model_exactly_and_the_readme_lines_draw_the_fields() {
    let Some(py) = common::python("numpy") else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = common::shared("mnist");
    let (d, m, z) = (dir.path(), dir.path().join("m.model"), dir.path().join("m.npz"));
    let s = |p: &Path| p.display().to_string();
    ok(&[
        "train",
        "--data",
        &s(&data),
        "--neurons",
        "20",
        "--limit",
        "60",
        "--window",
        "20",
        "--assign",
        "40",
        "--quiet",
        "--out",
        &s(&m),
    ]);
    ok(&["export", "--model", &s(&m), "--format", "npz", "--out", &s(&z)]);
    let model = Model::load(&m).unwrap();
    let v: serde_json::Value = serde_json::from_str(&run_python(&py, d, READ_BACK)).unwrap();

    let names: Vec<&str> = v["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "assignments",
            "config_json",
            "history_examples",
            "history_retries",
            "history_running_accuracy",
            "history_spikes_per_example",
            "meta_json",
            "theta_mv",
            "weights"
        ]
    );
    assert_eq!(v["shapes"]["weights"], serde_json::json!([784, 20]));
    assert_eq!(v["dtypes"]["weights"], "<f8");
    assert_eq!(v["dtypes"]["assignments"], "<i2");
    // The f64 bytes NumPy holds for array `k`, against `want`.
    let same = |k: &str, want: &[f64]| {
        let hex = v[k].as_str().unwrap();
        let got: Vec<u64> = (0..hex.len() / 16)
            .map(|i| u64::from_str_radix(&hex[16 * i..16 * i + 16], 16).unwrap().swap_bytes())
            .collect();
        let want: Vec<u64> = want.iter().map(|x| x.to_bits()).collect();
        let differ = got.iter().zip(&want).filter(|(a, b)| a != b).count();
        assert!(
            got.len() == want.len() && differ == 0,
            "{k}: {} values, {differ} differ",
            got.len()
        );
    };
    same("weights", &model.weights);
    let col0: Vec<f64> = (0..784).map(|i| model.weights[i * 20]).collect();
    same("weights_col0", &col0); // weights[:, j] is neuron j's field
    same("theta_mv", &model.theta);
    let assignments: Vec<i16> = serde_json::from_value(v["assignments"].clone()).unwrap();
    let want: Vec<i16> = model
        .meta
        .assignments
        .iter()
        .map(|&a| if a == 255 { -1 } else { a as i16 })
        .collect();
    assert_eq!(assignments, want);
    let h = &model.meta.history;
    assert_eq!(h.len(), 3);
    let ex: Vec<u64> = serde_json::from_value(v["history_examples"].clone()).unwrap();
    assert_eq!(ex, h.iter().map(|p| p.examples).collect::<Vec<_>>());
    // NaN before the first assignment (its bits as Rust writes f64::NAN).
    let acc: Vec<f64> = h.iter().map(|p| p.running_accuracy.unwrap_or(f64::NAN)).collect();
    assert!(h[0].running_accuracy.is_none() && h[1].running_accuracy.is_some());
    same("history_running_accuracy", &acc);
    same(
        "history_spikes_per_example",
        &h.iter().map(|p| p.spikes_per_example).collect::<Vec<_>>(),
    );
    let retries: Vec<u64> = serde_json::from_value(v["history_retries"].clone()).unwrap();
    assert_eq!(retries, h.iter().map(|p| p.retries).collect::<Vec<_>>());
    let cfg: Config = serde_json::from_value(v["config"].clone()).unwrap();
    assert_eq!(cfg, model.meta.config, "config_json is the model's Config");
    assert_eq!(v["meta"]["examples_trained"], 60);
    assert_eq!(v["meta"]["backend"], model.meta.backend.name());

    // The lines of docs/results/python.md, as written (on a copy named as there).
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/results/python.md")).unwrap();
    assert!(doc.contains(DOC_SNIPPET), "docs/results/python.md shows DOC_SNIPPET");
    let has_plt = Command::new(&py)
        .args(["-c", "import matplotlib"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_plt {
        assert!(std::env::var_os("CI").is_none(), "CI is set but matplotlib is missing");
        say("SKIPPED the receptive-field lines of docs/results/python.md: matplotlib is not installed");
        return;
    }
    std::fs::copy(&z, d.join("dc100.npz")).unwrap();
    run_python(
        &py,
        d,
        &format!("import matplotlib; matplotlib.use('Agg')\n{DOC_SNIPPET}"),
    );
    let png = std::fs::read(d.join("fields.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "fields.png is a PNG");
    let (w, h) = png_size(&png);
    assert_eq!((w, h), (280, 56), "2 rows of 10 fields of 28 x 28");
}

fn png_size(png: &[u8]) -> (u32, u32) {
    let be = |i: usize| u32::from_be_bytes([png[i], png[i + 1], png[i + 2], png[i + 3]]);
    (be(16), be(20))
}
