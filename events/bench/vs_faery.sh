#!/usr/bin/env bash
# Decode speed of stdp-events' readers beside faery's Rust decoders (PyPI
# `faery`, in a virtual environment under target/), on the shared real
# recordings, in one run: for each file, faery and ours alternate, best of
# N passes each (files in the page cache: decoding, not the disk).
#
#   events/bench/vs_faery.sh [N]        (default N = 15)
#
# Run it with nothing else busy on the machine. Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-15}
DATA=../shared/data/events
if [ ! -x target/faery-venv/bin/python ]; then
  python3 -m venv target/faery-venv
fi
target/faery-venv/bin/pip install -q --disable-pip-version-check "faery==0.7.1"
cargo build -q --release -p stdp-events --example read_speed
target/faery-venv/bin/python - "$N" "$DATA" <<'PY'
import re, subprocess, sys, time
import faery
n, data = int(sys.argv[1]), sys.argv[2]
files = ["evt3.raw", "gen4.dat", "evt2.raw", "davis346.aedat4"]
print(f"faery {faery.__version__ if hasattr(faery, '__version__') else ''} against stdp-events, best of {n} passes each")
print()
print("| file | format | events | faery M events/s | stdp-events M events/s | ratio |")
print("|---|---|---|---|---|---|")
for f in files:
    path = f"{data}/{f}"
    best_faery, best_ours, events, fmt = float("inf"), float("inf"), 0, ""
    for _ in range(n):
        t = time.perf_counter()
        k = 0
        for packet in faery.events_stream_from_file(path):
            k += len(packet)
        best_faery = min(best_faery, time.perf_counter() - t)
        out = subprocess.run(["target/release/examples/read_speed", "-n", "1", path],
                             check=True, capture_output=True, text=True).stdout
        m = re.search(r": (\w+), (\d+) events, best of 1: ([0-9.]+) ms", out)
        fmt, events = m.group(1), int(m.group(2))
        best_ours = min(best_ours, float(m.group(3)) / 1e3)
        assert k == events, f"{f}: faery {k} events, ours {events}"
    rf, ro = events / best_faery / 1e6, events / best_ours / 1e6
    print(f"| {f} | {fmt} | {events:,} | {rf:.1f} | {ro:.1f} | {ro / rf:.2f}x |")
PY
