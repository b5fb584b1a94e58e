#!/usr/bin/python3
"""Turns the JSON of scripts/bench.sh into table.md and cpu_vs_n.png.

Usage: /usr/bin/python3 bench/plot.py bench/results

Reports; never judges by itself: the goal column only restates the issue's
goals next to the measured figure.
"""
import glob
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

MODES = ["floor", "agent", "composition"]
LABELS = {
    "floor": "floor: audiotestsrc is-live ! fakesink",
    "agent": "agentaudiosrc (speech + looping bed, src + src_0)",
    "composition": "composition: 2x appsrc ! clocksync ! audiomixer ! tee ! 2x queue ! fakesink",
}


def load(out):
    runs = {}
    for path in sorted(glob.glob(os.path.join(out, "streams-*.json"))):
        with open(path) as f:
            d = json.load(f)
        name = os.path.basename(path)[:-5]
        _, mode, n = name.split("-")
        d.setdefault("mode", mode)
        d.setdefault("streams", int(n))
        runs[(mode, int(n))] = d
    extra = {}
    for name in ("latency", "mixer"):
        path = os.path.join(out, name + ".json")
        if os.path.exists(path):
            with open(path) as f:
                extra[name] = json.load(f)
    return runs, extra


def ms(us):
    return f"{us / 1000:.2f}"


def fmt(v, spec=".2f"):
    return "n/a" if v is None else format(v, spec)


def stream_table(runs):
    rows = [
        "| mode | N | CPU cores | CPU/stream | buffers delivered | p50 late (ms) | p99 late (ms)"
        " | max late (ms) | early | RSS/stream (KiB) | queued audio/stream (KiB) | beyond queued (KiB)"
        " | threads | teardown (s) | other load before / during (cores) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    ns = sorted({n for _, n in runs})
    for n in ns:
        for mode in MODES:
            d = runs.get((mode, n))
            if d is None:
                continue
            if d.get("failed"):
                rows.append(f"| {mode} | {n} | failed (exit status {d.get('exit_status')}) "
                            + "| " * 13 + "|")
                continue
            lat = d["lateness_us"]
            note = "" if "exit_status" not in d else f" (exit {d['exit_status']})"
            rows.append(
                f"| {mode}{note} | {n} | {d['cpu_cores']:.3f} | {d['cpu_per_stream_percent']:.3f} %"
                f" | {100 * d['delivered_fraction']:.1f} % | {ms(lat['p50'])} | {ms(lat['p99'])}"
                f" | {ms(lat['max'])} | {100 * lat['early'] / max(lat['count'], 1):.0f} %"
                f" | {d['rss_per_stream_kib']:.1f}"
                f" | {d['queued_audio_per_stream_kib']:.1f}"
                f" | {d['rss_per_stream_beyond_queued_kib']:.1f} | {d['threads']}"
                f" | {fmt(d.get('shutdown_s'), '.1f')}"
                f" | {d['other_processes_cores_before']:.2f} / "
                f"{d['other_processes_cores_in_window']:.2f} |")
    return rows


def goals(runs, extra):
    rows = ["| goal | measured | met |", "|---|---|---|"]

    def get(mode, n):
        d = runs.get((mode, n))
        return None if d is None or d.get("failed") else d

    a, f = get("agent", 1000), get("floor", 1000)
    if a and f:
        rows.append(
            f"| CPU per stream ≤ floor at N = 1000 | agent {a['cpu_per_stream_percent']:.3f} %"
            f" vs floor {f['cpu_per_stream_percent']:.3f} % of a core"
            f" (ratio {a['cpu_cores'] / f['cpu_cores']:.2f}) |"
            f" {'yes' if a['cpu_cores'] <= f['cpu_cores'] else 'no'} |")
    a, c = get("agent", 100), get("composition", 100)
    if a and c:
        r = c["cpu_cores"] / a["cpu_cores"]
        rows.append(
            f"| ≥ 5× cheaper than the composition at N = 100 | composition / agent CPU ="
            f" {r:.2f}× | {'yes' if r >= 5 else 'no'} |")
    a = get("agent", 1000)
    if a:
        p99 = a["lateness_us"]["p99"] / 1000
        rows.append(f"| p99 lateness ≤ 2 ms at N = 1000 (2 cores) | {p99:.2f} ms |"
                    f" {'yes' if p99 <= 2 else 'no'} |")
    mixer = extra.get("mixer")
    if mixer:
        # The steady-state paths, run on every buffer of a bed: unity and a
        # steady gain below unity. Ramps run on one buffer per change.
        steady = [(k["vs_memcpy"], k["kernel"], c["case"]) for c in mixer["cases"]
                  for k in c["kernels"] if k["kernel"] in ("mix_unity", "mix_steady_below_unity")]
        if steady:
            worst = min(steady)
            rows.append(f"| mixer ≥ 50 % of memcpy throughput | steady mix (unity and below):"
                        f" worst {100 * worst[0]:.1f} % ({worst[1]}, {worst[2]});"
                        " ramps: see the mixer table |"
                        f" {'yes' if worst[0] >= 0.5 else 'no'} |")
    for n in sorted({k[1] for k in runs}):
        a, f = get("agent", n), get("floor", n)
        if not a:
            continue
        m = a["rss_per_stream_beyond_queued_kib"]
        extra_vs_floor = ""
        if f:
            extra_vs_floor = (f"; the floor's pipeline + thread alone: {f['rss_per_stream_kib']:.1f}"
                              f" KiB, so agent − floor = {m - f['rss_per_stream_kib']:.1f} KiB")
        rows.append(f"| ≤ 64 KiB per stream beyond queued audio (N = {n}) | agent {m:.1f} KiB"
                    f"{extra_vs_floor} | {'yes' if m <= 64 else 'no'} |")
    return rows


def latency_table(lat):
    rows = ["| figure (agent, 1 pipeline, ptime 20 ms) | trials | p50 (ms) | p99 (ms) | max (ms) |",
            "|---|---:|---:|---:|---:|"]
    names = [
        ("push_to_first_sample_ms", "push-speech returned → first speech sample pushed out of src"),
        ("interrupt_to_audible_end_ms", "interrupt → end of the fade on the timeline (last-audio running time)"),
        ("interrupt_to_silent_buffer_ms", "interrupt → first all-zero buffer pushed"),
        ("last_audio_post_delay_ms", "last-audio posted − (base time + true end of the speech)"),
    ]
    for key, label in names:
        s = lat.get(key, {})
        if not s.get("count"):
            rows.append(f"| {label} | 0 | | | |")
            continue
        rows.append(f"| {label} | {s['count']} | {s['p50']:.2f} | {s['p99']:.2f} | {s['max']:.2f} |")
    rows.append("")
    rows.append(f"interrupt-fade: {lat.get('interrupt_fade_ms')} ms. Message checks over"
                f" {lat.get('trials')} trials: first-audio running time ≠ first sample:"
                f" {lat.get('first_audio_running_time_mismatches')}; last-audio running time"
                f" off by more than one sample: {lat.get('last_audio_running_time_mismatches')};"
                f" last-audio duration off: {lat.get('last_audio_duration_mismatches')};"
                f" interrupted flag missing: {lat.get('interrupted_flag_missing')};"
                f" timeouts: {lat.get('timeouts')}.")
    return rows


def mixer_table(mixer):
    cases = mixer["cases"]
    head = "| kernel (gain) | " + " | ".join(c["case"] for c in cases) + " |"
    rows = [head, "|---|" + "---:|" * len(cases)]
    rows.append("| memcpy, GB/s | " + " | ".join(f"{c['memcpy_gbps']:.1f}" for c in cases) + " |")
    for i, k in enumerate(cases[0]["kernels"]):
        cells = []
        for c in cases:
            kk = c["kernels"][i]
            cells.append(f"{kk['gbps']:.1f} GB/s ({100 * kk['vs_memcpy']:.0f} %)")
        rows.append(f"| `{k['kernel']}`: {k['what']} | " + " | ".join(cells) + " |")
    return rows


def saturated(d):
    """The mode did not keep up: buffers missing, or the median buffer later
    than one whole ptime, or (nearly) every core busy."""
    nproc = d.get("machine", {}).get("nproc") or 0
    return (d["delivered_fraction"] < 0.99 or d["lateness_us"]["p50"] > 20000
            or (nproc and d["cpu_cores"] >= 0.95 * nproc))


def plot(runs, out):
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for mode in MODES:
        pts = sorted((n, d) for (m, n), d in runs.items() if m == mode and not d.get("failed"))
        if not pts:
            continue
        xs = [n for n, _ in pts]
        ax1.plot(xs, [d["cpu_cores"] for _, d in pts], marker="o", label=LABELS[mode])
        for n, d in pts:
            # A mode that cannot keep up uses all it gets: say so at the point.
            if saturated(d):
                ax1.annotate(f"saturated: p50 {d['lateness_us']['p50'] / 1000:.0f} ms late,"
                             f" {100 * d['delivered_fraction']:.0f} % of buffers",
                             (n, d["cpu_cores"]), textcoords="offset points", xytext=(-140, -40),
                             fontsize=7, arrowprops={"arrowstyle": "->", "lw": 0.6})
        ax2.plot(xs, [d["lateness_us"]["p99"] / 1000 for _, d in pts], marker="o",
                 label=mode)
    nproc = next(iter(runs.values())).get("machine", {}).get("nproc")
    if nproc:
        ax1.axhline(nproc, color="grey", linestyle=":", label=f"all {nproc} cores")
    ax1.set_xlabel("concurrent streams N (one pipeline each)")
    ax1.set_ylabel("CPU cores used (process CPU time / wall time)")
    ax1.set_title("CPU vs N (20 ms buffers, 24 kHz mono)")
    ax1.set_ylim(bottom=0)
    ax1.legend(fontsize=7, loc="lower right")
    ax1.grid(alpha=0.3)
    ax2.set_yscale("log")
    ax2.axhline(2, color="grey", linestyle=":", label="goal: 2 ms")
    ax2.set_xlabel("concurrent streams N")
    ax2.set_ylabel("p99 pacing lateness (ms, log)")
    ax2.set_title("p99 lateness vs N")
    ax2.legend(fontsize=7, loc="lower right")
    ax2.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "cpu_vs_n.png"), dpi=120)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "bench/results"
    runs, extra = load(out)
    any_run = next(iter(runs.values()), {}) if runs else {}
    machine = any_run.get("machine", {})
    lines = ["# Benchmark results", ""]
    if machine:
        lines += [f"Machine: {machine.get('cpu_model')}, {machine.get('nproc')} cores,"
                  f" Linux {machine.get('kernel')}, {machine.get('gstreamer')}.", ""]
    if runs:
        first = runs[min(runs)]
        lines += [
            f"Streams: one GstPipeline per stream in one process, system clock, 20 ms buffers of"
            f" 24 kHz mono S16LE; {first.get('warmup_s')} s warm-up, then"
            f" {first.get('seconds')} s measured. Lateness = push time − due time (due = base"
            " time + PTS for audiotestsrc and agentaudiosrc, which wait for their PTS; base time"
            " + PTS + the mixer's latency, 20 ms, for audiomixer, whose live deadline is the end"
            " of its output buffer; buffers pushed before their due time count as 0, and the"
            " \"early\" column says how many were). The"
            " composition is appsrc ! clocksync (speech) and appsrc ! clocksync (bed) into"
            " audiomixer (output-buffer-duration 20 ms, latency 0, start-time-selection first)"
            " ! tee ! 2 × (queue ! fakesink), fed by the same single feeder thread as"
            " agentaudiosrc. A mode that cannot keep up shows it as buffers delivered below 100 %,"
            " or above it when a backlog from the warm-up is pushed in the window, and as a"
            " median lateness of more than a ptime; its CPU figure is then everything it could"
            " get (slightly above the core count when the kernel's per-thread accounting of"
            " thousands of runnable threads overshoots)."
            " \"Other load\" is the CPU used by other processes, from /proc/stat (tick-based,"
            " about ±0.1 core).", "",
        ]
        lines += stream_table(runs) + [""]
        lines += ["![CPU vs N](cpu_vs_n.png)", ""]
    lines += ["## Goals (issue 7)", ""] + goals(runs, extra) + [""]
    if "latency" in extra:
        lines += ["## Latency", ""] + latency_table(extra["latency"]) + [""]
    if "mixer" in extra:
        lines += ["## Mixer kernels vs memcpy (in cache, best of "
                  f"{extra['mixer'].get('repeats')} batches; GB/s of int16 output, % of memcpy"
                  " of the same bytes)", ""] + mixer_table(extra["mixer"]) + [""]
    src = os.path.join(out, "source.txt")
    if os.path.exists(src):
        with open(src) as f:
            lines += ["## Source measured", "", "```", f.read().rstrip(), "```", ""]
    with open(os.path.join(out, "table.md"), "w") as f:
        f.write("\n".join(lines))
    if runs:
        plot(runs, out)


if __name__ == "__main__":
    main()
