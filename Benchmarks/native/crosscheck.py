#!/usr/bin/env python3
"""Writes Benchmarks/results/NativeYardstick.md from the cross-check CSVs beside it: the project's native yardstick
(Benchmarks/native/sgtrim.c) against ../shared/bench/native-sgtrim, both run twice, interleaved, on one machine."""
import csv, os, statistics, sys

base = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', 'results')

def load(*names):
    d = {}
    for name in names:
        for r in csv.reader(open(os.path.join(base, name))):
            if r[0] == 'trim':
                d.setdefault((int(r[3]), r[4], r[5]), []).append(float(r[7]))
    return {k: statistics.median(v) for k, v in d.items()}

own = load('native-own-crosscheck-1.csv', 'native-own-crosscheck-2.csv')
shared = load('native-shared-crosscheck-1.csv', 'native-shared-crosscheck-2.csv')
print("# The project's native yardstick, cross-checked once against `../shared/bench/native-sgtrim`\n")
print("`Benchmarks/native/sgtrim.c` is the project's own C program for the SG trimming benchmark (the kernel loop of "
      "`ib_umem_dmabuf_map_pages` with `sg_next` over 128-slot chained chunks on shuffled pages, and the prefix-sum "
      "`indexed` search); `bash Benchmarks/run-sgtrim.sh` builds it with gcc (-O2 -march=x86-64-v2) at benchmark time, "
      "so a clone needs nothing beside the repository. It was cross-checked once against the shared yardstick "
      "(`../shared/bench/native-sgtrim`, `--layout scatter --no-bw --reps 5`): both ran twice, interleaved "
      "(shared, own, shared, own) on the same machine on 2026-12-07 while other jobs loaded it (load average about "
      "25 on 2 cores), so single cells are noisy; the table gives the median of the two runs of each (the CSV files "
      "beside this one; `python3 Benchmarks/native/crosscheck.py` rewrites it).\n")
print('| N | window | own walk (ns) | shared walk (ns) | own / shared | own indexed (ns) | shared indexed (ns) | own / shared |')
print('|---:|---|---:|---:|---:|---:|---:|---:|')
rw, ri = [], []
for n in (16, 1024, 65536, 1048576):
    for w in ('first-page', 'middle-1pct', 'last-page', 'whole'):
        a, b = own[(n, w, 'walk')], shared[(n, w, 'walk')]
        c, d = own[(n, w, 'indexed')], shared[(n, w, 'indexed')]
        rw.append(a / b)
        ri.append(c / d)
        print(f'| {n} | {w} | {a:,.1f} | {b:,.1f} | {a / b:.2f} | {c:,.1f} | {d:,.1f} | {c / d:.2f} |')
print(f'\nGeometric mean of own / shared over the 16 cells: walk {statistics.geometric_mean(rw):.2f}, '
      f'indexed {statistics.geometric_mean(ri):.2f}. The two programs time the same operation on the same table '
      'shape; single cells spread with the machine\'s load (rerun both on a quiet machine before reading one cell).')
