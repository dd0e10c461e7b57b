#!/usr/bin/env bash
# The SG trimming benchmark beside its native yardstick, in one run on one machine:
#   native (before) -> BenchmarkDotNet SgTrimBenchmarks -> native (after) -> Benchmarks/results/SgTrim.md
# Usage: bash Benchmarks/run-sgtrim.sh [extra BenchmarkDotNet args]   (default job: short)
# NATIVE_SGTRIM points at the native yardstick (default: ../shared/bench/native-sgtrim beside the repository).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
native="${NATIVE_SGTRIM:-$repo/../shared/bench/native-sgtrim}"
out="$(mktemp -d /tmp/sgtrim-bench.XXXXXX)"
[ -x "$native/run.sh" ] || [ -f "$native/run.sh" ] || { echo "no native yardstick at $native (set NATIVE_SGTRIM)" >&2; exit 2; }
echo "== native yardstick (before)"
bash "$native/run.sh" > "$out/native-before.csv"
echo "== BenchmarkDotNet"
( cd "$repo" && dotnet run -c Release --project Benchmarks -- --filter '*SgTrim*' --job short \
    --exporters json github --artifacts "$out/bdn" "$@" )
echo "== native yardstick (after)"
bash "$native/run.sh" > "$out/native-after.csv"
mkdir -p "$repo/Benchmarks/results"
python3 "$repo/Benchmarks/sgtrim-report.py" "$out" > "$repo/Benchmarks/results/SgTrim.md"
cp "$out"/bdn/results/*SgTrim*-report-github.md "$repo/Benchmarks/results/SgTrimBenchmarks-report-github.md"
cp "$out/native-before.csv" "$out/native-after.csv" "$repo/Benchmarks/results/"
echo "report: Benchmarks/results/SgTrim.md"
