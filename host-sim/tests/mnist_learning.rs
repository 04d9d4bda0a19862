//! Learning on the real data, in CI: a small Diehl & Cook run must be far
//! above chance, and the fixed-point network must classify like the float
//! one. Bars set from measurement (100 neurons, 3,000 training examples,
//! seed 1; see docs/results/mnist.md): accuracy 73.6 % on the first 1,000 test digits,
//! agreement 99.4 % on 500. The bars leave room for platform differences in
//! libm-free float code paths, not for a broken learning rule: trained on one
//! example only (random weights), the same setup scores 24.9 %.

use std::path::Path;

use stdp_host::backend::Backend;
use stdp_host::config::Config;
use stdp_host::crosscheck::{crosscheck, CrossOptions};
use stdp_host::formats::mnist;
use stdp_host::formats::model::Model;
use stdp_host::sim::dc::ClassCounts;
use stdp_host::sim::train::{
    epoch_order, evaluate, sim_from_model, train, train_from, FrozenPass, Tally, TrainOptions, PASS_ASSIGN, PASS_TEST,
};

mod common;
use common::host_sim_cmd;

/// Two runs that must be the same: weights, thresholds, labels and history.
fn assert_same_run(a: &Model, b: &Model) {
    assert_eq!(a.weights, b.weights);
    assert_eq!(a.theta, b.theta);
    assert_eq!(a.meta.assignments, b.meta.assignments);
    assert_eq!(a.meta.history, b.meta.history);
}

fn opts(limit: usize, backend: Backend) -> TrainOptions {
    TrainOptions {
        backend,
        epochs: 1,
        limit: Some(limit),
        seed: 1,
        window: 1000,
        assign_examples: 2000,
        checkpoint_every: None,
        checkpoint: std::path::PathBuf::new(),
        resume: false,
        progress: false,
        threads: 1,
    }
}

#[test]
fn three_thousand_examples_learn_far_above_chance_and_fixed_agrees_with_float() {
    let (train_set, test_set) = common::mnist();
    let cfg = Config {
        n_neurons: 100,
        ..Config::default()
    };
    let model = train(&cfg, &opts(3000, Backend::F32), &train_set).unwrap();
    assert_eq!(model.meta.examples_trained, 3000);
    assert_eq!(model.meta.history.len(), 3);
    let sim = sim_from_model::<f32>(&model).unwrap();
    let report = evaluate(&sim, &model.meta.assignments, &test_set, 1000, 1, false).unwrap();
    assert!(report.accuracy >= 0.65, "accuracy {}", report.accuracy);

    // Evaluation and assignment fold each example in and keep none (at 6,400
    // neurons the kept counts were 256 MB): the same as keeping them all and
    // counting in order, on one thread or on all.
    let assignments = &model.meta.assignments;
    let kept = FrozenPass {
        sim: &sim,
        data: &test_set,
        range: 0..500,
        seed: 1,
        pass: PASS_TEST,
        progress: false,
        what: "test",
    }
    .collect()
    .unwrap();
    let serial = kept
        .iter()
        .enumerate()
        .fold(Tally::default(), |t, (i, r)| t.add(test_set.label(i), r, assignments));
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    for r in [
        evaluate(&sim, assignments, &test_set, 500, 1, false).unwrap(),
        one.install(|| evaluate(&sim, assignments, &test_set, 500, 1, false).unwrap()),
    ] {
        assert_eq!(r.confusion, serial.confusion);
        assert_eq!(
            (r.spikes_per_example, r.retries),
            (serial.spikes as f64 / 500.0, serial.retries)
        );
    }
    let last = train_set.len() - 2000..train_set.len();
    let mut cc = ClassCounts::new(100);
    for (r, i) in (FrozenPass {
        sim: &sim,
        data: &train_set,
        range: last.clone(),
        seed: 1,
        pass: PASS_ASSIGN,
        progress: false,
        what: "assign",
    })
    .collect()
    .unwrap()
    .iter()
    .zip(last)
    {
        cc.add(&r.counts, train_set.label(i));
    }
    assert_eq!(
        &cc.assign(),
        assignments,
        "the assignment of training, counted in order"
    );

    let cross = crosscheck(
        &model,
        &train_set,
        &test_set,
        &CrossOptions {
            limit: 500,
            train_examples: 0,
            seed: 1,
            progress: false,
        },
    )
    .unwrap();
    // The figures of docs/results/mnist.md: `cargo test --release -p host-sim --test mnist_learning -- --nocapture`.
    eprintln!(
        "3,000 examples: accuracy {:.1} %, float/fixed agreement {:.1} %",
        100.0 * report.accuracy,
        100.0 * cross.agreement
    );
    assert!(cross.agreement >= 0.93, "agreement {}", cross.agreement);
    assert!((cross.accuracy_float - cross.accuracy_fixed).abs() <= 0.03, "{cross:?}");
    assert!(cross.spike_count_correlation >= 0.95, "{cross:?}");
}

/// docs/params/dc100-tuned.json (the paper's network and procedure with the
/// parameters a search on held-out training digits found; docs/results/mnist.md, "100
/// neurons tuned") meets issue 10's learning-speed goal: after 10,000
/// examples, at least 77 % on the first 2,000 test digits. Measured: 79.80 %
/// (seed 1; seeds 2, 3: 78.80, 77.65 %); the paper's values give 72.90 %.
#[test]
fn the_tuned_100_neuron_parameters_reach_77_percent_after_10000_examples() {
    let (train_set, test_set) = common::mnist();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/params/dc100-tuned.json");
    let cfg: Config = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(cfg.n_neurons, 100);
    let mut o = opts(10_000, Backend::F32);
    o.assign_examples = 10_000;
    let model = train(&cfg, &o, &train_set).unwrap();
    let sim = sim_from_model::<f32>(&model).unwrap();
    let report = evaluate(&sim, &model.meta.assignments, &test_set, 2000, 1, false).unwrap();
    eprintln!("tuned, 10,000 examples: accuracy {:.2} %", 100.0 * report.accuracy);
    assert!(report.accuracy >= 0.77, "accuracy {}", report.accuracy);
}

#[test]
fn training_is_deterministic_and_a_resumed_run_equals_an_uninterrupted_one() {
    let (train_set, _) = common::mnist();
    let cfg = Config {
        n_neurons: 20,
        ..Config::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(60, Backend::Fixed);
    o.assign_examples = 50;
    let full = train(&cfg, &o, &train_set).unwrap();
    assert_eq!(
        train(&cfg, &o, &train_set).unwrap().weights,
        full.weights,
        "same seed, same run"
    );

    // Checkpoints at 25 and 50 of 60 examples; the file left holds example 50.
    o.checkpoint = dir.path().join("ck");
    o.checkpoint_every = Some(25);
    let checkpointed = train(&cfg, &o, &train_set).unwrap();
    assert_eq!(checkpointed.weights, full.weights, "checkpointing changes nothing");
    let ck = Model::load(&o.checkpoint).unwrap();
    assert_eq!(ck.meta.progress.as_ref().unwrap().done, 50);
    let resumed = train(
        &cfg,
        &TrainOptions {
            resume: true,
            ..o.clone()
        },
        &train_set,
    )
    .unwrap();
    assert_same_run(&resumed, &full);

    // A checkpoint may be resumed with more epochs than its run had: two
    // epochs of 30 from the 1-epoch run's checkpoint at example 25 equal an
    // uninterrupted 2-epoch run; a run that would end before the checkpoint,
    // or other --limit, is refused.
    let mut one = opts(30, Backend::Fixed);
    one.assign_examples = 50;
    one.checkpoint = dir.path().join("ck1");
    one.checkpoint_every = Some(25);
    train(&cfg, &one, &train_set).unwrap();
    let two = TrainOptions {
        epochs: 2,
        checkpoint_every: None,
        ..one.clone()
    };
    let uninterrupted = train(&cfg, &two, &train_set).unwrap();
    let extend = TrainOptions {
        resume: true,
        checkpoint_every: Some(25),
        ..two.clone()
    };
    let extended = train(&cfg, &extend, &train_set).unwrap();
    assert_eq!(extended.weights, uninterrupted.weights);
    assert_eq!(extended.theta, uninterrupted.theta);
    assert_eq!(extended.meta.history, uninterrupted.meta.history);
    let ck1 = Model::load(&one.checkpoint).unwrap();
    assert_eq!(ck1.meta.progress.as_ref().unwrap().done, 50, "in epoch 2");
    let err = train(
        &cfg,
        &TrainOptions {
            epochs: 1,
            ..extend.clone()
        },
        &train_set,
    )
    .unwrap_err();
    assert!(format!("{err:#}").contains("ask for more epochs"), "{err:#}");
    let err = train(
        &cfg,
        &TrainOptions {
            limit: Some(20),
            epochs: 5,
            ..extend
        },
        &train_set,
    )
    .unwrap_err();
    assert!(format!("{err:#}").contains("examples per epoch"), "{err:#}");

    // Resuming with other parameters is refused.
    let mut other = cfg;
    other.stdp.nu_post = 0.02;
    let err = train(&other, &TrainOptions { resume: true, ..o }, &train_set).unwrap_err();
    assert!(format!("{err:#}").contains("other parameters"), "{err:#}");
}

/// `shuffle`: each epoch presents a seeded permutation of the examples, so
/// an epoch equals the file-order run on the data set permuted alike (digit
/// and label follow the order; the spike trains follow the position), the
/// next epoch has another order, and a checkpoint resumes into the same run.
#[test]
fn a_shuffled_run_presents_each_epochs_permutation_and_resumes_exactly() {
    let (train_set, _) = common::mnist();
    let cfg = Config {
        n_neurons: 20,
        shuffle: true,
        ..Config::default()
    };
    let mut o = opts(30, Backend::Fixed);
    o.assign_examples = 50;
    let shuffled = train(&cfg, &o, &train_set).unwrap();
    let order = epoch_order(30, true, o.seed, 0);
    let size = train_set.rows * train_set.cols;
    let mut permuted = mnist::Dataset {
        pixels: Vec::new(),
        labels: Vec::new(),
        ..train_set.clone()
    };
    for &i in &order {
        permuted
            .pixels
            .extend_from_slice(&train_set.pixels[i * size..(i + 1) * size]);
        permuted.labels.push(train_set.labels[i]);
    }
    permuted.pixels.extend_from_slice(&train_set.pixels[30 * size..]);
    permuted.labels.extend_from_slice(&train_set.labels[30..]);
    let in_file_order = Config { shuffle: false, ..cfg };
    let reference = train(&in_file_order, &o, &permuted).unwrap();
    assert_same_run(&shuffled, &reference);
    assert_ne!(
        train(&in_file_order, &o, &train_set).unwrap().weights,
        shuffled.weights,
        "the order matters"
    );

    // Two epochs, checkpoints at 25 (epoch 1) and 50 (epoch 2): resumed
    // from the last, the run equals the uninterrupted one.
    let dir = tempfile::tempdir().unwrap();
    let two = TrainOptions { epochs: 2, ..o };
    let uninterrupted = train(&cfg, &two, &train_set).unwrap();
    let ck = TrainOptions {
        checkpoint: dir.path().join("ck"),
        checkpoint_every: Some(25),
        ..two
    };
    assert_eq!(train(&cfg, &ck, &train_set).unwrap().weights, uninterrupted.weights);
    let resumed = train(
        &cfg,
        &TrainOptions {
            resume: true,
            ..ck.clone()
        },
        &train_set,
    )
    .unwrap();
    assert_same_run(&resumed, &uninterrupted);
    let err = train(&in_file_order, &TrainOptions { resume: true, ..ck }, &train_set).unwrap_err();
    assert!(format!("{err:#}").contains("other parameters"), "{err:#}");
}

#[test]
fn a_killed_training_process_resumes_from_its_last_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let data = common::shared("mnist");
    let args = |out: &str| {
        vec![
            "train".to_string(),
            "--data".into(),
            data.to_string_lossy().into_owned(),
            "--neurons".into(),
            "20".into(),
            "--limit".into(),
            "3000".into(),
            "--assign".into(),
            "100".into(),
            "--checkpoint-every".into(),
            "100".into(),
            "--quiet".into(),
            "--out".into(),
            dir.path().join(out).to_string_lossy().into_owned(),
        ]
    };
    let mut child = host_sim_cmd(args("a.model")).spawn().unwrap();
    let ck = dir.path().join("a.model.ckpt");
    let t0 = std::time::Instant::now();
    while !ck.exists() && t0.elapsed().as_secs() < 60 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(ck.exists(), "no checkpoint appeared");
    assert!(!dir.path().join("a.model").exists(), "killed before the end");
    let done = Model::load(&ck).unwrap().meta.progress.unwrap().done;
    assert!(done >= 100 && done.is_multiple_of(100), "{done}");

    let mut resume = args("a.model");
    resume.push("--resume".into());
    assert!(host_sim_cmd(&resume).status().unwrap().success());
    // Without --quiet and with stderr not a terminal (a pipe here), the
    // hidden progress bar is replaced by plain lines: every 10,000 examples,
    // at the end and at each checkpoint.
    let b = host_sim_cmd(args("b.model").iter().filter(|a| *a != "--quiet"))
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&b.stderr);
    assert!(b.status.success(), "{log}");
    assert!(log.contains("train: 3000/3000 examples (epoch 1), "), "{log}");
    assert!(log.contains("running accuracy "), "{log}");
    let checkpoints = log.lines().filter(|l| l.starts_with("train: checkpoint ")).count();
    assert_eq!(checkpoints, 29, "{log}");
    let a = Model::load(&dir.path().join("a.model")).unwrap();
    let b = Model::load(&dir.path().join("b.model")).unwrap();
    assert_eq!(a.weights, b.weights);
    assert_eq!(a.theta, b.theta);
    assert!(!ck.exists(), "the checkpoint is removed after a finished run");
    // Evaluating it then (as one does during a long run) names the final model.
    let o = host_sim_cmd(["eval", "--data", &data.to_string_lossy(), "--model"])
        .arg(&ck)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("its final model is") && err.contains("a.model\n"), "{err}");

    // `eval --threads N` gives the same report for any N (its time aside).
    let eval = |threads: &str| {
        let o = host_sim_cmd(["eval", "--data", &data.to_string_lossy(), "--model"])
            .arg(dir.path().join("b.model"))
            .args(["--limit", "200", "--reassign", "200", "--json", "--threads", threads])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let mut r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        r.as_object_mut().unwrap().remove("seconds");
        r
    };
    let one = eval("1");
    assert_eq!(one["examples"], 200);
    assert_eq!(one, eval("2"));
    assert_eq!(one, eval("3"));
}

/// `train` without `--data` reads `$STDP_DATA_DIR` (the cache directory
/// and its download: `mnist_data.rs`); `--preset best` is the tuned file,
/// shuffled; `--preset` and `--params` together are refused.
#[test]
fn presets_paper_and_best_and_params_instead_of_a_preset() {
    let dir = tempfile::tempdir().unwrap();
    let train = |extra: &[&str], out: &str| {
        host_sim_cmd(["train", "--limit", "20", "--assign", "20", "--quiet", "--out"])
            .arg(dir.path().join(out))
            .args(extra)
            .env("STDP_DATA_DIR", common::shared("mnist"))
            .env("STDP_MNIST_MIRRORS", "http://127.0.0.1:9/")
            .output()
            .unwrap()
    };
    let config = |out: &str| Model::load(&dir.path().join(out)).unwrap().meta.config;
    for (preset, out) in [
        (None, "default.model"),
        (Some("paper"), "paper.model"),
        (Some("best"), "best.model"),
    ] {
        let mut extra = vec!["--neurons", "10"];
        extra.extend(preset.map(|p| ["--preset", p]).iter().flatten());
        let o = train(&extra, out);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let paper = Config {
        n_neurons: 10,
        ..Config::default()
    };
    assert_eq!(config("default.model"), paper);
    assert_eq!(config("paper.model"), paper);
    let params = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/params/dc100-tuned.json");
    let tuned: Config = serde_json::from_str(&std::fs::read_to_string(&params).unwrap()).unwrap();
    assert_eq!(
        config("best.model"),
        Config {
            n_neurons: 10,
            shuffle: true,
            ..tuned
        }
    );

    let o = train(
        &["--preset", "best", "--params", &params.to_string_lossy()],
        "both.model",
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("--preset") && err.contains("--params"),
        "{err}"
    );
    assert!(!dir.path().join("both.model").exists());
}

/// `train --init`: a run that starts from a trained model goes on from its
/// weights and thresholds (a few more examples move them little, where a
/// run from random weights ends far away), and a model of another size is
/// refused with a message that says why.
#[test]
fn a_run_from_a_model_starts_from_its_weights_and_thresholds() {
    let (train_set, _) = common::mnist();
    let cfg = Config {
        n_neurons: 100,
        ..Config::default()
    };
    let o = TrainOptions {
        assign_examples: 50,
        ..opts(300, Backend::F32)
    };
    let start = train(&cfg, &o, &train_set).unwrap();
    let few = TrainOptions {
        limit: Some(5),
        assign_examples: 5,
        seed: 2,
        ..o.clone()
    };
    let on = train_from(&cfg, &few, &train_set, &start).unwrap();
    let fresh = train(&cfg, &few, &train_set).unwrap();
    let max_dw = |m: &Model| {
        m.weights
            .iter()
            .zip(&start.weights)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f64, f64::max)
    };
    let max_dtheta = |m: &Model| {
        m.theta
            .iter()
            .zip(&start.theta)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f64, f64::max)
    };
    assert_eq!(on.meta.examples_trained, 5);
    assert_ne!(on.weights, start.weights, "it learned");
    // (Measured: 0.024 against 0.35 for the weights.)
    assert!(max_dw(&on) * 5.0 < max_dw(&fresh), "{} {}", max_dw(&on), max_dw(&fresh));
    assert!(
        max_dtheta(&on) * 5.0 < max_dtheta(&fresh),
        "{} {}",
        max_dtheta(&on),
        max_dtheta(&fresh)
    );
    // The same run twice: the same model.
    assert_same_run(&on, &train_from(&cfg, &few, &train_set, &start).unwrap());

    let other = Config { n_neurons: 50, ..cfg };
    let err = train_from(&other, &few, &train_set, &start).unwrap_err().to_string();
    assert!(err.contains("100 neurons") && err.contains("50"), "{err}");
}
