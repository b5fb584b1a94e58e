#!/usr/bin/env bash
# Check that optional parts stay optional: `meson setup -Dtests=auto` must succeed with
# gstreamer-webrtc-1.0 hidden from pkg-config and with valgrind, clang++ and
# espeak-ng off PATH, and its summary must name, for each, the Debian package to install.
# Then the build must list every suite but the WebRTC one (compiling it again would add
# little: a target that needed the missing library would already fail the setup).
#
#   bash scripts/check-optional.sh [BUILDDIR]     (default: a temporary directory)
#
# Ends with one plain line: "optional: N passed, N failed".
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
builddir=${1:-$work/build}

# pkg-config sees every module of the system's search path but the hidden ones.
hidden=(gstreamer-webrtc-1.0)
mkdir -p "$work/pc" "$work/bin"
for dir in $(pkg-config --variable pc_path pkg-config | tr ':' ' '); do
  [[ -d $dir ]] || continue
  for pc in "$dir"/*.pc; do
    [[ -e $pc ]] || continue
    name=$(basename "$pc" .pc)
    [[ " ${hidden[*]} " == *" $name "* ]] && continue
    [[ -e $work/pc/$name.pc ]] || ln -s "$pc" "$work/pc/$name.pc"
  done
done
# For the setup, a PATH without valgrind, clang++ and espeak-ng: only what it runs.
for prog in meson ninja pkg-config c++ g++ cc gcc ld as ar python3; do
  path=$(command -v "$prog" || true)
  [[ -n $path ]] && ln -s "$path" "$work/bin/$prog"
done

passed=0
failed=0
check() { # check DESCRIPTION COMMAND...
  if "${@:2}"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "optional: FAILED: $1"
  fi
}

rm -rf "$builddir"
status=0
env PATH="$work/bin" PKG_CONFIG_LIBDIR="$work/pc" PKG_CONFIG_PATH= \
  meson setup "$builddir" -Dtests=auto >"$work/setup.log" 2>&1 || status=$?
if [[ $status -ne 0 ]]; then
  cat "$work/setup.log"
fi
check "meson setup -Dtests=auto succeeds" test $status -eq 0
sed -n '/Optional parts/,/^$/p' "$work/setup.log"
for want in 'webrtc test (suite integration).*skipped.*gstreamer-webrtc-1.0 (install libgstreamer-plugins-bad1.0-dev)' \
  'valgrind setup.*skipped.*install valgrind' \
  'ASan, TSan and fuzz builds.*skipped.*install clang' \
  'demo voice.*skipped.*install espeak-ng'; do
  check "summary line /$want/" grep -q -- "$want" "$work/setup.log"
done
if [[ $status -eq 0 ]]; then
  meson test -C "$builddir" --list 2>/dev/null >"$work/tests.txt" || true
  check "the tests are there (core, docs, stress)" sh -c "grep -q ' core\$' '$work/tests.txt' && grep -q ' docs\$' '$work/tests.txt' && grep -q ' stress\$' '$work/tests.txt'"
  check "no webrtc test" sh -c "! grep -q webrtc '$work/tests.txt'"
fi
echo "optional: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
