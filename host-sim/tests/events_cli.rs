//! `host-sim events info` and `events convert` as a user runs them: the
//! figures of every shared real recording equal `reference.json`; every
//! conversion reads back to the same events (EVT 2.0, AEDAT 4.0, N-MNIST
//! through our readers; `.npy` through NumPy itself; `.csv` as text); bad
//! input and bad arguments give one error line naming the file.

use std::path::Path;
use std::process::Command;

mod common;
use common::{host_sim, ok, shared};

fn info_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&ok(&["events", "info", path.to_str().unwrap(), "--json"])).unwrap()
}

const KEYS: [&str; 10] = [
    "events",
    "width",
    "height",
    "t_first_us",
    "t_last_us",
    "on",
    "off",
    "sum_x",
    "sum_y",
    "sum_t_minus_first",
];

#[test]
fn info_json_equals_reference_for_every_shared_recording() {
    let dir = shared("events");
    let reference: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("reference.json")).unwrap()).unwrap();
    for (file, want) in reference.as_object().unwrap() {
        let got = info_json(&dir.join(file));
        for k in KEYS {
            assert_eq!(got[k], want[k], "{file}: {k}");
        }
        assert!(
            got["peak_rate_per_s"].as_f64().unwrap() >= got["mean_rate_per_s"].as_f64().unwrap(),
            "{file}"
        );
    }
}

#[test]
fn info_text_names_format_sensor_and_counts() {
    let out = ok(&[
        "events",
        "info",
        shared("events").join("nmnist_sample.bin").to_str().unwrap(),
    ]);
    assert!(out.contains("N-MNIST"), "{out}");
    assert!(out.contains("34 x 34"), "{out}");
    assert!(out.contains("4,325 (ON 2,145, OFF 2,180"), "{out}");
}

/// The sums and counts that must survive a conversion (not the sensor:
/// formats differ in what they store).
fn same_events(a: &serde_json::Value, b: &serde_json::Value, what: &str) {
    for k in [
        "events",
        "t_first_us",
        "t_last_us",
        "on",
        "off",
        "sum_x",
        "sum_y",
        "sum_t_minus_first",
    ] {
        assert_eq!(a[k], b[k], "{what}: {k}");
    }
}

#[test]
fn conversions_read_back_to_the_same_events() {
    let dir = shared("events");
    let tmp = tempfile::tempdir().unwrap();
    for (src, out) in [
        ("dvs128_neal_walking.aedat", "a.raw"),
        ("evt3.raw", "b.aedat4"),
        ("gen4.dat", "c.raw"),
        ("dvs128_neal_walking.aedat", "d.aedat4"),
        ("nmnist_sample.bin", "e.bin"),
        ("nmnist_sample.bin", "f.raw"),
    ] {
        let src = dir.join(src);
        let dst = tmp.path().join(out);
        ok(&[
            "events",
            "convert",
            src.to_str().unwrap(),
            "--out",
            dst.to_str().unwrap(),
        ]);
        same_events(&info_json(&src), &info_json(&dst), out);
    }
    // A camera clock moved to 0 fits N-MNIST's .bin; the times shift, nothing else.
    let src = dir.join("dvs128_neal_walking.aedat");
    let dst = tmp.path().join("g.bin");
    ok(&[
        "events",
        "convert",
        src.to_str().unwrap(),
        "--out",
        dst.to_str().unwrap(),
        "--rebase",
    ]);
    let (a, b) = (info_json(&src), info_json(&dst));
    assert_eq!(b["t_first_us"], 0);
    assert_eq!(
        b["t_last_us"].as_u64().unwrap(),
        a["t_last_us"].as_u64().unwrap() - a["t_first_us"].as_u64().unwrap()
    );
    for k in ["events", "on", "off", "sum_x", "sum_y", "sum_t_minus_first"] {
        assert_eq!(a[k], b[k], "rebased: {k}");
    }
}

#[test]
fn csv_has_tonic_header_and_one_line_per_event() {
    let tmp = tempfile::tempdir().unwrap();
    let dst = tmp.path().join("n.csv");
    let src = shared("events").join("nmnist_sample.bin");
    ok(&[
        "events",
        "convert",
        src.to_str().unwrap(),
        "--out",
        dst.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&dst).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("t,x,y,p"));
    let rows: Vec<Vec<u64>> = lines
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 4325);
    assert_eq!(
        rows.iter().map(|r| r[1]).sum::<u64>(),
        74_457,
        "sum of x as reference.json"
    );
    assert_eq!(rows.iter().filter(|r| r[3] == 1).count(), 2145, "ON events");
    assert_eq!(rows[0][0], 654, "first time");
}

#[test]
fn npy_reads_in_numpy_with_tonic_fields() {
    let Some(py) = common::python("numpy") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dst = tmp.path().join("n.npy");
    let src = shared("events").join("davis346.aedat4");
    ok(&[
        "events",
        "convert",
        src.to_str().unwrap(),
        "--out",
        dst.to_str().unwrap(),
    ]);
    let script = r#"
import json, sys
import numpy as np
e = np.load(sys.argv[1])
print(json.dumps({"names": list(e.dtype.names), "events": int(e.shape[0]), "on": int((e["p"] == 1).sum()),
                  "sum_x": int(e["x"].sum()), "sum_y": int(e["y"].sum()), "t_first_us": int(e["t"][0]),
                  "sum_t_minus_first": int((e["t"] - e["t"][0]).sum())}))
"#;
    let o = Command::new(py).arg("-c").arg(script).arg(&dst).output().unwrap();
    assert!(o.status.success(), "numpy: {}", String::from_utf8_lossy(&o.stderr));
    let got: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let want = info_json(&src);
    assert_eq!(got["names"], serde_json::json!(["x", "y", "t", "p"]));
    for k in ["events", "on", "sum_x", "sum_y", "t_first_us", "sum_t_minus_first"] {
        assert_eq!(got[k], want[k], "numpy: {k}");
    }
}

#[test]
fn bad_input_and_arguments_give_one_error_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = shared("events");
    // A cut EVT 3.0 file: the byte offset of the cut record.
    let cut = tmp.path().join("cut.raw");
    let bytes = std::fs::read(dir.join("evt3.raw")).unwrap();
    // The header is 225 bytes, then 16-bit words: the last word is cut after one byte.
    std::fs::write(&cut, &bytes[..10_226]).unwrap();
    let o = host_sim(&["events", "info", cut.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("cut.raw: byte 10,225:"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    // No known header and not named .bin.
    let junk = tmp.path().join("junk.dat2");
    std::fs::write(&junk, b"hello world, not a recording").unwrap();
    let err = String::from_utf8(host_sim(&["events", "info", junk.to_str().unwrap()]).stderr).unwrap();
    assert!(err.contains("junk.dat2") && err.contains("no known header"), "{err}");
    // An output extension we do not write; nothing is created.
    let out = tmp.path().join("x.mp4");
    let o = host_sim(&[
        "events",
        "convert",
        dir.join("evt2.raw").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown output extension"));
    assert!(!out.exists());
    // A camera clock does not fit N-MNIST's .bin without --rebase: a clear error, no file left.
    let out = tmp.path().join("y.bin");
    let o = host_sim(&[
        "events",
        "convert",
        dir.join("evt2.raw").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("--rebase") || err.contains("does not fit"), "{err}");
    assert!(!out.exists());
    // So does a camera's Unix-epoch clock for EVT 2.0's 34-bit counter; rebased, it converts.
    let out = tmp.path().join("z.raw");
    let src = dir.join("davis346.aedat4");
    let o = host_sim(&[
        "events",
        "convert",
        src.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--rebase"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!out.exists());
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        2,
        "only the two inputs remain"
    );
    ok(&[
        "events",
        "convert",
        src.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--rebase",
    ]);
    let (a, b) = (info_json(&src), info_json(&out));
    for k in ["events", "on", "off", "sum_x", "sum_y", "sum_t_minus_first"] {
        assert_eq!(a[k], b[k], "rebased to EVT 2.0: {k}");
    }
}

/// A recording that becomes unreadable after it was listed (a damaged file
/// in a data set) ends `eval` with one error line naming it, not a panic.
#[test]
fn an_unreadable_recording_mid_pass_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = shared("nmnist-sample");
    // A small copy of the layout in a temporary directory: 2 classes.
    for part in ["Train", "Test"] {
        for label in ["0", "1"] {
            let from = sample.join(part).join(label);
            let to = tmp.path().join("data").join(part).join(label);
            std::fs::create_dir_all(&to).unwrap();
            let mut files: Vec<_> = std::fs::read_dir(&from).unwrap().map(|e| e.unwrap().path()).collect();
            files.sort();
            for f in files.iter().take(5) {
                std::fs::copy(f, to.join(f.file_name().unwrap())).unwrap();
            }
        }
    }
    let data = tmp.path().join("data");
    let model = tmp.path().join("m.model");
    ok(&[
        "train",
        "--data",
        data.to_str().unwrap(),
        "--neurons",
        "5",
        "--out",
        model.to_str().unwrap(),
        "--quiet",
    ]);
    let victim = std::fs::read_dir(data.join("Test/1"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::write(&victim, [1u8, 2, 3, 4, 5, 6, 7]).unwrap();
    let o = host_sim(&[
        "eval",
        "--data",
        data.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(victim.file_name().unwrap().to_str().unwrap()) && err.contains("byte 5"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}
