#!/usr/bin/env bash
# Replay throughput as a new user meets it (issue 17): the bundled data/traces and data/vectors copied COPIES
# times (default 20) into one temporary folder, then, in the same run and back to back:
#   1. python3 parsing every line with json.loads (the yardstick: parse only, nothing simulated);
#   2. dmabufsim replay DIR --jobs 1 (everything: parse, boot a machine per file, replay, compare);
#   3. dmabufsim replay DIR --jobs N (N = cores) when JOBS_N is not 1.
# Prints wall/user seconds of each and the ratio replay/python (goal: at most 0.5 single-threaded).
# Usage: bash Benchmarks/replay-corpus.sh [COPIES]     (builds Sim.Cli in Release first unless NOBUILD=1)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
copies="${1:-20}"
jobs_n="${JOBS_N:-$(nproc)}"
if [ "${NOBUILD:-0}" != 1 ]; then
  dotnet build "$here/Sim.Cli" -c Release -v q -nologo >/dev/null
fi
cli="$here/Sim.Cli/bin/Release/net10.0/dmabufsim"
[ -x "$cli" ] || { echo "no $cli (build Sim.Cli -c Release)" >&2; exit 2; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for c in $(seq 1 "$copies"); do
  mkdir -p "$tmp/corpus/copy$c"
  cp -r "$here/data/traces" "$tmp/corpus/copy$c/traces"
  cp -r "$here/data/vectors" "$tmp/corpus/copy$c/vectors"
done
find "$tmp/corpus" -name '*.jsonl' >"$tmp/files"
nfiles=$(wc -l <"$tmp/files")
nlines=$(cat $(cat "$tmp/files") | wc -l)
bytes=$(cat $(cat "$tmp/files") | wc -c)
# warm the page cache for both contenders
cat $(cat "$tmp/files") >/dev/null

timeit() { # name, command...: prints "name wall user sys" to $tmp/times, output to $tmp/name.out
  local name="$1"; shift
  /usr/bin/env TIMEFORMAT="%R %U %S" bash -c 'time "$@" >'"$tmp/$name.out"' 2>&1' _ "$@" 2>"$tmp/$name.time" || true
  echo "$name $(tail -1 "$tmp/$name.time")" >>"$tmp/times"
}
timeit python python3 -c '
import json, sys
n = 0
for path in open(sys.argv[1]).read().split():
    with open(path, "rb") as f:
        for line in f:
            if line.strip():
                json.loads(line); n += 1
print(n, "lines parsed")' "$tmp/files"
timeit replay1 "$cli" replay "$tmp/corpus" --jobs 1 --json
if [ "$jobs_n" != 1 ]; then
  timeit replayN "$cli" replay "$tmp/corpus" --jobs "$jobs_n" --json
fi
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')   commit: $(git -C "$here" rev-parse --short HEAD)"
echo "corpus: $copies copies, $nfiles files, $nlines lines, $bytes bytes"
echo "python: $(tail -1 "$tmp/python.out")"
echo "replay --jobs 1: $(tail -1 "$tmp/replay1.out")"
[ -f "$tmp/replayN.out" ] && echo "replay --jobs $jobs_n: $(tail -1 "$tmp/replayN.out")"
[ -f "$tmp/replayN.out" ] && { cmp -s "$tmp/replay1.out" "$tmp/replayN.out" && echo "--jobs $jobs_n output identical to --jobs 1" || echo "--jobs $jobs_n output DIFFERS from --jobs 1"; }
printf '%-16s %8s %8s %8s\n' run wall_s user_s sys_s
while read -r name w u s; do printf '%-16s %8s %8s %8s\n' "$name" "$w" "$u" "$s"; done <"$tmp/times"
awk '{t[$1]=$2} END {
  printf "replay --jobs 1 / python json.loads (wall): %.2f  (goal <= 0.50)\n", t["replay1"]/t["python"];
  if ("replayN" in t) printf "replay --jobs 1 / --jobs N (wall speed-up): %.2fx\n", t["replay1"]/t["replayN"] }' "$tmp/times"
