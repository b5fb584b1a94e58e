"""AgentOutput with encoded audio: WAV files pushed as they are, header included.

The element decodes them; bytes say nothing of length, so what each utterance played comes from
the element's marks (their ``played``) and ``last-audio``. WAV at the output's rate keeps every
figure exact to the sample. On a GstTestClock (see conftest.Clocked).
"""

from __future__ import annotations

import asyncio
import io
import random
import wave

import numpy as np
import pytest
from gi.repository import Gst

import agentaudio
from conftest import RATE, Clocked, run, settle

SECOND = Gst.SECOND
WAV = "audio/x-wav"


def secs(n: int) -> float:
    return (n * SECOND // RATE) / SECOND


def wav_file(value: int, n: int, rate: int = RATE) -> bytes:
    """A whole WAV file: a header, then ``n`` samples of the constant ``value``."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.full(n, value, dtype="<i2").tobytes())
    return out.getvalue()


def chunks(data: bytes, seed: int) -> list[bytes]:
    """``data`` in random sizes, as a TTS service's HTTP body arrives (the header split too)."""
    rng = random.Random(seed)
    out, at = [], 0
    while at < len(data):
        size = rng.randint(1, 700)
        out.append(data[at:at + size])
        at += size
    return out


def tags(c: Clocked) -> list[int]:
    """The output's non-zero samples."""
    o = c.output()
    return o[o != 0].tolist()


def test_wav_files_play_whole_and_each_counts_its_own_samples():
    async def main():
        c = Clocked()
        out = agentaudio.AgentOutput(c.agent)
        events = out.events()
        # Two files back to back: the second header must not be heard, nor shift anything.
        h1 = out.say(chunks(wav_file(11, 3000), 1), caps=WAV, text="one two")
        h2 = out.say(chunks(wav_file(22, 1234), 2), caps=WAV, text="three")
        c.start()
        await c.crank_until(lambda: h2.done() and not out.speaking)
        assert tags(c) == [11] * 3000 + [22] * 1234
        p1, p2 = await h1, await h2
        assert (p1.played_s, p1.duration_s, p1.interrupted) == (secs(3000), secs(3000), False)
        assert (p2.played_s, p2.duration_s, p2.heard_text) == (secs(1234), secs(1234), "three")
        await settle()
        marks = [e for e in events._items if isinstance(e, agentaudio.Mark)]
        assert [m.handle for m in marks] == [h1, h2]
        assert [m.played for m in marks] == [3000 * SECOND // RATE, 4234 * SECOND // RATE]
        out.close()
        c.stop()

    run(main)


def test_a_wav_file_at_another_rate_is_resampled_and_its_length_kept():
    async def main():
        c = Clocked()
        out = agentaudio.AgentOutput(c.agent)
        h = out.say(chunks(wav_file(1000, 22050 // 2, rate=22050), 3), caps=WAV)
        c.start()
        await c.crank_until(h.done)
        playout = await h
        # 0.5 s at 22.05 kHz is 12000 samples at 24 kHz: the drain at end-of-utterance queues
        # the resampler's tail before the mark.
        assert playout.played_s == secs(12000)
        out.close()
        c.stop()

    run(main)


def test_silence_inside_an_encoded_utterance_is_not_counted():
    async def main():
        c = Clocked()
        out = agentaudio.AgentOutput(c.agent)
        gate = asyncio.Event()
        data = wav_file(5, 1200)  # 44 header bytes, then 2400 bytes of samples

        async def slow_tts():
            yield data[:44 + 1000]  # 500 samples, then the TTS falls behind
            await gate.wait()
            yield data[44 + 1000:]

        h1 = out.say(wav_file(4, 600), caps=WAV)
        h2 = out.say(slow_tts(), caps=WAV)
        c.start()
        await c.crank_until(lambda: c.agent.get_property("queued-speech-time") == 0)
        c.crank(1)  # a buffer of silence inside the utterance (speech resumes next buffer)
        gate.set()
        await c.crank_until(lambda: h2.done() and not out.speaking)
        assert (await h1).played_s == secs(600)
        assert (await h2).played_s == secs(1200)
        out.close()
        c.stop()

    run(main)


def test_an_interrupted_wav_file_says_what_was_played_and_heard():
    async def main():
        c = Clocked()  # 10 ms fade
        out = agentaudio.AgentOutput(c.agent)
        h1 = out.say(wav_file(7, 4800), caps=WAV, text="aaaa bbbb cccc dddd")
        h2 = out.say(wav_file(8, 2400), caps=WAV, text="never heard")
        await h2.wait_queued()
        c.start()
        c.crank(4)  # 100 ms of h1 played
        dropped = await out.interrupt()
        await c.crank_until(lambda: h1.done() and h2.done())
        p1, p2 = await h1, await h2
        assert p1.interrupted and p1.played_s == secs(2400 + 240)  # the fade included
        # Two encoded utterances were cut: last-audio's dropped cannot be split between them,
        # so h1's length is unknown and its text is spread at 15 characters a second (1.27 s
        # for 19 characters): no word ended in the 0.11 s played.
        assert p1.duration_s == p1.played_s and p1.heard_text == ""
        assert p2.interrupted and p2.played_s == 0.0
        assert dropped == pytest.approx((4800 - 2640 + 2400) / RATE, abs=1e-9)
        out.close()
        c.stop()

    run(main)


def test_the_only_cut_wav_file_gets_its_length_from_last_audio():
    async def main():
        c = Clocked()
        out = agentaudio.AgentOutput(c.agent)
        h = out.say(wav_file(7, 4800), caps=WAV, text="aaaa bbbb cccc dddd")
        await h.wait_queued()
        c.start()
        c.crank(5)  # 120 ms played
        await out.interrupt()
        await c.crank_until(h.done)
        p = await h
        assert p.played_s == secs(2880 + 240)
        # played + dropped: the whole 0.2 s, so the text is spread over its real length.
        assert p.duration_s == secs(4800)
        # 0.13 s of 0.2 s: "bbbb" ends at 9/19 of it (0.095 s), "cccc" at 14/19 (0.147 s).
        assert p.heard_text == "aaaa bbbb"
        out.close()
        c.stop()

    run(main)


def test_garbage_instead_of_a_wav_file_raises_and_the_next_one_plays():
    async def main():
        c = Clocked()
        out = agentaudio.AgentOutput(c.agent)
        c.start()
        bad = out.say(b"RIFF" + bytes(range(256)) * 8, caps=WAV)
        good = out.say(wav_file(9, 960), caps=WAV)
        await c.crank_until(lambda: bad.done() and good.done())
        with pytest.raises(agentaudio.AgentAudioError):
            await bad
        assert (await good).played_s == secs(960)
        assert tags(c)[-960:] == [9] * 960
        out.close()
        c.stop()

    run(main)
