#!/usr/bin/env bash
# `bash scripts/demo.sh --web`: install what is missing, build the plugin, serve the voice-agent
# page on http://127.0.0.1:8080/ (Ctrl-C stops it). Arguments go to examples/web/server.py,
# e.g. --port 8090, --hold-ms 400, --ptime 20; --help lists them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

bash scripts/install-deps.sh
bash scripts/build.sh

cat <<'MSG'
web: open the URL below in Chromium or Chrome on this machine and press Start.
web: everything stays on 127.0.0.1. Browsers leave loopback out of WebRTC by default: start
web: Chromium with --allow-loopback-in-peer-connection (Firefox: about:config,
web: media.peerconnection.ice.loopback = true). Headphones keep the agent out of your mic.
MSG
export GST_PLUGIN_PATH="$PWD/builddir/gst/agentaudio${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
# Debian's interpreter, which has PyGObject and aiohttp; a python3 earlier on PATH may not.
exec /usr/bin/python3 examples/web/server.py "$@"
