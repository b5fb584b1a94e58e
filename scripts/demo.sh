#!/usr/bin/env bash
# Install dependencies, build the plugin and run the voice-agent demo, which writes
# out/agent-demo.wav (what the element played) and out/agent-demo.png (its waveform, the speech and
# background lanes and every bus event on the running-time axis), and prints a short summary.
# Extra arguments go to examples/agent_demo.py (e.g. --verbose for every bus message).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# --web: the voice-agent page over WebRTC instead (examples/web, docs/web.md).
if [[ "${1:-}" == "--web" ]]; then
  shift
  exec bash examples/web/serve.sh "$@"
fi

bash scripts/install-deps.sh
bash scripts/build.sh

OUTPUT=out/agent-demo.wav
PLOT=out/agent-demo.png
mkdir -p "$(dirname "$OUTPUT")"

# The Debian interpreter, which has PyGObject and matplotlib; a python3 earlier on PATH may not.
export GST_PLUGIN_PATH="$PWD/builddir/gst/agentaudio${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
/usr/bin/python3 examples/agent_demo.py --output "$OUTPUT" --plot "$PLOT" "$@"

echo
echo "demo: listen to $PWD/$OUTPUT"
echo "demo: look at   $PWD/$PLOT"
