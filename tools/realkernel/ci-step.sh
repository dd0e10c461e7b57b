#!/usr/bin/env bash
# CI step: the real-kernel checks of DmaBufSim, in one QEMU boot of Debian's Linux 6.1 (TCG, no KVM), then one of
# Debian's 6.12.118 (a short campaign of every family it supports, heap and udmabuf included, and a capture).
#  - builds the LD_PRELOAD tracer and the static guest agent with -Wall -Wextra -Werror
#  - boots the kernel once; runs a smoke script; records tools/dmabufsim-trace/examples/dumb_prime.c under the
#    tracer; runs a differential campaign (>= 200 random calls, must find no difference); a short campaign of each
#    family that has its own check (badinput: DIFFTEST_FAMILY_COUNT sequences, default 20); checks that a
#    deliberately broken simulator rule is found and shrunk to <= 3 calls
#  - records tools/dmabufsim-run/tests/share_dumb.c too (two processes, PRIME + SCM_RIGHTS, trace format version 2)
#  - replays the recorded traces with `dmabufsim replay` (0 failed expected); runs share_dumb under
#    `dmabufsim run --trace` here and compares: the same stdout, and `dmabufsim diff` 0 differences against the fresh
#    capture and the bundled one (data/traces/linux-6.1-multiprocess)
#  - boots 6.1 again with QEMU's virtio-gpu-pci and runs a short virtio-gpu campaign (DIFFTEST_VIRTIO_COUNT, default 15)
#  - boots 6.12 (`--kernel 6.12`), records dumb_prime again and runs a short campaign of `all` (DIFFTEST612_COUNT,
#    default 25 sequences, >= 300 calls), replays that capture
#  - boots 6.12 again with 3 GiB and runs the kernel's selftests dmabuf-heap and udmabuf (unmodified, from Debian's
#    linux-source-6.12)
# Needs root to install qemu-system-x86, busybox-static, cpio (and the kernel package download); prints
# `N passed, M failed, K skipped` last. Usage: bash tools/realkernel/ci-step.sh
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
passed=0
failed=0
skipped=0
work="$(mktemp -d /tmp/dmabufsim-ci-step.XXXXXX)"
trap 'rm -rf "$work"' EXIT

ok() { echo "ci-step: $1: ok${2:+ ($2)}"; passed=$((passed + 1)); }
bad() { echo "ci-step: $1: FAILED${2:+ ($2)}"; failed=$((failed + 1)); }

# --- host packages ------------------------------------------------------------------------------------
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
[ -x /bin/busybox ] || need+=(busybox-static)
command -v cpio >/dev/null || need+=(cpio)
command -v gcc >/dev/null || need+=(gcc libc6-dev)
command -v make >/dev/null || need+=(make)
# the 6.12 selftests' source (unless an unpacked tree sits above the repository, as src/linux-source-6.12)
[ -f /usr/src/linux-source-6.12.tar.xz ] || [ -d "$repo/../../src/linux-source-6.12" ] || [ -d "$repo/../src/linux-source-6.12" ] \
    || need+=(linux-source-6.12)
if ! apt-cache depends linux-image-amd64 2>/dev/null | grep -q 'Depends: linux-image-6.1'; then
    need_update=1
else
    need_update=0
fi
if [ "${#need[@]}" -gt 0 ] || [ "$need_update" = 1 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "ci-step: missing ${need[*]:-package lists}; run as root" >&2
        bad "host-packages" "not root"
        echo "$passed passed, $failed failed, $skipped skipped"
        exit 1
    fi
    apt-get update -qq
    if [ "${#need[@]}" -gt 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    fi
fi

# --- C tools ------------------------------------------------------------------------------------------
if make -s -C tools/dmabufsim-trace BUILD="$work/trace" CFLAGS="-O2 -Werror" >"$work/trace-build.log" 2>&1; then
    ok "tracer-build" "libdmabufsim-trace.so, dumb_prime"
else
    cat "$work/trace-build.log"
    bad "tracer-build"
fi
if make -s -C tools/realkernel/agent BUILD="$work/agent" CFLAGS="-O2 -Werror" >"$work/agent-build.log" 2>&1; then
    ok "agent-build" "static dmabufsim-agent"
else
    cat "$work/agent-build.log"
    bad "agent-build"
fi

# --- the simulator --------------------------------------------------------------------------------------
dotnet build Sim.Cli/Sim.Cli.csproj -v q -nologo >"$work/dotnet-build.log" 2>&1 || { cat "$work/dotnet-build.log"; exit 1; }
dll="$(ls Sim.Cli/bin/Debug/*/dmabufsim.dll | head -n 1)"
sim() { dotnet "$dll" "$@"; }

# The "check NAME: ok (DETAIL)" lines a realkernel run printed, counted with PREFIX before each name; a run that
# failed without saying which check failed counts as one failure.
# Usage: count_checks LOG PREFIX RC
count_checks() {
    local log="$1" prefix="$2" rc="$3" line name detail
    grep -v '^{' "$log" || true
    while IFS= read -r line; do
        name="$prefix${line#check }"
        name="${name%%:*}"
        detail="${line#*(}"
        detail="${detail%)}"
        case "$line" in
            *": ok "*) ok "$name" "$detail" ;;
            *) bad "$name" "$detail" ;;
        esac
    done < <(grep '^check ' "$log" || true)
    if [ "$rc" != 0 ] && ! grep -q ': FAILED' "$log"; then
        bad "${prefix}realkernel" "exit $rc"
    fi
}

# Replays a trace the guest recorded; it must pass with 0 failed.
# Usage: replay_capture TRACE LOG NAME
replay_capture() {
    local trace="$1" log="$2" name="$3" rrc closing
    if [ ! -s "$trace" ]; then
        bad "$name" "no trace was recorded"
        return
    fi
    set +e
    sim replay --allow-skipped "$trace" >"$log" 2>&1
    rrc=$?
    set -e
    closing="$(tail -n 1 "$log")"
    if [ "$rrc" = 0 ] && [[ "$closing" =~ ^[0-9]+\ passed,\ 0\ failed ]]; then
        ok "$name" "$closing"
    else
        cat "$log"
        bad "$name" "$closing"
    fi
}

# --- Linux 6.1: one boot: smoke, capture, differential campaign, fault check; then replay of the capture ----
trace="$work/dumb_prime.jsonl"
set +e
share="$work/share_dumb.jsonl"
timeout 480 dotnet "$dll" realkernel --capture dumb_prime --capture-out "$trace" \
    --program tools/dmabufsim-run/tests/share_dumb.c --program-out "$share" \
    --difftest-seed "${DIFFTEST_SEED:-1}" --difftest-count "${DIFFTEST_COUNT:-40}" --difftest-min-calls 200 \
    --family-campaigns badinput --family-campaign-count "${DIFFTEST_FAMILY_COUNT:-20}" \
    --fault-check >"$work/realkernel.log" 2>&1
rc=$?
set -e
count_checks "$work/realkernel.log" "" "$rc"
replay_capture "$trace" "$work/replay.log" "replay-capture"
replay_capture "$share" "$work/replay-share.log" "replay-share-dumb"

# --- the two-process program both ways: the capture above, and `dmabufsim run --trace` of it here ------------------
# Same stdout, and the same trace by `dmabufsim diff` (0 differences: pids, inodes and timings by the traces README's
# rules); the bundled data/traces/linux-6.1-multiprocess capture is compared too.
if [ -s "$share" ] && gcc -O2 -Wall -Wextra -Werror -I tools/dmabufsim-trace -o "$work/share_dumb" tools/dmabufsim-run/tests/share_dumb.c -ldl \
    >"$work/share-build.log" 2>&1; then
    set +e
    timeout 120 dotnet "$dll" run --trace "$work/share_dumb.run.jsonl" -- "$work/share_dumb" >"$work/share_dumb.run.stdout" 2>"$work/share-run.log"
    rrc=$?
    set -e
    if [ "$rrc" = 0 ] && cmp -s "$work/share_dumb.run.stdout" "$share.stdout"; then
        ok "run-share-dumb-stdout" "$(tail -n 1 "$share.stdout")"
    else
        cat "$work/share-run.log"; diff "$work/share_dumb.run.stdout" "$share.stdout" || true
        bad "run-share-dumb-stdout" "exit $rrc"
    fi
    for against in "$share" data/traces/linux-6.1-multiprocess/share-dumb.jsonl; do
        set +e
        sim diff "$work/share_dumb.run.jsonl" "$against" >"$work/share-diff.log" 2>&1
        drc=$?
        set -e
        if [ "$drc" = 0 ]; then
            ok "diff-run-capture" "$(basename "$against"): $(tail -n 1 "$work/share-diff.log")"
        else
            cat "$work/share-diff.log"
            bad "diff-run-capture" "$(basename "$against"): exit $drc"
        fi
    done
else
    cat "$work/share-build.log" 2>/dev/null || true
    bad "run-share-dumb" "no capture, or the program did not build"
fi

# --- Linux 6.1 with QEMU's virtio-gpu-pci: a short campaign of the virtio-gpu family (its own boot) ----------------
set +e
timeout 300 dotnet "$dll" difftest --families virtio-gpu --seed "${DIFFTEST_SEED:-1}" --count "${DIFFTEST_VIRTIO_COUNT:-15}" \
    --shrink-budget 0 >"$work/virtio-gpu.log" 2>&1
rc=$?
set -e
closing="$(tail -n 1 "$work/virtio-gpu.log")"
if [ "$rc" = 0 ] && [[ "$closing" =~ ^[0-9]+\ sequences,\ [0-9]+\ calls,\ 0\ differences ]]; then
    ok "difftest-virtio-gpu" "$closing"
else
    cat "$work/virtio-gpu.log"
    bad "difftest-virtio-gpu" "exit $rc: $closing"
fi

# --- Linux 6.12: a second boot, capture + a short campaign of every family it supports --------------------------
trace612="$work/dumb_prime-6.12.jsonl"
set +e
timeout 480 dotnet "$dll" realkernel --kernel 6.12 --capture dumb_prime --capture-out "$trace612" \
    --difftest-seed "${DIFFTEST_SEED:-1}" --difftest-count "${DIFFTEST612_COUNT:-25}" --difftest-min-calls 300 \
    --families all >"$work/realkernel612.log" 2>&1
rc=$?
set -e
count_checks "$work/realkernel612.log" "6.12-" "$rc"
replay_capture "$trace612" "$work/replay612.log" "6.12-replay-capture"

# --- Linux 6.12: the kernel's own selftests (dmabuf-heap, udmabuf) in a third boot with room for udmabuf's 2 GiB
# of huge pages ----------------------------------------------------------------------------------------------
set +e
timeout 300 dotnet "$dll" realkernel --kernel 6.12 --mem 3072 --selftests >"$work/selftests612.log" 2>&1
rc=$?
set -e
count_checks "$work/selftests612.log" "6.12-" "$rc"

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
