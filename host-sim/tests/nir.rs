//! `host-sim export --format nir` read back by the real `nir` package:
//! the graph's nodes, edges and shapes, the weights bit for bit, theta
//! folded into the thresholds, the inhibition; and the models NIR cannot
//! hold refused with the reason.
//!
//! Python: `STDP_TEST_PYTHON` (with nir; `.ci/run` makes the virtual
//! environment), else `python3`; skipped without it unless `CI` is set.

mod common;

use std::path::Path;
use std::process::Command;

use host_sim::config::{Config, InhibArg, RuleArg};
use host_sim::model::Model;

fn host_sim(args: &[&str], python: Option<&Path>) -> std::process::Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_host-sim"));
    c.args(args);
    if let Some(py) = python {
        c.env("STDP_PYTHON", py);
    }
    c.output().unwrap()
}

fn data() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/mnist")
        .display()
        .to_string()
}

/// The current-based variant (BindsNET's example's neurons): delta-synapse
/// LIF layers.
fn lif_config(inhibition: InhibArg) -> Config {
    let mut c = Config {
        n_neurons: 12,
        rule: RuleArg::Pair,
        inhibition,
        w_exc_inh: 22.5,
        w_inh_exc: 17.5,
        ..Config::default()
    };
    c.exc.conductance = false;
    c.exc.v_reset_mv = -60.0;
    c.exc.v_init_mv = -65.0;
    c.inh.conductance = false;
    c.inh.v_init_mv = -60.0;
    c
}

fn train(dir: &Path, cfg: &Config, name: &str) -> std::path::PathBuf {
    let params = dir.join(format!("{name}.json"));
    std::fs::write(&params, serde_json::to_string(cfg).unwrap()).unwrap();
    let model = dir.join(format!("{name}.model"));
    let o = host_sim(
        &[
            "train",
            "--data",
            &data(),
            "--params",
            params.to_str().unwrap(),
            "--limit",
            "60",
            "--assign",
            "40",
            "--window",
            "20",
            "--quiet",
            "--out",
            model.to_str().unwrap(),
        ],
        None,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    model
}

const READ: &str = r#"
import json, sys, numpy as np, nir
g = nir.read(sys.argv[1])
hexf = lambda a: np.ascontiguousarray(a, dtype="<f8").tobytes().hex()
out = {
    "types": {k: type(v).__name__ for k, v in g.nodes.items()},
    "edges": sorted([a, b] for a, b in g.edges),
    "w_in_shape": list(g.nodes["w_in"].weight.shape),
    "w_in": hexf(g.nodes["w_in"].weight),
    "threshold": hexf(g.nodes["exc"].v_threshold),
    "tau": g.nodes["exc"].tau.tolist(),
    "r": g.nodes["exc"].r.tolist(),
    "v_leak": g.nodes["exc"].v_leak.tolist(),
    "v_reset": g.nodes["exc"].v_reset.tolist(),
    "assignments": np.asarray(g.metadata["assignments"]).tolist(),
}
for k in ("w_exc_inh", "w_inh_exc", "w_lateral"):
    if k in g.nodes:
        out[k] = g.nodes[k].weight.tolist()
print(json.dumps(out))
"#;

fn floats(hex: &str) -> Vec<u64> {
    (0..hex.len() / 16)
        .map(|i| u64::from_str_radix(&hex[16 * i..16 * i + 16], 16).unwrap().swap_bytes())
        .collect()
}

#[test]
fn nir_reads_the_exported_graph_with_the_models_exact_values() {
    let Some(py) = common::python("nir, h5py, numpy") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for inhibition in [InhibArg::Layer, InhibArg::Direct] {
        let cfg = lif_config(inhibition);
        let model_path = train(dir.path(), &cfg, &format!("{inhibition:?}"));
        let out = dir.path().join(format!("{inhibition:?}.nir"));
        let o = host_sim(
            &[
                "export",
                "--model",
                model_path.to_str().unwrap(),
                "--format",
                "nir",
                "--out",
                out.to_str().unwrap(),
            ],
            Some(&py),
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let r = Command::new(&py).arg("-c").arg(READ).arg(&out).output().unwrap();
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
        let model = Model::load(&model_path).unwrap();
        let n = cfg.n_neurons;

        let edges: Vec<(String, String)> = serde_json::from_value(v["edges"].clone()).unwrap();
        let mut want: Vec<(&str, &str)> = vec![("exc", "output"), ("input", "w_in"), ("w_in", "exc")];
        match inhibition {
            InhibArg::Layer => {
                assert_eq!(v["types"]["inh"], "LIF");
                want.extend([
                    ("exc", "w_exc_inh"),
                    ("inh", "w_inh_exc"),
                    ("w_exc_inh", "inh"),
                    ("w_inh_exc", "exc"),
                ]);
                let ei: Vec<Vec<f64>> = serde_json::from_value(v["w_exc_inh"].clone()).unwrap();
                let ie: Vec<Vec<f64>> = serde_json::from_value(v["w_inh_exc"].clone()).unwrap();
                for j in 0..n {
                    for k in 0..n {
                        assert_eq!(ei[j][k], if j == k { 22.5 } else { 0.0 });
                        assert_eq!(ie[j][k], if j == k { 0.0 } else { -17.5 }, "onto every other neuron");
                    }
                }
            }
            _ => {
                want.extend([("exc", "w_lateral"), ("w_lateral", "exc")]);
                let l: Vec<Vec<f64>> = serde_json::from_value(v["w_lateral"].clone()).unwrap();
                assert_eq!(l[0][1], -cfg.direct_inh_weight);
                assert_eq!(l[1][1], 0.0);
            }
        }
        want.sort();
        let want: Vec<(String, String)> = want.into_iter().map(|(a, b)| (a.into(), b.into())).collect();
        assert_eq!(edges, want, "{inhibition:?}");
        assert_eq!(v["types"]["exc"], "LIF");
        assert_eq!(v["types"]["w_in"], "Linear");
        assert_eq!(v["types"]["input"], "Input");
        assert_eq!(v["w_in_shape"], serde_json::json!([n, 784]));
        // weight[j, i] = the model's weights[i * n + j], bit for bit.
        let w_t: Vec<u64> = (0..n)
            .flat_map(|j| (0..784).map(move |i| (i, j)))
            .map(|(i, j)| model.weights[i * n + j].to_bits())
            .collect();
        assert_eq!(floats(v["w_in"].as_str().unwrap()), w_t, "weights");
        let thr: Vec<u64> = model
            .theta
            .iter()
            .map(|t| (cfg.exc.v_thresh_mv + t - cfg.exc.theta_offset_mv).to_bits())
            .collect();
        assert_eq!(
            floats(v["threshold"].as_str().unwrap()),
            thr,
            "theta folded into the thresholds"
        );
        assert!(
            model.theta.iter().any(|&t| t != cfg.exc.theta_init_mv),
            "theta has adapted"
        );
        let all = |k: &str, x: f64| v[k].as_array().unwrap().iter().all(|y| y.as_f64() == Some(x));
        assert!(
            all("tau", cfg.exc.tau_m_ms * 1e-3) && all("r", cfg.exc.tau_m_ms * 1e-3),
            "seconds, r = tau"
        );
        assert!(all("v_leak", cfg.exc.v_rest_mv) && all("v_reset", cfg.exc.v_reset_mv));
        let assignments: Vec<i64> = serde_json::from_value(v["assignments"].clone()).unwrap();
        let want: Vec<i64> = model
            .meta
            .assignments
            .iter()
            .map(|&a| if a == 255 { -1 } else { a as i64 })
            .collect();
        assert_eq!(assignments, want);
    }
}

#[test]
fn models_nir_cannot_hold_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = lif_config(InhibArg::Layer);
    cfg.exc.conductance = true;
    let model = train(dir.path(), &cfg, "conductance");
    let out = dir.path().join("x.nir");
    let o = host_sim(
        &[
            "export",
            "--model",
            model.to_str().unwrap(),
            "--format",
            "nir",
            "--out",
            out.to_str().unwrap(),
        ],
        None,
    );
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("NIR has no conductance synapses"), "{e}");
    assert!(!out.exists());
}
