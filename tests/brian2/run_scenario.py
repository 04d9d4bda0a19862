#!/usr/bin/env python3
"""Run a scenario file (docs/scenario-format.md) in Brian 2 and write the
reference JSON output.

    python3 run_scenario.py SCENARIO.toml OUT.json

Output keys: "spikes", "final_weights", "v", "weights_history", "backend".
"v" is an EMPTY LIST when record.v is false (never omitted), and
"weights_history" is an empty list when record.weights_every_ms is absent
or 0.

Semantics notes (see README.md next to this file):
- Input spike time t -> step k = floor(t/dt + 0.001); Brian gets k*dt;
  spikes with k >= N are dropped.
- Refractoriness: Brian computes
      not_refractory = timestep(t - lastspike, dt) >= timestep(refractory, dt)
  with timestep(x, dt) = int((x + 1e-3*dt)/dt). We pass refractory = R*dt
  with R = floor(refractory_ms/dt + 0.001) computed here on the doc's rule, so
  timestep(refractory) == R, and t, lastspike are exact multiples k*dt of the
  clock, so the test is exactly (k - k_last) >= R. v is flagged
  (unless refractory) so it is not written while refractory; the synaptic
  jump on v (lif) is gated explicitly by not_refractory_post.
- v and weights are recorded with when='end' (after resets).
"""
import json
import math
import sys

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib

import numpy as np

from brian2 import (
    ms, prefs, defaultclock, NeuronGroup, SpikeGeneratorGroup, Synapses,
    SpikeMonitor, StateMonitor, NetworkOperation, Network, start_scope,
)

prefs.codegen.target = "numpy"

RULES = ("none", "pair", "triplet", "power-law", "exp-weight")


def fail(msg):
    raise SystemExit(f"scenario error: {msg}")


def load(path):
    with open(path, "rb") as f:
        sc = tomllib.load(f)
    dt = float(sc["dt_ms"])
    duration = float(sc["duration_ms"])
    if dt <= 0 or duration <= 0:
        fail("dt_ms and duration_ms must be > 0")
    return sc, dt, duration


def input_steps(sc, dt, n_steps):
    """[(input, k, t_written)] sorted by (t_written, input), k < N."""
    inp = sc["inputs"]
    n_in = int(inp["count"])
    seen = set()
    out = []
    for pair in inp.get("spikes", []):
        i, t = int(pair[0]), float(pair[1])
        if not 0 <= i < n_in:
            fail(f"input index {i} out of range")
        if t < 0:
            fail(f"negative spike time {t}")
        k = math.floor(t / dt + 0.001)
        if (i, k) in seen:
            fail(f"input {i} spikes twice in step {k}")
        seen.add((i, k))
        if k < n_steps:
            out.append((i, k, t))
    out.sort(key=lambda e: (e[2], e[0]))
    return n_in, out


def main(scenario_path, out_path):
    sc, dt, duration = load(scenario_path)
    n_steps = int(round(duration / dt))
    nr = sc["neurons"]
    syn = sc["synapses"]
    rec = sc.get("record", {})

    n_out = int(nr["count"])
    model = nr.get("model", "lif")
    if model not in ("lif", "conductance"):
        fail(f"unknown model {model!r}")
    n_in, spikes_in = input_steps(sc, dt, n_steps)

    W0 = np.array(syn["weights"], dtype=float)
    if W0.shape != (n_in, n_out):
        fail(f"weights shape {W0.shape} != ({n_in}, {n_out})")
    w_max = float(syn["w_max"])
    rule = syn.get("rule", "none")
    if rule not in RULES:
        fail(f"unknown rule {rule!r}")
    additive = syn.get("trace_mode", "set") == "additive"

    R = math.floor(float(nr["refractory_ms"]) / dt + 0.001)

    every_ms = float(rec.get("weights_every_ms", 0.0) or 0.0)
    every = 0
    if every_ms > 0:
        every = int(round(every_ms / dt))
        if abs(every * dt - every_ms) > 1e-9 * max(1.0, every_ms):
            fail("weights_every_ms must be a multiple of dt_ms")
    record_v = bool(rec.get("v", False))

    start_scope()
    defaultclock.dt = dt * ms

    ns = dict(
        v_rest=float(nr["v_rest_mv"]),
        v_reset=float(nr["v_reset_mv"]),
        v_thresh=float(nr["v_thresh_mv"]),
        tau_m=float(nr["tau_m_ms"]) * ms,
        theta_plus=float(nr.get("theta_plus_mv", 0.0)),
        tau_theta=float(nr.get("tau_theta_ms", 1e7)) * ms,
        w_max=w_max,
    )
    if model == "lif":
        eqs = """
        dv/dt = (v_rest - v)/tau_m : 1 (unless refractory)
        dtheta/dt = -theta/tau_theta : 1
        """
        jump = "v_post += w*int(not_refractory_post)"
    else:
        ns.update(
            tau_ge=float(nr["tau_ge_ms"]) * ms,
            tau_gi=float(nr["tau_gi_ms"]) * ms,
            e_exc=float(nr["e_exc_mv"]),
            e_inh=float(nr["e_inh_mv"]),
        )
        eqs = """
        dv/dt = ((v_rest - v) + ge*(e_exc - v) + gi*(e_inh - v))/tau_m : 1 (unless refractory)
        dge/dt = -ge/tau_ge : 1
        dgi/dt = -gi/tau_gi : 1
        dtheta/dt = -theta/tau_theta : 1
        """
        jump = "ge_post += w"

    neurons = NeuronGroup(
        n_out, eqs,
        threshold="v > v_thresh + theta",
        reset="v = v_reset\ntheta += theta_plus",
        refractory=R * dt * ms,
        method="exponential_euler",
        namespace=ns,
    )
    neurons.v = ns["v_rest"]

    idx = [e[0] for e in spikes_in]
    times = [e[1] * dt for e in spikes_in] * ms
    # sorted=True keeps our (written time, input index) order inside a step,
    # which is the doc's on_pre order (Brian would otherwise lexsort by
    # (k*dt, index)); k is nondecreasing in this order.
    inputs = SpikeGeneratorGroup(n_in, idx, times, sorted=True)

    # learning rule code
    setv = "+= 1" if additive else "= 1"
    clip = lambda e: f"w = clip({e}, 0, w_max)"
    if rule == "none":
        syn_eqs = "w : 1"
        on_pre = [jump]
        on_post = []
    else:
        ns.update(
            nu_pre=float(syn.get("nu_pre", 0.0)),
            nu_post=float(syn.get("nu_post", 0.0)),
            tau_pre=float(syn["tau_pre_ms"]) * ms,
            tau_post1=float(syn["tau_post1_ms"]) * ms,
            tau_post2=float(syn.get("tau_post2_ms", syn["tau_post1_ms"])) * ms,
        )
        syn_eqs = """
        w : 1
        dapre/dt = -apre/tau_pre : 1 (clock-driven)
        dapost1/dt = -apost1/tau_post1 : 1 (clock-driven)
        dapost2/dt = -apost2/tau_post2 : 1 (clock-driven)
        """
        on_pre = [jump]
        if rule in ("pair", "triplet"):
            on_pre.append(clip("w - nu_pre*apost1"))
        on_pre.append(f"apre {setv}")
        if rule == "pair":
            on_post = [clip("w + nu_post*apre")]
        elif rule == "triplet":
            on_post = [clip("w + nu_post*apre*apost2")]
        elif rule == "power-law":
            ns.update(x_tar=float(syn["x_tar"]), mu=float(syn["mu"]))
            on_post = [clip("w + nu_post*(apre - x_tar)*(w_max - w)**mu")]
        else:  # exp-weight
            ns.update(x_tar=float(syn["x_tar"]), beta=float(syn["beta"]))
            on_post = [clip("w + nu_post*(apre*exp(-beta*w)"
                            " - x_tar*exp(-beta*(w_max - w)))")]
        on_post += [f"apost1 {setv}", f"apost2 {setv}"]

    kw = dict(on_pre="\n".join(on_pre), namespace=ns, method="exact")
    if on_post:
        kw["on_post"] = "\n".join(on_post)
    S = Synapses(inputs, neurons, syn_eqs, **kw)
    ii, jj = np.meshgrid(np.arange(n_in), np.arange(n_out), indexing="ij")
    S.connect(i=ii.ravel(), j=jj.ravel())  # synapse index = i*n_out + j
    S.w = W0.ravel()

    spk = SpikeMonitor(neurons)
    objs = [neurons, inputs, S, spk]
    vmon = None
    if record_v:
        vmon = StateMonitor(neurons, "v", record=True, when="end")
        objs.append(vmon)
    history = []

    def snap(t):
        k = int(round(float(t / defaultclock.dt)))
        if every and k % every == 0:
            w = np.array(S.w[:]).reshape(n_in, n_out)
            history.append({"t_ms": k * dt, "weights": w.tolist()})

    if every:
        objs.append(NetworkOperation(snap, when="end"))

    net = Network(*objs)
    net.run(n_steps * dt * ms, namespace={})

    steps = np.round(np.asarray(spk.t / defaultclock.dt)).astype(int)
    order = sorted(zip(steps.tolist(), np.asarray(spk.i).tolist()))
    out = {
        "spikes": [[int(j), k * dt] for k, j in order],
        "final_weights": np.array(S.w[:]).reshape(n_in, n_out).tolist(),
        "v": [],
        "weights_history": history,
        "backend": "brian2",
    }
    if vmon is not None:
        vv = np.asarray(vmon.v)
        if vv.shape != (n_out, n_steps):
            fail(f"v record shape {vv.shape} != ({n_out}, {n_steps})")
        out["v"] = vv.tolist()
    write_json(out, out_path)


def write_json(out, path):
    """One top-level key per line; floats at full float64 precision."""
    lines = [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in out.items()]
    with open(path, "w") as f:
        f.write("{\n" + ",\n".join(lines) + "\n}\n")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: run_scenario.py SCENARIO.toml OUT.json")
    main(sys.argv[1], sys.argv[2])
