# host-sim export --format nir: a current-based model as a NIR graph.
#
# Run by host-sim (src/export/nir.rs) as `python -c THIS NPZ OUT`: reads the
# model's .npz (host-sim export --format npz) and writes the NIR graph to OUT
# with the `nir` package (HDF5, through h5py). Units: time constants in
# seconds, potentials in mV; every input spike is a unit Dirac impulse, so a
# Linear weight w with r = tau moves v by w mV, as the core's current-based
# LIF does.
import json
import sys

import nir
import numpy as np

npz, out = sys.argv[1], sys.argv[2]
z = np.load(npz)
cfg = json.loads(z["config_json"].item())
w = z["weights"]  # (n_inputs, n_neurons): input i -> neuron j
n_in, n = w.shape
theta = z["theta_mv"]
exc, inh = cfg["exc"], cfg["inh"]


def lif(p, threshold):
    size = len(threshold)
    tau = np.full(size, p["tau_m_ms"] * 1e-3)
    return nir.LIF(
        tau=tau,
        r=tau.copy(),
        v_leak=np.full(size, p["v_rest_mv"]),
        v_threshold=np.asarray(threshold, dtype=float),
        v_reset=np.full(size, p["v_reset_mv"]),
    )


nodes = {
    "input": nir.Input(input_type={"input": np.array([n_in])}),
    "w_in": nir.Linear(weight=np.ascontiguousarray(w.T)),
    # theta folded into each neuron's threshold
    "exc": lif(exc, exc["v_thresh_mv"] + theta - exc["theta_offset_mv"]),
    "output": nir.Output(output_type={"output": np.array([n])}),
}
edges = [("input", "w_in"), ("w_in", "exc"), ("exc", "output")]
others = 1.0 - np.eye(n)
if cfg["inhibition"] == "layer":
    nodes["w_exc_inh"] = nir.Linear(weight=cfg["w_exc_inh"] * np.eye(n))
    nodes["inh"] = lif(inh, np.full(n, inh["v_thresh_mv"]))
    nodes["w_inh_exc"] = nir.Linear(weight=-cfg["w_inh_exc"] * others)
    edges += [("exc", "w_exc_inh"), ("w_exc_inh", "inh"), ("inh", "w_inh_exc"), ("w_inh_exc", "exc")]
elif cfg["inhibition"] == "direct":
    nodes["w_lateral"] = nir.Linear(weight=-cfg["direct_inh_weight"] * others)
    edges += [("exc", "w_lateral"), ("w_lateral", "exc")]

metadata = {
    "source": "host-sim",
    "model": "Diehl & Cook 2015, current-based variant (frozen: no plasticity, theta in the thresholds)",
    "units": "time constants in s, potentials in mV; inputs are Poisson spike trains, rate = pixel / 8 * intensity Hz",
    "dt_ms": float(cfg["dt_ms"]),
    "present_ms": float(cfg["present_ms"]),
    "rest_ms": float(cfg["rest_ms"]),
    "intensity": float(cfg["intensity"]),
    "refractory_ms_exc": float(exc["refractory_ms"]),
    "refractory_ms_inh": float(inh["refractory_ms"]),
    "not_in_nir": "refractory periods (NIR's LIF has none)",
    "assignments": np.asarray(z["assignments"], dtype=np.int64),
}
nir.write(out, nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata))
