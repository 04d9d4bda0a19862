# host-sim export --format nir: a frozen network as a NIR graph.
#
# Run by host-sim (src/export/nir/mod.rs) as `python -c THIS NPZ OUT
# APPROXIMATE`: reads the model's .npz (host-sim export --format npz) and
# writes the NIR graph to OUT with the `nir` package (HDF5, through h5py).
# Units: time constants in seconds, potentials in mV; every input spike is
# a unit Dirac impulse. host-sim has checked before that the model can be
# written (exactly, or approximately if APPROXIMATE is "1").
#
# Per layer:
# - current-based LIF (delta synapses): LIF with r = tau, so a weight w
#   moves v by w mV (exact);
# - current-based with synaptic currents ("cuba": true): CubaLIF with
#   tau_syn = tau_ge, w_in = 1, r = (e_exc - v_rest) tau_syn, so that a
#   weight w makes I jump by w / tau_syn and r I = (e_exc - v_rest) ge, the
#   core's drive (exact when the layer's inhibitory input has tau_gi =
#   tau_ge; else the inhibitory weights are scaled by tau_gi / tau_ge, which
#   keeps the charge of each inhibitory input);
# - conductance-based (approximate only): the CubaLIF above with the
#   driving forces e - v taken at v = v_ref, the layer's mean threshold
#   (where they decide whether a neuron fires; measured against v_rest and
#   the midpoint in docs/results/python.md), i.e. r = (e_exc - v_ref) tau_syn.
# Inhibitory weights onto a CubaLIF are scaled by (e_inh - v_ref) /
# (e_exc - v_ref) (negative; v_ref = v_rest for synaptic currents): they
# enter the one synaptic current.
import json
import sys

import nir
import numpy as np

npz, out, approximate = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
z = np.load(npz)
cfg = json.loads(z["config_json"].item())
meta = json.loads(z["meta_json"].item())
w = z["weights"]  # (n_inputs, n_neurons): input i -> neuron j
n_in, n = w.shape
theta = z["theta_mv"]
exc, inh = cfg["exc"], cfg["inh"]


def synaptic(p):
    return p["conductance"] or p.get("cuba", False)


def v_ref(p, threshold):
    """Where the driving forces are taken: v_rest (synaptic currents: the
    model's own definition), the mean threshold (conductance synapses)."""
    return float(np.mean(threshold)) if p["conductance"] else p["v_rest_mv"]


def layer(p, threshold):
    size = len(threshold)
    full = lambda x: np.full(size, float(x))
    thr = np.asarray(threshold, dtype=float)
    if not synaptic(p):
        tau = full(p["tau_m_ms"] * 1e-3)
        return nir.LIF(tau=tau, r=tau.copy(), v_leak=full(p["v_rest_mv"]), v_threshold=thr, v_reset=full(p["v_reset_mv"]))
    tau_syn = p["tau_ge_ms"] * 1e-3
    return nir.CubaLIF(
        tau_syn=full(tau_syn),
        tau_mem=full(p["tau_m_ms"] * 1e-3),
        r=full((p["e_exc_mv"] - v_ref(p, threshold)) * tau_syn),
        v_leak=full(p["v_rest_mv"]),
        v_threshold=thr,
        v_reset=full(p["v_reset_mv"]),
        w_in=full(1.0),
    )


def inhibitory_scale(p, threshold):
    """What an inhibitory weight becomes in the Linear onto a layer with p."""
    if not synaptic(p):
        return -1.0  # v -= w
    d_exc = p["e_exc_mv"] - v_ref(p, threshold)
    d_inh = p["e_inh_mv"] - v_ref(p, threshold)
    return d_inh / d_exc * (p["tau_gi_ms"] / p["tau_ge_ms"])


# theta folded into each neuron's threshold, summed as the core does:
# (v_thresh - theta_offset) + theta.
exc_threshold = (exc["v_thresh_mv"] - exc["theta_offset_mv"]) + theta
nodes = {
    "input": nir.Input(input_type={"input": np.array([n_in])}),
    "w_in": nir.Linear(weight=np.ascontiguousarray(w.T)),
    "exc": layer(exc, exc_threshold),
    "output": nir.Output(output_type={"output": np.array([n])}),
}
edges = [("input", "w_in"), ("w_in", "exc"), ("exc", "output")]
others = 1.0 - np.eye(n)
if cfg["inhibition"] == "layer":
    nodes["w_exc_inh"] = nir.Linear(weight=cfg["w_exc_inh"] * np.eye(n))
    nodes["inh"] = layer(inh, np.full(n, inh["v_thresh_mv"] - inh["theta_offset_mv"] + inh["theta_init_mv"]))
    nodes["w_inh_exc"] = nir.Linear(weight=inhibitory_scale(exc, exc_threshold) * cfg["w_inh_exc"] * others)
    edges += [("exc", "w_exc_inh"), ("w_exc_inh", "inh"), ("inh", "w_inh_exc"), ("w_inh_exc", "exc")]
elif cfg["inhibition"] == "direct":
    nodes["w_lateral"] = nir.Linear(weight=inhibitory_scale(exc, exc_threshold) * cfg["direct_inh_weight"] * others)
    edges += [("exc", "w_lateral"), ("w_lateral", "exc")]

kind = {False: "current-based", True: "synaptic currents"}
metadata = {
    "source": "host-sim",
    "model": "Diehl & Cook 2015, frozen: no plasticity, theta in the thresholds",
    "approximation": (
        "conductance synapses as current synapses with the driving forces taken at each layer's mean threshold; one "
        "synaptic time constant (tau_ge) per layer, inhibitory weights scaled by tau_gi / tau_ge"
        if approximate
        else "none"
    ),
    "units": "time constants in s, potentials in mV; inputs are Poisson spike trains, rate = pixel / 8 * intensity Hz",
    "dt_ms": float(cfg["dt_ms"]),
    "present_ms": float(cfg["present_ms"]),
    "rest_ms": float(cfg["rest_ms"]),
    "intensity": float(cfg["intensity"]),
    "refractory_ms_exc": float(exc["refractory_ms"]),
    "refractory_ms_inh": float(inh["refractory_ms"]),
    "not_in_nir": "refractory periods (NIR's LIF and CubaLIF have none)",
    "assignments": np.asarray(z["assignments"], dtype=np.int64),
    # What host-sim reads back (`host-sim eval --model FILE.nir`) for what
    # NIR cannot say; the graph's own values win where they differ.
    "host_sim_config": json.dumps(cfg),
    "host_sim_backend": meta["backend"],
}
nir.write(out, nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata))
