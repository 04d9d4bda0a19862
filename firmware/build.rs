//! Build-time configuration of the firmware.
//!
//! - For bare-metal targets: writes the board's `memory.x` to `OUT_DIR` and
//!   adds the cortex-m-rt and defmt linker scripts.
//! - For every target: writes `config.rs` (capacities and the optional
//!   built-in model) from these environment variables:
//!
//! | variable             | meaning                                         | QEMU default | nRF52840 default |
//! |----------------------|-------------------------------------------------|--------------|------------------|
//! | `STDP_MODEL`         | model image built into flash (`host-sim export`) | none         | none             |
//! | `STDP_MAX_NEURONS`   | most neurons for inference (weights in the image) | 400        | 400              |
//! | `STDP_MAX_INPUTS`    | most inputs (2,312: N-MNIST's 34 x 34 x ON/OFF)  | 2312         | 784              |
//! | `STDP_UPLOAD_BYTES`  | size of each of the two upload slots in RAM (0: no upload) | image of STDP_MAX_INPUTS x 400 with the event block (927,020 B) | image of 784 x 50 |
//! | `STDP_LEARN_NEURONS` | most neurons for on-chip learning (0: none)     | 100          | 32               |
//! | `STDP_LEARN_INPUTS`  | most inputs for on-chip learning                | 2312         | 784              |
//! | `STDP_REPLAY_EVENTS` | events of a streamed recording kept for replays (8 B each; 0: none) | 8192 | 0     |
//! | `STDP_RAM_KB`        | RAM in the linker script (QEMU; e.g. 64 to prove a 64 KiB fit) | 4096 | 256 |

use std::{env, fs, path::PathBuf};

// The image layout is the core's (a build-dependency), not a copy of it.
use stdp_core::image::{image_size, image_size_with, ModelImage};
use stdp_core::{MAX_INPUTS, MAX_NEURONS};

fn var(name: &str, default: usize) -> usize {
    println!("cargo:rerun-if-env-changed={name}");
    match env::var(name) {
        Ok(v) if !v.trim().is_empty() => v.trim().parse().unwrap_or_else(|_| panic!("{name}={v}: not a number")),
        _ => default,
    }
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=memory-qemu.x.in");
    println!("cargo:rerun-if-changed=memory-nrf52840.x.in");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let nrf = env::var_os("CARGO_FEATURE_NRF52840").is_some();

    let max_inputs = var("STDP_MAX_INPUTS", if nrf { 784 } else { 2312 });
    let max_neurons = var("STDP_MAX_NEURONS", 400);
    // More than an image holds could never be used.
    if max_inputs > MAX_INPUTS || max_neurons > MAX_NEURONS {
        panic!(
            "STDP_MAX_INPUTS={max_inputs} x STDP_MAX_NEURONS={max_neurons}: a model image holds at most {MAX_INPUTS} x {MAX_NEURONS}"
        );
    }
    // QEMU: room for a 400-neuron event model of N-MNIST (2,312 inputs).
    let upload = var(
        "STDP_UPLOAD_BYTES",
        if nrf {
            image_size(784, 50)
        } else {
            image_size_with(max_inputs, 400, true)
        },
    );
    let learn_neurons = var("STDP_LEARN_NEURONS", if nrf { 32 } else { 100 });
    let learn_inputs = if learn_neurons == 0 {
        0
    } else {
        var("STDP_LEARN_INPUTS", if nrf { 784 } else { 2312 })
    };
    let replay = var("STDP_REPLAY_EVENTS", if nrf { 0 } else { 8192 });
    let ram_kb = var("STDP_RAM_KB", if nrf { 256 } else { 4096 });

    println!("cargo:rerun-if-env-changed=STDP_MODEL");
    let model = match env::var("STDP_MODEL") {
        Ok(p) if !p.trim().is_empty() => {
            let path = fs::canonicalize(p.trim()).unwrap_or_else(|e| panic!("STDP_MODEL={p}: {e}"));
            println!("cargo:rerun-if-changed={}", path.display());
            let b = fs::read(&path).unwrap_or_else(|e| panic!("STDP_MODEL={p}: {e}"));
            // The whole check the firmware would make at start-up (magic,
            // version, sizes, CRC, parameters), here at build time.
            let img = ModelImage::parse(&b).unwrap_or_else(|e| {
                panic!("STDP_MODEL={p}: not a valid model image ({e}; make one with `host-sim export`)")
            });
            let (ni, n) = (img.header.params.n_inputs, img.header.params.n_neurons);
            if n > max_neurons || ni > max_inputs {
                panic!(
                    "STDP_MODEL={p}: {ni} x {n} exceeds STDP_MAX_INPUTS={max_inputs} x STDP_MAX_NEURONS={max_neurons}"
                );
            }
            format!("Some(include_bytes!({:?}))", path.display().to_string())
        }
        _ => "None".to_string(),
    };

    let config = format!(
        "/// Most inputs of a model.\npub const MAX_INPUTS: usize = {max_inputs};\n\
         /// Most neurons of a model (inference).\npub const MAX_NEURONS: usize = {max_neurons};\n\
         /// Bytes of each of the two upload slots (0: no upload).\npub const UPLOAD_BYTES: usize = {upload};\n\
         /// Most neurons for on-chip learning (0: none).\npub const LEARN_NEURONS: usize = {learn_neurons};\n\
         /// Most inputs for on-chip learning.\npub const LEARN_INPUTS: usize = {learn_inputs};\n\
         /// Events of a streamed recording kept for replays (0: none).\npub const REPLAY_EVENTS: usize = {replay};\n\
         /// RAM in the linker script (KiB).\npub const RAM_KB: usize = {ram_kb};\n\
         /// The model image built into flash (`STDP_MODEL`).\npub const BUILTIN_MODEL: Option<&[u8]> = {model};\n"
    );
    fs::write(out.join("config.rs"), config).expect("write config.rs");

    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("none") {
        return;
    }
    // A template, not memory.x: the linker would find that in the package
    // root first. Its RAM length is `{RAM_KB}K` (STDP_RAM_KB, lowered to
    // prove what fits a smaller chip); a template without the placeholder
    // is an error, so an edit cannot silently drop the setting.
    let file = if nrf {
        "memory-nrf52840.x.in"
    } else {
        "memory-qemu.x.in"
    };
    let template = fs::read_to_string(file).expect("read the board's memory map template");
    assert!(
        template.matches("{RAM_KB}").count() == 1,
        "{file}: the RAM length must be written `LENGTH = {{RAM_KB}}K`, once (STDP_RAM_KB fills it in)"
    );
    let text = template.replace("{RAM_KB}", &ram_kb.to_string());
    fs::write(out.join("memory.x"), text).expect("write memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rustc-link-arg=-Tlink.x");
    println!("cargo:rustc-link-arg=-Tdefmt.x");
}
