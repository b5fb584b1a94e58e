#!/usr/bin/env bash
# Regenerate docs/plugins/gst_plugins_cache.json, the plugin's entry in GStreamer's
# documentation cache (the format gst-hotdoc-plugins-scanner writes), from the element
# as built in builddir/. Run it after changing a property, signal, pad template or the
# element's metadata, and commit the result:
#
#   bash scripts/update-plugins-cache.sh
#
# The docs suite runs it as `update-plugins-cache.sh --check TOOL`: it regenerates into a
# temporary file and fails when the committed cache differs. Debian ships no
# gst-hotdoc-plugins-scanner, so TOOL is our own writer of that format
# (docs/plugins/plugins_cache.cpp). docs/plugins/cache-gstreamer-version holds the
# GStreamer major.minor the cache was made with: a difference seen on another version
# skips the check (exit 77) with a message instead of failing, since GStreamer itself may
# print a type or caps differently there.
set -euo pipefail
caller=$PWD
cd "$(dirname "${BASH_SOURCE[0]}")/.."

CACHE=docs/plugins/gst_plugins_cache.json
VERSION_FILE=docs/plugins/cache-gstreamer-version

# Fields that differ per machine or build, not per element: none today (the filename is
# written without its directory and suffix). List them here, as JSON paths below the
# element, if that changes.
VOLATILE=()

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

generate() { # generate TOOL OUTPUT: the cache of the plugin on GST_PLUGIN_PATH
  # The tests' registry when run as a test: under the sanitizer setups it is warmed
  # beforehand, so that only our plugin is loaded into the instrumented tool.
  GST_REGISTRY_1_0="${GST_REGISTRY_1_0:-$tmp/registry.bin}" "$1" agentaudio >"$2"
}

gst_minor() {
  pkg-config --modversion gstreamer-1.0 | cut -d. -f1,2
}

if [[ ${1:-} == --check ]]; then
  tool=$2
  [[ $tool == /* ]] || tool=$caller/$tool
  generate "$tool" "$tmp/new.json"
  made_with=$(cat "$VERSION_FILE" 2>/dev/null || echo unknown)
  running=$("$tool" --gst-version 2>/dev/null | head -n1 | grep -o '[0-9]*\.[0-9]*' | head -n1 || true)
  [[ -n $running ]] || running=$(gst_minor)
  status=0
  python3 - "$CACHE" "$tmp/new.json" "${VOLATILE[@]}" <<'PY' || status=$?
import difflib, json, sys
committed_path, new_path, volatile = sys.argv[1], sys.argv[2], sys.argv[3:]
def load(path):
    with open(path) as f:
        data = json.load(f)
    for plugin in data.values():
        for element in plugin.get("elements", {}).values():
            for dotted in volatile:
                node = element
                *parents, last = dotted.split(".")
                for key in parents:
                    node = node.get(key, {})
                node.pop(last, None)
    return json.dumps(data, indent=4, sort_keys=True).splitlines()
committed, new = load(committed_path), load(new_path)
if committed != new:
    sys.stdout.writelines(line + "\n" for line in difflib.unified_diff(
        committed, new, committed_path, "the element as built", lineterm=""))
    sys.exit(1)
PY
  if [[ $status -eq 0 ]]; then
    echo "plugins cache: $CACHE matches the element (GStreamer $running; cache made with $made_with)"
    exit 0
  fi
  if [[ $running != "$made_with" ]]; then
    echo "plugins cache: SKIPPED: $CACHE was made with GStreamer $made_with and this is" \
      "$running, which may print the element differently; the check runs on $made_with"
    exit 77
  fi
  echo "plugins cache: $CACHE does not match the element (diff above):" \
    "run bash scripts/update-plugins-cache.sh and commit the result"
  exit 1
fi

if [[ ! -d builddir/meson-private ]]; then
  bash scripts/build.sh
fi
meson compile -C builddir agentaudio-plugins-cache gstagentaudio >/dev/null
GST_PLUGIN_PATH_1_0=$PWD/builddir/gst/agentaudio GST_PLUGIN_PATH= GST_REGISTRY_1_0= \
  generate builddir/docs/plugins/agentaudio-plugins-cache "$tmp/new.json"
mv "$tmp/new.json" "$CACHE"
gst_minor >"$VERSION_FILE"
echo "plugins cache: wrote $CACHE (GStreamer $(gst_minor))"
