//! Every reader against the independent decodes of `../shared/data/events/reference.json`:
//! event count, sensor, first and last time, ON/OFF, and the sums of x, y and t - t_first.

use std::path::{Path, PathBuf};

use stdp_events::stats::summarise;
use stdp_events::Reader;

fn shared_events() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/events")
}

fn check(file: &str) {
    let dir = shared_events();
    let reference: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join("reference.json")).expect("../shared/data/events/reference.json"),
    )
    .unwrap();
    let want = &reference[file];
    let reader = Reader::open(dir.join(file)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        reader.format().name(),
        want["format"].as_str().unwrap().split(' ').next().unwrap()
    );
    let s = summarise(reader, |_| {}).unwrap_or_else(|e| panic!("{e}"));
    let got = serde_json::json!({
        "events": s.stats.events,
        "width": s.sensor.width,
        "height": s.sensor.height,
        "t_first_us": s.stats.t_first_us,
        "t_last_us": s.stats.t_last_us,
        "on": s.stats.on,
        "off": s.stats.off,
        "sum_x": s.stats.sum_x,
        "sum_y": s.stats.sum_y,
        "sum_t_minus_first": s.stats.sum_t_minus_first as u64,
    });
    for (k, v) in got.as_object().unwrap() {
        assert_eq!(v, &want[k], "{file}: {k}");
    }
    assert_eq!(s.stats.backward, 0, "{file}: the default order is non-decreasing");
}

#[test]
fn nmnist_equals_reference() {
    check("nmnist_sample.bin");
}

#[test]
fn aedat2_equals_reference() {
    check("dvs128_neal_walking.aedat");
}

#[test]
fn aedat4_equals_reference() {
    check("davis346.aedat4");
}

#[test]
fn evt2_equals_reference() {
    check("evt2.raw");
}

#[test]
fn evt3_equals_reference() {
    check("evt3.raw");
}

#[test]
fn dat_equals_reference() {
    check("gen4.dat");
}
