"""AgentOutput with encoded audio: WAV files pushed as they are, header included.

The element decodes them; bytes say nothing of length, so what each utterance played comes from
the element's marks (their ``played``) and ``last-audio``. WAV at the output's rate keeps every
figure exact to the sample. On a GstTestClock (see conftest.Clocked).
"""

from __future__ import annotations

import asyncio
import io
import random
import threading
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
        await h2.wait_queued()  # one utterance: no gap while the worker pushes
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
        data = wav_file(5, 2048 + 1000)
        # wavparse passes data on in blocks of 4096 bytes and holds a partial one until more
        # comes (or end-of-utterance drains it): the first part is one whole block.
        first = data[:44 + 4096]
        first_pushed, gate = threading.Event(), threading.Event()

        def slow_tts():  # read by the worker, which asks for a chunk once it pushed the last
            yield first
            first_pushed.set()
            gate.wait(10)
            yield data[len(first):]

        events = out.events()
        h1 = out.say(wav_file(4, 600), caps=WAV)
        h2 = out.say(slow_tts(), caps=WAV)
        assert await asyncio.to_thread(first_pushed.wait, 10)
        c.start()  # buffer 0
        c.crank(5)  # buffer 5 (2400..2880) runs dry at frame 2648: 232 frames of silence
        assert c.agent.get_property("queued-speech-time") == 0 and out.speaking
        gate.set()
        await h2.wait_queued()  # the rest pushed, drained by end-of-utterance, marked
        await c.crank_until(lambda: h2.done() and not out.speaking)
        assert tags(c) == [4] * 600 + [5] * 3048
        assert (await h1).played_s == secs(600)
        # The same utterance (one last-audio), its 232 silent frames not counted.
        assert (await h2).played_s == secs(3048)
        await settle()
        last = [e for e in events._items if isinstance(e, agentaudio.LastAudio)]
        assert [e.duration for e in last] == [3648 * SECOND // RATE]
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


def encode(pipeline: str) -> bytes:
    """What a GStreamer encoder makes of a second of 440 Hz (the file a TTS service would send)."""
    p = Gst.parse_launch(f"audiotestsrc num-buffers=24 samplesperbuffer=1000 freq=440 ! "
                         f"audio/x-raw,rate=24000,channels=1 ! {pipeline} ! "
                         "appsink name=sink sync=false")
    sink = p.get_by_name("sink")
    p.set_state(Gst.State.PLAYING)
    data = bytearray()
    while True:
        sample = sink.emit("try-pull-sample", 10 * SECOND)
        if sample is None:
            break
        buf = sample.get_buffer()
        data += buf.extract_dup(0, buf.get_size())
    p.set_state(Gst.State.NULL)
    return bytes(data)


@pytest.mark.skipif(Gst.ElementFactory.find("lamemp3enc") is None or
                    Gst.ElementFactory.find("mpegaudioparse") is None,
                    reason="lamemp3enc or mpegaudioparse missing (gstreamer1.0-plugins-good)")
def test_mp3_utterances_share_last_audio_to_the_sample():
    async def main():
        mp3 = encode("lamemp3enc bitrate=64 cbr=true")
        c = Clocked()
        out = agentaudio.AgentOutput(c.agent)
        events = out.events()
        caps = "audio/mpeg,mpegversion=1,layer=3"
        h1 = out.say(chunks(mp3, 4), caps=caps)
        h2 = out.say(chunks(mp3, 5), caps=caps)
        await h2.wait_queued()  # decoded before the first buffer: one utterance, no gap
        c.start()
        await c.crank_until(lambda: h2.done() and not out.speaking)
        p1, p2 = await h1, await h2
        await settle()
        last = [e for e in events._items if isinstance(e, agentaudio.LastAudio)]
        assert len(last) == 1
        # Each is its second plus LAME's delay and padding (under a tenth of a second), and
        # the two add up to what the element played, to the nanosecond.
        assert 1.0 <= p1.played_s < 1.1 and p2.played_s == p1.played_s
        assert round((p1.played_s + p2.played_s) * SECOND) == last[0].duration
        # Everything the element played came out: nothing held back by the decoder.
        assert int((c.output() != 0).sum()) >= round(2 * RATE * 0.99)
        out.close()
        c.stop()

    run(main)
