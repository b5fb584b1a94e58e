#!/usr/bin/python3
"""What the agentaudio package adds on top of the element, per chunk and per message.

1. push: say() of N chunks of 20 ms (24 kHz mono S16LE, 960 bytes), from bytes in a list, from a
   generator and from an async generator, until ``handle.wait_queued()`` returns (all pushed into
   the element); and the same N chunks pushed by a plain ``emit("push-speech")`` loop on one
   thread, the floor. Per chunk: (time to all queued) / N. The element is PLAYING into a
   fakesink with no max-speech-time, so nothing waits for room: this is the push path's cost.
2. latency: bus message -> asyncio event. Many short utterances play in real time; for every
   event, ``time.monotonic()`` when the loop hands it to the application minus ``posted_at``
   (taken in the sync-message handler, on the thread that posts).
3. interrupt: how long ``out.interrupt()`` holds the loop while a streaming say() is being
   pushed (it waits for at most one push in progress).

    GST_PLUGIN_PATH=$PWD/builddir/gst/agentaudio /usr/bin/python3 bench/python_overhead.py

Options: --chunks N (default 1000), --repeats R (default 9; min and median are reported),
--messages M (default 300), --json PATH. It prints a table; figures vary with the machine and its
load, so compare them on the same machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))

import gi  # noqa: E402

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

import agentaudio  # noqa: E402

CHUNK = bytes(960)  # 20 ms of 24 kHz mono S16LE (silence: the cost does not depend on it)


def pipeline() -> tuple[Gst.Element, Gst.Element]:
    p = Gst.parse_launch("agentaudiosrc name=agent ! fakesink")
    return p, p.get_by_name("agent")


async def push_package(n: int, kind: str) -> float:
    p, agent = pipeline()
    out = agentaudio.AgentOutput(agent)
    p.set_state(Gst.State.PLAYING)
    await asyncio.sleep(0.05)
    chunks = [CHUNK] * n

    async def agen():
        for c in chunks:
            yield c

    source = {"list": chunks, "generator": (c for c in chunks), "async": agen()}[kind]
    t0 = time.perf_counter()
    handle = out.say(source)
    await handle.wait_queued()
    elapsed = time.perf_counter() - t0
    out.close()
    p.set_state(Gst.State.NULL)
    return elapsed / n


def push_plain(n: int) -> float:
    p, agent = pipeline()
    p.set_state(Gst.State.PLAYING)
    time.sleep(0.05)
    t0 = time.perf_counter()
    for _ in range(n):
        agent.emit("push-speech", Gst.Buffer.new_wrapped(CHUNK))
    elapsed = time.perf_counter() - t0
    p.set_state(Gst.State.NULL)
    return elapsed / n


async def latency(messages: int) -> list[float]:
    p, agent = pipeline()
    agent.set_property("ptime", 10)
    out = agentaudio.AgentOutput(agent)
    events = out.events()
    p.set_state(Gst.State.PLAYING)
    got: list[float] = []

    async def collect():
        async for ev in events:
            got.append(time.monotonic() - ev.posted_at)
            if len(got) >= messages:
                return

    task = asyncio.ensure_future(collect())
    # 20 ms utterances with 30 ms gaps: first-audio, mark and last-audio for each.
    while not task.done():
        out.say(CHUNK)
        await asyncio.sleep(0.05)
    out.close()
    p.set_state(Gst.State.NULL)
    return got


async def interrupt_hold(trials: int) -> list[float]:
    p, agent = pipeline()
    out = agentaudio.AgentOutput(agent)
    p.set_state(Gst.State.PLAYING)
    held = []
    for _ in range(trials):
        async def stream():
            for _ in range(200):
                yield CHUNK
                await asyncio.sleep(0)

        h = out.say(stream())
        await asyncio.sleep(0.002)
        t0 = time.perf_counter()
        out.interrupt()
        held.append(time.perf_counter() - t0)
        await h
    out.close()
    p.set_state(Gst.State.NULL)
    return held


def us(x: float) -> str:
    return f"{x * 1e6:8.1f} us"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args()
    Gst.init(None)
    if Gst.ElementFactory.find("agentaudiosrc") is None:
        print("agentaudiosrc not found: set GST_PLUGIN_PATH=$PWD/builddir/gst/agentaudio",
              file=sys.stderr)
        return 2

    results: dict[str, object] = {"chunks": args.chunks, "repeats": args.repeats,
                                  "load_average": os.getloadavg()}
    # The kinds alternate within each repeat, so that a burst of load on a shared machine hits
    # them alike; the minimum is the least disturbed run, the median the typical one.
    runs: dict[str, list[float]] = {k: [] for k in ("plain emit", "say(list)",
                                                     "say(generator)", "say(async)")}
    for _ in range(args.repeats):
        runs["plain emit"].append(push_plain(args.chunks))
        for kind in ("list", "generator", "async"):
            runs[f"say({kind})"].append(asyncio.run(push_package(args.chunks, kind)))
    per_chunk = {k: {"min": min(v), "median": statistics.median(v)} for k, v in runs.items()}
    results["push_per_chunk_s"] = per_chunk
    lat = asyncio.run(latency(args.messages))
    lat.sort()
    results["bus_to_loop_s"] = {"n": len(lat), "median": statistics.median(lat),
                                "p99": lat[int(0.99 * (len(lat) - 1))], "max": lat[-1]}
    held = sorted(asyncio.run(interrupt_hold(50)))
    results["interrupt_holds_loop_s"] = {"n": len(held), "median": statistics.median(held),
                                         "max": held[-1]}

    print(f"push, per 20 ms chunk ({args.repeats} runs of {args.chunks} chunks; "
          f"load average {results['load_average'][0]:.1f}):")
    base = per_chunk["plain emit"]
    for name, value in per_chunk.items():
        extra = "" if name == "plain emit" else (
            f"   over plain emit: min {(value['min'] - base['min']) * 1e6:+.1f} us, "
            f"median {(value['median'] - base['median']) * 1e6:+.1f} us")
        print(f"  {name:<16} min {us(value['min'])}, median {us(value['median'])}{extra}")
    b = results["bus_to_loop_s"]
    print(f"bus message -> asyncio event ({b['n']} events): median {us(b['median'])}, "
          f"p99 {us(b['p99'])}, max {us(b['max'])}")
    i = results["interrupt_holds_loop_s"]
    print(f"interrupt() holds the loop ({i['n']} trials, a stream being pushed): "
          f"median {us(i['median'])}, max {us(i['max'])}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
