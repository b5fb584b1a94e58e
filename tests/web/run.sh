#!/usr/bin/env bash
# The browser test of the voice-agent page (examples/web): Debian's chromium, headless, with a
# fake microphone playing a WAV made here, driven by playwright-core (installed into
# tests/web/node_modules from the npm registry; it never downloads a browser).
#
#   bash tests/web/run.sh                       # build if needed, 10 barge-ins, ~1.5 minutes
#   bash tests/web/run.sh --barge-ins 3         # arguments go to test_web.mjs
#   bash tests/web/run.sh -- --ptime 20         # after --: server options (examples/web/server.py)
#
# Runs in a network namespace of its own when it can (only a loopback interface exists there, so
# nothing can leave the machine); otherwise on the host's loopback, with the same restrictions
# enforced by the server and the page (loopback host candidates only, no STUN/TURN).
# Closing line: "web: N passed, N failed".
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

bash scripts/install-deps.sh
if [[ ! -f builddir/gst/agentaudio/libgstagentaudio.so ]]; then
  bash scripts/build.sh
fi

# Node.js and npm: the machine's own if it has them, else Debian's.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "web: installing Debian's nodejs and npm"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm
fi
if [[ ! -d tests/web/node_modules/playwright-core ]]; then
  (cd tests/web && npm ci --no-audit --no-fund --loglevel=error)
fi

OUT=tests/web/out
mkdir -p "$OUT"
# The fake microphone, made here: 2 s of silence, a 60 ms cough-like burst (brown noise with a
# fast attack), 1.5 s of silence, a sentence, 0.4 s of silence. Chromium loops it: each pass is
# one false interruption and one barge-in. All at 48 kHz mono.
SENTENCE="Sorry to cut in but I have a question about the weather."
espeak-ng -w "$OUT/sentence-22k.wav" "$SENTENCE"
sox "$OUT/sentence-22k.wav" -r 48000 -c 1 -b 16 "$OUT/sentence.wav"
sox -n -r 48000 -c 1 -b 16 "$OUT/silence-2.0.wav" trim 0 2.0
BURST=${WEB_BURST_S:-0.06}
sox -n -r 48000 -c 1 -b 16 "$OUT/burst.wav" synth "$BURST" brownnoise vol 0.6 fade q 0.01 "$BURST" 0.05
sox -n -r 48000 -c 1 -b 16 "$OUT/silence-1.5.wav" trim 0 1.5
sox -n -r 48000 -c 1 -b 16 "$OUT/silence-0.4.wav" trim 0 0.4
sox "$OUT/silence-2.0.wav" "$OUT/burst.wav" "$OUT/silence-1.5.wav" "$OUT/sentence.wav" \
  "$OUT/silence-0.4.wav" "$OUT/capture.wav"
echo "web: fake microphone $OUT/capture.wav ($(soxi -D "$OUT/capture.wav") s, looped)"

CMD=(node tests/web/test_web.mjs --wav "$OUT/capture.wav" "$@")
if [[ $(id -u) -eq 0 ]] && unshare --net true 2>/dev/null; then
  echo "web: running in a network namespace of its own (loopback only)"
  exec unshare --net -- bash -c 'ip link set lo up && exec "$@"' bash "${CMD[@]}"
fi
echo "web: no network namespace available: running on the host's loopback"
exec "${CMD[@]}"
