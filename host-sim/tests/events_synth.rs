//! `host-sim events synth` and `events calibrate`: N-MNIST's layout written
//! with the emulator's recordings, the same as the library's for the digit's
//! seed; the report printed against real recordings.

use std::path::{Path, PathBuf};

use stdp_core::rng::stream_seed;
use stdp_events::emulator::{Emulator, EmulatorParams};

mod common;
use common::{host_sim, ok, shared};

#[test]
fn synth_writes_nmnist_layout_equal_to_the_library() {
    let mnist = shared("mnist");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("syn");
    ok(&[
        "events",
        "synth",
        "--data",
        mnist.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--limit",
        "3",
    ]);
    let (train, test) = stdp_host::formats::mnist::load_dir(&mnist).unwrap();
    let emu = Emulator::new(&EmulatorParams::default()).unwrap();
    for (set, word, data) in [("Train", 0, &train), ("Test", 1, &test)] {
        let files = walk(&out.join(set));
        assert_eq!(files.len(), 3, "{set}: {files:?}");
        for i in 0..3 {
            let path = out
                .join(set)
                .join(data.label(i).to_string())
                .join(format!("{:05}.bin", i + 1));
            let got = stdp_events::read_file(&path).unwrap();
            let mut want = Vec::new();
            emu.record(data.digit(i), stream_seed(1, word, i as u64), &mut want);
            assert!(want.len() > 1000);
            assert_eq!(got, want, "{}", path.display());
        }
    }
    // Another seed, other recordings; a bad parameter file is one line naming the field.
    let other = dir.path().join("other");
    ok(&[
        "events",
        "synth",
        "--data",
        mnist.to_str().unwrap(),
        "--out",
        other.to_str().unwrap(),
        "--limit",
        "1",
        "--seed",
        "2",
    ]);
    assert_ne!(
        std::fs::read(other.join("Train/5/00001.bin")).unwrap(),
        std::fs::read(out.join("Train/5/00001.bin")).unwrap()
    );
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"threshold_on": -1}"#).unwrap();
    let o = host_sim(&[
        "events",
        "synth",
        "--data",
        mnist.to_str().unwrap(),
        "--out",
        other.to_str().unwrap(),
        "--params",
        bad.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("threshold_on"), "{err}");
}

#[test]
fn calibrate_prints_the_report_against_real_recordings() {
    let text = ok(&[
        "events",
        "calibrate",
        "--mnist",
        shared("mnist").to_str().unwrap(),
        "--real",
        shared("nmnist-sample").to_str().unwrap(),
    ]);
    assert!(text.starts_with("600 recordings"), "{text}");
    for line in [
        "events per recording",
        "rate profile",
        "centroid path",
        "count images",
        "nearest-centroid on Test",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for label in std::fs::read_dir(dir).unwrap() {
        for f in std::fs::read_dir(label.unwrap().path()).unwrap() {
            files.push(f.unwrap().path());
        }
    }
    files
}
