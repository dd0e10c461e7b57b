#!/usr/bin/env python3
"""Turns BenchmarkDotNet's JSON export of ReplayBenchmarks into events/s and bytes per event per family.

Usage: python3 Benchmarks/replay-families.py BenchmarkDotNet.Artifacts/results/Benchmarks.ReplayBenchmarks-report-full-compressed.json
The event counts come from the benchmark's setup (files dmabufsim-bench-events-FAMILY.txt in the temp folder).
"""
import json, os, sys, tempfile

report = json.load(open(sys.argv[1]))
print("| family | events | mean per family | events/s | allocated per family | bytes/event |")
print("|---|---:|---:|---:|---:|---:|")
for b in report["Benchmarks"]:
    fam = b["Parameters"].split("=")[1]
    events = int(open(os.path.join(tempfile.gettempdir(), f"dmabufsim-bench-events-{fam}.txt")).read())
    mean_ns = b["Statistics"]["Mean"]
    alloc = b["Memory"]["BytesAllocatedPerOperation"]
    print(f"| {fam} | {events} | {mean_ns/1e6:.1f} ms | {events/(mean_ns/1e9):,.0f} | {alloc/1e6:.1f} MB | {alloc/events:,.0f} |")
