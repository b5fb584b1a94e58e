#!/usr/bin/env bash
# Install dependencies, build, and run every test.
# Extra arguments go to `meson test`, e.g. `bash scripts/test.sh --suite unit` or a test name.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-deps.sh
bash scripts/build.sh
meson test -C builddir --print-errorlogs "$@"
