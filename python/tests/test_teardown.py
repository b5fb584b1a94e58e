"""Tearing down with utterances pending: every handle ends, nothing hangs (all waits bounded)."""

from __future__ import annotations

import asyncio
import threading

import pytest
from gi.repository import Gst

import agentaudio
from conftest import MS, RATE, Clocked, run, samples, settle


def pending_mix(out: agentaudio.AgentOutput, gate: threading.Event):
    """Utterances in every state: playing, queued in the element, waiting for room, a sync
    source blocked in the TTS, an async stream waiting for its next chunk, not started."""

    def blocked_tts():
        yield samples(5, 240)
        gate.wait(10)
        yield samples(5, 240)

    async def silent_stream():
        yield samples(6, 240)
        await asyncio.sleep(3600)
        yield samples(6, 240)

    return [
        out.say(samples(1, 4800), text="playing now"),
        out.say(samples(2, 4800), text="queued in the element"),
        out.say(samples(3, 24000), text="waiting for room"),
        out.say(blocked_tts(), text="the TTS is slow"),
        out.say(silent_stream(), text="the stream stalls"),
        out.say(samples(7, 240), text="not started"),
    ]


def test_pipeline_to_null_ends_every_pending_handle():
    async def main():
        c = Clocked({"max-speech-time": 300 * MS})
        out = agentaudio.AgentOutput(c.agent)
        gate = threading.Event()
        handles = pending_mix(out, gate)
        await handles[0].wait_queued()  # in the element before it plays
        c.start()
        c.crank(3)
        await asyncio.sleep(0.05)
        assert not any(h.done() for h in handles)
        c.pipeline.set_state(Gst.State.NULL)
        await asyncio.wait_for(asyncio.gather(*handles, return_exceptions=True), 5)
        playouts = [h.playout for h in handles]
        assert all(p.interrupted for p in playouts)
        # 4 buffers made: what the stop's last-audio says was played.
        assert playouts[0].played_s == pytest.approx(4 * 480 / RATE)
        assert [p.played_s for p in playouts[1:]] == [0.0] * 5
        gate.set()
        # The output outlives the pipeline's run: a new one plays normally.
        c2_handle = out.say(samples(8, 240))
        c.pipeline.set_state(Gst.State.PLAYING)
        c.crank()
        await c.crank_until(c2_handle.done)
        assert not (await c2_handle).interrupted
        await out.aclose()
        c.stop()

    run(main, timeout=30)


def test_stop_to_ready_reports_the_cut_exactly():
    async def main():
        c = Clocked()
        out = agentaudio.AgentOutput(c.agent)
        h1 = out.say(samples(1, 1200))
        h2 = out.say(samples(2, 1200))
        await h2.wait_queued()
        c.start()
        c.crank(2)  # 60 ms made: all of h1 and 240 samples of h2
        c.pipeline.set_state(Gst.State.READY)
        await asyncio.wait_for(asyncio.gather(h1, h2), 5)
        assert not h1.playout.interrupted
        assert h2.playout.interrupted
        assert h2.playout.played_s == pytest.approx(240 / RATE, abs=1e-9)
        await out.aclose()
        c.stop()

    run(main, timeout=30)


def test_close_ends_handles_events_and_the_worker():
    async def main():
        c = Clocked({"max-speech-time": 100 * MS})
        out = agentaudio.AgentOutput(c.agent)
        events = out.events()
        gate = threading.Event()
        handles = pending_mix(out, gate)
        c.start()
        c.crank(2)
        await settle()
        await out.aclose()
        gate.set()
        assert all(h.done() and h.interrupted for h in handles)
        remaining = [e async for e in events]  # ends: does not wait for more
        assert all(isinstance(e, (agentaudio.FirstAudio, agentaudio.Mark,
                                  agentaudio.LastAudio)) for e in remaining)
        assert not out._thread.is_alive()
        assert out.interrupt().result() == 0.0  # harmless after close
        c.stop()

    run(main, timeout=30)


def test_closing_the_loop_with_an_open_output_does_not_hang():
    """An application that forgets close(): the loop ends, the worker threads are daemons and
    the element's threads find the loop closed."""
    c = Clocked()

    async def main():
        out = agentaudio.AgentOutput(c.agent)
        out.say(samples(1, 4800))
        c.start()
        return out

    out = run(main, timeout=30)
    c.crank(3)  # messages for a closed loop are dropped
    c.stop()
    assert not out.closed
