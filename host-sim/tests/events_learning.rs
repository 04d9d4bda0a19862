//! Learning from event data through the command line (issue 28, part 2):
//! `train` and `eval` on recordings in N-MNIST's layout (the shared
//! sample's real recordings, read where they are) and on MNIST digits
//! recorded on the fly by the emulator (`--input saccades`); the same seed
//! gives the same model for any thread count; an event model exports to a
//! chip image; commands that do not take event models yet refuse them in
//! one line. Small networks, tens of
//! recordings: run with `--release`.

use std::path::Path;

use stdp_host::config::{Config, InputConfig};
use stdp_host::formats::model::Model;

mod common;
use common::{assert_ok, host_sim, host_sim_cmd, ok, shared};

fn train(data: &Path, out: &Path, extra: &[&str]) -> Model {
    train_with(data, out, extra, "adaptive")
}

/// [`train`] with `STDP_SPLIT` set to `split` (`always`: every presentation
/// on all shards).
fn train_with(data: &Path, out: &Path, extra: &[&str], split: &str) -> Model {
    let mut args = vec![
        "train",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ];
    args.extend_from_slice(extra);
    assert_ok(&host_sim_cmd(&args).env("STDP_SPLIT", split).output().unwrap(), "train");
    Model::load(out).unwrap()
}

#[test]
fn trains_and_evaluates_on_n_mnist_layout_data() {
    let dir = tempfile::tempdir().unwrap();
    let data = shared("nmnist-sample");
    let m = dir.path().join("ev.model");
    let model = train(
        &data,
        &m,
        &["--neurons", "20", "--limit", "40", "--assign", "40", "--seed", "3"],
    );
    let cfg = model.meta.config;
    assert_eq!(cfg.n_inputs, 2312, "34 x 34 pixels x ON/OFF");
    assert!(matches!(cfg.input, InputConfig::Events(_)), "{:?}", cfg.input);
    assert_eq!(model.meta.examples_trained, 40);
    assert!(
        model.meta.assignments.iter().any(|&a| a < 10),
        "some neuron has a class"
    );
    let json = ok(&[
        "eval",
        "--data",
        data.to_str().unwrap(),
        "--model",
        m.to_str().unwrap(),
        "--limit",
        "30",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let acc = v["accuracy"].as_f64().expect("accuracy");
    assert!((0.0..=1.0).contains(&acc), "{json}");
    assert_eq!(v["examples"], 30);
    assert!(v["spikes_per_example"].as_f64().unwrap() > 0.0, "{json}");

    // The model file's header says events; it reads back as it was.
    let text = serde_json::to_value(cfg).unwrap();
    assert_eq!(text["input"]["kind"], "events", "{text}");
    assert_eq!(serde_json::from_value::<Config>(text).unwrap(), cfg);

    // crosscheck takes the same data.
    let json = ok(&[
        "crosscheck",
        "--data",
        data.to_str().unwrap(),
        "--model",
        m.to_str().unwrap(),
        "--limit",
        "10",
        "--train-examples",
        "5",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(v["agreement"].as_f64().unwrap() >= 0.0, "{json}");

    // plot draws the event model's receptive fields (ON/OFF pairs), the
    // confusion matrix and a recording's input spikes.
    let figs = dir.path().join("figs");
    ok(&[
        "plot",
        "--model",
        m.to_str().unwrap(),
        "--out",
        figs.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--limit",
        "10",
    ]);
    for f in ["receptive_fields", "confusion", "input_raster", "theta"] {
        assert!(figs.join(f).with_extension("png").is_file(), "{f}");
    }
    let svg = std::fs::read_to_string(figs.join("receptive_fields.svg")).unwrap();
    assert!(svg.contains("ON | OFF"));

    // The chip image of an event model holds its event input; the host's
    // twin of the chip runs a real recording from it.
    let img = dir.path().join("ev.img");
    ok(&["export", "--model", m.to_str().unwrap(), "--out", img.to_str().unwrap()]);
    let bytes = std::fs::read(&img).unwrap();
    assert_eq!(&bytes[8..10], &2u16.to_le_bytes(), "an event image is version 2");
    let mut twin = stdp_host::export::ImageSim::new(bytes).unwrap();
    let ev = twin.events().expect("the image's event input");
    assert_eq!(ev.layout, stdp_core::present_events::EventLayout::NMNIST);
    let split = stdp_events::dataset::Split::list(&data, stdp_events::dataset::Part::Test).unwrap();
    let mut events = Vec::new();
    split.read(0, &mut events).unwrap();
    let chip = stdp_host::export::ChipEvents {
        step_spikes: 2312,
        replay_events: 8192,
    };
    let r = twin.infer_events(&events, chip).unwrap();
    assert_eq!(r.out.events.delivered as usize, events.len());
    assert_eq!(r.counts.len(), 20);

    // Commands without event input yet refuse it in one line.
    // NumPy takes it too (the weights of its 2,312 inputs).
    let npz = dir.path().join("ev.npz");
    ok(&[
        "export",
        "--model",
        m.to_str().unwrap(),
        "--format",
        "npz",
        "--out",
        npz.to_str().unwrap(),
    ]);
    assert!(std::fs::metadata(&npz).unwrap().len() > 2312 * 20 * 8);
    // NIR cannot hold an event layout yet: refused in one line.
    let out = dir.path().join("x");
    let o = host_sim(&[
        "export",
        "--model",
        m.to_str().unwrap(),
        "--format",
        "nir",
        "--out",
        out.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && !out.exists(), "{err}");
    assert!(err.contains("does not support event-input models"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    // A digit model on event data, an event model on digits: one line each.
    let mnist = shared("mnist");
    let o = host_sim(&[
        "eval",
        "--data",
        mnist.to_str().unwrap(),
        "--model",
        m.to_str().unwrap(),
        "--limit",
        "5",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("--input saccades"), "{err}");
    // device: an event model on MNIST digits, refused before connecting.
    let o = host_sim(&[
        "device",
        "--connect",
        "unix:/nonexistent.sock",
        "--data",
        mnist.to_str().unwrap(),
        "--model",
        m.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("the model takes events"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    // bench times an event network on the recordings.
    let json = ok(&[
        "bench",
        "--data",
        data.to_str().unwrap(),
        "--neurons",
        "10",
        "--examples",
        "3",
        "--settings",
        "paper",
        "--backend",
        "fixed",
        "--mode",
        "train",
        "--json",
    ]);
    let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(rows[0]["inputs"], 2312, "{json}");
    assert!(rows[0]["examples_per_s"].as_f64().unwrap() > 0.0, "{json}");
}

#[test]
fn the_same_seed_gives_the_same_model_for_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let data = shared("nmnist-sample");
    // 1,024 neurons: two shards with two threads (the sharded path: every
    // presentation split, and the adaptive default, which starts on one
    // shard and moves when the machine lets it).
    let common = [
        "--neurons",
        "1024",
        "--limit",
        "6",
        "--assign",
        "6",
        "--seed",
        "5",
        "--retry",
        "gain:2",
    ];
    let run = |name: &str, threads: &str, split: &str| {
        let mut a = common.to_vec();
        a.extend_from_slice(&["--threads", threads]);
        train_with(&data, &dir.path().join(name), &a, split)
    };
    let a = run("a.model", "1", "adaptive");
    let b = run("b.model", "1", "adaptive");
    let c = run("c.model", "2", "always");
    let e = run("e.model", "2", "adaptive");
    for other in [&b, &c, &e] {
        assert!(
            a.weights
                .iter()
                .zip(&other.weights)
                .all(|(x, y)| x.to_bits() == y.to_bits()),
            "weights differ"
        );
        assert!(a
            .theta
            .iter()
            .zip(&other.theta)
            .all(|(x, y)| x.to_bits() == y.to_bits()));
        assert_eq!(a.meta.assignments, other.meta.assignments);
    }
    let o = host_sim_cmd([
        "train",
        "--data",
        data.to_str().unwrap(),
        "--neurons",
        "1024",
        "--limit",
        "1",
        "--out",
        dir.path().join("x.model").to_str().unwrap(),
    ])
    .env("STDP_SPLIT", "sometimes")
    .output()
    .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("STDP_SPLIT=sometimes"), "{err}");
    // Another seed, another network.
    let mut args = common.to_vec();
    args[7] = "6";
    let d = train(&data, &dir.path().join("d.model"), &args);
    assert_ne!(a.weights, d.weights);
}

#[test]
fn saccades_train_on_mnist_digits_and_evaluate_on_real_recordings() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("sac.model");
    let mnist = shared("mnist");
    let common = [
        "--input",
        "saccades",
        "--neurons",
        "20",
        "--limit",
        "20",
        "--assign",
        "20",
        "--backend",
        "fixed",
    ];
    let a = train(&mnist, &m, &common);
    assert_eq!(a.meta.config.n_inputs, 2312);
    assert_eq!(a.meta.examples_trained, 20);
    let b = train(&mnist, &dir.path().join("again.model"), &common);
    assert_eq!(a.weights, b.weights, "the recordings follow the seed");
    // Evaluated on real recordings.
    let data = shared("nmnist-sample");
    let json = ok(&[
        "eval",
        "--data",
        data.to_str().unwrap(),
        "--model",
        m.to_str().unwrap(),
        "--limit",
        "10",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(v["accuracy"].as_f64().is_some(), "{json}");
}

#[test]
fn digit_files_still_read_and_refuse_event_data_cleanly() {
    // The docs' parameter files are digit configurations, unchanged, but
    // for the N-MNIST ones (nmnist*.json), which check as event networks.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/params");
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        if p.extension().is_some_and(|x| x == "json") && !name.starts_with("emulator") {
            let c: Config = serde_json::from_str(&std::fs::read_to_string(&p).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            if name.starts_with("nmnist") {
                assert!(matches!(c.input, InputConfig::Events(_)), "{name}");
                assert_eq!(c.n_inputs, 2312);
                c.check().unwrap();
                continue;
            }
            assert_eq!(c.input, InputConfig::Digits, "{}", p.display());
            assert!(serde_json::to_value(c).unwrap().get("input").is_none());
        }
    }
    // A `--params` file naming event options.
    let c: Config = serde_json::from_str(
        r#"{"n_inputs": 578, "input": {"kind": "events", "channels": 2, "downsample": 2, "retry": {"kind": "gain", "max": 3}}}"#,
    )
    .unwrap();
    c.check().unwrap();
    let e: Config = serde_json::from_str(r#"{"input": {"kind": "events"}}"#).unwrap();
    let err = e.check().unwrap_err().to_string();
    assert!(err.contains("n_inputs must be 2312"), "{err}");
}

#[test]
fn hpo_searches_on_event_data_and_knows_its_data_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:///{}", dir.path().join("ev.db").display());
    let space = dir.path().join("space.toml");
    std::fs::write(
        &space,
        "[params]\nnorm_target = { low = 150.0, high = 300.0 }\n[fixed]\n\"input.retry\" = { kind = \"gain\", max = 2 }\n",
    )
    .unwrap();
    let real = shared("nmnist-sample");
    let mnist = shared("mnist");
    let run = |name: &str, data: &Path, extra: &[&str]| {
        let mut args = vec![
            "hpo",
            "run",
            "--study",
            &db,
            "--name",
            name,
            "--rule",
            "triplet",
            "--trials",
            "2",
            "--space",
            space.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--train-examples",
            "20",
            "--val-examples",
            "10",
            "--assign-examples",
            "20",
            "--neurons",
            "10",
            "--window",
            "10",
            "--quiet",
        ];
        args.extend_from_slice(extra);
        host_sim(&args)
    };
    // Real recordings: the first 20 Train recordings train, the last 10 are held out.
    let o = run("real", &real, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let best: Config =
        serde_json::from_str(&ok(&["hpo", "report", "--study", &db, "--name", "real", "--json"])).unwrap();
    assert_eq!(best.n_inputs, 2312);
    let InputConfig::Events(e) = best.input else {
        panic!("an event study's best configuration takes events: {:?}", best.input)
    };
    assert_eq!(
        e.retry,
        stdp_host::config::RetryConfig::Gain { max: 2 },
        "the space's [fixed] input"
    );
    assert!((150.0..=300.0).contains(&best.norm_target));

    // Emulated recordings for training, real ones held out.
    let val = ["--input", "saccades", "--val-data", real.to_str().unwrap()];
    let o = run("sim2real", &mnist, &val);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report = ok(&["hpo", "report", "--study", &db, "--name", "sim2real"]);
    assert!(report.contains("2 complete"), "{report}");
    // The same study on other held-out data is refused, not mixed.
    let o = run("sim2real", &mnist, &["--input", "saccades"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("other data"), "{err}");
    // Digits against an event space: a clear error.
    let o = run("digits", &mnist, &[]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("events"), "{err}");
}
