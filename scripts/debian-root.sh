#!/usr/bin/env bash
# Build and test agentaudiosrc inside a Debian root made with debootstrap, so that CI
# also runs every suite against another Debian release's GStreamer (Debian 13: 1.26).
#
#   bash scripts/debian-root.sh [SUITE] [STEP...]
#
# SUITE is a Debian code name (default trixie). STEPs, run in this order (default all):
#   root     make the root in .cache/debian-SUITE/ (once: an existing one is reused)
#   deps     install the build and test packages in it (apt is left alone when they are)
#   test     configure, build and run every meson suite of the source tree, bind-mounted
#            at /src, in a build directory of the root's own (/build), then
#            scripts/check-optional.sh there; ends with one line
#            "SUITE: N passed, N failed, N skipped" (the meson tests)
#   package  build the Debian package (dpkg-buildpackage -b -us -uc, from a copy of the
#            tree), run lintian on it, copy the results into .cache/deb/SUITE/, install it
#            with `apt-get install ./…deb` and check that gst-inspect-1.0 and gst-launch-1.0
#            find the element without GST_PLUGIN_PATH; then remove it again
#   shell    (alone, instead of the steps) a shell in the root with the mounts, or the
#            command given after it, e.g.
#            bash scripts/debian-root.sh trixie shell meson test -C /build/agentaudio stress
#
# The mirror is the one this machine's own apt sources name (read at run time); nothing
# is cached outside the clone. proc, dev and the source tree are mounted for the steps
# that need them and unmounted on exit, whether the steps pass or fail.
# Each step prints how long it took ("debian-root: TIMING step Ns").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SRC=$PWD

SUITE=${1:-trixie}
[[ $# -gt 0 ]] && shift
STEPS=("$@")
[[ ${#STEPS[@]} -eq 0 ]] && STEPS=(root deps test package)

ROOT=$SRC/.cache/debian-$SUITE
LOG=debian-$SUITE

say() { echo "$LOG: $*"; }
die() {
  echo "$LOG: $*" >&2
  exit 1
}

[[ $(id -u) -eq 0 ]] || die "must run as root (debootstrap, chroot and mount need it)"

# What the tree needs to build and run every suite, as scripts/install-deps.sh lists for
# the host, minus the demo's Python parts; plus what the package step needs.
PACKAGES=(
  build-essential meson ninja-build pkg-config python3
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstreamer-plugins-bad1.0-dev
  libssl-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-nice
  debhelper dpkg-dev lintian
)

# The first non-security "deb" URI of this machine's apt sources (deb822 .sources files
# or one-line sources.list entries).
host_mirror() {
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    uri=$(awk '
      /^[[:space:]]*$/ { if (deb && uri != "" && uri !~ /security/) { print uri; exit } deb = 0; uri = ""; next }
      /^Types:/ { deb = ($0 ~ /[[:space:]]deb([[:space:]]|$)/) }
      /^URIs:/ { uri = $2 }
      END { if (deb && uri != "" && uri !~ /security/) print uri }' "$f" | head -n1)
    if [[ -n $uri ]]; then
      echo "$uri"
      return
    fi
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f $f ]] || continue
    uri=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { if ($i !~ /security/) { print $i; exit } break } }' "$f")
    if [[ -n $uri ]]; then
      echo "$uri"
      return
    fi
  done
  return 1
}

MOUNTS=()
cleanup() {
  local i
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
    umount "${MOUNTS[i]}" 2>/dev/null || umount -l "${MOUNTS[i]}" 2>/dev/null ||
      echo "$LOG: could not unmount ${MOUNTS[i]}" >&2
  done
  MOUNTS=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mount_into() { # mount_into TARGET MOUNT-ARGS...
  local target=$1
  shift
  mkdir -p "$target"
  if mountpoint -q "$target"; then
    return
  fi
  mount "$@" "$target"
  MOUNTS+=("$target")
}

mount_all() {
  [[ ${#MOUNTS[@]} -gt 0 ]] && return
  mount_into "$ROOT/proc" -t proc proc
  mount_into "$ROOT/dev" --bind /dev
  mount_into "$ROOT/dev/pts" --bind /dev/pts
  mount_into "$ROOT/src" --bind "$SRC"
}

# Run a command inside the root, with a clean environment.
in_root() {
  chroot "$ROOT" /usr/bin/env -i HOME=/root TERM="${TERM:-dumb}" LANG=C.UTF-8 \
    PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"
}

timed() { # timed NAME COMMAND...
  local name=$1 start status=0
  shift
  start=$(date +%s)
  "$@" || status=$?
  say "TIMING $name $(($(date +%s) - start))s"
  return $status
}

step_root() {
  if [[ -f $ROOT/.agentaudio-root-complete ]]; then
    say "reusing the root in ${ROOT#"$SRC"/}"
    return
  fi
  if ! command -v debootstrap >/dev/null; then
    say "installing debootstrap"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap
  fi
  local mirror
  mirror=$(host_mirror) || die "no Debian mirror found in /etc/apt/sources.list{,.d}"
  say "debootstrap $SUITE from the host's mirror"
  # An unfinished root may still have mounts from a run that was killed: never delete
  # through them (the source tree is one).
  local m
  for m in $(awk -v root="$ROOT" 'index($2, root "/") == 1 { print $2 }' /proc/mounts | sort -r); do
    umount "$m" 2>/dev/null || umount -l "$m" || die "cannot unmount $m; remove ${ROOT#"$SRC"/} by hand"
  done
  rm -rf --one-file-system "$ROOT"
  mkdir -p "$ROOT"
  debootstrap --variant=minbase "$SUITE" "$ROOT" "$mirror"
  # A root of the suite's own name only; the file lives inside .cache/, not in the repo.
  echo "deb $mirror $SUITE main" >"$ROOT/etc/apt/sources.list"
  mkdir -p "$ROOT/src" "$ROOT/build"
  touch "$ROOT/.agentaudio-root-complete"
}

step_deps() {
  [[ -f $ROOT/.agentaudio-root-complete ]] || die "no root yet: run the root step first"
  local missing=() pkg status
  for pkg in "${PACKAGES[@]}"; do
    status=$(in_root dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || missing+=("$pkg")
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    say "all ${#PACKAGES[@]} packages already installed"
    return
  fi
  say "installing ${missing[*]}"
  mount_all
  in_root apt-get update -qq
  in_root apt-get install -y -q --no-install-recommends "${missing[@]}"
  in_root apt-get clean
}

step_test() {
  mount_all
  say "GStreamer $(in_root pkg-config --modversion gstreamer-1.0)"
  local status=0
  # Configure afresh each time: the root's meson may differ from the one that made /build.
  in_root sh -c 'rm -rf /build/agentaudio && meson setup /build/agentaudio /src -Dtests=enabled >/build/setup.log 2>&1 || { cat /build/setup.log; exit 1; }; tail -n 40 /build/setup.log' ||
    die "meson setup failed"
  timed build in_root meson compile -C /build/agentaudio -j 2 || die "build failed"
  timed tests in_root meson test -C /build/agentaudio --print-errorlogs --num-processes 2 || status=$?
  # Optional parts stay optional on this release too: a setup without webrtc, valgrind,
  # clang and espeak-ng succeeds and says what to install (its own closing line).
  timed optional in_root bash /src/scripts/check-optional.sh /build/optional || status=1
  in_root python3 - /build/agentaudio/meson-logs/testlog.json "$LOG" <<'PY'
import json, sys
results = [json.loads(line)["result"] for line in open(sys.argv[1]) if line.strip()]
passed = sum(r in ("OK", "EXPECTEDFAIL") for r in results)
skipped = sum(r == "SKIP" for r in results)
print(f"{sys.argv[2]}: {passed} passed, {len(results) - passed - skipped} failed, {skipped} skipped")
PY
  return $status
}

step_package() {
  mount_all
  local out=$SRC/.cache/deb/$SUITE
  in_root dpkg -r gstreamer1.0-agentaudio >/dev/null 2>&1 || true
  rm -rf "$out"
  mkdir -p "$out"
  # dpkg-buildpackage writes next to the source directory: build from a copy of the
  # tracked files in the root's /build, then keep only what it made.
  in_root sh -c 'rm -rf /build/pkg && mkdir -p /build/pkg/agentaudiosrc'
  git -C "$SRC" ls-files -z --cached --others --exclude-standard |
    tar -C "$SRC" --null -T - -cf - | tar -C "$ROOT/build/pkg/agentaudiosrc" -xf -
  timed dpkg-buildpackage in_root sh -c 'cd /build/pkg/agentaudiosrc && dpkg-buildpackage -b -us -uc' ||
    die "dpkg-buildpackage failed"
  cp "$ROOT"/build/pkg/*.deb "$ROOT"/build/pkg/*.changes "$ROOT"/build/pkg/*.buildinfo "$out"/
  local deb
  deb=$(cd "$out" && ls gstreamer1.0-agentaudio_*.deb | grep -v dbgsym | head -n1)
  say "built .cache/deb/$SUITE/$deb"
  say "lintian:"
  in_root sh -c "lintian --info --display-info /src/.cache/deb/$SUITE/*.changes" || true
  timed install in_root apt-get install -y -q "/src/.cache/deb/$SUITE/$deb"
  local status=0
  in_root sh -c 'unset GST_PLUGIN_PATH GST_PLUGIN_PATH_1_0; export HOME=/tmp/gsthome; rm -rf $HOME;
    gst-inspect-1.0 agentaudiosrc >/tmp/inspect.txt &&
    head -n 12 /tmp/inspect.txt &&
    gst-inspect-1.0 agentaudiosrc | grep -q "Filename.*/gstreamer-1.0/libgstagentaudio.so" &&
    gst-launch-1.0 agentaudiosrc num-buffers=50 ! fakesink' || status=$?
  in_root dpkg -r gstreamer1.0-agentaudio >/dev/null
  if [[ $status -ne 0 ]]; then
    die "the installed package does not work"
  fi
  say "installed package: gst-inspect-1.0 and gst-launch-1.0 found agentaudiosrc"
}

if [[ ${STEPS[0]} == shell ]]; then
  [[ -f $ROOT/.agentaudio-root-complete ]] || die "no root yet: run the root step first"
  mount_all
  if [[ ${#STEPS[@]} -gt 1 ]]; then
    in_root sh -c "${STEPS[*]:1}"
  else
    in_root bash -i
  fi
  exit
fi

for step in "${STEPS[@]}"; do
  case $step in
  root | deps | test | package) ;;
  *) die "unknown step $step (root, deps, test, package)" ;;
  esac
done
# Not through timed(): a function called on the left of || runs without set -e.
for step in "${STEPS[@]}"; do
  start=$(date +%s)
  "step_$step"
  say "TIMING step $step $(($(date +%s) - start))s"
done
