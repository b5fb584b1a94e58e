#!/usr/bin/python3
"""Turns the JSON of scripts/bench-sessions.sh into table.md and sessions.png.

Usage: /usr/bin/python3 bench/sessions_report.py bench/results/sessions

Reports; the goal lines only restate issue 17's goals next to the figures.
"""
import glob
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

MODES = ["udp", "webrtc", "seed", "seed-2proc", "udp-tuned", "webrtc-tuned"]
LABELS = {
    "udp": "(a) agentaudiosrc ! opusenc ! rtpopuspay ! udpsink",
    "webrtc": "(b) agentaudiosrc ! opusenc ! rtpopuspay ! webrtcbin",
    "seed": "(c) seed: aiortc track, asyncio.sleep + numpy",
    "seed-2proc": "(c) seed, two processes (N/2 each)",
    "udp-tuned": "(a) tuned: 24 kHz into opusenc, complexity 5",
    "webrtc-tuned": "(b) tuned: 24 kHz into opusenc, complexity 5",
}
STYLE = {"udp-tuned": "s--", "webrtc-tuned": "s--", "seed-2proc": "s--"}
COLOR = {"udp": "C0", "webrtc": "C1", "seed": "C2", "seed-2proc": "C2", "udp-tuned": "C0",
         "webrtc-tuned": "C1"}
TUNE_ORDER = [
    "baseline", "complexity-5", "complexity-0", "frame-40", "frame-60", "ptime-40",
    "ptime-60-frame-60", "rate-24000", "speech-48000", "rate-24000-complexity-5",
    "baseline-again", "duty-50-nobed", "duty-50-nobed-dtx",
]


def load(out):
    runs, tune, split = {}, {}, {}
    for path in sorted(glob.glob(os.path.join(out, "*.json"))):
        name = os.path.basename(path)[:-5]
        with open(path) as f:
            d = json.load(f)
        if name.startswith("tune-"):
            tune[name[5:]] = d
        elif name.endswith((".a", ".b")):
            continue
        elif name.startswith("split-"):
            split[name[6:]] = d
        else:
            mode, n = name.rsplit("-", 1)
            runs[(mode, int(n))] = d
    return runs, tune, split


def rx(d):
    return d.get("receiver") or {}


def other_load(d):
    """Cores the rest of the machine used in the window (from /proc/stat,
    tick-based: about ±0.1): busy − sender − receiver."""
    r = rx(d)
    if "machine_busy_cores" not in d or not r:
        return None
    return d["machine_busy_cores"] - d["sender_cpu_cores"] - r.get("receiver_cpu_cores", 0)


def busy_before(d):
    """Cores busy on the machine over 2 s before the run (the script's
    measure; the load average counts this bench's own runnable threads
    for minutes after a large run, so it is not shown)."""
    v = d.get("busy_cores_before_run")
    return "n/a" if v is None else f"{v:.2f}"


def f(v, spec=".2f"):
    return "n/a" if v is None else format(v, spec)


def session_table(runs):
    rows = [
        "| mode | N | sender CPU (cores) | CPU/session (% of a core) | real-time sessions"
        " | p99 deviation (ms) | worst session's p99 (ms) | media delivered (min) | lost"
        " | RSS/session (KiB) | receiver CPU (cores) | other load (cores) | busy before (cores) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for mode in MODES:
        for (m, n), d in sorted(runs.items(), key=lambda kv: kv[0][1]):
            if m != mode:
                continue
            r = rx(d)
            if d.get("failed"):
                rows.append(f"| {mode} | {n} | failed (exit {d.get('exit_status')}) |"
                            " | | | | | | | | | |")
                continue
            if not r:
                # The sender ran, but its receiver gave no figures (it starved: the sender
                # had the cores); the run counts as not real-time.
                rows.append(f"| {mode} | {n} | {d['sender_cpu_cores']:.3f} |"
                            f" {d['sender_cpu_per_session_percent']:.3f} |"
                            f" no receiver figures: 0 / {n} counted | | | | | |"
                            f" {d['rss_per_session_kib']:.0f} | | | |")
                continue
            dev = r["deviation_us"]
            rows.append(
                f"| {mode} | {n} | {d['sender_cpu_cores']:.3f} |"
                f" {d['sender_cpu_per_session_percent']:.3f} |"
                f" {r['sessions_realtime']} / {n} | {dev['p99'] / 1000:.1f} |"
                f" {dev['worst_session_p99'] / 1000:.1f} | {100 * r['media_fraction_min']:.1f} % |"
                f" {r['lost']} | {d['rss_per_session_kib']:.0f} |"
                f" {r.get('receiver_cpu_cores', 0):.3f} | {f(other_load(d))} |"
                f" {busy_before(d)} |"
            )
    return "\n".join(rows)


def capacity(runs, mode):
    """The most real-time sessions any run of the mode kept, and at which N."""
    best = (0, None)
    for (m, n), d in runs.items():
        if m == mode and rx(d):
            best = max(best, (rx(d)["sessions_realtime"], n))
    return best


def tune_table(tune):
    if not tune:
        return ""
    base = tune.get("baseline")
    rows = [
        "| variant | sender CPU (cores) | CPU/session (%) | vs baseline | real-time | p99 dev (ms)"
        " | kernel share of CPU | other load (cores) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    names = [n for n in TUNE_ORDER if n in tune] + sorted(set(tune) - set(TUNE_ORDER))
    for name in names:
        d = tune[name]
        r = rx(d)
        if d.get("failed") or not r:
            rows.append(f"| {name} | failed | | | | | | |")
            continue
        ref = tune.get("duty-50-nobed") if name == "duty-50-nobed-dtx" else base
        vs = ""
        if ref and ref is not d and rx(ref):
            vs = f"{100 * (d['sender_cpu_cores'] / ref['sender_cpu_cores'] - 1):+.1f} %"
        rows.append(
            f"| {name} | {d['sender_cpu_cores']:.3f} | {d['sender_cpu_per_session_percent']:.3f} |"
            f" {vs} | {r['sessions_realtime']} / {d['sessions']} |"
            f" {r['deviation_us']['p99'] / 1000:.1f} |"
            f" {100 * d.get('sender_system_cpu_share', 0):.0f} % | {f(other_load(d))} |"
        )
    return "\n".join(rows)


def split_table(split):
    if not split:
        return ""
    rows = [
        "| run | element | of which resampling | encoder (opusenc + libopus) | payloader"
        " | transport | rest (GStreamer core, GLib, libc, bench) | instructions |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in sorted(split):
        s = split[name]["share_percent"]
        rows.append(
            f"| {name} | {s['element']:.1f} % | {s['element_of_which_resampling']:.1f} % |"
            f" {s['encoder']:.1f} % | {s['payloader']:.1f} % | {s['transport']:.1f} % |"
            f" {s['rest']:.1f} % | {split[name]['instructions'] / 1e6:.0f} M |"
        )
    return "\n".join(rows)


def plot(runs, out):
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(14, 4.2))
    nproc = None
    for mode in MODES:
        pts = sorted((n, d) for (m, n), d in runs.items() if m == mode and rx(d))
        if not pts:
            continue
        nproc = nproc or pts[0][1]["machine"]["nproc"]
        ns = [n for n, _ in pts]
        st, c = STYLE.get(mode, "o-"), COLOR[mode]
        ax1.plot(ns, [d["sender_cpu_cores"] for _, d in pts], st, color=c, label=LABELS[mode])
        ax2.plot(ns, [rx(d)["sessions_realtime"] for _, d in pts], st, color=c,
                 label=LABELS[mode])
        ax3.plot(ns, [rx(d)["deviation_us"]["p99"] / 1000 for _, d in pts], st, color=c,
                 label=LABELS[mode])
    if nproc:
        ax1.axhline(nproc, color="grey", linestyle=":", label=f"all {nproc} cores")
    top = max([n for (_, n) in runs] or [1])
    ax2.plot([0, top], [0, top], color="grey", linestyle=":", label="all sessions")
    ax3.axhline(10, color="grey", linestyle=":", label="real-time limit (10 ms)")
    for ax, title in ((ax1, "sender CPU (cores)"), (ax2, "sessions that stay real-time"),
                      (ax3, "p99 inter-arrival deviation (ms)")):
        ax.set_xscale("log")
        ax.set_xlabel("sessions N")
        ax.set_title(title, fontsize=10)
        ax.grid(True, alpha=0.3)
    ax3.set_yscale("log")
    ax1.legend(fontsize=7, loc="upper left")
    fig.suptitle("Whole outgoing sessions on 2 vCPUs (bench-sessions, seed_track.py)", fontsize=10)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "sessions.png"), dpi=120)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "bench/results/sessions"
    runs, tune, split = load(out)
    lines = ["# Whole sessions (scripts/bench-sessions.sh)", "", session_table(runs), ""]
    caps = {m: capacity(runs, m) for m in MODES}
    for m in MODES:
        c, n = caps[m]
        lines.append(f"- {m}: at most {c} real-time sessions (at N = {n})")
    seed = max(caps["seed"][0], caps["seed-2proc"][0])
    if seed:
        lines.append(f"- the seed's best: {seed} real-time sessions")
        for m in ("udp", "webrtc", "udp-tuned", "webrtc-tuned"):
            if caps[m][0]:
                    lines.append(
                    f"- {m} / seed real-time sessions: {caps[m][0] / seed:.1f}x (goal: 5x)")
    if tune:
        lines += ["", f"## Tuning (udp, N = {next(iter(tune.values())).get('sessions')})", "",
                  tune_table(tune)]
    if split:
        lines += ["", "## Where a session's CPU goes (callgrind, 2 sessions, instructions)", "",
                  split_table(split)]
    with open(os.path.join(out, "table.md"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    plot(runs, out)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
