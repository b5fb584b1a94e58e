#!/usr/bin/env bash
# Install dependencies, build the plugin and run the voice-agent demo, which writes
# out/agent-demo.wav. Extra arguments go to examples/agent_demo.py.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-deps.sh
bash scripts/build.sh

OUTPUT=out/agent-demo.wav
mkdir -p "$(dirname "$OUTPUT")"

# The Debian interpreter, which has PyGObject; a python3 earlier on PATH may not.
export GST_PLUGIN_PATH="$PWD/builddir/gst/agentaudio${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
/usr/bin/python3 examples/agent_demo.py --output "$OUTPUT" "$@"

echo
echo "demo: WAV written to $PWD/$OUTPUT"
