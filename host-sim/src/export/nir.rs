//! `host-sim export --format nir`: a trained current-based network as a
//! NIR graph (the Neuromorphic Intermediate Representation that snnTorch,
//! Norse, Lava, Rockpool and SpiNNaker2 read), frozen: no plasticity, each
//! neuron's theta folded into its threshold.
//!
//! | node | NIR type | what |
//! |---|---|---|
//! | `input` | `Input` (784) | the input spike trains |
//! | `w_in` | `Linear` (N x 784) | the trained weights, `weight[j, i]` = input i to neuron j |
//! | `exc` | `LIF` (N) | excitatory layer: `tau`, `r = tau`, `v_leak` = rest, `v_threshold` = threshold + theta - offset, `v_reset` |
//! | `w_exc_inh`, `inh`, `w_inh_exc` | `Linear`, `LIF`, `Linear` | Diehl & Cook's inhibitory layer (one to one; onto every other neuron) |
//! | `w_lateral` | `Linear` | direct inhibition (onto every other neuron), instead of the layer |
//! | `output` | `Output` (N) | the excitatory spikes |
//!
//! Time constants in seconds, potentials in mV; an input spike is a unit
//! impulse, so with `r = tau` a weight w moves v by w mV, as the core's
//! current-based LIF does. What NIR cannot say is in the graph's metadata:
//! the refractory periods (NIR's `LIF` has none), the time step,
//! presentation and input rate, the label assignment. Conductance-based
//! models are refused: NIR has no conductance synapses.
//!
//! NIR files are HDF5; they are written by the `nir` Python package (the
//! reference implementation, through h5py), which this runs on the model's
//! `.npz` ([`crate::npz`]): Python 3 with `nir` (`pip install nir`), found
//! as `STDP_PYTHON` or `python3`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::config::InhibArg;
use crate::model::Model;

/// The helper that builds the graph with `nir` (run as `python -c`).
const HELPER: &str = include_str!("nir_export.py");

/// The Python that runs the helper.
pub fn python() -> PathBuf {
    std::env::var_os("STDP_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("python3"))
}

/// Why `model` cannot be written as an exact NIR graph, if it cannot.
pub fn unsupported(model: &Model) -> Option<String> {
    let c = &model.meta.config;
    if c.exc.conductance || (c.inhibition == InhibArg::Layer && c.inh.conductance) {
        return Some(
            "NIR has no conductance synapses: only current-based models (\"conductance\": false for exc, and for inh \
             with the inhibitory layer) are written as NIR graphs"
                .into(),
        );
    }
    if c.input_delay_ms > 0.0 {
        return Some("NIR's Linear has no synaptic delays (input_delay_ms > 0)".into());
    }
    None
}

/// Writes `model` as a NIR graph to `out` (atomically).
pub fn export(model: &Model, out: &Path) -> Result<()> {
    if let Some(why) = unsupported(model) {
        bail!("cannot export as NIR: {why}");
    }
    let py = python();
    let ok = Command::new(&py)
        .args(["-c", "import nir, h5py, numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        bail!(
            "export --format nir needs Python 3 with the `nir` package (`pip install nir`); {} cannot import it \
             (set STDP_PYTHON to a Python that can)",
            py.display()
        );
    }
    let dir = tempfile::tempdir().context("cannot make a temporary directory")?;
    let (npz, nir) = (dir.path().join("model.npz"), dir.path().join("model.nir"));
    std::fs::write(&npz, crate::npz::to_npz(model)?).context("cannot write the temporary .npz")?;
    let o = Command::new(&py)
        .arg("-c")
        .arg(HELPER)
        .arg(&npz)
        .arg(&nir)
        .output()
        .with_context(|| format!("cannot run {}", py.display()))?;
    if !o.status.success() {
        bail!("the nir helper failed: {}", String::from_utf8_lossy(&o.stderr).trim());
    }
    let bytes = std::fs::read(&nir).context("the nir helper wrote no file")?;
    crate::write_atomic(out, &bytes)
}
