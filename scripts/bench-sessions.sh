#!/usr/bin/env bash
# Whole outgoing voice sessions, side by side in one run (issue 17):
#   udp     agentaudiosrc ! opusenc ! rtpopuspay ! udpsink   (bench-sessions)
#   webrtc  agentaudiosrc ! opusenc ! rtpopuspay ! webrtcbin (bench-sessions)
#   seed    the seed framework's aiortc track               (bench/seed_track.py)
# for N sessions (SESSIONS), each mode stopping at the first N where fewer
# than 95 % of its sessions stay real-time; then the tuning runs (udp at
# TUNE_N), udp and webrtc again with the tuned settings (TUNED_FLAGS) and
# the CPU split under callgrind. Writes bench/results/sessions/: one JSON
# per run, table.md and sessions.png. About 30-35 minutes.
#
# Environment: SESSIONS, WARMUP=3, SECONDS_PER_RUN=10, TUNE_N=150,
# TUNED_FLAGS="--rate 24000 --opus-complexity 5", SPLIT_SECONDS=10,
# MAX_BUSY=0.3 (before a run, wait up to 3 minutes while other processes
# keep more cores than this busy); MODES_MAIN="udp webrtc seed" and
# MODES_TUNED="udp-tuned webrtc-tuned seed-2proc" (the two matrices; empty
# leaves one out), SKIP_TUNING=1, SKIP_SPLIT=1, KEEP=1 (add to the results
# already there instead of starting afresh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SESSIONS=${SESSIONS:-"10 20 30 40 50 75 100 150 200 250 300 400 500"}
MODES_MAIN=${MODES_MAIN-"udp webrtc seed"}
MODES_TUNED=${MODES_TUNED-"udp-tuned webrtc-tuned seed-2proc"}
WARMUP=${WARMUP:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
TUNE_N=${TUNE_N:-150}
TUNED_FLAGS=${TUNED_FLAGS:-"--rate 24000 --opus-complexity 5"}
SPLIT_SECONDS=${SPLIT_SECONDS:-10}
MAX_BUSY=${MAX_BUSY:-0.3}
BUILD=build-bench
OUT=bench/results/sessions
PY=/usr/bin/python3 # Debian's, which has PyGObject, aiortc, av, numpy

if ! $PY -c 'import matplotlib, aiortc, av, numpy' 2>/dev/null; then
  apt-get install -y python3-matplotlib python3-aiortc python3-av python3-numpy
fi

if [[ -d "$BUILD/meson-private" ]]; then
  meson setup --reconfigure "$BUILD" --buildtype=release -Dtests=disabled
else
  meson setup "$BUILD" --buildtype=release -Dtests=disabled
fi
meson compile -C "$BUILD"
export GST_PLUGIN_PATH=$PWD/$BUILD/gst/agentaudio
gst-inspect-1.0 agentaudiosrc >/dev/null # the registry, outside any measurement
ulimit -n "$(ulimit -Hn)" || true

mkdir -p "$OUT"
[[ -z "${KEEP:-}" ]] && rm -f "$OUT"/*.json "$OUT"/table.md "$OUT"/sessions.png
# KEEP=1 adds to the record of the passes instead of replacing it.
if [[ -n "${KEEP:-}" ]]; then exec 3>>"$OUT/source.txt"; else exec 3>"$OUT/source.txt"; fi
{
  echo "commit: $(git rev-parse HEAD 2>/dev/null || echo unknown)"
  echo "started: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "uncommitted changes under gst/ and bench/ when built (results left out):"
  git status --short -- gst bench ':!bench/results' 2>/dev/null | sed 's/^/  /'
} >&3
exec 3>&-

# The machine is shared: before each run, wait (up to 3 minutes, 30 s at a
# time) while other processes keep more than MAX_BUSY cores busy, measured
# over 2 s from /proc/stat (the load average would mostly show the
# previous run of this script, which it lags by minutes).
LOAD_WAITS=0
busy_cores() {
  $PY - <<'EOF'
import os, time
def busy():
    v = [int(x) for x in open("/proc/stat").readline().split()[1:9]]
    return sum(v) - v[3] - v[4]
b0 = busy(); time.sleep(2); b1 = busy()
print(f"{(b1 - b0) / os.sysconf('SC_CLK_TCK') / 2:.2f}")
EOF
}
wait_for_load() {
  LOAD_WAITS=0
  BUSY_BEFORE=$(busy_cores)
  while (( LOAD_WAITS < 6 )) && awk -v l="$BUSY_BEFORE" -v m="$MAX_BUSY" 'BEGIN { exit !(l > m) }'; do
    echo "bench-sessions: $BUSY_BEFORE cores busy elsewhere > $MAX_BUSY, waiting 30 s" >&2
    sleep 30
    LOAD_WAITS=$((LOAD_WAITS + 1))
    BUSY_BEFORE=$(busy_cores)
  done
}

# run NAME COMMAND...: one process per run; a failed or killed run is
# recorded as such. The load found before the run goes into its JSON.
run() {
  local name=$1
  shift
  wait_for_load
  local before
  before=$(cat /proc/loadavg)
  echo "bench-sessions: $name" >&2
  local rc=0
  timeout 300 "$@" --json "$OUT/$name.json" >/dev/null || rc=$?
  $PY - "$OUT/$name.json" "$rc" "$before" "$LOAD_WAITS" "$name" "$BUSY_BEFORE" <<'EOF'
import json, os, sys
path, rc, before, waits, name = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
d = json.load(open(path)) if os.path.exists(path) and os.path.getsize(path) else {"failed": True}
d.update({"run": name, "exit_status": rc, "loadavg_before_run": before, "load_waits": waits,
          "busy_cores_before_run": float(sys.argv[6])})
json.dump(d, open(path, "w"))
EOF
  sleep 2 # let a heavy run's load drain
}

# Whether the run kept at least 95 % of its sessions real-time.
kept_up() {
  $PY - "$OUT/$1.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
r = d.get("receiver") or {}
sys.exit(0 if r.get("sessions_realtime", 0) >= 0.95 * d.get("sessions", 1) else 1)
EOF
}

# The modes side by side: for each N, one run of each mode still going.
matrix() {
  local modes=$1
  declare -A stopped=()
  for n in $SESSIONS; do
    for mode in $modes; do
      [[ -n "${stopped[$mode]:-}" ]] && continue
      case $mode in
        seed)
          run "seed-$n" $PY bench/seed_track.py --sessions "$n" --warmup "$WARMUP" \
            --seconds "$SECONDS_PER_RUN" ;;
        seed-2proc)
          # One asyncio loop holds one core: the seed's way to use two is two
          # processes, N/2 sessions each, started together.
          (( n % 2 == 0 )) || continue
          run "seed-2proc-$n" bash scripts/seed-2proc.sh "$((n / 2))" "$WARMUP" \
            "$SECONDS_PER_RUN" ;;
        *-tuned)
          # shellcheck disable=SC2086
          run "$mode-$n" "$BUILD/bench/bench-sessions" --mode "${mode%-tuned}" \
            --sessions "$n" --warmup "$WARMUP" --seconds "$SECONDS_PER_RUN" $TUNED_FLAGS ;;
        *)
          run "$mode-$n" "$BUILD/bench/bench-sessions" --mode "$mode" --sessions "$n" \
            --warmup "$WARMUP" --seconds "$SECONDS_PER_RUN" ;;
      esac
      kept_up "$mode-$n" || stopped[$mode]=$n
    done
  done
}
[[ -n "$MODES_MAIN" ]] && matrix "$MODES_MAIN"

if [[ -z "${SKIP_TUNING:-}" ]]; then
  tune() {
    local name=$1
    shift
    run "tune-$name" "$BUILD/bench/bench-sessions" --mode udp --sessions "$TUNE_N" \
      --warmup "$WARMUP" --seconds "$SECONDS_PER_RUN" "$@"
  }
  tune baseline
  tune complexity-5 --opus-complexity 5
  tune complexity-0 --opus-complexity 0
  tune frame-40 --opus-frame-ms 40
  tune frame-60 --opus-frame-ms 60
  tune ptime-40 --ptime 40
  tune ptime-60-frame-60 --ptime 60 --opus-frame-ms 60
  tune rate-24000 --rate 24000
  tune speech-48000 --speech-rate 48000
  # DTX matters on silence: half speech, half silence, no bed.
  tune duty-50-nobed --duty 0.5 --no-bed
  tune duty-50-nobed-dtx --duty 0.5 --no-bed --dtx
  tune rate-24000-complexity-5 --rate 24000 --opus-complexity 5
  tune baseline-again
fi

# The tuned settings (the best of the tuning runs that keeps the audio:
# 24 kHz, the TTS rate, has all of its content, and complexity 5) on the
# same matrix of N, for udp and webrtc.
[[ -n "$MODES_TUNED" ]] && matrix "$MODES_TUNED"

if [[ -z "${SKIP_SPLIT:-}" ]]; then
  # Under valgrind everything runs ~50x slower: 2 sessions, and a longer
  # warm-up for webrtc, whose ICE and DTLS handshakes come first.
  split() {
    local name=$1 mode=$2
    shift 2
    wait_for_load
    echo "bench-sessions: split-$name" >&2
    local warm=3
    [[ $mode == webrtc ]] && warm=10
    $PY bench/cpu_split.py --bench "$BUILD/bench/bench-sessions" --mode "$mode" \
      --sessions 2 --warmup "$warm" --seconds "$SPLIT_SECONDS" \
      --json "$OUT/split-$name.json" -- "$@" \
      >/dev/null || echo "bench-sessions: split-$name failed" >&2
  }
  split udp udp
  split udp-rate-24000 udp --rate 24000
  split udp-complexity-5 udp --opus-complexity 5
  split webrtc webrtc
  split webrtc-rate-24000 webrtc --rate 24000
  # shellcheck disable=SC2086
  split udp-tuned udp $TUNED_FLAGS
  # shellcheck disable=SC2086
  split webrtc-tuned webrtc $TUNED_FLAGS
fi

$PY bench/sessions_report.py "$OUT"
echo "bench-sessions: results in $OUT/ (table.md, sessions.png)" >&2
