#!/usr/bin/env bash
# Build the libFuzzer target (clang, ASan + UBSan) in build-fuzz/, run every
# kept crash input and seed (tests/fuzz/regressions/, tests/fuzz/corpus/), then
# fuzz for FUZZ_SECONDS (default 60) on a copy of the seed corpus.
# Ends with one plain line: fuzz: N passed, N failed. Exits non-zero on any
# crash, leak, hang or broken invariant.
#
#   FUZZ_SECONDS=600 bash scripts/fuzz.sh      # fuzz longer
#   FUZZ_JOBS=2 bash scripts/fuzz.sh           # fuzz in that many processes
#   bash scripts/fuzz.sh path/to/input ...     # only run these inputs
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILDDIR=${FUZZ_BUILDDIR:-build-fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_JOBS=${FUZZ_JOBS:-1}

# clang and its runtime libraries (libFuzzer, sanitizers), from Debian.
PACKAGES=(clang libclang-rt-dev)
missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "fuzz: installing ${missing[*]}"
  SUDO=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || { echo "fuzz: install ${missing[*]} (not root, no sudo)" >&2; exit 1; }
    SUDO=(sudo)
  fi
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi
bash scripts/install-deps.sh

if [[ -d "$BUILDDIR/meson-private" ]]; then
  meson setup --reconfigure "$BUILDDIR" -Dfuzzing=true -Db_lundef=false >/dev/null
else
  CC=clang CXX=clang++ meson setup "$BUILDDIR" -Dfuzzing=true -Db_lundef=false
fi
meson compile -C "$BUILDDIR" tests/fuzz/fuzz-agentaudiosrc
FUZZER=$BUILDDIR/tests/fuzz/fuzz-agentaudiosrc

export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
passed=0
failed=0

run_input() {
  local input=$1
  if "$FUZZER" -runs=1 -timeout=30 -rss_limit_mb=4096 "$input" >"$BUILDDIR/fuzz-last.log" 2>&1; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "fuzz: FAILED on $input:"
    grep -E "INVARIANT|ERROR|SUMMARY|CRITICAL|WARNING|ALARM|==[0-9]+==|^ +#[0-9]+ " \
      "$BUILDDIR/fuzz-last.log" | head -40 || tail -40 "$BUILDDIR/fuzz-last.log"
  fi
}

if [[ $# -gt 0 ]]; then
  for input in "$@"; do run_input "$input"; done
  echo "fuzz: $passed passed, $failed failed"
  [[ $failed -eq 0 ]]
  exit
fi

# Every kept crash input and every seed, one process each.
for input in tests/fuzz/regressions/* tests/fuzz/corpus/*; do
  [[ -f "$input" && "$(basename "$input")" != .* ]] || continue
  run_input "$input"
done

# Then fuzz, on a copy of the seeds: nothing is written into the repository.
if [[ "$FUZZ_SECONDS" -gt 0 ]]; then
  rm -rf "$BUILDDIR/corpus" "$BUILDDIR/artifacts"
  mkdir -p "$BUILDDIR/corpus" "$BUILDDIR/artifacts"
  cp tests/fuzz/corpus/* "$BUILDDIR/corpus/"
  args=(-max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=4096 -max_len=4096
        -artifact_prefix="$BUILDDIR/artifacts/" -print_final_stats=1)
  [[ "$FUZZ_JOBS" -gt 1 ]] && args+=(-fork="$FUZZ_JOBS")
  echo "fuzz: fuzzing for ${FUZZ_SECONDS}s (log: $BUILDDIR/fuzz.log)"
  if "$FUZZER" "${args[@]}" "$BUILDDIR/corpus" >"$BUILDDIR/fuzz.log" 2>&1; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "fuzz: the fuzzer found a failure; input(s) in $BUILDDIR/artifacts/:"
    ls "$BUILDDIR/artifacts/"
    grep -E "INVARIANT|ERROR|SUMMARY|CRITICAL|WARNING|ALARM|^ +#[0-9]+ " "$BUILDDIR/fuzz.log" | head -40
    echo "fuzz: reproduce with: $FUZZER <input>; keep it in tests/fuzz/regressions/ once fixed"
  fi
  grep -E "^#[0-9]+ +(DONE|pulse)|stat::" "$BUILDDIR/fuzz.log" | tail -4 || true
fi

echo "fuzz: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
