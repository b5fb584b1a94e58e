#!/usr/bin/env bash
# Configure (or reconfigure) builddir/ and compile it.
# Extra arguments go to `meson setup`, e.g. `bash scripts/build.sh -Dbuildtype=debug`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILDDIR=builddir

if [[ -d "$BUILDDIR/meson-private" ]]; then
  meson setup --reconfigure "$BUILDDIR" "$@"
else
  meson setup "$BUILDDIR" "$@"
fi
meson compile -C "$BUILDDIR"
