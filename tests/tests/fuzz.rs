//! Fuzzing of every parser of outside bytes, with proptest: random bytes
//! and valid inputs with random damage (bytes flipped, cut, inserted) go
//! through the UART frame reader and request decoder, the chip image, the
//! model file, IDX files, scenario TOML and params JSON, every event-camera
//! reader (N-MNIST, AEDAT 2.0 and 4.0, EVT 2.0 and 3.0, DAT: the shared
//! recordings' first bytes, damaged) and the events' wire codec. Each must return
//! a value or an error: no panic, no hang, no allocation beyond the input's
//! own size. A damaged model, image or frame must never be accepted when
//! its checksum no longer matches.
//!
//! `cargo test --release -p stdp-tests --test fuzz` runs 256 cases per
//! target (CI); `PROPTEST_CASES=20000` the long run (docs/results/robustness.md).

use std::io::Cursor;
use std::path::Path;
use std::sync::OnceLock;

use proptest::prelude::*;
use stdp_core::image::ModelImage;
use stdp_host::config::Config;
use stdp_host::formats::model::{Meta, Model, ValueType};
use stdp_protocol::{FrameEncoder, FrameReader, Request, MAX_BODY, MAX_FRAME, MAX_PAYLOAD};

/// The first bytes (up to 48 KiB) of each shared real recording, and whether it is N-MNIST (no header).
fn recordings() -> &'static [(String, Vec<u8>, bool)] {
    static CELL: OnceLock<Vec<(String, Vec<u8>, bool)>> = OnceLock::new();
    CELL.get_or_init(|| {
        let dir = stdp_tests::shared("events");
        [
            "nmnist_sample.bin",
            "dvs128_neal_walking.aedat",
            "davis346.aedat4",
            "evt2.raw",
            "evt3.raw",
            "gen4.dat",
        ]
        .iter()
        .map(|f| {
            let mut bytes = std::fs::read(dir.join(f)).unwrap_or_else(|e| panic!("../shared/data/events/{f}: {e}"));
            bytes.truncate(48 << 10);
            (f.to_string(), bytes, f.ends_with(".bin"))
        })
        .collect()
    })
}

/// Reads `bytes` to the end as a recording; an error must name the input
/// and say where. Returns the events read.
fn read_recording(bytes: Vec<u8>, nmnist: bool) -> u64 {
    let opened = if nmnist {
        stdp_events::Reader::nmnist(Cursor::new(bytes), "fuzz.bin")
    } else {
        stdp_events::Reader::from_read(Cursor::new(bytes), "fuzz")
    };
    let mut n = 0;
    let result = opened.and_then(|mut r| r.for_each_chunk(|c| n += c.len() as u64));
    if let Err(e) = result {
        let line = e.to_string();
        assert!(line.starts_with("fuzz"), "the error names the input: {line}");
        assert!(!line.contains('\n'), "one line: {line}");
    }
    n
}

/// Damage to a valid input: (position, kind, byte), applied in order.
fn damage() -> impl Strategy<Value = Vec<(usize, u8, u8)>> {
    prop::collection::vec((any::<usize>(), 0u8..4, any::<u8>()), 1..8)
}

fn apply(bytes: &[u8], edits: &[(usize, u8, u8)]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    for &(at, kind, x) in edits {
        if b.is_empty() {
            b.push(x);
            continue;
        }
        let i = at % b.len();
        match kind {
            0 => b[i] ^= x | 1,
            1 => b.truncate(i),
            2 => b.insert(i, x),
            _ => {
                b.remove(i);
            }
        }
    }
    b
}

fn small_model(vt: ValueType) -> Model {
    let config = Config {
        n_neurons: 3,
        ..Config::default()
    };
    let n = config.n_inputs * config.n_neurons;
    Model {
        meta: Meta {
            written_by: "fuzz".into(),
            config,
            backend: stdp_host::backend::Backend::F32,
            value_type: vt,
            seed: 1,
            examples_trained: 1,
            retries: 0,
            train_seconds: 0.0,
            assignments: vec![0, 1, 255],
            history: vec![],
            progress: None,
        },
        weights: (0..n).map(|i| (i % 7) as f64 / 8.0).collect(),
        theta: vec![20.0, 21.0, 22.0],
        dynamic_values: vec![],
        dynamic_ints: vec![],
    }
}

/// Feeds `bytes` to the firmware's frame reader and decodes every frame as
/// a request, as the firmware's receive loop does; returns the count of
/// well-formed requests.
fn receive(bytes: &[u8]) -> usize {
    let mut reader = FrameReader::<MAX_FRAME>::new();
    let mut body = [0u8; MAX_BODY];
    let mut ok = 0;
    for &b in bytes {
        if let Some(Ok(frame)) = reader.push(b) {
            let frame = frame.to_vec();
            if Request::decode(&frame, &mut body).is_ok() {
                ok += 1;
            }
        }
    }
    ok
}

proptest! {
    #[test]
    fn uart_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        receive(&bytes);
    }

    /// Frames with a valid CRC and a random code and payload reach the
    /// request parser itself; damaged ones must not decode to a request.
    #[test]
    fn uart_frames_with_random_payloads(code in any::<u8>(), seq in any::<u16>(),
                                        payload in prop::collection::vec(any::<u8>(), 0..MAX_PAYLOAD),
                                        edits in damage()) {
        let mut out = [0u8; MAX_FRAME];
        let mut e = FrameEncoder::new(&mut out, code, seq);
        e.put(&payload);
        let len = e.finish().expect("a payload within MAX_PAYLOAD fits");
        let frame = &out[..len];
        receive(frame);
        let mut body = [0u8; MAX_BODY];
        // Without its delimiter, as the reader hands it over.
        let _ = Request::decode(&frame[..len - 1], &mut body);
        let damaged = apply(&frame[..len - 1], &edits);
        let mut body2 = [0u8; MAX_BODY];
        let _ = Request::decode(&damaged, &mut body2);
        receive(&damaged);
    }

    #[test]
    fn chip_image(bytes in prop::collection::vec(any::<u8>(), 0..512), edits in damage()) {
        let _ = ModelImage::parse(&bytes);
        let image = stdp_host::export::export(&small_model(ValueType::F32)).expect("a valid model exports");
        prop_assert!(ModelImage::parse(&image).is_ok());
        let damaged = apply(&image, &edits);
        if damaged != image {
            prop_assert!(ModelImage::parse(&damaged).is_err(), "a damaged image was accepted");
        }
    }

    /// An event model's image (version 2: the event block after the
    /// parameters) damaged anywhere, its block included: refused.
    #[test]
    fn chip_event_image(edits in damage()) {
        let mut m = small_model(ValueType::F32);
        m.meta.config.input = stdp_host::config::InputConfig::Events(stdp_host::config::EventInputConfig {
            width: 2,
            height: 2,
            channels: 2,
            downsample: 1,
            retry: stdp_host::config::RetryConfig::Gain { max: 3 },
        });
        m.meta.config.n_inputs = 8;
        m.weights = (0..24).map(|i| (i % 7) as f64 / 8.0).collect();
        let image = stdp_host::export::export(&m).expect("a valid event model exports");
        let parsed = ModelImage::parse(&image);
        prop_assert!(parsed.is_ok_and(|p| p.header.events.is_some()));
        let damaged = apply(&image, &edits);
        if damaged != image {
            prop_assert!(ModelImage::parse(&damaged).is_err(), "a damaged event image was accepted");
        }
    }

    #[test]
    fn model_file(bytes in prop::collection::vec(any::<u8>(), 0..512), edits in damage(), vt in 0usize..3) {
        let sizes = stdp_host::formats::model::dynamic_sizes;
        let _ = Model::from_bytes(&bytes, sizes);
        let vt = [ValueType::F32, ValueType::F64, ValueType::Q11_20][vt];
        let good = small_model(vt).to_bytes().expect("a model serialises");
        prop_assert!(Model::from_bytes(&good, sizes).is_ok());
        let damaged = apply(&good, &edits);
        if damaged != good {
            prop_assert!(Model::from_bytes(&damaged, sizes).is_err(), "a damaged model was accepted");
        }
    }

    /// IDX files (gzip or raw) with random or damaged content: a clear
    /// error, never a huge allocation from a header's claimed size.
    #[test]
    fn idx_files(digits in prop::collection::vec(any::<u8>(), 0..600), labels in prop::collection::vec(any::<u8>(), 0..64),
                 count in any::<u32>(), edits in damage()) {
        let dir = tempfile::tempdir().unwrap();
        let (ip, lp) = (dir.path().join("images.idx"), dir.path().join("labels.idx"));
        std::fs::write(&ip, &digits).unwrap();
        std::fs::write(&lp, &labels).unwrap();
        let _ = stdp_host::formats::mnist::load_pair(&ip, &lp);
        // A plausible header claiming `count` digits over a short body.
        let mut head = vec![0, 0, 8, 3];
        head.extend_from_slice(&count.to_be_bytes());
        head.extend_from_slice(&28u32.to_be_bytes());
        head.extend_from_slice(&28u32.to_be_bytes());
        head.extend_from_slice(&digits);
        std::fs::write(&ip, apply(&head, &edits)).unwrap();
        let mut lhead = vec![0, 0, 8, 1];
        lhead.extend_from_slice(&count.to_be_bytes());
        lhead.extend_from_slice(&labels);
        std::fs::write(&lp, &lhead).unwrap();
        let _ = stdp_host::formats::mnist::load_pair(&ip, &lp);
    }

    /// Every event reader on random bytes and on damaged real recordings
    /// (cut, flipped, inserted, removed bytes; header fields hit as often
    /// as events): a value or a one-line error, no panic, no hang.
    #[test]
    fn event_readers(which in 0usize..6, bytes in prop::collection::vec(any::<u8>(), 0..256), edits in damage(),
                     head_edits in prop::collection::vec((0usize..256, any::<u8>()), 0..4)) {
        let (_, good, nmnist) = &recordings()[which];
        read_recording(bytes.clone(), false);
        read_recording(bytes, true);
        let mut damaged = apply(good, &edits);
        for (at, x) in head_edits {
            if let Some(b) = damaged.get_mut(at) {
                *b ^= x;
            }
        }
        read_recording(damaged, *nmnist);
    }

    /// The wire codec of camera events on any bytes.
    #[test]
    fn event_wire_codec(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let mut d = stdp_protocol::dvs::DvsDecoder::new(0);
        let mut at = 0;
        while let Ok((_, n)) = d.decode(&bytes[at..]) {
            at += n;
        }
    }

    #[test]
    fn scenario_toml(text in ".{0,400}", edits in damage()) {
        let _ = stdp_host::scenario::Scenario::parse(&text);
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let seed = std::fs::read(dir.join("adaptive_threshold.toml")).unwrap();
        let damaged = apply(&seed, &edits);
        if let Ok(text) = std::str::from_utf8(&damaged) {
            let _ = stdp_host::scenario::Scenario::parse(text);
        }
    }

    #[test]
    fn params_json(text in ".{0,300}", edits in damage()) {
        let check = |t: &str| {
            if let Ok(cfg) = serde_json::from_str::<Config>(t) {
                let _ = cfg.check();
            }
        };
        check(&text);
        let good = serde_json::to_string(&Config::default()).unwrap();
        if let Ok(t) = std::str::from_utf8(&apply(good.as_bytes(), &edits)) {
            check(t);
        }
    }
}
