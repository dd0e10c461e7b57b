#!/usr/bin/env python3
"""Combines the native yardsticks' CSV (before and after) with BenchmarkDotNet's JSON into one markdown report:
per cell the C# Walk, Indexed and Packed times, the native walk and indexed medians of the same run, the ratios,
and the bytes allocated per operation. Reads OUT/machine.txt, OUT/uptime-*.txt and OUT/commands.txt when present."""
import csv, glob, json, os, statistics, sys

out = sys.argv[1]

def native(path):
    rows = {}
    if not os.path.exists(path):
        return rows
    with open(path) as f:
        for r in csv.reader(f):
            if not r or r[0] != 'trim':
                continue
            kind, build, layout, n, window, method, walked, med, mn, mx = r[:10]
            if layout != 'scatter':
                continue
            rows[(int(n), window, method)] = float(med)
    return rows

def text(name):
    p = os.path.join(out, name)
    return open(p).read().strip() if os.path.exists(p) else None

own = [native(os.path.join(out, f'native-{w}.csv')) for w in ('before', 'after')]
shared = [native(os.path.join(out, f'shared-{w}.csv')) for w in ('before', 'after')]
report = json.load(open(glob.glob(os.path.join(out, 'bdn', 'results', '*SgTrim*-report-full-compressed.json'))[0]))
cs = {}
for b in report['Benchmarks']:
    p = dict(kv.split('=') for kv in b['Parameters'].split('&'))
    key = (int(p['N']), p['Window'], b['Method'])
    cs[key] = (b['Statistics']['Median'], b.get('Memory', {}).get('BytesAllocatedPerOperation'))
job = report['Benchmarks'][0].get('DisplayInfo', '') if report['Benchmarks'] else ''

def nat(runs, n, w, m):
    v = [d[(n, w, m)] for d in runs if (n, w, m) in d]
    return statistics.median(v) if v else None

f = lambda x: '-' if x is None else f'{x:,.1f}'
r = lambda a, b: '-' if a is None or b is None or b == 0 else f'{a / b:.2f}'

print('# SG trimming walk: C# against the native yardstick, same machine, same run\n')
print('One operation = `ib_umem_dmabuf_map_pages` trim + `ib_umem_dmabuf_unmap_pages` restore on a warm chained table '
      'of N entries of 64 KiB (kernel-shaped: 128-slot chunks of 32-byte entries, each full chunk a page of its own, '
      'allocated in a shuffled order and linked by chain slots). `Walk` is the faithful kernel loop over that table, '
      '`Indexed` the prefix-sum search, `Packed` the same linear loop as `Walk` over a structure-of-arrays copy of the '
      'DMA view (12 bytes per entry, `SgPackedTable`). Native = `Benchmarks/native/sgtrim.c` (the project\'s own C '
      'yardstick, gcc -O2 -march=x86-64-v2, scatter layout: chunks on shuffled pages of one page-aligned pool), median '
      'of its run before and its run after the C# benchmark; `../shared/bench/native-sgtrim` (the yardstick it was cross-checked against: NativeYardstick.md; gcc -O2 '
      '-march=x86-64-v2, `--layout scatter --no-bw`) ran beside it, its `walk` median in the last columns. '
      'Ratio < 1: C# faster.\n')
machine = text('machine.txt')
if machine:
    print('**Machine and run.** ' + machine + '\n')
for name, label in (('uptime-before.txt', 'Load before'), ('uptime-after.txt', 'Load after')):
    t = text(name)
    if t:
        print(f'- {label} (`uptime`): `{t}`')
if job:
    print(f'- BenchmarkDotNet job: `{job}`')
cmds = text('commands.txt')
if cmds:
    print('\nCommands:\n\n```\n' + cmds + '\n```')
print()
print('| N | window | C# Walk (ns) | native walk (ns) | Walk / native | C# Indexed (ns) | native indexed (ns) | Indexed / native '
      '| C# Packed (ns) | Packed / native walk | shared walk (ns) | Walk / shared | C# bytes/op (W / I / P) |')
print('|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
for n in (16, 1024, 65536, 1048576):
    for w in ('first-page', 'middle-1pct', 'whole'):
        cw, aw = cs.get((n, w, 'Walk'), (None, None))
        ci, ai = cs.get((n, w, 'Indexed'), (None, None))
        cp, ap = cs.get((n, w, 'Packed'), (None, None))
        nw, ni = nat(own, n, w, 'walk'), nat(own, n, w, 'indexed')
        sw = nat(shared, n, w, 'walk')
        a = lambda x: '-' if x is None else str(x)
        print(f'| {n} | {w} | {f(cw)} | {f(nw)} | {r(cw, nw)} | {f(ci)} | {f(ni)} | {r(ci, ni)} | {f(cp)} | {r(cp, nw)} '
              f'| {f(sw)} | {r(cw, sw)} | {a(aw)} / {a(ai)} / {a(ap)} |')
