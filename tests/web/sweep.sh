#!/usr/bin/env bash
# What each latency setting buys: the browser test run once per configuration (5 barge-ins
# each, about 45 s), from GStreamer's and the browser's defaults to the demo's settings, one
# change at a time, then 10 ms buffers and Opus frames on top. Not part of CI. Prints a table
# of the p50 figures (ms) at the end; the browser's jitter buffer moves them by tens of ms
# from run to run on a busy machine, so run it more than once.
#   bash tests/web/sweep.sh [--barge-ins N]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
N=5
[[ "${1:-}" == "--barge-ins" ]] && N=$2

CONFIGS=(
  "defaults|--ptime 20 --opus-frame 20 --jitter-latency 200 --mic-ptime 0 --browser-jitter-ms -1"
  "+ browser jitterBufferTarget 0|--ptime 20 --opus-frame 20 --jitter-latency 200 --mic-ptime 0 --browser-jitter-ms 0"
  "+ server jitter buffer 20 ms|--ptime 20 --opus-frame 20 --jitter-latency 20 --mic-ptime 0 --browser-jitter-ms 0"
  "+ mic ptime 10 (the demo)|--ptime 20 --opus-frame 20 --jitter-latency 20 --mic-ptime 10 --browser-jitter-ms 0"
  "+ ptime 10, opus frame 10|--ptime 10 --opus-frame 10 --jitter-latency 20 --mic-ptime 10 --browser-jitter-ms 0"
)
OUT=tests/web/out
mkdir -p "$OUT"
: > "$OUT/sweep.txt"
for c in "${CONFIGS[@]}"; do
  name=${c%%|*}
  args=${c#*|}
  echo "sweep: $name ($args)"
  # shellcheck disable=SC2086
  bash tests/web/run.sh --barge-ins "$N" --time-limit 60 --no-second-tab --screenshot "$OUT/sweep.png" -- $args \
    > "$OUT/sweep-run.log" 2>&1 || true
  line=$(grep '^web: figures ' "$OUT/sweep-run.log" | tail -1 | sed 's/^web: figures //')
  echo "$name|$args|${line:-{\}}" >> "$OUT/sweep.txt"
  grep -E '^web: [0-9]+ passed' "$OUT/sweep-run.log" || true
done
/usr/bin/python3 - "$OUT/sweep.txt" <<'PY'
import json, sys
def f(d, k):
    v = (d.get(k) or {}).get("p50") if isinstance(d.get(k), dict) else d.get(k)
    return "–" if v is None else f"{v:.0f}"
print(f"\n| configuration | (a) onset→silent | onset→fade end | fade end→silent | (b) push→heard | due→heard | (c) gap | detector−page mic | browser jitter buffer |")
print("|---|---|---|---|---|---|---|---|---|")
for line in open(sys.argv[1]):
    name, args, fig = line.rstrip("\n").split("|", 2)
    d = json.loads(fig or "{}")
    print(f"| {name} | {f(d,'a')} | {f(d,'a_element')} | {f(d,'a_after')} | {f(d,'b')} | {f(d,'b_after')} | {f(d,'c')} | {f(d,'uplink')} | {f(d,'jitter_buffer_p50')} |")
PY
