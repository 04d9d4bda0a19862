//! Figures of the firmware for docs/results/chip.md: flash and RAM of inference
//! builds with the model in flash (100 and 400 neurons), and executed
//! instructions per inference, measured in QEMU with `-icount shift=0`
//! (one instruction per virtual nanosecond; SysTick at 25 MHz ticks every
//! 40 instructions, so counts are exact to 40 and repeatable).
//!
//! `cargo run --release -p stdp-tests --example firmware-figures [-- DIGITS]`
//! (needs qemu-system-arm; trains two small models,
//! builds the firmware twice; about 3 minutes).
//!
//! For profiling: `STDP_FIGURES_100_ONLY=1` skips the 400-neuron build, and
//! `STDP_QEMU_PLUGIN=file=LIB.so,...` passes `-plugin` to QEMU, e.g. the
//! per-instruction counter of `firmware/tools/profile` (see its README).

use std::path::{Path, PathBuf};
use std::time::Duration;

use stdp_host::device::Client;
use stdp_host::export::ImageSim;
use stdp_host::formats::mnist;
use stdp_protocol::info_flags;
use stdp_tests::qemu::{build_firmware, trained_image, Qemu};

/// Instructions per SysTick tick under `-icount shift=0` (25 MHz core clock).
const INSTR_PER_TICK: f64 = 40.0;
const TARGET_MHZ: f64 = 64.0;

struct Build {
    elf: PathBuf,
    text: u64,
    data: u64,
    bss: u64,
}

/// Builds the firmware with `env` into its own target directory.
fn build(name: &str, env: &[(&str, String)]) -> Build {
    let elf = build_firmware(name, env);
    let bytes = std::fs::read(&elf).unwrap_or_else(|e| panic!("{}: {e}", elf.display()));
    let (text, data, bss) = section_sizes(&bytes).unwrap_or_else(|e| panic!("{}: {e}", elf.display()));
    Build { elf, text, data, bss }
}

/// Berkeley `size` figures of an ELF, read in Rust (no binutils needed):
/// allocated sections that occupy no file space (`.bss`, `.uninit`) are
/// bss, other writable allocated sections data, the remaining allocated
/// ones (code, read-only data, vector table) text.
fn section_sizes(bytes: &[u8]) -> Result<(u64, u64, u64), String> {
    use object::elf::{SHF_ALLOC, SHF_WRITE};
    use object::{Object, ObjectSection, SectionFlags};
    let file = object::File::parse(bytes).map_err(|e| format!("not an ELF file: {e}"))?;
    let (mut text, mut data, mut bss) = (0, 0, 0);
    for section in file.sections() {
        let SectionFlags::Elf { sh_flags } = section.flags() else {
            return Err("not an ELF file".into());
        };
        if sh_flags & u64::from(SHF_ALLOC) == 0 {
            continue;
        }
        // SHT_NOBITS sections (`.bss`, `.uninit`) are the uninitialised kinds.
        let nobits = matches!(
            section.kind(),
            object::SectionKind::UninitializedData | object::SectionKind::UninitializedTls
        );
        if nobits {
            bss += section.size();
        } else if sh_flags & u64::from(SHF_WRITE) != 0 {
            data += section.size();
        } else {
            text += section.size();
        }
    }
    Ok((text, data, bss))
}

/// Boots `elf` with deterministic time (one instruction per virtual ns),
/// plus `-plugin $STDP_QEMU_PLUGIN` if set.
fn boot(elf: &Path) -> (Qemu, Client) {
    let mut extra = vec!["-icount".to_string(), "shift=0".to_string()];
    if let Ok(p) = std::env::var("STDP_QEMU_PLUGIN") {
        extra.extend(["-plugin".to_string(), p]);
    }
    Qemu::start(elf, &extra, Duration::from_secs(120))
}

fn main() {
    let digits: usize = std::env::args().nth(1).map_or(20, |a| a.parse().expect("DIGITS"));
    let (train_set, test_set) = mnist::load_dir(&stdp_tests::shared("mnist")).expect("MNIST in ../shared/data/mnist");
    let tmp = tempfile::tempdir().unwrap();
    let default = build("figures-default", &[]);
    println!("| build | flash (text + data) | static RAM (data + bss) | stack peak | RAM total | instructions / inference (mean, max) | per presentation (350 ms + rest) | at {TARGET_MHZ} MHz, 1 IPC |");
    println!("|---|---|---|---|---|---|---|---|");
    println!(
        "| QEMU default (upload 2 x 316 KB, learning 2,312 x 100, replay 8,192 events) | {} B | {} B | - | - | - | - | - |",
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
        let image = trained_image(n, &train_set);
        let path = tmp.path().join(format!("m{n}.img"));
        std::fs::write(&path, &image).unwrap();
        let b = build(
            &format!("figures-{n}"),
            &[
                ("STDP_MODEL", path.display().to_string()),
                ("STDP_MAX_NEURONS", n.to_string()),
                // MNIST's 784 inputs, no replay buffer: the builds these figures always measured.
                ("STDP_MAX_INPUTS", "784".into()),
                ("STDP_REPLAY_EVENTS", "0".into()),
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
            let r = dev.classify(test_set.digit(i), i as u64, true).unwrap();
            let h = twin.infer(test_set.digit(i), i as u64).unwrap();
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
