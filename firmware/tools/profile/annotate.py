#!/usr/bin/env python3
"""Per-function totals and an annotated disassembly from qemu_prof.c's counts.

usage: annotate.py ELF COUNTS [ANNOTATED_OUT]

Prints the 15 functions that executed the most instructions; with
ANNOTATED_OUT, also writes `arm-none-eabi-objdump -d` with each
instruction's execution count in front (grep it for the hot loops).
"""
import collections
import re
import subprocess
import sys


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    elf, counts_path = sys.argv[1], sys.argv[2]
    counts = {}
    with open(counts_path) as f:
        for line in f:
            addr, n = line.split()
            counts[int(addr, 16)] = int(n)
    total = sum(counts.values())
    nm = subprocess.run(["arm-none-eabi-nm", "-n", "-S", "-C", elf], capture_output=True, text=True, check=True)
    syms = []
    for line in nm.stdout.splitlines():
        p = line.split(None, 3)
        if len(p) == 4 and p[2] in "tTwW":
            syms.append((int(p[0], 16) & ~1, int(p[1], 16), p[3]))
    per = collections.Counter()
    for addr, n in counts.items():
        name = next((s[2] for s in syms if s[0] <= addr < s[0] + s[1]), "?")
        per[name] += n
    print(f"total {total} instructions")
    for name, n in per.most_common(15):
        print(f"{n / total * 100:6.2f}% {n:>12} {name[:110]}")
    if len(sys.argv) > 3:
        dis = subprocess.run(["arm-none-eabi-objdump", "-d", "-C", "--no-show-raw-insn", elf],
                             capture_output=True, text=True, check=True)
        with open(sys.argv[3], "w") as out:
            for line in dis.stdout.splitlines():
                m = re.match(r"\s*([0-9a-f]+):", line)
                n = counts.get(int(m.group(1), 16), 0) if m else 0
                out.write(f"{n:>10} {line}\n")


if __name__ == "__main__":
    main()
