//! `host-sim export --format nir` read back by the real `nir` package:
//! the graph's nodes, edges and shapes, the weights bit for bit, theta
//! folded into the thresholds, the inhibition; and the models NIR cannot
//! hold refused with the reason. Then host-sim reading its graphs back
//! (`--model FILE.nir`): the same model and the same spikes, digit by
//! digit; the chip's image of the graph identical to the model's; a graph
//! written by `nir` itself (another tool's) evaluated; the closest graph
//! of a conductance network read back as synaptic currents.
//!
//! Python: `STDP_TEST_PYTHON` (with nir; `.ci/run` makes the virtual
//! environment), else `python3`; skipped without it unless `CI` is set.

mod common;

use std::path::Path;
use std::process::Command;

use stdp_core::{InhibitionKind, NeuronModel, Rule};
use stdp_host::config::Config;
use stdp_host::formats::model::Model;
use stdp_nir::load_model;

/// `common::host_sim`, with `STDP_PYTHON` set to `python` if given.
fn host_sim(args: &[&str], python: Option<&Path>) -> std::process::Output {
    let mut c = common::host_sim_cmd(args);
    if let Some(py) = python {
        c.env("STDP_PYTHON", py);
    }
    c.output().unwrap()
}

fn data() -> String {
    common::shared("mnist").display().to_string()
}

/// The current-based variant (BindsNET's example's neurons): delta-synapse
/// LIF layers.
fn lif_config(inhibition: InhibitionKind) -> Config {
    let mut c = Config {
        n_neurons: 12,
        inhibition,
        w_exc_inh: 22.5,
        w_inh_exc: 17.5,
        ..Config::default()
    };
    c.stdp.rule = Rule::Pair;
    c.exc.model = NeuronModel::Lif;
    c.exc.v_reset_mv = -60.0;
    c.exc.v_init_mv = -65.0;
    c.inh.model = NeuronModel::Lif;
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
    for inhibition in [InhibitionKind::Layer, InhibitionKind::Direct] {
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
            InhibitionKind::Layer => {
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
            .map(|t| ((cfg.exc.v_thresh_mv - cfg.exc.theta_offset_mv) + t).to_bits())
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

fn export_nir(model: &Path, out: &Path, py: &Path, extra: &[&str]) {
    let mut args = vec![
        "export",
        "--model",
        model.to_str().unwrap(),
        "--format",
        "nir",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = host_sim(&args, Some(py));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Spike counts per neuron of the first `n` test digits, learning off.
fn spikes(model: &Model, n: usize) -> Vec<Vec<u32>> {
    let (_, test) = stdp_host::formats::mnist::load_dir(Path::new(&data())).unwrap();
    let mut sim = stdp_host::sim::train::sim_from_model::<f32>(model).unwrap();
    (0..n)
        .map(|i| {
            let mut rng = stdp_host::sim::dc::example_rng(7, 1, i as u64);
            sim.present(test.digit(i), &mut rng, false, true).counts
        })
        .collect()
}

fn image_of(model: &Path, dir: &Path, py: &Path) -> Vec<u8> {
    let out = dir.join(format!("{}.img", model.file_name().unwrap().to_str().unwrap()));
    let o = host_sim(
        &[
            "export",
            "--model",
            model.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        Some(py),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::read(out).unwrap()
}

/// Synaptic currents with one time constant: exactly a CubaLIF.
fn cuba_config() -> Config {
    let mut c = Config {
        n_neurons: 12,
        ..Config::default()
    };
    c.stdp.rule = Rule::Pair;
    for n in [&mut c.exc, &mut c.inh] {
        n.model = NeuronModel::CubaLif;
        n.tau_gi_ms = n.tau_ge_ms;
    }
    c
}

#[test]
fn a_round_trip_through_nir_gives_the_same_model_and_the_same_spikes() {
    let Some(py) = common::python("nir, h5py, numpy") else {
        return;
    };
    std::env::set_var("STDP_PYTHON", &py);
    let dir = tempfile::tempdir().unwrap();
    for (name, cfg) in [
        ("lif-layer", lif_config(InhibitionKind::Layer)),
        ("lif-direct", lif_config(InhibitionKind::Direct)),
        ("cuba-layer", cuba_config()),
        (
            "cuba-direct",
            Config {
                inhibition: InhibitionKind::Direct,
                ..cuba_config()
            },
        ),
    ] {
        let model_path = train(dir.path(), &cfg, name);
        let nir = dir.path().join(format!("{name}.nir"));
        export_nir(&model_path, &nir, &py, &[]);
        let (a, b) = (Model::load(&model_path).unwrap(), load_model(&nir).unwrap());
        assert_eq!(b.meta.config, a.meta.config, "{name}: parameters");
        assert_eq!(b.weights, a.weights, "{name}: weights");
        assert_eq!(b.theta, a.theta, "{name}: theta");
        assert_eq!(b.meta.assignments, a.meta.assignments, "{name}: assignments");
        let (sa, sb) = (spikes(&a, 30), spikes(&b, 30));
        assert!(
            sa.iter().flatten().sum::<u32>() > 30,
            "{name}: too few spikes to compare"
        );
        assert_eq!(sa, sb, "{name}: spikes digit by digit");
        assert_eq!(
            image_of(&nir, dir.path(), &py),
            image_of(&model_path, dir.path(), &py),
            "{name}: the chip's image of the graph"
        );
    }
}

/// What another tool would write: a CubaLIF layer with direct inhibition,
/// built with `nir` alone (no host-sim metadata), evaluated by host-sim.
#[test]
fn a_graph_written_by_nir_itself_is_evaluated() {
    let Some(py) = common::python("nir, h5py, numpy") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let nir = dir.path().join("foreign.nir");
    let make = r#"
import sys, numpy as np, nir
n = 10
rng = np.random.default_rng(3)
w = rng.uniform(0, 0.3, (n, 784))
full = lambda x: np.full(n, float(x))
g = nir.NIRGraph(
    nodes={
        "x": nir.Input(input_type={"input": np.array([784])}),
        "fc": nir.Linear(weight=w),
        "lif": nir.CubaLIF(tau_syn=full(0.002), tau_mem=full(0.05), r=full(0.1), v_leak=full(0.0),
                           v_threshold=full(5.0), v_reset=full(0.0), w_in=full(1.0)),
        "rec": nir.Linear(weight=-2.0 * (1 - np.eye(n))),
        "y": nir.Output(output_type={"output": np.array([n])}),
    },
    edges=[("x", "fc"), ("fc", "lif"), ("lif", "y"), ("lif", "rec"), ("rec", "lif")],
)
nir.write(sys.argv[1], g)
"#;
    let o = Command::new(&py).arg("-c").arg(make).arg(&nir).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = host_sim(
        &[
            "eval",
            "--data",
            &data(),
            "--model",
            nir.to_str().unwrap(),
            "--limit",
            "50",
            "--reassign",
            "100",
            "--json",
        ],
        Some(&py),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["examples"], 50);
    assert!(r["spikes_per_example"].as_f64().unwrap() > 0.0, "{r}");
    // The mapping: e_exc - v_rest = r w_in / tau_syn = 50 mV, no refractory period.
    let o = host_sim(
        &[
            "export",
            "--model",
            nir.to_str().unwrap(),
            "--format",
            "npz",
            "--out",
            dir.path().join("f.npz").to_str().unwrap(),
        ],
        Some(&py),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let read = r#"
import json, sys, numpy as np
z = np.load(sys.argv[1])
c = json.loads(z["config_json"].item())
print(json.dumps([c["exc"]["cuba"], c["exc"]["e_exc_mv"], c["exc"]["refractory_ms"], c["exc"]["tau_ge_ms"], c["inhibition"], c["direct_inh_weight"]]))
"#;
    let o = Command::new(&py)
        .arg("-c")
        .arg(read)
        .arg(dir.path().join("f.npz"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v, serde_json::json!([true, 50.0, 0.0, 2.0, "direct", 2.0]));
}

#[test]
fn the_closest_graph_of_a_conductance_network_reads_back_as_synaptic_currents() {
    let Some(py) = common::python("nir, h5py, numpy") else {
        return;
    };
    std::env::set_var("STDP_PYTHON", &py);
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config {
        n_neurons: 12,
        ..Config::default()
    };
    let model = train(dir.path(), &cfg, "dc");
    let nir = dir.path().join("dc.nir");
    let o = host_sim(
        &[
            "export",
            "--model",
            model.to_str().unwrap(),
            "--format",
            "nir",
            "--out",
            nir.to_str().unwrap(),
        ],
        Some(&py),
    );
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("--approximate"), "{e}");
    export_nir(&model, &nir, &py, &["--approximate"]);
    let (a, b) = (Model::load(&model).unwrap(), load_model(&nir).unwrap());
    let (ca, cb) = (&a.meta.config, &b.meta.config);
    assert!(cb.exc.model == NeuronModel::CubaLif && cb.inh.model == NeuronModel::CubaLif);
    // The driving forces at the mean threshold.
    let base = ca.exc.v_thresh_mv - ca.exc.theta_offset_mv;
    let v_ref = a.theta.iter().map(|t| base + t).sum::<f64>() / a.theta.len() as f64;
    let close = |x: f64, y: f64| (x - y).abs() <= 1e-9 * y.abs();
    assert!(
        close(cb.exc.e_exc_mv - cb.exc.v_rest_mv, ca.exc.e_exc_mv - v_ref),
        "e_exc {} for v_ref {v_ref}",
        cb.exc.e_exc_mv
    );
    assert_eq!(
        (cb.exc.tau_ge_ms, cb.exc.tau_gi_ms),
        (ca.exc.tau_ge_ms, ca.exc.tau_ge_ms)
    );
    // Inhibition: the same charge per inhibitory spike at v_ref.
    let charge_a = ca.w_inh_exc * ca.exc.tau_gi_ms * (ca.exc.e_inh_mv - v_ref);
    let charge_b = cb.w_inh_exc * cb.exc.tau_gi_ms * (cb.exc.e_inh_mv - cb.exc.v_rest_mv);
    assert!(close(charge_b, charge_a), "{charge_b} vs {charge_a}");
    assert_eq!(
        (cb.exc.refractory_ms, cb.dt_ms),
        (ca.exc.refractory_ms, ca.dt_ms),
        "from the metadata"
    );
    assert_eq!(b.weights, a.weights);
    assert!(spikes(&b, 30).iter().flatten().sum::<u32>() > 0);
}

#[test]
fn models_nir_cannot_hold_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config {
        input_delay_ms: 5.0,
        ..lif_config(InhibitionKind::Layer)
    };
    let model = train(dir.path(), &cfg, "delays");
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
    assert!(e.contains("NIR's Linear has no synaptic delays"), "{e}");
    assert!(!out.exists());
}
