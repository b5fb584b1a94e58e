#!/usr/bin/python3
# agentaudiosrc
# Copyright (C) 2026 agentaudiosrc authors
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The seed framework's audio path, rebuilt from its public description, as
the baseline of bench-sessions (issue 17): N aiortc RTCPeerConnection pairs
over loopback, the sender's track a MediaStreamTrack whose recv() paces with
asyncio.sleep to the 20 ms schedule and mixes speech with a looping bed in
numpy; aiortc encodes Opus and sends RTP/SRTP over DTLS.

The senders run in this process, the receivers in a child process (the same
script, --role receiver) that records each RTP packet's arrival and drops it
(no jitter buffer, no decoding), so that this process's CPU time is the
senders' alone, as in bench-sessions. Offers and answers cross the child's
stdin/stdout as JSON lines. The figures and the "real-time" definition are
those of bench-sessions (bench/README.md).

Run with /usr/bin/python3 (Debian's python3-aiortc, python3-av, numpy):

  /usr/bin/python3 bench/seed_track.py --sessions 50 --warmup 3 --seconds 10 --json out.json
"""

import argparse
import asyncio
import collections
import fractions
import json
import math
import os
import resource
import subprocess
import sys
import time

import aioice.ice
import av
import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.rtcrtpreceiver import RTCRtpReceiver

RATE = 48000
FRAME = 960  # 20 ms at 48 kHz
PTIME = FRAME / RATE
FEED_PERIOD = 0.050
FEED_LOW = 0.150
FEED_CHUNK = 4800  # 100 ms
DEV_BIN_US = 100
RT_MEDIA_FRACTION = 0.995
RT_MAX_LOSS = 0.005
RT_P99_US = 10000
RT_MAX_DEV_US = 60000

# Loopback only: aioice would otherwise gather every interface's address
# (and try IPv6 pairs too). No STUN server is configured either.
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]


def tone(frames, freq, amp):
    """The bench-sessions signal (a tone with a slow vibrato and a little
    noise), but at 48 kHz: the seed gets its speech already at the output
    rate, which spares it the resampling agentaudiosrc does."""
    i = np.arange(frames)
    t = i / RATE
    f = freq * (1.0 + 0.05 * np.sin(2 * np.pi * 3 * t))
    v = amp * np.sin(2 * np.pi * f * t) + amp * 0.05 * np.sin(i * 12.9898 / 2)
    v += np.where(i % 2 == 1, 1, -1)
    return v.astype(np.int16)


SPEECH = tone(RATE, 220, 8000)
BED = tone(RATE, 110, 2000)


class SeedTrack(MediaStreamTrack):
    """What the seed frameworks do: keep the next frame's pts, sleep until
    it is due, mix what is queued with the bed, hand aiortc an AudioFrame."""

    kind = "audio"

    def __init__(self):
        super().__init__()
        self.queue = collections.deque()  # numpy int16 chunks of speech
        self.queued = 0  # samples
        self.head = 0  # offset into queue[0]
        self.bed_pos = 0
        self.start = None
        self.pts = 0

    def push(self, chunk):
        self.queue.append(chunk)
        self.queued += len(chunk)

    def take_speech(self, n):
        out = np.zeros(n, dtype=np.int16)
        got = 0
        while got < n and self.queue:
            c = self.queue[0]
            take = min(n - got, len(c) - self.head)
            out[got : got + take] = c[self.head : self.head + take]
            got += take
            self.head += take
            if self.head == len(c):
                self.queue.popleft()
                self.head = 0
        self.queued -= got
        return out

    async def recv(self):
        if self.start is None:
            self.start = time.monotonic()
        else:
            self.pts += FRAME
            wait = self.start + self.pts / RATE - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        speech = self.take_speech(FRAME)
        end = self.bed_pos + FRAME
        if end <= len(BED):
            bed = BED[self.bed_pos : end]
        else:
            bed = np.concatenate((BED[self.bed_pos :], BED[: end - len(BED)]))
        self.bed_pos = end % len(BED)
        mixed = np.clip(speech.astype(np.int32) + bed.astype(np.int32), -32768, 32767)
        frame = av.AudioFrame.from_ndarray(
            mixed.astype(np.int16).reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = RATE
        frame.pts = self.pts
        frame.time_base = fractions.Fraction(1, RATE)
        return frame


async def feeder(tracks, stop):
    """One feeder for all sessions, as bench-sessions: every 50 ms, 100 ms
    more speech to every track holding less than 150 ms."""
    k = 0
    nxt = time.monotonic()
    while not stop.is_set():
        for t in tracks:
            if t.queued < FEED_LOW * RATE:
                off = (k * FEED_CHUNK) % len(SPEECH)
                t.push(SPEECH[off : off + FEED_CHUNK])
                k += 1
        nxt += FEED_PERIOD
        await asyncio.sleep(max(0, nxt - time.monotonic()))


def cpu_seconds():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def status_kib(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return -1


def machine_busy_s():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return (sum(v) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


# Receiver ----------------------------------------------------------------


class RxSession:
    def __init__(self):
        self.total = 0
        self.reset()

    def reset(self):
        self.devs = []
        self.packets = 0
        self.lost = 0
        self.ts_span = 0
        self.last_step = 0
        self.prev = None

    def add(self, seq, ts, ns, measuring):
        self.total += 1
        if not measuring:
            return
        self.packets += 1
        if self.prev is not None:
            pseq, pts, pns = self.prev
            dseq = (seq - pseq) & 0xFFFF
            if dseq == 0 or dseq > 0x8000:
                return
            self.lost += dseq - 1
            dts = (ts - pts) & 0xFFFFFFFF
            self.ts_span += dts
            self.last_step = dts // dseq
            self.devs.append(abs((ns - pns) - dts * 1e9 / RATE) / 1000.0)
        self.prev = (seq, ts, ns)


def pct_bin_us(values, p):
    """As bench-sessions: the upper edge of the 100 µs bin holding the rank."""
    if len(values) == 0:
        return -1.0
    v = np.sort(np.asarray(values))
    rank = max(1, math.ceil(p * len(v)))
    return (math.floor(v[rank - 1] / DEV_BIN_US) + 1) * DEV_BIN_US


def rx_results(rx, window_s, cpu_s):
    realtime = steady_only = 0
    media = []
    all_devs = []
    worst = 0.0
    for s in rx:
        mf = (s.ts_span + s.last_step) / RATE / window_s
        media.append(mf)
        loss = s.lost / (s.packets + s.lost) if s.packets + s.lost else 1.0
        p99 = pct_bin_us(s.devs, 0.99)
        mx = max(s.devs) if s.devs else 0
        worst = max(worst, p99)
        all_devs.extend(s.devs)
        steady = (
            s.packets > 0 and loss <= RT_MAX_LOSS and 0 <= p99 <= RT_P99_US and mx <= RT_MAX_DEV_US
        )
        steady_only += steady
        realtime += steady and mf >= RT_MEDIA_FRACTION
    media.sort()
    return {
        "window_s": window_s,
        "sessions_realtime": realtime,
        "sessions_steady_ignoring_media_time": steady_only,
        "sessions_without_packets": sum(1 for s in rx if s.packets == 0),
        "packets": sum(s.packets for s in rx),
        "lost": sum(s.lost for s in rx),
        "intervals": len(all_devs),
        "deviation_us": {
            "p50": pct_bin_us(all_devs, 0.5),
            "p99": pct_bin_us(all_devs, 0.99),
            "p999": pct_bin_us(all_devs, 0.999),
            "max": max(all_devs) if all_devs else 0,
            "worst_session_p99": worst,
            "bin_us": DEV_BIN_US,
        },
        "media_fraction_min": media[0] if media else 0,
        "media_fraction_median": media[len(media) // 2] if media else 0,
        "receiver_cpu_s": cpu_s,
        "receiver_cpu_cores": cpu_s / window_s,
    }


async def run_receiver(n):
    loop = asyncio.get_running_loop()
    rx = [RxSession() for _ in range(n)]
    state = {"measuring": False}
    out = sys.stdout

    # Every RTP packet is timestamped as it arrives (after SRTP) and then
    # dropped: no jitter buffer and no decoding, so the receiver stays
    # light and its own delays do not count as the sender's jitter.
    async def on_rtp(self, packet, arrival_time_ms):
        i = getattr(self, "bench_index", None)
        if i is not None:
            rx[i].add(
                packet.sequence_number,
                packet.timestamp,
                time.monotonic_ns(),
                state["measuring"],
            )

    RTCRtpReceiver._handle_rtp_packet = on_rtp

    def send(msg):
        out.write(json.dumps(msg) + "\n")
        out.flush()

    pcs = [None] * n
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), sys.stdin
    )
    send({"type": "r"})

    async def watch_flowing():
        while not all(s.total > 0 for s in rx):
            await asyncio.sleep(0.2)
        send({"type": "f"})

    watcher = asyncio.ensure_future(watch_flowing())
    cpu0 = win0 = 0.0
    while True:
        line = await reader.readline()
        if not line:
            break
        msg = json.loads(line)
        if msg["type"] == "o":
            i = msg["i"]
            pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
            pcs[i] = pc
            await pc.setRemoteDescription(RTCSessionDescription(msg["sdp"], "offer"))
            for r in pc.getReceivers():
                r.bench_index = i
            await pc.setLocalDescription(await pc.createAnswer())
            send({"type": "a", "i": i, "sdp": pc.localDescription.sdp})
        elif msg["type"] == "m":
            for s in rx:
                s.reset()
            state["measuring"] = True
            cpu0, win0 = cpu_seconds(), time.monotonic()
        elif msg["type"] == "e":
            state["measuring"] = False
            send(
                {
                    "type": "R",
                    "results": rx_results(
                        rx, time.monotonic() - win0, cpu_seconds() - cpu0
                    ),
                }
            )
        elif msg["type"] == "q":
            break
    watcher.cancel()
    os._exit(0)  # N peer connections: the OS tears them down faster


# Sender --------------------------------------------------------------------


async def run_sender(args):
    loadavg_start = open("/proc/loadavg").read().strip()
    loop = asyncio.get_running_loop()
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        os.path.abspath(__file__),
        "--role",
        "receiver",
        "--sessions",
        str(args.sessions),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        limit=1 << 24,
    )

    def send(msg):
        child.stdin.write((json.dumps(msg) + "\n").encode())

    msg = json.loads(await child.stdout.readline())
    assert msg["type"] == "r", msg

    rss_baseline = status_kib("VmRSS")
    t_create = time.monotonic()
    tracks, pcs = [], []
    for i in range(args.sessions):
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        track = SeedTrack()
        pc.addTrack(track)
        tracks.append(track)
        pcs.append(pc)
    # setLocalDescription gathers the (host) candidates: no trickle in aiortc.
    for i, pc in enumerate(pcs):
        await pc.setLocalDescription(await pc.createOffer())
        send({"type": "o", "i": i, "sdp": pc.localDescription.sdp})

    flowing = asyncio.Event()
    results = loop.create_future()
    answered = 0

    async def read_child():
        nonlocal answered
        while True:
            line = await child.stdout.readline()
            if not line:
                return
            m = json.loads(line)
            if m["type"] == "a":
                await pcs[m["i"]].setRemoteDescription(
                    RTCSessionDescription(m["sdp"], "answer")
                )
                answered += 1
            elif m["type"] == "f":
                flowing.set()
            elif m["type"] == "R":
                results.set_result(m["results"])

    reader_task = asyncio.ensure_future(read_child())
    stop = asyncio.Event()
    feed_task = asyncio.ensure_future(feeder(tracks, stop))
    try:
        await asyncio.wait_for(flowing.wait(), 60)
    except asyncio.TimeoutError:
        pass
    startup_s = time.monotonic() - t_create
    print(
        f"seed_track: N={args.sessions} flowing={flowing.is_set()} after {startup_s:.2f} s",
        file=sys.stderr,
    )
    await asyncio.sleep(args.warmup)
    rss_warm = status_kib("VmRSS")
    send({"type": "m"})
    busy0, cpu0, wall0 = machine_busy_s(), cpu_seconds(), time.monotonic()
    await asyncio.sleep(args.seconds)
    cpu1, busy1, wall1 = cpu_seconds(), machine_busy_s(), time.monotonic()
    send({"type": "e"})
    rss_end = status_kib("VmRSS")
    try:
        rx = await asyncio.wait_for(results, 30)
    except asyncio.TimeoutError:
        rx = None
    stop.set()
    wall = wall1 - wall0
    cores = (cpu1 - cpu0) / wall
    out = {
        "mode": "seed",
        "sessions": args.sessions,
        "warmup_s": args.warmup,
        "seconds": args.seconds,
        "config": {
            "ptime_ms": 20,
            "rate": RATE,
            "speech_rate": RATE,
            "bed": True,
            "duty": 1.0,
            "encoder": "aiortc OpusEncoder (libopus, stereo, VOIP)",
            "python": sys.version.split()[0],
            "numpy": np.__version__,
            "av": av.__version__,
        },
        "all_flowing_before_warmup": flowing.is_set(),
        "startup_s": startup_s,
        "wall_s": wall,
        "sender_cpu_s": cpu1 - cpu0,
        "sender_cpu_cores": cores,
        "sender_cpu_per_session_percent": 100.0 * cores / args.sessions,
        "machine_busy_cores": (busy1 - busy0) / wall,
        "rss_baseline_kib": rss_baseline,
        "rss_warm_kib": rss_warm,
        "rss_end_kib": rss_end,
        "rss_per_session_kib": (rss_end - rss_baseline) / args.sessions,
        "threads": status_kib("Threads"),
        "receiver": rx,
        "machine": {
            "nproc": os.cpu_count(),
            "loadavg_start": loadavg_start,
            "loadavg_end": open("/proc/loadavg").read().strip(),
        },
    }
    text = json.dumps(out)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")
    sys.stdout.flush()
    send({"type": "q"})
    try:
        await asyncio.wait_for(child.wait(), 10)
    except asyncio.TimeoutError:
        child.kill()
    os._exit(0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--role", choices=["sender", "receiver"], default="sender")
    ap.add_argument("--sessions", type=int, default=10)
    ap.add_argument("--warmup", type=float, default=3)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--json")
    args = ap.parse_args()
    if args.role == "receiver":
        asyncio.run(run_receiver(args.sessions))
    else:
        asyncio.run(run_sender(args))


if __name__ == "__main__":
    main()
