//! Building the firmware and booting it in QEMU (`mps2-an386`) with its
//! UART0 on a Unix socket, for the end-to-end tests and the figures example.

use std::io::Read;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use stdp_host::backend::Backend;
use stdp_host::config::Config;
use stdp_host::device::Client;
use stdp_host::export::export;
use stdp_host::formats::mnist::Dataset;
use stdp_host::sim::train::{train, TrainOptions};

/// The QEMU binary.
pub const QEMU: &str = "qemu-system-arm";

/// The repository's root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Builds the firmware for the thumb target into `firmware/target/SUBDIR`
/// with the configuration variables `env` (all others unset) and returns
/// the ELF. `subdir` is one plain name (e.g. `tests`, `figures-100`): each
/// configuration gets its own target directory, so builds with different
/// variables do not rebuild each other. Works on a fresh clone (nothing
/// built yet). Panics with cargo's output if the build fails.
pub fn build_firmware(subdir: &str, env: &[(&str, String)]) -> PathBuf {
    assert!(
        !subdir.is_empty()
            && subdir
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        "build_firmware: the target subdirectory must be one plain name, not {subdir:?}"
    );
    let dir = root().join("firmware");
    let target = dir.join("target").join(subdir);
    std::fs::create_dir_all(&target).unwrap_or_else(|e| {
        panic!(
            "cannot create the firmware's target directory {}: {e}",
            target.display()
        )
    });
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut c = Command::new(cargo);
    c.args(["build", "--release"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET");
    for v in [
        "STDP_MODEL",
        "STDP_MAX_NEURONS",
        "STDP_MAX_INPUTS",
        "STDP_UPLOAD_BYTES",
        "STDP_LEARN_NEURONS",
        "STDP_LEARN_INPUTS",
        "STDP_REPLAY_EVENTS",
        "STDP_RAM_KB",
    ] {
        c.env_remove(v);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().expect("run cargo to build the firmware");
    assert!(
        out.status.success(),
        "firmware build ({subdir}) failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    target.join("thumbv7em-none-eabihf/release/stdp-firmware")
}

/// QEMU running the firmware. Dropping it sends SIGTERM (QEMU then exits
/// normally, so plugins write their output), then kills it.
#[derive(Debug)]
pub struct Qemu {
    child: Child,
    dir: tempfile::TempDir,
}

impl Qemu {
    /// Boots `elf` with `extra` QEMU arguments (e.g. `-icount shift=0`) and
    /// connects to its UART; each reply may take up to `reply_timeout`.
    pub fn start(elf: &Path, extra: &[String], reply_timeout: Duration) -> (Qemu, Client) {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("uart.sock");
        let listener = UnixListener::bind(&sock).unwrap();
        listener.set_nonblocking(true).unwrap();
        let log = std::fs::File::create(dir.path().join("qemu.log")).unwrap();
        let child = Command::new(QEMU)
            .args(["-M", "mps2-an386", "-nographic", "-monitor", "none"])
            .args(extra)
            .arg("-chardev")
            .arg(format!("socket,id=uart0,path={}", sock.display()))
            .args([
                "-serial",
                "chardev:uart0",
                "-semihosting-config",
                "enable=on,target=native",
            ])
            .arg("-kernel")
            .arg(elf)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start qemu-system-arm");
        let mut q = Qemu { child, dir };
        let t = Instant::now();
        let stream = loop {
            match listener.accept() {
                Ok((s, _)) => break s,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if let Some(st) = q.child.try_wait().unwrap() {
                        panic!("QEMU exited ({st}) before connecting:\n{}", q.log());
                    }
                    assert!(
                        t.elapsed() < Duration::from_secs(20),
                        "QEMU did not connect within 20 s"
                    );
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => panic!("accept: {e}"),
            }
        };
        stream.set_nonblocking(false).unwrap();
        stream.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
        (q, Client::new(Box::new(stream), reply_timeout))
    }

    /// What QEMU and the firmware's semihosting printed so far.
    pub fn log(&self) -> String {
        let mut s = String::new();
        let _ = std::fs::File::open(self.dir.path().join("qemu.log")).and_then(|mut f| f.read_to_string(&mut s));
        s
    }

    /// Panics if the firmware has died (a panic or fault exits QEMU with 1).
    pub fn assert_alive(&mut self) {
        if let Some(st) = self.child.try_wait().unwrap() {
            panic!("the firmware exited ({st}):\n{}", self.log());
        }
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(2) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The image of a model of `n` neurons trained (float) on the first 1,000
/// training digits with seed 7: what the end-to-end tests and the figures
/// run on the chip.
pub fn trained_image(n: usize, train_set: &Dataset) -> Vec<u8> {
    let cfg = Config {
        n_neurons: n,
        ..Config::default()
    };
    let opts = TrainOptions {
        backend: Backend::F32,
        epochs: 1,
        limit: Some(1000),
        seed: 7,
        window: 1000,
        assign_examples: 1000,
        checkpoint_every: None,
        checkpoint: PathBuf::new(),
        resume: false,
        progress: false,
        threads: 1,
    };
    export(&train(&cfg, &opts, train_set).expect("train")).expect("export")
}
