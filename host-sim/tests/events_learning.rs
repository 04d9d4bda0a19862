//! Learning from event data through the command line (issue 28, part 2):
//! `train` and `eval` on recordings in N-MNIST's layout (the shared
//! sample's real recordings, read where they are) and on MNIST digits
//! recorded on the fly by the emulator (`--input saccades`); the same seed
//! gives the same model for any thread count; an event model exports to a
//! chip image; commands that do not take event models yet refuse them in
//! one line. Small networks, tens of
//! recordings: run with `--release`.

use std::path::Path;

use host_sim::config::{Config, Input};
use host_sim::formats::model::Model;

mod common;
use common::{host_sim, ok, shared};

fn train(data: &Path, out: &Path, extra: &[&str]) -> Model {
    let mut args = vec![
        "train",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ];
    args.extend_from_slice(extra);
    ok(&args);
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
    assert!(matches!(cfg.input, Input::Events(_)), "{:?}", cfg.input);
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

    // The chip image of an event model holds its event input; the host's
    // twin of the chip runs a real recording from it.
    let img = dir.path().join("ev.img");
    ok(&["export", "--model", m.to_str().unwrap(), "--out", img.to_str().unwrap()]);
    let bytes = std::fs::read(&img).unwrap();
    assert_eq!(&bytes[8..10], &2u16.to_le_bytes(), "an event image is version 2");
    let mut twin = host_sim::export::ImageSim::new(bytes).unwrap();
    let ev = twin.events().expect("the image's event input");
    assert_eq!(ev.layout, stdp_core::present_events::EventLayout::NMNIST);
    let split = stdp_events::dataset::Split::list(&data, stdp_events::dataset::Part::Test).unwrap();
    let mut events = Vec::new();
    split.read(0, &mut events).unwrap();
    let chip = host_sim::export::ChipEvents {
        step_spikes: 2312,
        replay_events: 8192,
    };
    let r = twin.infer_events(&events, chip).unwrap();
    assert_eq!(r.out.events.delivered as usize, events.len());
    assert_eq!(r.counts.len(), 20);

    // Commands without event input yet refuse it in one line.
    for args in [
        vec!["export", "--model", m.to_str().unwrap(), "--format", "npz", "--out"],
        vec!["plot", "--model", m.to_str().unwrap(), "--out"],
    ] {
        let out = dir.path().join("x");
        let mut a = args.clone();
        a.push(out.to_str().unwrap());
        let o = host_sim(&a);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && !out.exists(), "{err}");
        assert!(err.contains("does not support event-input models"), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
    // An image model on event data, an event model on images: one line each.
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
    // device: an event model on MNIST images, refused before connecting.
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
    let o = host_sim(&["bench", "--data", data.to_str().unwrap(), "--neurons", "10"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("does not take event data"), "{err}");
}

#[test]
fn the_same_seed_gives_the_same_model_for_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let data = shared("nmnist-sample");
    // 1,024 neurons: two shards with two threads (the sharded path).
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
    let run = |name: &str, threads: &str| {
        let mut a = common.to_vec();
        a.extend_from_slice(&["--threads", threads]);
        train(&data, &dir.path().join(name), &a)
    };
    let a = run("a.model", "1");
    let b = run("b.model", "1");
    let c = run("c.model", "2");
    for other in [&b, &c] {
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
fn image_files_still_read_and_refuse_event_data_cleanly() {
    // The docs' parameter files are image configurations, unchanged.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/params");
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "json")
            && !p.file_name().unwrap().to_str().unwrap().starts_with("emulator")
        {
            let c: Config = serde_json::from_str(&std::fs::read_to_string(&p).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            assert_eq!(c.input, Input::Images, "{}", p.display());
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
