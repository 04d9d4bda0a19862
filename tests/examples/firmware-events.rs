//! Figures of camera recordings streamed to the chip, for
//! docs/results/chip-events.md, measured in QEMU with `-icount shift=0`
//! (one instruction per virtual nanosecond; SysTick at 25 MHz ticks every
//! 40 instructions). Two modes:
//!
//! `cargo run --release -p stdp-tests --example firmware-events -- stream IMAGE [RECORDINGS]`
//! streams the first RECORDINGS (100) Test recordings of the shared
//! N-MNIST sample to the event model IMAGE (`host-sim export`) on the QEMU
//! default build, checks each run identical to the host's fixed twin, and
//! prints per recording: events, duration, the busiest 10 ms, the
//! instructions the chip spent (waits for UART bytes excluded) per event
//! and per step, the chip time at 64 MHz and one instruction per cycle
//! against the recording's duration, and the bytes on the wire.
//!
//! `... -- learn N RAM_KB` trains an N-neuron event model on 40 Train
//! recordings, builds the firmware as the nRF52840 would hold it (2,312
//! inputs, the model in flash, no upload slots, on-chip learning of
//! 2,312 x N, RAM_KB of RAM in the linker script), learns from three
//! streamed Test recordings and checks the weights and thetas read back
//! bit-identical to the host's fixed backend; prints the static RAM and
//! the stack peak.

use std::path::{Path, PathBuf};
use std::time::Duration;

use stdp_events::dataset::{Part, Split};
use stdp_host::device::Client;
use stdp_host::export::{chip_events, ImageSim};
use stdp_host::sim::dc::classify;
use stdp_protocol::{Request, StateKind, MAX_FRAME, MAX_PAYLOAD};
use stdp_tests::qemu::{build_firmware, Qemu};
use stdp_tests::shared;

/// Instructions per SysTick tick under `-icount shift=0` (25 MHz core clock).
const INSTR_PER_TICK: f64 = 40.0;
const TARGET_HZ: f64 = 64e6;

fn boot(elf: &Path) -> (Qemu, Client) {
    let extra = vec!["-icount".to_string(), "shift=0".to_string()];
    Qemu::start(elf, &extra, Duration::from_secs(300))
}

/// Bytes on the wire of `events` sent as `host-sim device` sends them
/// (batches of whole events up to the largest payload, each a COBS frame
/// with its delimiter; the leading delimiter of each request included).
fn wire_bytes(events: &[stdp_core::Event]) -> usize {
    let mut enc = stdp_protocol::dvs::DvsEncoder::new(0);
    let mut batches = vec![Vec::new()];
    for e in events {
        let mut b = [0u8; 16];
        let n = enc.encode(e, &mut b).unwrap();
        if batches.last().unwrap().len() + n > MAX_PAYLOAD {
            batches.push(Vec::new());
        }
        batches.last_mut().unwrap().extend_from_slice(&b[..n]);
    }
    let mut out = [0u8; MAX_FRAME];
    batches
        .iter()
        .map(|b| 1 + Request::EventsBatch { bytes: b }.encode(0, &mut out).unwrap())
        .sum()
}

/// Events in the busiest 10 ms bin (from the first event) per second.
fn peak_rate(events: &[stdp_core::Event]) -> f64 {
    let t0 = events.first().map_or(0, |e| e.t);
    let mut bins = std::collections::HashMap::<u64, u32>::new();
    for e in events {
        *bins.entry((e.t - t0) / 10_000).or_default() += 1;
    }
    bins.values().copied().max().unwrap_or(0) as f64 / 0.01
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn stream(image: &Path, limit: usize) {
    let image = std::fs::read(image).expect("the event model's image");
    let mut twin = ImageSim::new(image.clone()).expect("an image");
    let layout = twin.events().expect("an event model's image").layout;
    let elf = build_firmware("tests", &[]);
    let (mut q, mut dev) = boot(&elf);
    dev.upload(&image).unwrap();
    let test = Split::list(&shared("nmnist-sample"), Part::Test).unwrap();
    println!("| recording | label | class | events | duration (ms) | busiest 10 ms (events/s) | replays | steps | instructions | per event | per step | chip time at 64 MHz (ms) | chip / duration | wire bytes |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let (mut ratio, mut per_ev, mut per_step, mut peaks, mut bpe) = (vec![], vec![], vec![], vec![], vec![]);
    let (mut keep, mut correct) = (0, 0);
    let mut worst = 0.0f64;
    for i in 0..limit.min(test.len()) {
        let mut events = Vec::new();
        test.read(i, &mut events).unwrap();
        events.retain(|e| layout.input(e).is_some());
        let (d, chip) = dev.classify_events(&events, true).unwrap();
        let h = twin.infer_events(&events, chip).unwrap();
        assert_eq!(d.counts, h.counts, "recording {i}: the device differs from the host");
        assert_eq!(d.summary.retries as u32, h.out.present.retries);
        assert_eq!(d.summary.class, classify(&h.counts, &twin.assignments));
        let instr = d.summary.ticks as f64 * INSTR_PER_TICK;
        let dur_ms = (events.last().unwrap().t - events[0].t) as f64 / 1e3;
        let chip_ms = instr / TARGET_HZ * 1e3;
        let wire = wire_bytes(&events);
        let peak = peak_rate(&events);
        let r = chip_ms / dur_ms;
        keep += (r <= 1.0) as usize;
        correct += (d.summary.class == test.label(i)) as usize;
        worst = worst.max(r);
        ratio.push(r);
        per_ev.push(instr / events.len() as f64);
        per_step.push(instr / d.summary.steps as f64);
        peaks.push(peak);
        bpe.push(wire as f64 / events.len() as f64);
        println!(
            "| {i} | {} | {} | {} | {dur_ms:.1} | {peak:.0} | {} | {} | {:.2} M | {:.0} | {:.0} | {chip_ms:.1} | {r:.2} | {wire} |",
            test.label(i),
            d.summary.class,
            events.len(),
            d.summary.retries,
            d.summary.steps,
            instr / 1e6,
            instr / events.len() as f64,
            instr / d.summary.steps as f64,
        );
    }
    let n = ratio.len();
    let max_peak = peaks.iter().copied().fold(0.0, f64::max);
    let max_bpe = bpe.iter().copied().fold(0.0, f64::max);
    println!();
    println!(
        "{n} recordings, each identical to the host's fixed twin (counts, class, replays); accuracy {correct}/{n}"
    );
    println!(
        "median instructions per event {:.0}, per step {:.0}; chip time / recording duration: median {:.2}, worst {worst:.2}; {keep}/{n} recordings within their duration at 64 MHz, 1 IPC",
        median(&mut per_ev),
        median(&mut per_step),
        median(&mut ratio)
    );
    println!(
        "busiest 10 ms: median {:.0} events/s, max {max_peak:.0}; wire bytes per event (framing included): median {:.3}, max {max_bpe:.3}; \
         bit rate at the max peak (10 bits a byte): {:.0} bit/s",
        median(&mut peaks),
        median(&mut bpe),
        max_peak * max_bpe * 10.0
    );
    q.assert_alive();
}

fn learn(n: usize, ram_kb: usize) {
    use stdp_host::config::{Config, EventInputConfig, InputConfig, RetryConfig};
    use stdp_host::sim::train::{train, TrainOptions};
    let cfg = Config {
        n_neurons: n,
        n_inputs: 2312,
        input: InputConfig::Events(EventInputConfig {
            retry: RetryConfig::Gain { max: 4 },
            ..EventInputConfig::default()
        }),
        ..Config::default()
    };
    let opts = TrainOptions {
        backend: stdp_host::backend::Backend::F32,
        epochs: 1,
        limit: Some(40),
        seed: 3,
        window: 40,
        assign_examples: 40,
        checkpoint_every: None,
        checkpoint: PathBuf::new(),
        resume: false,
        progress: false,
        threads: 1,
    };
    let train_set = stdp_host::examples::Recordings(Split::list(&shared("nmnist-sample"), Part::Train).unwrap());
    let image = stdp_host::export::export(&train(&cfg, &opts, &train_set).unwrap()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("m.img");
    std::fs::write(&path, &image).unwrap();
    let elf = build_firmware(
        &format!("events-learn-{n}"),
        &[
            ("STDP_MODEL", path.display().to_string()),
            ("STDP_MAX_NEURONS", n.to_string()),
            ("STDP_MAX_INPUTS", "2312".into()),
            ("STDP_UPLOAD_BYTES", "0".into()),
            ("STDP_LEARN_NEURONS", n.to_string()),
            ("STDP_LEARN_INPUTS", "2312".into()),
            ("STDP_RAM_KB", ram_kb.to_string()),
        ],
    );
    println!("ELF: {}", elf.display());
    let (mut q, mut dev) = boot(&elf);
    let info = dev.info().unwrap();
    assert_eq!(info.n_neurons as usize, n, "the built-in model");
    dev.set_learning(true).unwrap();
    let mut host = ImageSim::new(image.clone()).unwrap().sim;
    let test = Split::list(&shared("nmnist-sample"), Part::Test).unwrap();
    for i in [3, 40, 77] {
        let mut events = Vec::new();
        test.read(i, &mut events).unwrap();
        let (d, chip) = dev.classify_events(&events, false).unwrap();
        let h = chip_events(&mut host, None, &events, true, false, chip).unwrap();
        assert_eq!(d.counts, h.counts, "learning recording {i}: counts differ");
        println!(
            "learned from recording {i}: {} replays, {:.2} M instructions",
            d.summary.retries,
            d.summary.ticks as f64 * INSTR_PER_TICK / 1e6
        );
    }
    let theta = dev.read_state(StateKind::Theta, n).unwrap();
    let host_theta: Vec<i32> = host.st.exc.theta.iter().map(|t| t.to_bits()).collect();
    assert_eq!(theta, host_theta, "thetas differ");
    let w = dev.read_state(StateKind::Weights, 2312 * n).unwrap();
    let host_w: Vec<i32> = host.st.weights.iter().map(|w| w.to_bits()).collect();
    assert!(w == host_w, "weights differ after learning");
    let info = dev.info().unwrap();
    println!(
        "{n} neurons learning from 3 recordings in {ram_kb} KiB of RAM: {} weights and {n} thetas bit-identical to the host; RAM left by the statics {} B, stack peak {} B",
        w.len(),
        info.free_ram,
        info.stack_peak
    );
    q.assert_alive();
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("stream") => stream(
            Path::new(args.get(1).expect("stream IMAGE [RECORDINGS]")),
            args.get(2).map_or(100, |a| a.parse().expect("RECORDINGS")),
        ),
        Some("learn") => learn(
            args.get(1).expect("learn N RAM_KB").parse().expect("N"),
            args.get(2).expect("learn N RAM_KB").parse().expect("RAM_KB"),
        ),
        _ => panic!("usage: firmware-events stream IMAGE [RECORDINGS] | learn N RAM_KB"),
    }
}
