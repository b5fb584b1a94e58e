"""AgentOutput, one behaviour per test, on a GstTestClock (see conftest.Clocked)."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest
from gi.repository import GObject, Gst

import agentaudio
from conftest import MS, RATE, Clocked, run, samples, settle

SECOND = Gst.SECOND


def frames(ns: int) -> int:
    return round(ns * RATE / SECOND)


def secs(n: int) -> float:
    """n samples at 24 kHz in seconds, as the element counts them (whole nanoseconds)."""
    return (n * SECOND // RATE) / SECOND


def test_say_returns_at_once_and_resolves_when_played():
    async def main():
        c = Clocked()
        out = agentaudio.AgentOutput(c.agent)
        handle = out.say(samples(100, 1000), text="hello there")
        assert not handle.done()
        c.start()
        await c.crank_until(handle.done)
        playout = await handle
        assert playout == agentaudio.Playout(secs(1000), False, "hello there", secs(1000),
                                             "hello there")
        assert int((c.output() == 100).sum()) == 1000
        out.close()
        c.stop()

    run(main)


def test_bytes_iterables_and_async_iterables_play_in_order():
    async def main():
        c = Clocked()
        out = agentaudio.AgentOutput(c.agent)

        async def stream():
            for _ in range(5):
                await asyncio.sleep(0)
                yield samples(3, 97)

        handles = [
            out.say(samples(1, 500)),
            out.say([samples(2, 100), samples(2, 33)[:-1], b"\x00"]),
            out.say(stream()),
            out.say(np.full(300, 4, dtype="<i2")),  # anything with the buffer protocol
        ]
        c.start()
        await c.crank_until(lambda: all(h.done() for h in handles))
        nz = c.output()[c.output() != 0]
        expected = np.concatenate([np.full(500, 1), np.full(133, 2), np.full(485, 3),
                                   np.full(300, 4)])
        # The last sample of the second is split over two pushes: joined by the element.
        assert np.array_equal(nz, expected)
        assert [round((await h).played_s * RATE) for h in handles] == [500, 133, 485, 300]
        out.close()
        c.stop()

    run(main)


def test_marks_and_first_last_audio_carry_exact_running_times():
    async def main():
        c = Clocked()
        out = agentaudio.AgentOutput(c.agent)
        events = out.events()
        h1 = out.say(samples(5, 600))
        h2 = out.say(samples(6, 150))
        await h2.wait_queued()  # in the element before the first buffer
        c.start()
        await c.crank_until(lambda: h2.done() and not out.speaking)
        await c.crank_until(lambda: len(events._items) >= 4)
        got = [events._items.popleft() for _ in range(4)]
        assert got[0] == agentaudio.FirstAudio(0)
        assert isinstance(got[1], agentaudio.Mark) and got[1].handle is h1
        assert got[1].running_time == 600 * SECOND // RATE and not got[1].interrupted
        assert got[2].handle is h2 and got[2].running_time == 750 * SECOND // RATE
        assert got[3] == agentaudio.LastAudio(750 * SECOND // RATE, 750 * SECOND // RATE,
                                              False, 0)
        out.close()
        c.stop()

    run(main)


def test_interrupt_reports_what_was_played_and_heard():
    async def main():
        c = Clocked()  # the default 10 ms fade
        out = agentaudio.AgentOutput(c.agent)
        words = [(f"w{i}", i * 0.01, (i + 1) * 0.01) for i in range(20)]  # 10 ms words
        h1 = out.say(samples(7, 4800), text=" ".join(w for w, _s, _e in words), words=words)
        h2 = out.say(samples(8, 2400), text="never heard")
        await h2.wait_queued()
        c.start()
        c.crank(4)  # buffers 0..4 made: 100 ms of h1 played
        dropped = await out.interrupt()
        await c.crank_until(lambda: h1.done() and h2.done())
        p1, p2 = await h1, await h2
        # 100 ms played, then the 10 ms fade of the next buffer.
        assert frames(p1.played_s * SECOND) == 2400 + 240
        assert p1.interrupted and p1.duration_s == 0.2
        assert p1.heard_text == " ".join(f"w{i}" for i in range(11))
        assert dropped == pytest.approx((4800 - 2640 + 2400) / RATE, abs=1e-9)
        assert p2 == agentaudio.Playout(0.0, True, "", 0.1, "never heard")
        out.close()
        c.stop()

    run(main)


def test_interrupt_drops_utterances_not_started_and_later_ones_play():
    async def main():
        c = Clocked()
        out = agentaudio.AgentOutput(c.agent)

        def slow():  # a sync source the worker reads; blocks until released
            yield samples(1, 100)
            gate.wait(5)
            yield samples(1, 100)

        gate = threading.Event()
        h1 = out.say(slow())
        h2 = out.say(samples(2, 100))
        await settle()
        await out.interrupt()
        await settle()
        assert h2.done() and (await h2).interrupted and (await h2).played_s == 0
        gate.set()
        h3 = out.say(samples(3, 100))
        c.start()
        await c.crank_until(lambda: h1.done() and h3.done())
        assert (await h1).interrupted and (await h1).played_s == 0
        assert not (await h3).interrupted
        assert set(np.unique(c.output())) == {0, 3}
        out.close()
        c.stop()

    run(main)


def test_mark_of_a_cut_utterance_arrives_interrupted():
    """The bug of the old MIGRATION.md Pattern 2: an utterance cut while it was being pushed
    must not be reported as played to its end."""

    async def main():
        c = Clocked()
        out = agentaudio.AgentOutput(c.agent)
        events = out.events()
        gate = threading.Event()
        pushed = threading.Event()

        def tts():
            yield samples(9, 480)
            pushed.set()  # the worker asks for more once the first chunk is in the element
            gate.wait(5)  # the TTS is still producing when the user barges in
            yield samples(9, 480)

        h = out.say(tts(), text="one two")
        assert await asyncio.to_thread(pushed.wait, 5)
        c.start()
        c.crank(1)
        await out.interrupt()
        gate.set()
        await c.crank_until(h.done)
        playout = await h
        assert playout.interrupted
        marks = [e for e in events._items if isinstance(e, agentaudio.Mark)]
        assert len(marks) == 1 and marks[0].interrupted and marks[0].handle is h
        # Nothing of the second chunk was pushed.
        assert int((c.output() == 9).sum()) <= 480
        out.close()
        c.stop()

    run(main)


def test_an_interrupt_emitted_on_the_element_cuts_the_utterance():
    async def main():
        c = Clocked({"interrupt-fade": 0})
        out = agentaudio.AgentOutput(c.agent)
        h = out.say(samples(4, 2400))
        await h.wait_queued()
        c.start()
        c.crank(1)
        c.agent.emit("interrupt")  # not through the output
        await c.crank_until(h.done)
        playout = await h
        assert playout.interrupted
        assert frames(playout.played_s * SECOND) == int((c.output() == 4).sum()) == 960
        out.close()
        c.stop()

    run(main)


def test_odd_length_utterance_does_not_shift_the_next_one():
    async def main():
        c = Clocked()
        out = agentaudio.AgentOutput(c.agent)
        h1 = out.say(samples(0x0101, 10)[:-1])  # 19 bytes: nine samples and a half
        h2 = out.say(samples(0x0202, 10))
        c.start()
        await c.crank_until(h2.done)
        nz = c.output()[c.output() != 0]
        assert nz[:9].tolist() == [0x0101] * 9
        assert nz[-10:].tolist() == [0x0202] * 10  # not 0x0201 0x0202 ...
        assert (await h1).played_s == secs(10)  # padded to 10 samples
        out.close()
        c.stop()

    run(main)


def test_caps_per_utterance_are_resampled_and_counted():
    async def main():
        c = Clocked()
        out = agentaudio.AgentOutput(c.agent)
        caps = "audio/x-raw,format=S16LE,layout=interleaved,rate=22050,channels=1"
        h = out.say(samples(1000, 22050 // 2), caps=caps)  # 0.5 s at 22.05 kHz
        c.start()
        await c.crank_until(h.done)
        playout = await h
        assert playout.played_s == pytest.approx(0.5, abs=1e-9)
        assert not playout.interrupted
        played = int((c.output() != 0).sum())
        assert abs(played - RATE // 2) <= 1
        out.close()
        c.stop()

    run(main)


def test_refused_audio_raises_from_the_handle():
    async def main():
        c = Clocked()
        out = agentaudio.AgentOutput(c.agent)
        # PLAYING first: an error posted during a state change makes the pipeline's fail.
        c.start()
        h = out.say(b"\x00" * 100, caps="audio/x-raw,format=S16LE,rate=24000,channels=1")
        await c.crank_until(h.done)
        with pytest.raises(agentaudio.AgentAudioError, match="not-negotiated"):
            await h
        assert h.playout is not None and h.playout.played_s == 0
        out.close()
        c.stop()

    run(main)


def test_a_failing_tts_stream_plays_what_it_gave_then_raises():
    async def main():
        c = Clocked()
        out = agentaudio.AgentOutput(c.agent)

        async def tts():
            yield samples(3, 480)
            raise ConnectionError("TTS went away")

        h = out.say(tts())
        after = out.say(samples(4, 240))
        c.start()
        await c.crank_until(lambda: h.done() and after.done())
        with pytest.raises(ConnectionError):
            await h
        assert h.playout.played_s == pytest.approx(480 / RATE)
        assert not (await after).interrupted
        out.close()
        c.stop()

    run(main)


def test_back_pressure_never_blocks_the_loop():
    async def main():
        c = Clocked({"max-speech-time": 100 * MS})
        out = agentaudio.AgentOutput(c.agent)
        h = out.say(samples(1, RATE * 2))  # 2 s, the queue holds 100 ms
        c.start()
        for _ in range(5000):  # the loop keeps running while the worker fills the queue
            if c.agent.get_property("queued-speech-time") >= 100 * MS:
                break
            await asyncio.sleep(0.001)
        for _ in range(20):  # ... and while it waits for room
            await asyncio.sleep(0.001)
        queued = c.agent.get_property("queued-speech-time")
        assert 100 * MS <= queued <= 200 * MS
        assert not h._queued.done()
        dropped = await out.interrupt()  # the worker is waiting outside the lock: no wait here
        assert dropped > 0
        await c.crank_until(h.done)
        assert (await h).interrupted
        out.close()
        c.stop()

    run(main)


def test_wait_for_playout_and_wait_queued():
    async def main():
        c = Clocked()
        out = agentaudio.AgentOutput(c.agent)
        handles = [out.say(samples(i, 480)) for i in (1, 2, 3)]
        await asyncio.wait_for(handles[2].wait_queued(), 5)
        c.start()
        task = asyncio.ensure_future(out.wait_for_playout())
        await c.crank_until(task.done)
        assert all(h.done() and not h.interrupted for h in handles)
        out.close()
        c.stop()

    run(main)


def test_events_reach_every_stream_and_end_on_close():
    async def main():
        c = Clocked()
        out = agentaudio.AgentOutput(c.agent)
        a, b = out.events(), out.events()
        h = out.say(samples(1, 100))
        c.start()
        await c.crank_until(lambda: h.done() and not out.speaking)
        await settle()
        out.close()
        kinds_a = [type(e).__name__ async for e in a]
        kinds_b = [type(e).__name__ async for e in b]
        assert kinds_a == kinds_b == ["FirstAudio", "Mark", "LastAudio"]
        assert [e async for e in out.events()] == []
        c.stop()

    run(main)


def test_calls_from_another_thread_are_refused():
    async def main():
        c = Clocked()
        out = agentaudio.AgentOutput(c.agent)
        errors = []

        def other():
            try:
                out.say(b"\x00\x00")
            except RuntimeError as exc:
                errors.append(exc)

        t = threading.Thread(target=other)
        t.start()
        t.join()
        assert errors and "event loop" in str(errors[0])
        out.close()
        c.stop()

    run(main)


def test_bad_arguments():
    async def main():
        c = Clocked()
        out = agentaudio.AgentOutput(c.agent)
        with pytest.raises(TypeError):
            out.say("text is not audio")
        with pytest.raises(TypeError):
            out.say(42)
        with pytest.raises(ValueError):
            out.say(b"", words=[("late", 2.0, 1.0)])
        with pytest.raises(ValueError):
            out.say(b"", caps="not caps at all,,")
        out.close()
        with pytest.raises(RuntimeError):
            out.say(b"\x00\x00")
        c.stop()
        loose = Gst.ElementFactory.make("agentaudiosrc")
        with pytest.raises(agentaudio.AgentAudioError, match="pipeline"):
            agentaudio.AgentOutput(loose)
        with pytest.raises(agentaudio.AgentAudioError):
            agentaudio.AgentOutput(Gst.ElementFactory.make("fakesrc"))

    run(main)


def test_background_plays_under_speech_ducked_and_clears():
    async def main():
        c = Clocked({"interrupt-fade": 0})
        out = agentaudio.AgentOutput(c.agent)
        out.background_volume = 0.5
        out.duck_volume = 0.5
        assert (out.background_volume, out.duck_volume) == (0.5, 0.5)
        queued = out.play_background(samples(1000, 480), loop=True)
        assert await queued is True
        c.start()
        c.crank(3)
        h = out.say(samples(2000, 480 * 4))
        await c.crank_until(h.done)
        c.crank(2)
        buffers = [b for _pts, b in c.buffers]
        assert buffers[2].tolist() == [500] * 480  # bed alone at 0.5
        assert buffers[-3][-1] == 2000 + 250  # under speech: ducked to 0.25 (ramp ended)
        assert c.agent.get_property("background-loop")
        dropped = out.clear_background()
        assert dropped >= 0
        c.crank(2)
        assert c.buffers[-1][1].tolist() == [0] * 480
        # Appending instead of replacing, and a bed played once.
        first = out.play_background(samples(10, 240), loop=False)
        second = out.play_background(samples(20, 240), loop=False, replace=False)
        assert await first and await second
        c.crank(2)
        tail = np.concatenate([b for _p, b in c.buffers[-2:]])
        assert tail[:480].tolist() == [5] * 240 + [10] * 240
        out.close()
        c.stop()

    run(main)


def test_clear_background_drops_a_bed_still_being_queued():
    async def main():
        c = Clocked({"max-background-time": 40 * MS})
        out = agentaudio.AgentOutput(c.agent)
        queued = out.play_background([samples(1, 480)] * 20, loop=False)
        c.start()
        await asyncio.sleep(0.05)
        assert not queued.done()  # waiting for room in the bed
        out.clear_background()
        assert await asyncio.wait_for(queued, 5) is False
        out.close()
        c.stop()

    run(main)


def test_end_of_stream_after_the_queued_utterances():
    async def main():
        c = Clocked()
        out = agentaudio.AgentOutput(c.agent)
        h = out.say([samples(1, 240)] * 3)
        ret = await out.end_of_stream()
        assert ret == Gst.FlowReturn.OK
        c.start()
        await c.crank_until(h.done)
        assert not (await h).interrupted
        out.close()
        c.stop()

    run(main)


HAS_PAUSE = GObject.signal_lookup("pause", GObject.type_from_name("GstAgentAudioSrc")) != 0 \
    if Gst.ElementFactory.find("agentaudiosrc") and Gst.ElementFactory.make("agentaudiosrc") \
    else False


def test_pause_without_element_support_says_so():
    if HAS_PAUSE:
        pytest.skip("this agentaudiosrc has pause; test_pause_and_resume covers it")

    async def main():
        c = Clocked()
        out = agentaudio.AgentOutput(c.agent)
        with pytest.raises(NotImplementedError, match="pause"):
            out.pause()
        with pytest.raises(NotImplementedError, match="resume"):
            out.resume()
        assert out.paused is False
        out.close()
        c.stop()

    run(main)


@pytest.mark.skipif(not HAS_PAUSE, reason="this agentaudiosrc has no 'pause' action signal yet")
def test_pause_and_resume():
    async def main():
        c = Clocked({"interrupt-fade": 0})
        out = agentaudio.AgentOutput(c.agent)
        events = out.events()
        h = out.say(samples(3, 2400))
        c.start()
        c.crank(1)
        out.pause()
        c.crank(3)
        assert out.paused
        out.resume()
        await c.crank_until(h.done)
        playout = await h
        assert not playout.interrupted and playout.played_s == pytest.approx(0.1)
        kinds = [type(e).__name__ for e in events._items]
        assert "Paused" in kinds and "Resumed" in kinds
        out.close()
        c.stop()

    run(main)


def test_text_alignment_without_words_is_by_characters():
    assert agentaudio.heard_text("aaaa bbbb cccc dddd", None, 0.5, 1.0, True) == "aaaa bbbb"
    assert agentaudio.heard_text("aaaa bbbb", None, 0.0, 1.0, True) == ""
    # A stream cut before its end: its length is estimated from the text.
    text = "x" * 29 + " y"  # 31 characters: about 2 s at 15 characters a second
    assert agentaudio.heard_text(text, None, 1.0, 1.0, False) == ""
    assert agentaudio.heard_text(text, None, 2.1, 1.0, False) == text


def test_text_alignment_with_words_keeps_the_text_as_written():
    words = [("Hello", 0.0, 0.4), ("world", 0.5, 0.9), ("again", 1.0, 1.3)]
    assert agentaudio.heard_text("Hello, world! Again.", words, 0.95, 1.3, True) == \
        "Hello, world!"
    assert agentaudio.heard_text(None, words, 0.95, 1.3, True) == "Hello world"
    assert agentaudio.heard_text("Something else", words, 0.45, 1.3, True) == "Hello"


def test_words_and_text_can_be_added_while_the_tts_streams():
    async def main():
        c = Clocked()
        out = agentaudio.AgentOutput(c.agent)

        async def tts():
            # 3 words of 10 ms each, their timestamps reported with the audio.
            for i, word in enumerate(["one", "two", "three"]):
                handle.add_text(("" if i == 0 else " ") + word)
                handle.add_words([(word, i * 0.01, (i + 1) * 0.01)])
                yield samples(5, 240)
                await asyncio.sleep(0)

        handle = out.say(tts())
        c.start()
        await c.crank_until(handle.done)
        assert (await handle).heard_text == "one two three"
        assert handle.words[-1] == ("three", 0.02, 0.03)
        out.close()
        c.stop()

    run(main)
