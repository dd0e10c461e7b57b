#!/usr/bin/env bash
# The SG trimming benchmark beside its native yardsticks, in one run on one machine:
#   native (before) -> BenchmarkDotNet SgTrimBenchmarks -> native (after) -> Benchmarks/results/SgTrim.md
# Usage: bash Benchmarks/run-sgtrim.sh [BenchmarkDotNet job args]
# The default job matches the native yardstick's sampling: it times samples of about 20 ms and takes their median, so
# BenchmarkDotNet runs iterations of 20 ms (--iterationTime 20, 31 of them, median reported) in process (no separate
# build). On a loaded machine long iterations always include other processes' time slices while 20 ms samples often
# do not, which would bias the ratio against C#. SGTRIM_NICE=-10 runs both sides at that nice level (root only).
# The yardstick is the project's own C program, Benchmarks/native/sgtrim.c, built here with gcc; it was
# cross-checked once against ../shared/bench/native-sgtrim (Benchmarks/results/NativeYardstick.md), which also runs
# beside it when SHARED_SGTRIM names its folder (nothing outside the clone is needed otherwise).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
out="$(mktemp -d /tmp/sgtrim-bench.XXXXXX)"
if [ $# -eq 0 ]; then set -- --inProcess --launchCount 1 --warmupCount 5 --iterationCount 31 --iterationTime 20; fi
nice_="nice -n ${SGTRIM_NICE:-0}"
shared="${SHARED_SGTRIM:-}"
command -v gcc >/dev/null || { echo "run-sgtrim: gcc is needed to build the native yardstick (apt-get install gcc)" >&2; exit 2; }
native() {
  $nice_ "$out/sgtrim" --build o2 --reps 5 > "$out/native-$1.csv"
  if [ -n "$shared" ] && [ -f "$shared/run.sh" ]; then
    $nice_ bash "$shared/run.sh" --layout scatter --no-bw --reps 5 > "$out/shared-$1.csv"
  fi
}
{
  echo "$(lscpu | sed -n 's/^Model name: *//p') ($(nproc) cores), $(free -g | awk '/^Mem:/ {print $2}') GiB,"
  echo "$(uname -sr), .NET SDK $(dotnet --version), $(gcc --version | head -1); $(date -u '+%Y-%m-%d %H:%M UTC')."
} | tr '\n' ' ' > "$out/machine.txt"
cat > "$out/commands.txt" <<CMDS
gcc -std=gnu11 -O2 -march=x86-64-v2 -o sgtrim Benchmarks/native/sgtrim.c && ./sgtrim --build o2 --reps 5   # before and after
bash ../shared/bench/native-sgtrim/run.sh --layout scatter --no-bw --reps 5                                 # before and after
$nice_ dotnet run -c Release --project Benchmarks -- --filter '*SgTrim*' $* --exporters json github
CMDS
uptime > "$out/uptime-before.txt"
echo "== [1/4] native yardsticks: build (gcc -O2 -march=x86-64-v2) and run (before)" >&2
gcc -std=gnu11 -O2 -march=x86-64-v2 -Wall -Wextra -o "$out/sgtrim" "$repo/Benchmarks/native/sgtrim.c"
native before
echo "== [2/4] BenchmarkDotNet SgTrimBenchmarks ($*)" >&2
( cd "$repo" && dotnet build -c Release Benchmarks >/dev/null && $nice_ dotnet run -c Release --no-build --project Benchmarks -- \
    --filter '*SgTrim*' "$@" --exporters json github --artifacts "$out/bdn" )
echo "== [3/4] native yardsticks (after)" >&2
native after
uptime > "$out/uptime-after.txt"
echo "== [4/4] report" >&2
mkdir -p "$repo/Benchmarks/results"
python3 "$repo/Benchmarks/sgtrim-report.py" "$out" > "$repo/Benchmarks/results/SgTrim.md"
cp "$out"/bdn/results/*SgTrim*-report-github.md "$repo/Benchmarks/results/SgTrimBenchmarks-report-github.md"
cp "$out/native-before.csv" "$out/native-after.csv" "$repo/Benchmarks/results/"
echo "report: Benchmarks/results/SgTrim.md (raw: $out)"
