# host-sim's NIR reader: `python -c THIS FILE.nir DIR` reads the graph with
# the `nir` package and writes what host-sim needs to map it onto the core
# (src/export/nir/import.rs), without interpreting anything itself:
# DIR/graph.json (each node's type, array fields with their shapes, other
# fields; the edges; the metadata) and DIR/arrays.npz (every numeric array
# field as float64, named NODE.FIELD).
import json
import sys

import nir
import numpy as np

src, out = sys.argv[1], sys.argv[2]
g = nir.read(src)


def plain(x):
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, bytes):
        return x.decode("utf-8", "replace")
    if isinstance(x, dict):
        return {str(k): plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    if x is None or isinstance(x, (bool, int, float, str)):
        return x
    return repr(x)


arrays, nodes = {}, {}
for name, node in g.nodes.items():
    shapes, attrs = {}, {}
    for field, value in vars(node).items():
        if isinstance(value, np.ndarray) and value.dtype.kind in "fiub" and field not in ("input_type", "output_type"):
            arrays[f"{name}.{field}"] = np.asarray(value, dtype=np.float64)
            shapes[field] = list(value.shape)
        elif isinstance(node, nir.NIRGraph) and field in ("nodes", "edges"):
            attrs[field] = "(a subgraph)"
        else:
            attrs[field] = plain(value)
    nodes[name] = {"type": type(node).__name__, "arrays": shapes, "attrs": attrs}

with open(f"{out}/graph.json", "w") as f:
    json.dump({"nodes": nodes, "edges": [list(e) for e in g.edges], "metadata": plain(g.metadata)}, f)
np.savez(f"{out}/arrays.npz", **arrays)
