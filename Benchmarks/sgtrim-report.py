#!/usr/bin/env python3
"""Combines the native yardstick's CSV (before and after) with BenchmarkDotNet's JSON into one markdown table:
per cell the C# Walk and Indexed times, the native walk and indexed medians of the same run, and the ratios."""
import csv, glob, json, os, statistics, sys

out = sys.argv[1]

def native(path):
    rows = {}
    with open(path) as f:
        for r in csv.reader(f):
            if not r or r[0] != 'trim':
                continue
            kind, build, layout, n, window, method, walked, med, mn, mx = r[:10]
            rows[(int(n), window, method)] = float(med)
    return rows

before = native(os.path.join(out, 'native-before.csv'))
after = native(os.path.join(out, 'native-after.csv'))
report = json.load(open(glob.glob(os.path.join(out, 'bdn', 'results', '*SgTrim*-report-full-compressed.json'))[0]))
cs = {}
for b in report['Benchmarks']:
    p = dict(kv.split('=') for kv in b['Parameters'].split('&'))
    key = (int(p['N']), p['Window'], b['Method'])
    cs[key] = (b['Statistics']['Median'], b.get('Memory', {}).get('BytesAllocatedPerOperation'))

def nat(n, w, m):
    v = [d[(n, w, m)] for d in (before, after) if (n, w, m) in d]
    return statistics.median(v) if v else None

print('# SG trimming walk: C# against the native yardstick, same machine, same run\n')
print('One operation = `ib_umem_dmabuf_map_pages` trim + `ib_umem_dmabuf_unmap_pages` restore on a warm chained table '
      'of N entries of 64 KiB (128-slot chunks allocated in a shuffled order). Native = `Benchmarks/native/sgtrim.c` '
      '(the project\'s own C yardstick, gcc -O2 -march=x86-64-v2, built by run-sgtrim.sh; cross-checked against '
      '`../shared/bench/native-sgtrim` in NativeYardstick.md), median of its run before and its run after the C# benchmark. Ratio < 1: C# faster.\n')
print('| N | window | C# Walk (ns) | native walk (ns) | Walk / native | C# Indexed (ns) | native indexed (ns) | Indexed / native | C# bytes/op |')
print('|---:|---|---:|---:|---:|---:|---:|---:|---:|')
for n in (16, 1024, 65536, 1048576):
    for w in ('first-page', 'middle-1pct', 'last-page', 'whole'):
        cw, aw = cs.get((n, w, 'Walk'), (None, None))
        ci, ai = cs.get((n, w, 'Indexed'), (None, None))
        nw, ni = nat(n, w, 'walk'), nat(n, w, 'indexed')
        f = lambda x: '-' if x is None else f'{x:,.1f}'
        r = lambda a, b: '-' if a is None or b is None or b == 0 else f'{a / b:.2f}'
        print(f'| {n} | {w} | {f(cw)} | {f(nw)} | {r(cw, nw)} | {f(ci)} | {f(ni)} | {r(ci, ni)} | {aw if aw is not None else "-"} / {ai if ai is not None else "-"} |')
