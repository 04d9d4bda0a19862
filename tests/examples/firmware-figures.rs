//! Figures of the firmware for the README: flash and RAM of inference
//! builds with the model in flash (100 and 400 neurons), and executed
//! instructions per inference, measured in QEMU with `-icount shift=0`
//! (one instruction per virtual nanosecond; SysTick at 25 MHz ticks every
//! 40 instructions, so counts are exact to 40 and repeatable).
//!
//! `cargo run --release -p stdp-tests --example firmware-figures [-- DIGITS]`
//! (needs qemu-system-arm and arm-none-eabi-size; trains two small models,
//! builds the firmware twice; about 3 minutes).
//!
//! For profiling: `STDP_FIGURES_100_ONLY=1` skips the 400-neuron build, and
//! `STDP_QEMU_PLUGIN=file=LIB.so,...` passes `-plugin` to QEMU, e.g. the
//! per-instruction counter of `firmware/tools/profile` (see its README).

use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use host_sim::config::{BackendArg, Config};
use host_sim::device::Client;
use host_sim::export::{export, ImageSim};
use host_sim::mnist;
use host_sim::train::{train, TrainOptions};
use stdp_core::protocol::info_flags;

/// Instructions per SysTick tick under `-icount shift=0` (25 MHz core clock).
const INSTR_PER_TICK: f64 = 40.0;
const TARGET_MHZ: f64 = 64.0;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

struct Build {
    elf: PathBuf,
    text: u64,
    data: u64,
    bss: u64,
}

/// Builds the firmware with `env` into its own target directory.
fn build(name: &str, env: &[(&str, String)]) -> Build {
    let dir = root().join("firmware");
    let target = dir.join("target").join(name);
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.args(["build", "--release"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().expect("cargo");
    assert!(
        out.status.success(),
        "build {name}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let elf = target.join("thumbv7em-none-eabihf/release/stdp-firmware");
    let size = Command::new("arm-none-eabi-size")
        .arg(&elf)
        .output()
        .expect("arm-none-eabi-size (binutils-arm-none-eabi)");
    let text = String::from_utf8_lossy(&size.stdout);
    let v: Vec<u64> = text
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .take(3)
        .map(|x| x.parse().unwrap())
        .collect();
    Build {
        elf,
        text: v[0],
        data: v[1],
        bss: v[2],
    }
}

struct Qemu {
    child: Child,
    _dir: tempfile::TempDir,
}
impl Drop for Qemu {
    fn drop(&mut self) {
        // SIGTERM first: QEMU then exits normally (plugins write their output).
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        std::thread::sleep(Duration::from_millis(500));
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn boot(elf: &Path) -> (Qemu, Client) {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("uart.sock");
    let l = UnixListener::bind(&sock).unwrap();
    l.set_nonblocking(true).unwrap();
    let child = Command::new("qemu-system-arm")
        .args([
            "-M",
            "mps2-an386",
            "-nographic",
            "-monitor",
            "none",
            "-icount",
            "shift=0",
        ])
        .args(
            std::env::var("STDP_QEMU_PLUGIN")
                .map(|p| vec!["-plugin".to_string(), p])
                .unwrap_or_default(),
        )
        .arg("-chardev")
        .arg(format!("socket,id=uart0,path={}", sock.display()))
        .args([
            "-serial",
            "chardev:uart0",
            "-semihosting-config",
            "enable=on,target=native",
            "-kernel",
        ])
        .arg(elf)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("qemu-system-arm");
    let q = Qemu { child, _dir: dir };
    let t = Instant::now();
    let s = loop {
        match l.accept() {
            Ok((s, _)) => break s,
            Err(_) if t.elapsed() < Duration::from_secs(20) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => panic!("QEMU did not connect: {e}"),
        }
    };
    s.set_nonblocking(false).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    (q, Client::new(Box::new(s), Duration::from_secs(120)))
}

fn model(n: usize, train_set: &mnist::Dataset) -> Vec<u8> {
    let cfg = Config {
        n_neurons: n,
        ..Config::default()
    };
    let opts = TrainOptions {
        backend: BackendArg::Float,
        epochs: 1,
        limit: Some(1000),
        seed: 7,
        window: 1000,
        assign_examples: 1000,
        checkpoint_every: None,
        checkpoint: PathBuf::new(),
        resume: false,
        progress: false,
    };
    export(&train(&cfg, &opts, train_set).expect("train")).expect("export")
}

fn main() {
    let digits: usize = std::env::args().nth(1).map_or(20, |a| a.parse().expect("DIGITS"));
    let (train_set, test_set) =
        mnist::load_dir(&root().join("../shared/data/mnist")).expect("MNIST in ../shared/data/mnist");
    let tmp = tempfile::tempdir().unwrap();
    let default = build("figures-default", &[]);
    println!("| build | flash (text + data) | static RAM (data + bss) | stack peak | RAM total | instructions / inference (mean, max) | per presentation (350 ms + rest) | at {TARGET_MHZ} MHz, 1 IPC |");
    println!("|---|---|---|---|---|---|---|---|");
    println!(
        "| QEMU default (upload 2 x 316 KB, learning 784 x 100) | {} B | {} B | - | - | - | - | - |",
        default.text + default.data,
        default.data + default.bss
    );
    for (n, ram_kb) in
        [(100usize, 64usize), (400, 4096)]
            .into_iter()
            .take(if std::env::var("STDP_FIGURES_100_ONLY").is_ok() {
                1
            } else {
                2
            })
    {
        let image = model(n, &train_set);
        let path = tmp.path().join(format!("m{n}.img"));
        std::fs::write(&path, &image).unwrap();
        let b = build(
            &format!("figures-{n}"),
            &[
                ("STDP_MODEL", path.display().to_string()),
                ("STDP_MAX_NEURONS", n.to_string()),
                ("STDP_UPLOAD_BYTES", "0".into()),
                ("STDP_LEARN_NEURONS", "0".into()),
                ("STDP_RAM_KB", ram_kb.to_string()),
            ],
        );
        let (_q, mut dev) = boot(&b.elf);
        let info = dev.info().unwrap();
        assert!(info.flags & info_flags::BUILTIN != 0, "the built-in model did not load");
        let mut twin = ImageSim::new(image.clone()).unwrap();
        let mut ticks = Vec::new();
        let mut per_presentation = Vec::new();
        for i in 0..digits {
            let r = dev.classify(test_set.image(i), i as u64, true).unwrap();
            let h = twin.infer(test_set.image(i), i as u64).unwrap();
            assert_eq!(r.counts, h.counts, "digit {i}: the device differs from the host");
            ticks.push(r.summary.ticks as f64 * INSTR_PER_TICK);
            per_presentation.push(ticks[i] / (1 + r.summary.retries) as f64);
            eprintln!(
                "{n} neurons, digit {i}: {:.2} M instructions, {} retries",
                ticks[i] / 1e6,
                r.summary.retries
            );
        }
        let stack = dev.info().unwrap().stack_peak as u64;
        let mean = ticks.iter().sum::<f64>() / ticks.len() as f64;
        let max = ticks.iter().cloned().fold(0.0, f64::max);
        let mean_pres = per_presentation.iter().sum::<f64>() / per_presentation.len() as f64;
        println!(
            "| {n} neurons, model in flash, RAM {ram_kb} KiB | {} B | {} B | {} B | {} B | {:.2} M, {:.2} M | {:.2} M | {:.0} ms |",
            b.text + b.data,
            b.data + b.bss,
            stack,
            b.data + b.bss + stack,
            mean / 1e6,
            max / 1e6,
            mean_pres / 1e6,
            mean / (TARGET_MHZ * 1e6) * 1e3
        );
    }
    println!(
        "\n({digits} test digits each; identical spike counts to the host's fixed backend were checked for each.)"
    );
}
