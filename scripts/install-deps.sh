#!/usr/bin/env bash
# Install the Debian packages needed to build, test and demo agentaudiosrc.
# Idempotent: when every package is already installed, apt is not touched at all.
set -euo pipefail

PACKAGES=(
  # build
  g++
  meson
  ninja-build
  pkg-config
  libgstreamer1.0-dev
  libgstreamer-plugins-base1.0-dev
  libgstreamer-plugins-bad1.0-dev   # gstreamer-webrtc-1.0, for the WebRTC integration test
  libssl-dev                        # libcrypto: the WebRTC test turns off its at-exit cleanup
  # run time: gst-launch/gst-inspect and the element tests and the examples use
  gstreamer1.0-tools
  gstreamer1.0-plugins-base
  gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad
  gstreamer1.0-nice
  # examples (run with /usr/bin/python3, which has PyGObject)
  python3-gi
  python3-gst-1.0
  gir1.2-gstreamer-1.0
  espeak-ng
  python3-matplotlib                # the demo's timeline and the benchmark's plot
  # the agentaudio Python package (python/) and its tests
  python3-numpy
  python3-aiortc                    # agentaudio.aiortc.AgentAudioTrack
  python3-av
  python3-pytest
  python3-venv                      # the venv the README's recipe makes
  # the web demo (examples/web) and its browser test (tests/web)
  python3-aiohttp                   # HTTP and the signalling websocket
  gir1.2-nice-0.1                   # to keep ICE on 127.0.0.1
  sox                               # the test's fake microphone
  chromium                          # the test's browser (headless)
  iproute2                          # the test's network namespace
  # memory checks
  valgrind
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "install-deps: not root and sudo is not available; install these packages by hand: ${missing[*]}" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
