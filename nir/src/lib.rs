//! NIR graphs (the Neuromorphic Intermediate Representation that snnTorch,
//! Norse, Lava, Rockpool and SpiNNaker2 read): `host-sim export --format
//! nir` writes a trained network as one, frozen (no plasticity, each
//! neuron's theta folded into its threshold), and every command that takes
//! `--model` reads one back ([`import()`]), so a network trained elsewhere
//! can be evaluated, cross-checked and run on the chip.
//!
//! | node | NIR type | what |
//! |---|---|---|
//! | `input` | `Input` (784) | the input spike trains |
//! | `w_in` | `Linear` (N x 784) | the trained weights, `weight[j, i]` = input i to neuron j |
//! | `exc` | `LIF` or `CubaLIF` (N) | excitatory layer: `v_threshold` = (v_thresh - offset) + theta |
//! | `w_exc_inh`, `inh`, `w_inh_exc` | `Linear`, `LIF`/`CubaLIF`, `Linear` | Diehl & Cook's inhibitory layer (one to one; onto every other neuron) |
//! | `w_lateral` | `Linear` | direct inhibition (onto every other neuron), instead of the layer |
//! | `output` | `Output` (N) | the excitatory spikes |
//!
//! Time constants in seconds, potentials in mV; an input spike is a unit
//! impulse. Each layer's membrane model maps to a NIR neuron:
//!
//! | host-sim layer | NIR | exact? |
//! |---|---|---|
//! | current-based LIF (`"conductance": false`) | `LIF`, `r = tau` (a weight w moves v by w mV) | yes |
//! | synaptic currents (`"cuba": true`) | `CubaLIF`, `tau_syn = tau_ge`, `w_in = 1`, `r = (e_exc - v_rest) tau_syn` | if the layer's inhibition has `tau_gi = tau_ge` |
//! | conductance-based (Diehl & Cook) | the `CubaLIF` above: driving forces taken at the layer's mean threshold | no: `--approximate` |
//!
//! NIR has no conductance synapses and one synaptic current per `CubaLIF`:
//! the closest graph of a conductance network (`--approximate`) takes each
//! driving force `e - v` at the layer's mean threshold `v_ref` (`r = (e_exc -
//! v_ref) tau_syn`, inhibitory weights times `(e_inh - v_ref) / (e_exc -
//! v_ref)`) and the inhibitory current with
//! tau_ge, its weights scaled by tau_gi / tau_ge (the same charge). What
//! that costs in accuracy is measured in docs/results/python.md. What NIR cannot say is
//! in the graph's metadata: the refractory periods (NIR's neurons have
//! none), the time step, the presentation and input rate, the label
//! assignment and host-sim's whole parameter set, which [`import()`] uses for
//! what the graph does not hold.
//!
//! NIR files are HDF5; they are written and read by the `nir` Python
//! package (the reference implementation, through h5py): Python 3 with
//! `nir` (`pip install nir`), found as `STDP_PYTHON` or `python3`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use stdp_core::{InhibitionKind, NeuronModel};

use stdp_host::formats::model::Model;

/// The helper that builds the graph with `nir` (run as `python -c`).
const HELPER: &str = include_str!("export.py");

pub mod import;
pub use import::import;

/// Reads a `--model` file: a NIR graph (an HDF5 file, [`import()`]) or
/// else a model file or checkpoint ([`Model::load`]), told apart by the
/// content.
pub fn load_model(path: &Path) -> Result<Model> {
    use std::io::Read as _;
    let mut magic = [0u8; 8];
    let hdf5 = std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && &magic == import::HDF5_MAGIC;
    if hdf5 {
        import(path)
    } else {
        Model::load(path)
    }
}

/// The Python that runs the helper.
pub fn python() -> PathBuf {
    std::env::var_os("STDP_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("python3"))
}

/// How closely a model can be written as a NIR graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fit {
    /// Exactly.
    Exact,
    /// Only as the closest graph (`--approximate`); why not exactly.
    Approximate(String),
    /// Not at all; why.
    Impossible(String),
}

/// How closely `model` can be written as a NIR graph.
pub fn fit(model: &Model) -> Fit {
    let c = &model.meta.config;
    if c.input_delay_ms > 0.0 {
        return Fit::Impossible("NIR's Linear has no synaptic delays (input_delay_ms > 0)".into());
    }
    let layer = c.inhibition == InhibitionKind::Layer;
    if layer && c.inh.theta_plus_mv != 0.0 {
        return Fit::Impossible("the inhibitory neurons adapt their threshold (inh.theta_plus_mv > 0)".into());
    }
    let mut why = Vec::new();
    for (name, n, used) in [("exc", &c.exc, true), ("inh", &c.inh, layer)] {
        if used && n.model == NeuronModel::Conductance {
            why.push(format!("{name}: NIR has no conductance synapses"));
        }
    }
    let exc_synaptic = c.exc.model != NeuronModel::Lif;
    if exc_synaptic && c.exc.tau_gi_ms != c.exc.tau_ge_ms {
        why.push(format!(
            "exc: a CubaLIF has one synaptic time constant, this layer two (tau_ge_ms {}, tau_gi_ms {})",
            c.exc.tau_ge_ms, c.exc.tau_gi_ms
        ));
    }
    if why.is_empty() {
        Fit::Exact
    } else {
        Fit::Approximate(why.join("; "))
    }
}

/// The Python that runs the helpers, checked to have `nir`; `what` names
/// the command in the error.
fn require_python(what: &str) -> Result<PathBuf> {
    let py = python();
    let ok = Command::new(&py)
        .args(["-c", "import nir, h5py, numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        bail!(
            "{what} needs Python 3 with the `nir` package (`pip install nir`); {} cannot import it \
             (set STDP_PYTHON to a Python that can)",
            py.display()
        );
    }
    Ok(py)
}

/// Writes `model` as a NIR graph to `out` (atomically): exactly, or with
/// `approximate` the closest graph if no exact one exists (see [`fit`]).
pub fn export(model: &Model, out: &Path, approximate: bool) -> Result<()> {
    let approximate = match fit(model) {
        Fit::Exact => false,
        Fit::Approximate(why) if approximate => {
            eprintln!("writing the closest NIR graph: {why}");
            true
        }
        Fit::Approximate(why) => bail!(
            "cannot export as NIR exactly: {why}; `--approximate` writes the closest graph (driving forces at the mean threshold, \
             one synaptic time constant per layer; see stdp-nir)"
        ),
        Fit::Impossible(why) => bail!("cannot export as NIR: {why}"),
    };
    let py = require_python("export --format nir")?;
    let dir = tempfile::tempdir().context("cannot make a temporary directory")?;
    let (npz, nir) = (dir.path().join("model.npz"), dir.path().join("model.nir"));
    std::fs::write(&npz, stdp_host::formats::npz::to_npz(model)?).context("cannot write the temporary .npz")?;
    let o = Command::new(&py)
        .arg("-c")
        .arg(HELPER)
        .arg(&npz)
        .arg(&nir)
        .arg(if approximate { "1" } else { "0" })
        .output()
        .with_context(|| format!("cannot run {}", py.display()))?;
    if !o.status.success() {
        bail!("the nir helper failed: {}", String::from_utf8_lossy(&o.stderr).trim());
    }
    let bytes = std::fs::read(&nir).context("the nir helper wrote no file")?;
    stdp_host::write_atomic(out, &bytes)
}
