"""Counts the "noise" neurons of host-sim f32 models: neurons with more than
25 % of their input weight on pixels that are on in fewer than 1 % of the
training digits (a uniformly random neuron has about 37 % there).

    python3 docs/noise_neurons.py ../shared/data/mnist MODEL [MODEL ...]

Needs numpy. The model layout is documented in host/src/formats/model.rs.
"""
import gzip
import json
import struct
import sys

import numpy as np


def load(path):
    b = open(path, "rb").read()
    if b[:8] != b"STDPMDL\0":
        sys.exit(f"{path}: not a host-sim model file")
    n = struct.unpack("<I", b[12:16])[0]
    h = json.loads(b[16:16 + n])
    if h["value_type"] != "f32":
        sys.exit(f"{path}: stored as {h['value_type']}, this script reads f32 models")
    c = h["config"]
    neurons, inputs = c["n_neurons"], c["n_inputs"]
    w = np.frombuffer(b, "<f4", inputs * neurons, 16 + n).reshape(inputs, neurons)
    theta = np.frombuffer(b, "<f4", neurons, 16 + n + 4 * inputs * neurons)
    return w, theta


def main():
    data, models = sys.argv[1], sys.argv[2:]
    raw = gzip.open(f"{data}/train-images-idx3-ubyte.gz").read()
    on = (np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 784) > 0).mean(0)
    rare = on < 0.01
    for path in models:
        w, theta = load(path)
        frac = w[rare].sum(0) / w.sum(0)
        noisy = frac > 0.25
        print(f"{path}: {noisy.sum()} noise neurons of {w.shape[1]}; their theta (mV): "
              f"{[f'{t:.1f}' for t in theta[noisy]]}; median theta {np.median(theta):.1f} mV")


if __name__ == "__main__":
    main()
