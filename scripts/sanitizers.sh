#!/usr/bin/env bash
# Run every test under the memory and thread checkers, each in its own build:
#   asan      build-asan/, clang with AddressSanitizer + UndefinedBehaviorSanitizer
#             (LeakSanitizer on)
#   tsan      build-tsan/, clang with ThreadSanitizer
#   valgrind  builddir/ (the normal build scripts/build.sh makes), under memcheck
# The test setups themselves are in meson.build; tests/suppressions/ holds what they
# suppress and why. Any report fails its test. Ends with one plain line,
# `sanitizers: N passed, N failed`, counting tests over the three setups.
# Extra arguments go to every `meson test`, e.g. `bash scripts/sanitizers.sh core`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-deps.sh

# What the checkers need beyond scripts/install-deps.sh: clang and its sanitizer
# runtimes, valgrind, and gst-inspect-1.0 (gstreamer1.0-tools) to build the registry.
EXTRA_PACKAGES=(clang libclang-rt-14-dev valgrind gstreamer1.0-tools)
missing=()
for pkg in "${EXTRA_PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "sanitizers: installing ${missing[*]}"
  SUDO=()
  if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
      SUDO=(sudo)
    else
      echo "sanitizers: not root and sudo is not available; install these packages by hand: ${missing[*]}" >&2
      exit 1
    fi
  fi
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

passed=0
failed=0

header() {
  echo
  echo "=============================================================================="
  echo "sanitizers: $*"
  echo "=============================================================================="
}

# Configure BUILDDIR with clang and the given meson options (once), then compile it.
build_with_clang() {
  local builddir=$1
  shift
  if [[ ! -d "$builddir/meson-private" ]]; then
    CC=clang CXX=clang++ meson setup "$builddir" "$@"
  fi
  meson compile -C "$builddir"
}

# Build BUILDDIR/tests/registry.bin (the GST_REGISTRY_1_0 of tests/meson.build)
# with the ordinary, uninstrumented gst-inspect-1.0 and its out-of-process scanner,
# from the system plugins only. The checked run then finds them all cached and
# loads only our plugin into the instrumented process; otherwise every system
# plugin (OpenNI2, udev, fontconfig...) would be loaded into it and leave its own
# one-time allocations and threads in the reports.
warm_registry() {
  local builddir=$1
  mkdir -p "$builddir/tests"
  env -u GST_PLUGIN_PATH -u GST_PLUGIN_PATH_1_0 \
    GST_REGISTRY_1_0="$PWD/$builddir/tests/registry.bin" \
    gst-inspect-1.0 coreelements >/dev/null
}

# Run `meson test` with SETUP in BUILDDIR and add its results to the totals.
run_setup() {
  local builddir=$1 setup=$2
  shift 2
  local status=0
  meson test -C "$builddir" --setup "$setup" --print-errorlogs "$@" || status=$?
  local log="$builddir/meson-logs/testlog-$setup.json"
  local counts
  if [[ -f "$log" ]]; then
    counts=$(python3 - "$log" <<'PY'
import json, sys
results = [json.loads(line)["result"] for line in open(sys.argv[1]) if line.strip()]
ok = sum(r in ("OK", "EXPECTEDFAIL") for r in results)
print(ok, len(results) - ok)
PY
)
  else
    counts="0 1"
  fi
  local ok bad
  read -r ok bad <<<"$counts"
  if [[ $status -ne 0 && $bad -eq 0 ]]; then
    bad=1 # meson itself failed, e.g. no test matched
  fi
  echo "sanitizers: $setup: $ok of $((ok + bad)) tests clean"
  passed=$((passed + ok))
  failed=$((failed + bad))
}

step_asan() {
  header "AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/)"
  if ! build_with_clang build-asan -Db_sanitize=address,undefined -Db_lundef=false; then
    echo "sanitizers: asan: build failed"
    failed=$((failed + 1))
    return
  fi
  warm_registry build-asan
  run_setup build-asan asan "$@"
}

step_tsan() {
  header "ThreadSanitizer (build-tsan/)"
  # tsan-glib-sync.so is preloaded by the 'tsan' setup; see its source for why.
  if ! build_with_clang build-tsan -Db_sanitize=thread -Db_lundef=false ||
    ! clang -O1 -g -fPIC -shared -o build-tsan/tsan-glib-sync.so \
      tests/suppressions/tsan-glib-sync.c -ldl; then
    echo "sanitizers: tsan: build failed"
    failed=$((failed + 1))
    return
  fi
  warm_registry build-tsan
  run_setup build-tsan tsan "$@"
}

step_valgrind() {
  header "valgrind memcheck (builddir/)"
  if ! bash scripts/build.sh; then
    echo "sanitizers: valgrind: build failed"
    failed=$((failed + 1))
    return
  fi
  run_setup builddir valgrind "$@"
}

SECONDS=0
step_asan "$@"
echo "sanitizers: asan took ${SECONDS}s"
SECONDS=0
step_tsan "$@"
echo "sanitizers: tsan took ${SECONDS}s"
SECONDS=0
step_valgrind "$@"
echo "sanitizers: valgrind took ${SECONDS}s"

echo
echo "sanitizers: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
