#!/usr/bin/env python3
"""Where a release build of host-sim spends its time, by the core function
each sample's code was inlined from (the presentation is inlined whole
into one function per instruction set, so `perf report` alone shows one
symbol).

    perf record -o perf.data -F 2000 target/release/host-sim bench-one \
        --data ../shared/data/mnist --neurons 1600 --examples 600 \
        --settings paper --backend f32 --mode train --threads 1
    python3 docs/perf_inline.py perf.data target/release/host-sim [ROWS]

Each sample's address is mapped back into the binary (the r-xp mapping of
`perf script --show-mmap-events`), resolved with `addr2line -i` (the
release profile keeps line tables: `debug = 1`), and counted under the
innermost function of this repository that is not a numeric helper
(`core/src/num/`, `decay.rs`). Needs perf, binutils and Python 3.
"""
import collections
import os
import re
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + '/'
data, binary = sys.argv[1], sys.argv[2]
name = binary.split('/')[-1]
# text segment: vaddr - offset
ph = subprocess.run(["readelf","-lW",binary],capture_output=True,text=True).stdout
delta = 0
for l in ph.splitlines():
    q = l.split()
    if q and q[0]=='LOAD' and 'E' in q[6:8]:
        delta = int(q[2],16) - int(q[1],16)
maps = []
for l in subprocess.run(["perf","script","-i",data,"--show-mmap-events","-F","ip"],capture_output=True,text=True).stdout.splitlines():
    m = re.search(r'\[0x([0-9a-f]+)\((0x[0-9a-f]+)\) @ 0x([0-9a-f]+) .*r-xp (\S+)', l)
    if m and m.group(4).endswith(name):
        maps.append((int(m.group(1),16), int(m.group(2),16), int(m.group(3),16)))
ips = collections.Counter(); total = 0
for line in subprocess.run(["perf","script","-i",data,"-F","ip,sym"],capture_output=True,text=True).stdout.splitlines():
    p = line.split()
    if not p or not all(c in '0123456789abcdef' for c in p[0]): continue
    total += 1
    ip = int(p[0],16)
    for s, ln, off in maps:
        if s <= ip < s+ln:
            ips[format(ip - s + off + delta,'x')] += 1; break
    else:
        ips['other:'+(p[1] if len(p)>1 else '?')] += 1
addrs = [a for a in ips if not a.startswith('other')]
chains = {}
r = subprocess.run(["addr2line","-a","-i","-f","-C","-e",binary]+["0x"+a for a in addrs],capture_output=True,text=True).stdout.splitlines()
cur=None; i=0
while i < len(r):
    if re.fullmatch(r'0x[0-9a-f]{8,}', r[i]):
        cur=format(int(r[i],16),'x'); chains[cur]=[]; i+=1; continue
    chains[cur].append((r[i], r[i+1])); i+=2
agg = collections.Counter()
for a in addrs:
    chain = chains.get(a, [])
    proj = [(f,l) for f,l in chain if REPO in l]
    if not proj: key = chain[-1][0][:70] if chain else '?'
    else:
        pj = [(f,l) for f,l in proj if '/num/' not in l and 'decay.rs' not in l] or proj
        key = ' < '.join(re.sub(r'<[^<>]*>','',re.sub(r'<[^<>]*>','',f)).split('::')[-1] + '@' + l.split('/')[-1].split(':')[0] for f,l in pj[:1])
    agg[key] += ips[a]
for k,v in ips.items():
    if k.startswith('other'): agg['other']+=v
for k,v in agg.most_common(int(sys.argv[3]) if len(sys.argv)>3 else 30):
    print(f"{100*v/total:6.2f}%  {k}")
