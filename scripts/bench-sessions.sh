#!/usr/bin/env bash
# Whole outgoing voice sessions, side by side in one run (issue 17):
#   udp     agentaudiosrc ! opusenc ! rtpopuspay ! udpsink   (bench-sessions)
#   webrtc  agentaudiosrc ! opusenc ! rtpopuspay ! webrtcbin (bench-sessions)
#   seed    the seed framework's aiortc track               (bench/seed_track.py)
# for N sessions (SESSIONS), each mode stopping at the first N where fewer
# than 95 % of its sessions stay real-time; then the tuning runs (udp at
# TUNE_N), udp and webrtc again with the tuned settings (TUNED_FLAGS) and
# the CPU split under callgrind. Writes bench/results/sessions/: one JSON
# per run, table.md and sessions.png. About 25-30 minutes.
#
# Environment: SESSIONS, WARMUP=3, SECONDS_PER_RUN=10, TUNE_N=150,
# TUNED_FLAGS="--rate 24000 --opus-complexity 5", SPLIT_SECONDS=10,
# MAX_LOAD=1.5 (wait, up to 3 minutes, while the 1-minute load average is
# above it before a run); SKIP_MATRIX=1, SKIP_TUNING=1, SKIP_TUNED=1,
# SKIP_SPLIT=1 leave parts out (SKIP_MATRIX keeps the results already there).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SESSIONS=${SESSIONS:-"10 20 30 50 100 150 200 300 500"}
WARMUP=${WARMUP:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
TUNE_N=${TUNE_N:-150}
TUNED_FLAGS=${TUNED_FLAGS:-"--rate 24000 --opus-complexity 5"}
SPLIT_SECONDS=${SPLIT_SECONDS:-10}
MAX_LOAD=${MAX_LOAD:-1.5}
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
[[ -z "${SKIP_MATRIX:-}" ]] && rm -f "$OUT"/*.json "$OUT"/table.md "$OUT"/sessions.png
{
  echo "commit: $(git rev-parse HEAD 2>/dev/null || echo unknown)"
  echo "started: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "uncommitted changes under gst/ and bench/ when built:"
  git status --short -- gst bench 2>/dev/null | sed 's/^/  /'
} >"$OUT/source.txt"

# The machine is shared: before each run, wait (up to 3 minutes) while the
# 1-minute load average is above MAX_LOAD; the run records what it found.
LOAD_WAITS=0
wait_for_load() {
  LOAD_WAITS=0
  while (( LOAD_WAITS < 3 )); do
    local l
    l=$(cut -d' ' -f1 /proc/loadavg)
    if awk -v l="$l" -v m="$MAX_LOAD" 'BEGIN { exit !(l > m) }'; then
      echo "bench-sessions: load $l > $MAX_LOAD, waiting a minute" >&2
      sleep 60
      LOAD_WAITS=$((LOAD_WAITS + 1))
    else
      return 0
    fi
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
  $PY - "$OUT/$name.json" "$rc" "$before" "$LOAD_WAITS" "$name" <<'EOF'
import json, os, sys
path, rc, before, waits, name = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
d = json.load(open(path)) if os.path.exists(path) and os.path.getsize(path) else {"failed": True}
d.update({"run": name, "exit_status": rc, "loadavg_before_run": before, "load_waits": waits})
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
[[ -z "${SKIP_MATRIX:-}" ]] && matrix "udp webrtc seed"

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
[[ -z "${SKIP_TUNED:-}" ]] && matrix "udp-tuned webrtc-tuned"

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
