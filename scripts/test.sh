#!/usr/bin/env bash
# Install dependencies, build, and run every test: the meson suites, then the Python
# package's pytest suite (python/tests).
# Extra arguments go to `meson test`, e.g. `bash scripts/test.sh --suite unit` or a test name;
# with them the pytest suite is not run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-deps.sh
bash scripts/build.sh
status=0
meson test -C builddir --print-errorlogs "$@" || status=$?

# The Debian interpreter (PyGObject, aiortc); pytest's own summary line ends its output.
# Exit status 5 (no tests collected) fails like any other.
pytest_log=builddir/meson-logs/pytest.xml
pytest_status=none
rm -f "$pytest_log"
if [[ $# -eq 0 ]]; then
  echo
  echo "pytest: python/tests"
  pytest_status=0
  GST_PLUGIN_PATH="$PWD/builddir/gst/agentaudio${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}" \
    /usr/bin/python3 -m pytest python/tests -rsx -p no:cacheprovider \
    --junitxml="$pytest_log" || pytest_status=$?
  [[ $pytest_status -eq 0 ]] || status=1
fi

# One plain closing line, counted from meson's log and pytest's: N passed, N failed.
python3 - builddir/meson-logs/testlog.json "$pytest_log" "$pytest_status" <<'PY'
import json, os, sys
import xml.etree.ElementTree as ET
results = [json.loads(line)["result"] for line in open(sys.argv[1]) if line.strip()]
passed = sum(r in ("OK", "EXPECTEDFAIL") for r in results)
skipped = sum(r == "SKIP" for r in results)
failed = len(results) - passed - skipped
log, status = sys.argv[2], sys.argv[3]
if status != "none":
    cases = ET.parse(log).getroot().iter("testcase") if os.path.exists(log) else []
    py_passed = py_failed = py_skipped = 0
    for case in cases:
        if case.find("failure") is not None or case.find("error") is not None:
            py_failed += 1
        elif case.find("skipped") is None:
            py_passed += 1
        else:
            py_skipped += 1
    if status != "0" and py_failed == 0:
        py_failed = 1  # no tests collected (5), or pytest itself failed
    passed, failed = passed + py_passed, failed + py_failed
    skipped += py_skipped
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
