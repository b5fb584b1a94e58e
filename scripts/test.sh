#!/usr/bin/env bash
# Install dependencies, build, and run every test.
# Extra arguments go to `meson test`, e.g. `bash scripts/test.sh --suite unit` or a test name.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-deps.sh
bash scripts/build.sh
status=0
meson test -C builddir --print-errorlogs "$@" || status=$?

# One plain closing line, counted from meson's own log: N passed, N failed.
python3 - builddir/meson-logs/testlog.json <<'PY'
import json, sys
results = [json.loads(line)["result"] for line in open(sys.argv[1]) if line.strip()]
passed = sum(r in ("OK", "EXPECTEDFAIL") for r in results)
skipped = sum(r == "SKIP" for r in results)
print(f"tests: {passed} passed, {len(results) - passed - skipped} failed, {skipped} skipped")
PY
exit $status
