"""Every N = 1000 run of the floor and of agentaudiosrc (the matrix's and the
repeats'), and their medians: bench/results/repeats.md. Usage: repeats.py OUT"""
import glob
import json
import os
import statistics
import sys

out = sys.argv[1]
paths = sorted(glob.glob(os.path.join(out, "streams-*-1000.json"))) + sorted(
    glob.glob(os.path.join(out, "repeats", "*.json")))
cpu = {"floor": [], "agent": []}
p99 = {"floor": [], "agent": []}
rows = []
for path in paths:
    d = json.load(open(path))
    mode = d.get("mode")
    if mode not in cpu or d.get("failed"):
        continue
    late = d["lateness_us"]["p99"] / 1000
    cpu[mode].append(d["cpu_per_stream_percent"])
    p99[mode].append(late)
    rows.append(f"| {os.path.relpath(path, out)} | {mode} | "
                f"{d['cpu_per_stream_percent']:.3f} % | {late:.2f} |")

floor_cpu, agent_cpu = statistics.median(cpu["floor"]), statistics.median(cpu["agent"])
with open(os.path.join(out, "repeats.md"), "w") as f:
    f.write("# N = 1000: every run of the floor and of agentaudiosrc\n\n")
    f.write("| run | mode | CPU/stream | p99 late (ms) |\n|---|---|---:|---:|\n")
    f.write("\n".join(rows) + "\n\n")
    f.write(
        f"Medians over {len(cpu['floor'])} floor and {len(cpu['agent'])} agent runs: "
        f"CPU/stream floor {floor_cpu:.3f} %, agent {agent_cpu:.3f} % "
        f"(agent / floor {agent_cpu / floor_cpu:.2f}; the agent at most the floor in "
        f"{sum(a <= f for a, f in zip(cpu['agent'], cpu['floor']))} of "
        f"{min(len(cpu['agent']), len(cpu['floor']))} runs made side by side); p99 lateness floor "
        f"{statistics.median(p99['floor']):.2f} ms, agent {statistics.median(p99['agent']):.2f} ms "
        f"(at most 2 ms in {sum(x <= 2 for x in p99['agent'])} of {len(p99['agent'])} agent runs).\n")
