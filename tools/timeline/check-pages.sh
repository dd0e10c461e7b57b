#!/usr/bin/env bash
# Renders the timeline pages of resv_script and vgem-fence, opens each in headless Chromium and fails on any
# console message (Chromium's --enable-logging=stderr prints every console.* call and every uncaught exception as
# an "INFO:CONSOLE" line) or when the page's script did not run (the DOM after load must have <html class="js">).
# Writes the screenshots next to the pages; with --docs also docs/timeline.png (the vgem-fence page).
# Needs: a Release build of Sim.Cli, chromium (apt-get install -y chromium).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-$(mktemp -d)}
cli="dotnet Sim.Cli/bin/Release/net10.0/dmabufsim.dll"
chrome=(chromium --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update
        --disable-sync --no-first-run --window-size=1400,900)
status=0
for t in linux-6.1-sg/resv_script linux-6.1-vgem/vgem-fence; do
    name=$(basename "$t")
    $cli show "data/traces/$t.jsonl" --timeline "$out/$name.html" >/dev/null
    "${chrome[@]}" --user-data-dir="$(mktemp -d)" --enable-logging=stderr --v=0 \
        --screenshot="$out/$name.png" "file://$out/$name.html" 2>"$out/$name.log" >/dev/null
    dom=$("${chrome[@]}" --user-data-dir="$(mktemp -d)" --dump-dom "file://$out/$name.html" 2>/dev/null)
    consoles=$(grep -c 'CONSOLE' "$out/$name.log" || true)
    waits=$(grep -o '<rect class="wait"' <<<"$dom" | wc -l)
    signals=$(grep -o '<rect class="signal"' <<<"$dom" | wc -l)
    arrows=$(grep -o '<path class="flow fence"' <<<"$dom" | wc -l)
    js=$(grep -c '<html lang="en" class="js">' <<<"$dom" || true)
    echo "$name: $consoles console messages, script ran: $js, waits $waits, signals $signals, waiter->signal arrows $arrows ($out/$name.png)"
    if [[ $consoles -ne 0 || $js -ne 1 || $waits -eq 0 || $signals -eq 0 || $arrows -eq 0 ]]; then
        grep 'CONSOLE' "$out/$name.log" || true
        status=1
    fi
done
if [[ ${1:-} == --docs ]]; then
    cp "$out/vgem-fence.png" docs/timeline.png
fi
exit $status
