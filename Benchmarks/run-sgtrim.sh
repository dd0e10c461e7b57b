#!/usr/bin/env bash
# The SG trimming benchmark beside its native yardstick, in one run on one machine:
#   native (before) -> BenchmarkDotNet SgTrimBenchmarks -> native (after) -> Benchmarks/results/SgTrim.md
# Usage: bash Benchmarks/run-sgtrim.sh [extra BenchmarkDotNet args]   (default job: short)
# The yardstick is the project's own C program, Benchmarks/native/sgtrim.c, built here with gcc; it was
# cross-checked once against ../shared/bench/native-sgtrim (Benchmarks/results/NativeYardstick.md).
# NATIVE_SGTRIM=/path/to/a/folder/with/run.sh runs another yardstick with the same CSV output instead.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
out="$(mktemp -d /tmp/sgtrim-bench.XXXXXX)"
command -v gcc >/dev/null || { echo "run-sgtrim: gcc is needed to build the native yardstick (apt-get install gcc)" >&2; exit 2; }
native() {
  if [ -n "${NATIVE_SGTRIM:-}" ]; then
    bash "$NATIVE_SGTRIM/run.sh"
  else
    "$out/sgtrim" --build o2 --reps 5
  fi
}
echo "== [1/4] native yardstick: build (gcc -O2 -march=x86-64-v2) and run (before)" >&2
gcc -std=gnu11 -O2 -march=x86-64-v2 -Wall -Wextra -o "$out/sgtrim" "$repo/Benchmarks/native/sgtrim.c"
native > "$out/native-before.csv"
echo "== [2/4] BenchmarkDotNet SgTrimBenchmarks (several minutes)" >&2
( cd "$repo" && dotnet run -c Release --project Benchmarks -- --filter '*SgTrim*' --job short \
    --exporters json github --artifacts "$out/bdn" "$@" )
echo "== [3/4] native yardstick (after)" >&2
native > "$out/native-after.csv"
echo "== [4/4] report" >&2
mkdir -p "$repo/Benchmarks/results"
python3 "$repo/Benchmarks/sgtrim-report.py" "$out" > "$repo/Benchmarks/results/SgTrim.md"
cp "$out"/bdn/results/*SgTrim*-report-github.md "$repo/Benchmarks/results/SgTrimBenchmarks-report-github.md"
cp "$out/native-before.csv" "$out/native-after.csv" "$repo/Benchmarks/results/"
echo "report: Benchmarks/results/SgTrim.md"
