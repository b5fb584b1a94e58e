#!/usr/bin/python3
"""Where a session's CPU goes: runs bench-sessions under callgrind and splits
the instructions of the measured window (the sender process only; the
receiver is a forked child with its own profile) into the element, the
encoder, the payloader, the transport and the rest.

Usage:
  /usr/bin/python3 bench/cpu_split.py --bench build-bench/bench/bench-sessions \\
      --mode udp --sessions 2 --seconds 10 --json out.json [-- extra bench flags]
  /usr/bin/python3 bench/cpu_split.py --profile callgrind.out.PID.1   (a dump)

How the stages are cut (Debian's GStreamer and libopus export only their
public symbols, so static functions have no names; the element has them):
  element    inclusive cost of the calls from outside libgstagentaudio.so
             into it (create(), the push-speech handler on the feeder
             thread, property reads), with what it calls (GLib, buffer
             pools, its GstAudioConverter), minus its own gst_pad_push*;
  encoder    inclusive cost of the calls into libopus, plus the self cost
             of the opus plugin and of libgstaudio (GstAudioEncoder) beyond
             what the element's converter spent there;
  payloader  self cost of libgstrtp-1.0 and the rtp plugin (rtpopuspay);
  transport  self cost of udpsink's plugin and GIO (udp), or of webrtcbin,
             rtpbin, SRTP (libsrtp2, with NSS's crypto), DTLS (OpenSSL),
             libnice and GIO (webrtc);
  rest       the rest: GstBaseSrc's loop, capsfilter, pad pushes, GLib and
             libc called from the encoder, payloader and transport (their
             malloc, memcpy, locks), GLib main loops, the bench's feeder.
Callgrind counts user-space instructions (Ir): not time, and not the
kernel's share (sendto, futex waits), which getrusage's system time holds.
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

PUSH = {"gst_pad_push", "gst_pad_push_list"}
WEBRTC_OBJECTS = (
    "libgstwebrtc",  # webrtcbin plugin and libgstwebrtc-1.0
    "libgstrtpmanager",  # rtpbin, rtpsession, jitter buffers
    "libgstsrtp",
    "libsrtp",
    "libgstdtls",
    "libnice",
    "libgstnice",
    "libssl",
    "libcrypto",
    # Debian's libsrtp2 does its crypto with NSS
    "libfreebl",
    "libsoftokn",
    "libnss",
    "libnspr",
)


def parse(path):
    """Self cost per (object, function) and every call with its inclusive
    cost, from a callgrind output file (name compression understood)."""
    names = {"ob": {}, "fl": {}, "fn": {}}
    self_cost = {}
    calls = []
    total = None
    ob = fn = None
    cob = cfn = None
    pending_call = False
    kind_of = {"ob": "ob", "cob": "ob", "fl": "fl", "fi": "fl", "fe": "fl", "cfi": "fl",
               "cfl": "fl", "fn": "fn", "cfn": "fn"}

    def name(kind, rest):
        m = re.match(r"\((\d+)\)(?: (.*))?$", rest)
        if not m:
            return rest
        if m.group(2) is not None:
            names[kind][m.group(1)] = m.group(2)
            return m.group(2)
        return names[kind].get(m.group(1), "?")

    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            c = line[0]
            if c.isdigit() or c in "+-*":
                parts = line.split()
                cost = int(parts[1]) if len(parts) > 1 else 0
                if pending_call:
                    calls.append((ob, fn, cob if cob is not None else ob, cfn, cost))
                    pending_call = False
                    cob = cfn = None
                else:
                    key = (ob, fn)
                    self_cost[key] = self_cost.get(key, 0) + cost
                continue
            if "=" in line:
                k, _, rest = line.partition("=")
                if k in kind_of:
                    v = name(kind_of[k], rest)
                    if k == "ob":
                        ob = v
                    elif k == "fn":
                        fn = v
                    elif k == "cob":
                        cob = v
                    elif k == "cfn":
                        cfn = v
                elif k == "calls":
                    pending_call = True
                continue
            if line.startswith("totals:") or line.startswith("summary:"):
                total = int(line.split()[1])
    if total is None:
        total = sum(self_cost.values())
    return self_cost, calls, total


def has(obj, *parts):
    return obj is not None and any(p in obj for p in parts)


def split(path, mode):
    self_cost, calls, total = parse(path)
    # GStreamer's and libopus' Debian builds export only their public
    # symbols, so the stages are cut by object, with the element and libopus
    # entered through exported functions (inclusive costs from the graph).
    by_object = {}
    for (ob, _fn), c in self_cost.items():
        k = os.path.basename(ob or "?")
        by_object[k] = by_object.get(k, 0) + c

    def self_of(*parts):
        return sum(v for k, v in by_object.items() if any(p in k for p in parts))

    element = opus_incl = element_audio = 0
    for caller_ob, _caller_fn, callee_ob, callee_fn, cost in calls:
        if has(callee_ob, "libgstagentaudio") and not has(caller_ob, "libgstagentaudio"):
            element += cost
        if has(caller_ob, "libgstagentaudio") and callee_fn in PUSH:
            element -= cost
        if has(caller_ob, "libgstagentaudio") and has(callee_ob, "libgstaudio-1.0"):
            element_audio += cost  # the element's GstAudioConverter
        if has(callee_ob, "libopus") and not has(caller_ob, "libopus"):
            opus_incl += cost
    # opusenc: libopus (with what it calls), the plugin, and GstAudioEncoder,
    # the part of libgstaudio the element's converter does not account for.
    encoder = opus_incl + self_of("libgstopus") + max(
        0, self_of("libgstaudio-1.0") - element_audio
    )
    payloader = self_of("libgstrtp-1.0", "libgstrtp.so")
    if mode == "udp":
        transport = self_of("libgstudp", "libgio-2.0")
    else:
        transport = self_of(*(WEBRTC_OBJECTS + ("libgio-2.0", "libgstudp")))
    rest = total - element - encoder - payloader - transport
    top = sorted(by_object.items(), key=lambda kv: -kv[1])[:14]
    pct = lambda v: round(100.0 * v / total, 2) if total else 0.0  # noqa: E731
    return {
        "profile": path,
        "mode": mode,
        "instructions": total,
        "share_percent": {
            "element": pct(element),
            "element_of_which_resampling": pct(element_audio),
            "encoder": pct(encoder),
            "payloader": pct(payloader),
            "transport": pct(transport),
            "rest": pct(rest),
        },
        "instructions_by_stage": {
            "element": element,
            "encoder": encoder,
            "payloader": payloader,
            "transport": transport,
            "rest": rest,
        },
        "self_by_object_percent": {k: pct(v) for k, v in top},
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", default="build-bench/bench/bench-sessions")
    ap.add_argument("--mode", default="udp")
    ap.add_argument("--sessions", type=int, default=2)
    ap.add_argument("--warmup", type=float, default=2)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--profile", help="split an existing window dump instead")
    ap.add_argument("--json")
    ap.add_argument("extra", nargs="*", help="more bench-sessions flags (after --)")
    a = ap.parse_args()
    if a.profile:
        res = split(a.profile, a.mode)
    else:
        tmp = tempfile.mkdtemp(prefix="cpu-split-")
        cmd = [
            "valgrind", "--tool=callgrind", "--callgrind-out-file=" + tmp + "/callgrind.out.%p",
            a.bench, "--mode", a.mode, "--sessions", str(a.sessions), "--warmup",
            str(a.warmup), "--seconds", str(a.seconds), "--json", tmp + "/bench.json",
        ] + a.extra
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # The sender's window dump: the one whose process wrote bench.json is
        # the parent; only the parent zeroes and dumps ("window" trigger).
        dumps = [p for p in glob.glob(tmp + "/callgrind.out.*.*")
                 if "Trigger: Client Request: window" in open(p, errors="replace").read(4000)]
        if not dumps:
            sys.exit("cpu_split: no window dump (valgrind/callgrind.h missing at build?)")
        res = split(dumps[0], a.mode)
        with open(tmp + "/bench.json") as f:
            res["bench"] = json.load(f)
        res["command"] = " ".join(cmd[:1] + ["--tool=callgrind"] + cmd[3:])
    text = json.dumps(res, indent=1)
    print(text)
    if a.json:
        with open(a.json, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
