#!/usr/bin/env python3
"""Independent plain-numpy, step-by-step implementation of the scenario
semantics (docs/scenario-format.md), used to cross-check run_scenario.py.

    python3 numpy_reference.py SCENARIO.toml OUT.json     # run one scenario
    python3 numpy_reference.py --check DIR                # compare with DIR/*.brian2.json

--check requires identical spike lists (neuron and step), final weights and
every weights snapshot within 1e-9, and v within 1e-9 (absolute, mV).
"""
import glob
import json
import math
import os
import sys

try:
    import tomllib
except ImportError:
    import tomli as tomllib

import numpy as np


def simulate(sc):
    dt = float(sc["dt_ms"])
    n_steps = int(round(float(sc["duration_ms"]) / dt))
    nr, syn, rec = sc["neurons"], sc["synapses"], sc.get("record", {})
    n_out = int(nr["count"])
    n_in = int(sc["inputs"]["count"])
    conductance = nr.get("model", "lif") == "conductance"

    v_rest, v_reset = float(nr["v_rest_mv"]), float(nr["v_reset_mv"])
    v_thresh, tau_m = float(nr["v_thresh_mv"]), float(nr["tau_m_ms"])
    R = math.floor(float(nr["refractory_ms"]) / dt + 0.001)
    theta_plus = float(nr.get("theta_plus_mv", 0.0))
    d_theta = math.exp(-dt / float(nr.get("tau_theta_ms", 1e7)))
    d_m = math.exp(-dt / tau_m)
    if conductance:
        d_ge = math.exp(-dt / float(nr["tau_ge_ms"]))
        d_gi = math.exp(-dt / float(nr["tau_gi_ms"]))
        e_exc, e_inh = float(nr["e_exc_mv"]), float(nr["e_inh_mv"])

    w = np.array(syn["weights"], dtype=float).reshape(n_in, n_out).copy()
    w_max = float(syn["w_max"])
    rule = syn.get("rule", "none")
    additive = syn.get("trace_mode", "set") == "additive"
    if rule != "none":
        nu_pre = float(syn.get("nu_pre", 0.0))
        nu_post = float(syn.get("nu_post", 0.0))
        d_pre = math.exp(-dt / float(syn["tau_pre_ms"]))
        d_p1 = math.exp(-dt / float(syn["tau_post1_ms"]))
        d_p2 = math.exp(-dt / float(syn.get("tau_post2_ms", syn["tau_post1_ms"])))
        x_tar = float(syn.get("x_tar", 0.0))
        mu = float(syn.get("mu", 1.0))
        beta = float(syn.get("beta", 0.0))

    # input events per step, in (written time, index) order
    events = {}
    for i, t in sorted(((int(a), float(b)) for a, b in sc["inputs"]["spikes"]),
                       key=lambda e: (e[1], e[0])):
        k = math.floor(t / dt + 0.001)
        if k < n_steps:
            events.setdefault(k, []).append(i)

    every = 0
    if float(rec.get("weights_every_ms", 0.0) or 0.0) > 0:
        every = int(round(float(rec["weights_every_ms"]) / dt))

    v = [v_rest] * n_out
    theta = [0.0] * n_out
    ge = [0.0] * n_out
    gi = [0.0] * n_out
    k_last = [None] * n_out
    x_pre = [0.0] * n_in            # per input (all its synapses share it)
    x_p1 = [0.0] * n_out            # per neuron
    x_p2 = [0.0] * n_out
    spikes, vrec, hist = [], [[] for _ in range(n_out)], []

    def refractory(j, k):
        return k_last[j] is not None and k - k_last[j] < R

    def clip(x):
        return min(max(x, 0.0), w_max)

    for k in range(n_steps):
        # 1. state update
        for j in range(n_out):
            if not refractory(j, k):
                if conductance:
                    g = 1.0 + ge[j] + gi[j]
                    v_inf = (v_rest + ge[j] * e_exc + gi[j] * e_inh) / g
                    v[j] = v_inf + (v[j] - v_inf) * math.exp(-dt * g / tau_m)
                else:
                    v[j] = v_rest + (v[j] - v_rest) * d_m
            if conductance:
                ge[j] *= d_ge
                gi[j] *= d_gi
            theta[j] *= d_theta
        if rule != "none":
            x_pre = [x * d_pre for x in x_pre]
            x_p1 = [x * d_p1 for x in x_p1]
            x_p2 = [x * d_p2 for x in x_p2]
        # 2. threshold
        fired = [j for j in range(n_out)
                 if not refractory(j, k) and v[j] > v_thresh + theta[j]]
        for j in fired:
            k_last[j] = k
            spikes.append([j, k * dt])
        # 3. synapses: on_pre, then on_post
        for i in events.get(k, []):
            for j in range(n_out):
                if conductance:
                    ge[j] += w[i, j]
                elif not refractory(j, k):
                    v[j] += w[i, j]
                if rule in ("pair", "triplet"):
                    w[i, j] = clip(w[i, j] - nu_pre * x_p1[j])
            if rule != "none":
                x_pre[i] = x_pre[i] + 1.0 if additive else 1.0
        if rule != "none":
            for j in fired:
                for i in range(n_in):
                    if rule == "pair":
                        dw = nu_post * x_pre[i]
                    elif rule == "triplet":
                        dw = nu_post * x_pre[i] * x_p2[j]
                    elif rule == "power-law":
                        dw = nu_post * (x_pre[i] - x_tar) * (w_max - w[i, j]) ** mu
                    else:
                        dw = nu_post * (x_pre[i] * math.exp(-beta * w[i, j])
                                        - x_tar * math.exp(-beta * (w_max - w[i, j])))
                    w[i, j] = clip(w[i, j] + dw)
                x_p1[j] = x_p1[j] + 1.0 if additive else 1.0
                x_p2[j] = x_p2[j] + 1.0 if additive else 1.0
        # 4. reset
        for j in fired:
            v[j] = v_reset
            theta[j] += theta_plus
        # record
        for j in range(n_out):
            vrec[j].append(v[j])
        if every and k % every == 0:
            hist.append({"t_ms": k * dt, "weights": w.tolist()})

    return {
        "spikes": spikes,
        "final_weights": w.tolist(),
        "v": vrec if rec.get("v", False) else [],
        "weights_history": hist,
        "backend": "numpy-reference",
    }


def load(path):
    with open(path, "rb") as f:
        return tomllib.load(f)


def compare(a, b, tol=1e-9):
    """List of disagreements between two outputs (a: reference, b: brian2)."""
    errs = []
    if [s[0] for s in a["spikes"]] != [s[0] for s in b["spikes"]] or any(
            abs(x[1] - y[1]) > 1e-9 for x, y in zip(a["spikes"], b["spikes"])):
        errs.append(f"spikes differ: {len(a['spikes'])} vs {len(b['spikes'])}")
    wa, wb = np.array(a["final_weights"]), np.array(b["final_weights"])
    if wa.shape != wb.shape or np.max(np.abs(wa - wb)) > tol:
        errs.append(f"final weights differ by {np.max(np.abs(wa - wb))}")
    ha, hb = a["weights_history"], b["weights_history"]
    if [h["t_ms"] for h in ha] != [h["t_ms"] for h in hb]:
        errs.append("weights_history times differ")
    else:
        for x, y in zip(ha, hb):
            d = np.max(np.abs(np.array(x["weights"]) - np.array(y["weights"])))
            if d > tol:
                errs.append(f"weights at t={x['t_ms']} differ by {d}")
                break
    va, vb = np.array(a["v"]), np.array(b["v"])
    if va.shape != vb.shape:
        errs.append(f"v shapes differ {va.shape} vs {vb.shape}")
    elif va.size and np.max(np.abs(va - vb)) > tol:
        errs.append(f"v differs by {np.max(np.abs(va - vb))}")
    return errs


def main(argv):
    if len(argv) == 3 and argv[1] == "--check":
        bad = 0
        for toml in sorted(glob.glob(os.path.join(argv[2], "*.toml"))):
            ref = toml[:-5] + ".brian2.json"
            a = simulate(load(toml))
            with open(ref) as f:
                b = json.load(f)
            errs = compare(a, b)
            vdiff = (np.max(np.abs(np.array(a["v"]) - np.array(b["v"])))
                     if a["v"] else float("nan"))
            wdiff = np.max(np.abs(np.array(a["final_weights"])
                                  - np.array(b["final_weights"])))
            print(f"{'FAIL' if errs else 'ok  '} {os.path.basename(toml)}: "
                  f"{len(a['spikes'])} spikes, max|dw|={wdiff:.2e}, "
                  f"max|dv|={vdiff:.2e} {'; '.join(errs)}")
            bad += bool(errs)
        return 1 if bad else 0
    if len(argv) == 3:
        out = simulate(load(argv[1]))
        with open(argv[2], "w") as f:
            json.dump(out, f)
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
