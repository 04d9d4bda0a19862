#!/usr/bin/env python3
"""Train the Diehl & Cook 2015 network in Brian 2, for comparison with host-sim.

    python3 diehl_cook.py --data ../shared/data/mnist --neurons 100 \
        --examples 10000 --seed 1 --template T.model --out brian.model

The network and the procedure are those of ../shared/docs/model.md in the
form host-sim trains by default (the paper's text): conductance-based
excitatory neurons with the adaptive threshold, an inhibitory layer
(exc -> inh one-to-one 10.4, inh -> exc all-but-own 17.0), 5 ms / 2 ms
refractory periods, no input delays, the triplet rule of the original code
with nearest-spike traces (set to 1), weights rescaled to sum 78 before
every presentation, 350 ms of Poisson input (pixel / 8 * intensity Hz) and
150 ms of rest, intensity + 1 and the example again when the excitatory
layer fired fewer than 5 spikes (capped at 32, as host-sim). Equations,
schedule and integration are those the scenario tests check host-sim
against (see README.md here), dt = 0.5 ms.

What it writes: a host-sim model file (`--out`) holding Brian's trained
weights and theta, made from a template model of the same size
(`host-sim train --limit 1 --assign 1 --neurons N --out T.model`, checked
before training starts): its header with the
training history and assignments cleared, the values replaced, the CRC
recomputed. `host-sim eval --model brian.model --reassign K` then labels and
tests Brian's network exactly as it does its own, so the comparison is of
training alone.
"""
import argparse
import gzip
import json
import os
import struct
import sys
import time
import zlib

import numpy as np
from brian2 import (
    Hz, ms, mV, Network, NeuronGroup, PoissonGroup, SpikeMonitor, Synapses,
    defaultclock, prefs, seed as brian_seed,
)
from brian2 import __version__ as brian_version


def read_idx(path):
    try:
        with gzip.open(path, "rb") as f:
            data = f.read()
        magic, = struct.unpack(">I", data[:4])
        dims = magic & 0xFF
        if magic >> 8 != 0x08 or dims != 3:
            raise ValueError("not an IDX file of uint8 images")
        shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
        if shape[1:] != (28, 28):
            raise ValueError(f"images of {shape[1]}x{shape[2]} pixels, 28x28 expected")
        return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)
    except (OSError, EOFError, struct.error, ValueError) as e:
        sys.exit(f"{path}: {e}")


def build(n, rng):
    defaultclock.dt = 0.5 * ms
    eqs_e = """
    dv/dt = ((-65*mV - v) + ge * (-v) + gi * (-100*mV - v)) / (100*ms) : volt (unless refractory)
    dge/dt = -ge / (1*ms) : 1
    dgi/dt = -gi / (2*ms) : 1
    dtheta/dt = -theta / (1e7*ms) : volt
    """
    exc = NeuronGroup(n, eqs_e, threshold="v > theta - 20*mV - 52*mV",
                      reset="v = -65*mV; theta += 0.05*mV", refractory=5 * ms,
                      method="exponential_euler", name="exc")
    exc.v = -105 * mV
    exc.theta = 20 * mV
    eqs_i = """
    dv/dt = ((-60*mV - v) + ge * (-v) + gi * (-85*mV - v)) / (10*ms) : volt (unless refractory)
    dge/dt = -ge / (1*ms) : 1
    dgi/dt = -gi / (2*ms) : 1
    """
    inh = NeuronGroup(n, eqs_i, threshold="v > -40*mV", reset="v = -45*mV",
                      refractory=2 * ms, method="exponential_euler", name="inh")
    inh.v = -100 * mV
    inp = PoissonGroup(784, rates=0 * Hz, name="input")
    stdp = """
    w : 1
    dpre/dt = -pre / (20*ms) : 1 (event-driven)
    dpost1/dt = -post1 / (20*ms) : 1 (event-driven)
    dpost2/dt = -post2 / (40*ms) : 1 (event-driven)
    """
    xe = Synapses(inp, exc, stdp,
                  on_pre="ge_post += w; pre = 1.; w = clip(w - 0.0001 * post1, 0, 1)",
                  on_post="w = clip(w + 0.01 * pre * post2, 0, 1); post1 = 1.; post2 = 1.",
                  name="xe")
    xe.connect()
    # host-sim's order is row-major by input (k = i * n + j); check that
    # Brian's all-to-all connect made the same order.
    if not (np.array_equal(xe.i[:], np.repeat(np.arange(784), n))
            and np.array_equal(xe.j[:], np.tile(np.arange(n), 784))):
        sys.exit("Brian's synapse order is not row-major by input")
    xe.w = (rng.random(784 * n) + 0.01) * 0.3
    ei = Synapses(exc, inh, on_pre="ge_post += 10.4", name="ei")
    ei.connect(j="i")
    ie = Synapses(inh, exc, on_pre="gi_post += 17.0", name="ie")
    ie.connect(condition="i != j")
    mon = SpikeMonitor(exc, record=False, name="mon")
    return Network(exc, inh, inp, xe, ei, ie, mon), exc, inp, xe, mon


def read_template(path, n):
    """The template's header, checked before any training: a finished f32
    model of n neurons whose configuration is the network built here."""
    try:
        b = open(path, "rb").read()
    except OSError as e:
        sys.exit(f"{path}: {e}")
    if len(b) < 20 or b[:8] != b"STDPMDL\0":
        sys.exit(f"{path}: not a host-sim model file")
    if zlib.crc32(b[:-4]) != struct.unpack("<I", b[-4:])[0]:
        sys.exit(f"{path}: corrupt model file (checksum mismatch)")
    jl, = struct.unpack("<I", b[12:16])
    try:
        meta = json.loads(b[16:16 + jl])
        c = meta["config"]
        got = (c["n_neurons"], c["n_inputs"], c["dt_ms"], c["present_ms"], c["rest_ms"],
               c["inhibition"], c["input_delay_ms"], c["stdp"]["rule"], meta["value_type"])
    except (ValueError, KeyError, TypeError) as e:
        sys.exit(f"{path}: unreadable model header ({e})")
    want = (n, 784, 0.5, 350.0, 150.0, "layer", 0.0, "triplet", "f32")
    if meta.get("progress") is not None:
        sys.exit(f"{path}: a training checkpoint; the template must be a finished model "
                 f"(`host-sim train --neurons {n} --limit 1 --assign 1`)")
    if got != want:
        sys.exit(f"{path}: the template must be a finished f32 model of the network trained here "
                 f"(`host-sim train --neurons {n} --limit 1 --assign 1`); its (neurons, inputs, dt, "
                 f"present, rest, inhibition, delay, rule, value type) are {got}, need {want}")
    return b, meta


def write_model(template, out, weights, theta_mv, trained, retries, seconds, seed):
    b, meta = template
    meta.update(written_by=f"Brian {brian_version} (tests/brian2/diehl_cook.py)",
                seed=seed, examples_trained=trained, retries=retries,
                train_seconds=seconds, assignments=[], history=[])
    js = json.dumps(meta).encode()
    body = b"STDPMDL\0" + b[8:12] + struct.pack("<I", len(js)) + js
    body += np.asarray(weights, "<f4").tobytes() + np.asarray(theta_mv, "<f4").tobytes()
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(body + struct.pack("<I", zlib.crc32(body)))
    os.replace(tmp, out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--neurons", type=int, default=100)
    ap.add_argument("--examples", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--template", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--target", default="cython", choices=["cython", "numpy"])
    a = ap.parse_args()
    if a.neurons < 1:
        sys.exit("--neurons must be at least 1")
    prefs.codegen.target = a.target
    template = read_template(a.template, a.neurons)
    images = read_idx(f"{a.data}/train-images-idx3-ubyte.gz").reshape(-1, 784)
    if not 0 < a.examples <= len(images):
        sys.exit(f"--examples must be 1..{len(images)}")
    rng = np.random.default_rng(a.seed)
    brian_seed(a.seed)
    net, exc, inp, xe, mon = build(a.neurons, rng)
    n = a.neurons
    retries = 0
    t0 = time.time()
    for j in range(a.examples):
        intensity = 2.0
        while True:
            wm = np.asarray(xe.w[:]).reshape(784, n)
            xe.w = (wm * (78.0 / wm.sum(axis=0))).ravel()
            inp.rates = images[j] / 8.0 * intensity * Hz
            before = mon.num_spikes
            net.run(350 * ms)
            fired = mon.num_spikes - before
            inp.rates = 0 * Hz
            net.run(150 * ms)
            if fired >= 5 or intensity >= 32:
                break
            intensity += 1
            retries += 1
        if (j + 1) % 500 == 0:
            el = time.time() - t0
            print(f"{j + 1} examples, {retries} retries, {el:.0f} s ({(j + 1) / el:.1f} examples/s)",
                  flush=True)
    write_model(template, a.out, np.asarray(xe.w[:]), np.asarray(exc.theta[:] / mV),
                a.examples, retries, time.time() - t0, a.seed)
    print(f"wrote {a.out}: {a.examples} examples, {retries} retries, {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
