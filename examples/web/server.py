#!/usr/bin/python3
"""The voice-agent page: http://127.0.0.1:8080/ and its signalling websocket, /ws.

One websocket is one session (one GStreamer pipeline, see session.py); several tabs are several
sessions in this one process. Only loopback: the HTTP server listens on 127.0.0.1 and ICE
offers and accepts loopback host candidates only, with no STUN or TURN server.

Messages on /ws are JSON objects with a "type":
  page -> server: start, sdp (the answer), ice, ping {id, t0}, report (the page's figures)
  server -> page: hello (settings), sdp (the offer), ice, pong {id, t0, ts}, event (bus events,
                  voice activity, actions, pushes; each with `ts`, and `at` for a sample's time)

Clocks: `ts` and `at` are this process's CLOCK_MONOTONIC in ms. The page sends ping {t0} with its
own performance.now(); the pong carries t0 back with this process's time ts; the page, receiving
it at t1, estimates offset = ts - (t0 + t1) / 2, good to within (t1 - t0) / 2, and keeps the
estimate of the smallest round trip.

Run with Debian's python3 (PyGObject, aiohttp) and GST_PLUGIN_PATH pointing at the plugin:
  GST_PLUGIN_PATH=builddir/gst/agentaudio /usr/bin/python3 examples/web/server.py
"""

import argparse
import asyncio
import json
import logging
import os
import signal
import sys

from aiohttp import web, WSMsgType

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from session import Gst, Session, TtsCache, element_has_pause, now_ms  # noqa: E402
from bed import make_bed  # noqa: E402
from tts import Espeak  # noqa: E402

log = logging.getLogger("web")
STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")

REPLIES = [
    "Hello! I am a voice agent speaking to you over WebRTC. Start talking whenever you like "
    "and I will stop to listen. A short cough or a knock should only make me hold my breath "
    "for a moment before I carry on.",
    "The weather today looks calm and bright. There is a light breeze from the west and the "
    "afternoon should stay dry with a few high clouds drifting over the hills.",
    "Let me tell you how this works. Your microphone comes back to the server on the same "
    "connection and a voice detector listens to it. When it hears you I fade out at once.",
    "If you keep talking for a third of a second I give up my turn and wait for you to "
    "finish. Then I answer with my next reply just like this one.",
    "Every word I say carries a mark in the audio stream. When you cut me off the server "
    "knows exactly which words you heard and which ones you never did.",
    "The background you hear under my voice is made when the server starts. It gets quieter "
    "while I talk and comes back up in the pauses between my answers.",
]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, default=8080, help="HTTP port on 127.0.0.1 (default 8080; 0: any free)")
    # 20 ms, not 10: 10 ms buffers and Opus frames gain about 10 ms in the element but cost
    # 20-40 ms in Chrome's jitter buffer (docs/web.md, "What each setting bought").
    p.add_argument("--ptime", type=int, default=20, help="agentaudiosrc ptime, ms (default 20)")
    p.add_argument("--opus-frame", default="20", choices=["2.5", "5", "10", "20", "40", "60"],
                   help="opusenc frame-size, ms (default 20)")
    p.add_argument("--mic-ptime", type=int, default=10,
                   help="a=ptime the page adds to the offer: the browser's Opus frames on the mic, ms (0: the browser's own, 20)")
    p.add_argument("--bitrate", type=int, default=32000, help="opusenc bitrate (default 32000)")
    p.add_argument("--jitter-latency", type=int, default=20,
                   help="webrtcbin latency: the server's jitter buffer for the mic, ms (default 20; GStreamer's is 200)")
    p.add_argument("--browser-jitter-ms", type=int, default=0,
                   help="RTCRtpReceiver.jitterBufferTarget the page asks for, ms (default 0; -1: the browser's own)")
    p.add_argument("--hold-ms", type=int, default=300,
                   help="voice lasting this long is a barge-in (interrupt); shorter is a false interruption (resume)")
    p.add_argument("--turn-end-ms", type=int, default=500, help="quiet after the user's turn before the next reply")
    p.add_argument("--gap-ms", type=int, default=700, help="pause between two replies nobody interrupted")
    p.add_argument("--first-reply-ms", type=int, default=800, help="from Start to the first reply")
    p.add_argument("--fade-ms", type=int, default=10, help="agentaudiosrc interrupt-fade (pause and interrupt), ms")
    p.add_argument("--duck", type=float, default=0.15, help="duck-volume of the bed under speech (default 0.15)")
    p.add_argument("--vad-likelihood", default="low", choices=["very-low", "low", "moderate", "high"],
                   help="webrtcdsp voice-detection-likelihood (default low)")
    p.add_argument("--verbose", action="store_true")
    return p.parse_args(argv)


class App:
    def __init__(self, opts):
        self.opts = opts
        self.sessions = set()
        espeak = Espeak()
        self.tts = TtsCache(espeak, REPLIES)
        self.bed = make_bed()
        probe = Gst.ElementFactory.make("agentaudiosrc")
        if probe is None:
            sys.exit("web: no agentaudiosrc element: set GST_PLUGIN_PATH to builddir/gst/agentaudio")
        self.has_pause = element_has_pause(probe)
        for name in ("webrtcbin", "webrtcdsp", "opusenc", "opusdec", "rtpopuspay", "rtpopusdepay"):
            if Gst.ElementFactory.find(name) is None:
                sys.exit(f"web: GStreamer element {name} is missing (scripts/install-deps.sh installs it)")
        if not self.has_pause:
            log.warning(
                "agentaudiosrc has no `pause` signal: voice onset does nothing and only voice lasting "
                "%d ms interrupts (no false-interruption handling)", opts.hold_ms)

    def settings(self):
        o = self.opts
        return {
            "ptime": o.ptime, "opus_frame": o.opus_frame, "mic_ptime": o.mic_ptime, "bitrate": o.bitrate,
            "jitter_latency": o.jitter_latency, "browser_jitter_ms": o.browser_jitter_ms,
            "hold_ms": o.hold_ms, "turn_end_ms": o.turn_end_ms, "fade_ms": o.fade_ms, "duck": o.duck,
            "vad_likelihood": o.vad_likelihood, "pause_supported": self.has_pause,
        }

    async def index(self, request):
        return web.FileResponse(os.path.join(STATIC, "index.html"), headers={"Cache-Control": "no-store"})

    async def websocket(self, request):
        ws = web.WebSocketResponse(heartbeat=None, max_msg_size=1 << 20)
        await ws.prepare(request)
        loop = asyncio.get_running_loop()

        async def send(msg):
            if not ws.closed:
                await ws.send_str(json.dumps(msg))

        session = None
        figures = None
        await send({"type": "hello", "settings": self.settings(), "ts": now_ms()})
        try:
            async for m in ws:
                if m.type != WSMsgType.TEXT:
                    continue
                msg = json.loads(m.data)
                kind = msg.get("type")
                if kind == "ping":
                    # Answered before anything else is looked at: the page's clock offset rests on it.
                    await ws.send_str(json.dumps({"type": "pong", "id": msg.get("id"), "t0": msg.get("t0"), "ts": now_ms()}))
                elif kind == "start" and session is None:
                    session = Session(loop, send, self.tts, REPLIES, self.bed, self.opts)
                    self.sessions.add(session)
                    session.start()
                    await send({"type": "session", "id": session.id, "base_time": session.base_time_ms()})
                elif kind == "sdp" and session:
                    session.on_answer(msg["sdp"]["sdp"])
                elif kind == "ice" and session:
                    session.on_remote_candidate(msg.get("sdpMLineIndex", 0), msg.get("candidate", ""))
                elif kind == "connected" and session:
                    session.begin()
                elif kind == "report":
                    figures = msg.get("figures") or {}
                    log.debug("page report: %s", json.dumps(figures))
        finally:
            if session and figures:
                def p50(key):
                    value = (figures.get(key) or {}).get("p50")
                    return "-" if value is None else f"{value:.0f} ms"
                log.info("session %d: the page measured (a) onset->silent %s, (b) push->heard %s, "
                         "(c) false-interruption gap %s (p50s)", session.id, p50("a"), p50("b"), p50("c"))
            if session:
                self.sessions.discard(session)
                await loop.run_in_executor(None, session.stop)
        return ws

    def stop_all(self):
        for s in list(self.sessions):
            s.stop()
        self.sessions.clear()


async def main(opts):
    app_state = App(opts)
    app = web.Application()
    app.router.add_get("/", app_state.index)
    app.router.add_get("/ws", app_state.websocket)
    app.router.add_static("/static/", STATIC)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", opts.port)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    print(f"web: serving http://127.0.0.1:{port}/", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await loop.run_in_executor(None, app_state.stop_all)
    await runner.cleanup()


if __name__ == "__main__":
    opts = parse_args()
    logging.basicConfig(level=logging.DEBUG if opts.verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("aiohttp").setLevel(logging.WARNING)
    Gst.init(None)
    asyncio.run(main(opts))
