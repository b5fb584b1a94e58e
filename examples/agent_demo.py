#!/usr/bin/python3
"""What agentaudiosrc does, in one run: a voice agent talks over a ducked background bed and is
interrupted; the demo writes a WAV file, a PNG timeline and a short summary.

The pipeline is

    agentaudiosrc name=agent ! audio/x-raw,rate=24000,channels=1 ! wavenc ! filesink
    agent.speech_0 ! queue ! appsink        (the voice alone, for the plot and the measurements)

The agent is written on asyncio with the agentaudio package (python/agentaudio): an
AgentOutput around the element, one `say()` per sentence, `await out.interrupt()` for the
barge-in, and its typed events for the timeline. The story, in pipeline running time (about 12 s
in all):

1. A "thinking" bed plays alone: 2 s of S16LE 44100 Hz STEREO, queued before PLAYING with
   `play_background(loop=True)` (`background-loop`), at `background-volume` 0.3. The element
   downmixes and resamples it.
2. After 1 s the agent answers with two sentences synthesised by espeak-ng, pushed AS
   espeak-ng WROTE THEM: whole WAV files, header included (`audio/x-wav`), the way TTS services
   send WAV. The element parses each header itself (S16LE 22050 Hz mono) and resamples. Each is
   a `say()` of an iterable that hands the file over the way a streaming TTS would, in small
   oddly sized chunks (the 44-byte header split over two of them); the output's worker thread
   pushes them, held back by `max-speech-time` once 4 s of decoded audio are queued (enough for
   sentence 2 to be queued whole before the barge-in). Sentence 1 is said with
   `caps="audio/x-wav"` (pushed with `push-speech-sample`, each chunk a GstSample with its own
   caps), sentence 2 with plain `push-speech` after setting `speech-caps` to `audio/x-wav`. After
   each file the output emits `end-of-utterance` (the stream is complete: the next one starts
   with its own header) and places a mark. While the voice plays, the bed is ducked to a quarter
   (`duck-volume` 0.25, -12 dB).
3. Half way through sentence 2 the caller barges in: `interrupt()` fades the voice out (10 ms)
   and drops the rest; the mark of sentence 2 comes back with interrupted=TRUE, the utterance's
   `last-audio` says interrupted=TRUE, and the handle of sentence 2 says how much was played and
   which words were heard (espeak-ng gives no word timestamps: its text is aligned by characters,
   which is rough). The bytes of a WAV file say nothing of how long it plays once decoded: the
   lengths come from the element's marks, which say how much speech had played, to the sample.
   The bed comes back up while the caller talks.
4. The agent replies with sentence 3 (a new utterance, its own first-audio/last-audio and mark),
   the bed plays alone for a second, `clear_background()` fades it out and `end_of_stream()`
   ends the stream, so that wavenc finalises the WAV file.

Every bus message carries the exact running time of what it reports; the demo collects them,
records the voice alone from the `speech_0` request pad (so the bed is exactly the output minus
the voice), measures the ducking, draws everything in a PNG and prints a short summary with the
text the caller heard. --verbose also prints every bus message as it arrives.

Run it with the Debian interpreter (it needs PyGObject, matplotlib and numpy) and the plugin on
GST_PLUGIN_PATH, or simply `bash scripts/demo.sh`:

    GST_PLUGIN_PATH=$PWD/builddir/gst/agentaudio /usr/bin/python3 examples/agent_demo.py
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import wave
from dataclasses import dataclass, field

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

# The agentaudio package of this checkout (python/).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import agentaudio  # noqa: E402

try:
    import numpy as np
except ImportError:  # checked in main(), with a message that says what to install
    np = None

# What the element puts out, pinned by a capsfilter so that the WAV format is stable (without it
# the output would follow speech-caps).
OUT_RATE = 24000
OUTPUT_CAPS = f"audio/x-raw,rate={OUT_RATE},channels=1"

MSECOND = 1_000_000
SECOND = 1_000_000_000

SENTENCES = [
    "Hello! I am a voice agent, speaking through GStreamer.",
    "Here is a long answer, which you are going to interrupt half way through, "
    "as people often do.",
    "Sorry, go ahead. What would you like to know?",
]
# The agent's replies, as 1-based sentence numbers: the first is cut by the caller's barge-in,
# the second answers it.
REPLIES = [[1, 2], [3]]
INTERRUPTED_SENTENCE = 2
SAMPLE_SENTENCES = {1}  # pushed with push-speech-sample; the others with push-speech

# Like a streaming TTS: mostly 20 ms chunks (882 bytes at 22050 Hz), some odd sizes; the first
# two split the WAV header (44 bytes), later ones split samples (the element's WAV parser joins
# them).
CHUNK_SIZES = [30, 882, 883, 441, 1437, 3, 881, 2000]
SPEECH_CAPS = "audio/x-wav"  # a WAV file, header included: the element reads its format

# The background bed: S16LE, 44100 Hz, stereo, 2 s, played in a loop.
BED_RATE = 44100
BED_SECONDS = 2
BED_CAPS = f"audio/x-raw,format=S16LE,layout=interleaved,rate={BED_RATE},channels=2"
BACKGROUND_VOLUME = 0.3
DUCK_VOLUME = 0.25

DOCS = "docs/agentaudiosrc.md"

VERBOSE = False


def log(msg: str) -> None:
    print(msg, flush=True)


def vlog(msg: str) -> None:
    if VERBOSE:
        print(msg, flush=True)


def secs(ns: int | None, digits: int = 3) -> str:
    if ns is None:
        return "n/a"
    if ns == Gst.CLOCK_TIME_NONE:
        return "NONE"
    return f"{ns / SECOND:.{digits}f} s"


def db(x: float) -> float:
    return 20 * math.log10(x) if x > 0 else float("-inf")


# --------------------------------------------------------------------------------------
# Text to speech bytes, in espeak-ng's own format
# --------------------------------------------------------------------------------------


class Speech:
    """One sentence as espeak-ng wrote it: the WAV file, header included, pushed as it is. Its
    format and length are read here only to check what the element made of it."""

    def __init__(self, number: int, text: str, wav: bytes, rate: int, channels: int,
                 frames: int):
        self.number = number
        self.text = text
        self.wav = wav
        self.rate = rate
        self.channels = channels
        self.frames = frames
        self.caps = Gst.Caps.from_string(SPEECH_CAPS)

    @property
    def duration(self) -> int:
        return self.frames * SECOND // self.rate


def synthesise(number: int, text: str, wav_path: str) -> Speech:
    """Render `text` with espeak-ng; the WAV file it writes is what the agent pushes."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise RuntimeError("espeak-ng not found (bash scripts/install-deps.sh installs it)")
    # -w writes a complete WAV header (with --stdout the data size is a "streaming" dummy).
    subprocess.run([espeak, "-w", wav_path, text], check=True)
    with wave.open(wav_path, "rb") as w:
        if w.getsampwidth() != 2 or w.getcomptype() != "NONE":
            raise RuntimeError(f"{wav_path}: expected 16-bit PCM, got {w.getparams()}")
        rate, channels, frames = w.getframerate(), w.getnchannels(), w.getnframes()
    with open(wav_path, "rb") as f:
        return Speech(number, text, f.read(), rate, channels, frames)


def render_sentences(texts: list[str]) -> list[Speech]:
    with tempfile.TemporaryDirectory(prefix="agent-demo-") as tmp:
        return [
            synthesise(i, text, os.path.join(tmp, f"sentence-{i}.wav"))
            for i, text in enumerate(texts, 1)
        ]


# --------------------------------------------------------------------------------------
# The background bed
# --------------------------------------------------------------------------------------


def make_bed() -> bytes:
    """A soft two-chord pad with a slow tremolo, as S16LE 44100 Hz stereo bytes.

    Every frequency makes a whole number of cycles in BED_SECONDS, and the chord crossfade and
    the tremolo are periodic too, so the loop point is seamless. The crossfade keeps the power
    constant and each note is panned without changing its level in a mono downmix, so the bed's
    level stays steady and the ducking is easy to measure.
    """
    chord_a = [261.5, 329.5, 392.0]  # ~C major
    chord_b = [293.5, 349.0, 440.0]  # ~D minor (no note in common: the powers add)
    pans = [-0.5, 0.0, 0.5]  # per note of each chord: left ... right
    t = np.arange(BED_RATE * BED_SECONDS) / BED_RATE
    theta = math.pi / 4 * (1 - np.cos(2 * math.pi * t / BED_SECONDS))  # 0 -> pi/2 -> 0
    wa, wb = np.cos(theta), np.sin(theta)  # equal-power crossfade A -> B -> A
    tremolo = 1.0 + 0.1 * np.sin(2 * math.pi * 1.0 * t)  # 1 Hz, +-0.8 dB
    left = np.zeros_like(t)
    right = np.zeros_like(t)
    for fa, fb, pan in zip(chord_a, chord_b, pans):
        v = wa * np.sin(2 * math.pi * fa * t) + wb * np.sin(2 * math.pi * fb * t)
        left += v * (1 - pan)
        right += v * (1 + pan)
    scale = 0.35 / 3 * tremolo * 32767
    frames = np.stack([left * scale, right * scale], axis=1)  # interleaved L R L R ...
    return frames.astype("<i2").tobytes()


# --------------------------------------------------------------------------------------
# What happened: bus messages and the demo's own calls, on the running-time axis
# --------------------------------------------------------------------------------------


@dataclass
class Event:
    """Something that happened at a running time: an element message, EOS, or a call the demo
    made (`kind` "call": its `time` is where it takes effect, the start of the next buffer the
    element makes, and `clock_time` the clock's running time when it was made)."""

    kind: str  # first-audio, last-audio, mark, call, eos
    time: int  # running time, ns
    name: str = ""  # mark name, or the call's signal name
    interrupted: bool = False
    duration: int = 0  # last-audio
    dropped: int = 0  # last-audio; for calls, what interrupt/clear-background returned
    clock_time: int | None = None


@dataclass
class Utterance:
    """One sentence said with AgentOutput.say(): what its TTS stand-in gave, and its handle."""

    number: int
    how: str  # push-speech-sample (caps given to say) or push-speech (speech-caps)
    handle: "agentaudio.SpeechHandle | None" = None
    pushed: int = 0  # bytes of the WAV file the stand-in TTS handed over
    chunks: int = 0
    waited: int = 0  # chunks the worker took more than 5 ms to ask for (back-pressure)

    @property
    def playout(self) -> "agentaudio.Playout | None":
        return None if self.handle is None else self.handle.playout


# --------------------------------------------------------------------------------------
# The demo
# --------------------------------------------------------------------------------------


class AgentDemo:
    """The agent, on asyncio: an AgentOutput around the element, one say() per sentence."""

    def __init__(self, output: str, sentences: list[Speech], max_speech_time: int,
                 timeout_s: int, lead_in_ms: int, pause_ms: int, tail_ms: int):
        self.output = output
        self.sentences = sentences
        self.timeout_s = timeout_s
        self.lead_in_ms = lead_in_ms
        self.pause_ms = pause_ms
        self.tail_ms = tail_ms
        self.failures: list[str] = []

        self.events: list[Event] = []  # in the order they arrived
        self.eos = False
        self.utterances: dict[int, Utterance] = {}
        self.interrupt_scheduled = False
        self.finish_scheduled = False

        # Buffers as they leave the element: the first PTS is the WAV file's first sample, the
        # end of the last one is where EOS happened.
        self.first_pts: int | None = None
        self.end_of_last_buffer: int | None = None
        self.voice_chunks: list[tuple[int, bytes]] = []  # (pts, S16LE bytes) from speech_0

        self.pipeline = Gst.parse_launch(
            f"agentaudiosrc name=agent ! {OUTPUT_CAPS} ! wavenc ! filesink name=sink "
            # speech_0 carries the same buffers' timestamps as src, with the voice alone. As the
            # docs ask, the request-pad branch starts with a queue.
            "agent.speech_0 ! queue ! appsink name=voice sync=false emit-signals=true"
        )
        self.agent = self.pipeline.get_by_name("agent")
        if self.agent is None:
            raise RuntimeError("agentaudiosrc missing from the pipeline")
        self.pipeline.get_by_name("sink").set_property("location", output)
        self.pipeline.get_by_name("voice").connect("new-sample", self.on_voice_sample)
        self.pipeline.use_clock(Gst.SystemClock.obtain())

        self.agent.set_property("max-speech-time", max_speech_time)
        self.agent.set_property("background-caps", Gst.Caps.from_string(BED_CAPS))
        self.agent.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, self.on_src_buffer)

    # ---- streaming threads ----------------------------------------------------------

    def on_src_buffer(self, _pad, info):
        buf = info.get_buffer()
        if self.first_pts is None:
            self.first_pts = buf.pts
        self.end_of_last_buffer = buf.pts + buf.duration
        return Gst.PadProbeReturn.OK

    def on_voice_sample(self, sink):
        sample = sink.emit("pull-sample")
        buf = sample.get_buffer()
        ok, info = buf.map(Gst.MapFlags.READ)
        if ok:
            self.voice_chunks.append((buf.pts, bytes(info.data)))
            buf.unmap(info)
        return Gst.FlowReturn.OK

    # ---- the "TTS engine" -------------------------------------------------------------

    def tts_chunks(self, record: Utterance, wav: bytes):
        """Like a streaming TTS: the WAV file in small, oddly sized chunks. AgentOutput reads
        this iterable on its worker thread and pushes each chunk when the element has room."""
        last = time.monotonic()
        while record.pushed < len(wav):
            size = CHUNK_SIZES[record.chunks % len(CHUNK_SIZES)]
            chunk = wav[record.pushed:record.pushed + size]
            record.chunks += 1
            record.pushed += len(chunk)
            yield chunk
            now = time.monotonic()
            if now - last > 0.005:
                record.waited += 1  # max-speech-time held the worker back
            last = now

    def say(self, n: int) -> None:
        speech = self.sentences[n - 1]
        how = "push-speech-sample" if n in SAMPLE_SENTENCES else "push-speech"
        record = self.utterances[n] = Utterance(n, how)
        if how == "push-speech-sample":
            # Each chunk goes with its caps (push-speech-sample): speech-caps is not consulted.
            caps = speech.caps
        else:
            # Plain push-speech takes its format from speech-caps, read when the utterance
            # starts. Utterance 1 carries its own caps, so it can be changed now.
            caps = None
            if not self.agent.get_property("speech-caps").is_equal(speech.caps):
                self.agent.set_property("speech-caps", speech.caps)
        record.handle = self.out.say(self.tts_chunks(record, speech.wav), text=speech.text,
                                     caps=caps)
        vlog(f"  demo: say sentence {n} ({how}) at {secs(self.running_time())}")

    # ---- the agent's logic, on the loop -----------------------------------------------

    def running_time(self) -> int | None:
        clock = self.pipeline.get_clock()
        if clock is None:
            return None
        return clock.get_time() - self.pipeline.get_base_time()

    def call(self, signal_name: str) -> Event:
        """Records a call the demo is about to make.

        The calls take effect in the next buffer the element makes, which starts where the last
        one ended. That is normally a few ms after the clock's time, but when the machine is
        busy the streaming thread can run behind the clock (it then catches up): the buffer is
        the better time to draw the call at.
        """
        clock_time = self.running_time() or 0
        ev = Event("call", self.end_of_last_buffer or clock_time, signal_name,
                   clock_time=clock_time)
        self.events.append(ev)
        return ev

    def start_reply(self, index: int) -> None:
        vlog(f"  demo: reply {index + 1} (sentences {REPLIES[index]})")
        for n in REPLIES[index]:
            self.say(n)

    def schedule_interrupt(self, sentence_start: int) -> None:
        """Barge in when half of the interrupted sentence has played."""
        if self.interrupt_scheduled:
            return
        self.interrupt_scheduled = True
        target = sentence_start + self.sentences[INTERRUPTED_SENTENCE - 1].duration // 2
        now = self.running_time() or sentence_start
        delay = max(0, target - now) / SECOND
        vlog(f"  demo: sentence-{INTERRUPTED_SENTENCE} starts at {secs(sentence_start)}; "
             f"barging in at {secs(target)} (in {delay * 1000:.0f} ms)")
        self.tasks.append(asyncio.ensure_future(self.barge_in(delay)))

    async def barge_in(self, delay: float) -> None:
        await asyncio.sleep(delay)
        ev = self.call("interrupt")
        # Atomic: nothing reply 1 has pushed plays after this (beyond the 10 ms fade), and its
        # utterances not yet pushed never will be; no cancel flag, no second interrupt.
        ev.dropped = round(await self.out.interrupt() * SECOND)
        vlog(f"  demo: interrupt at {secs(ev.time)} -> dropped {secs(ev.dropped)} of queued "
             "speech")
        # The caller talks for a moment; then the agent answers.
        await asyncio.sleep(self.pause_ms / 1000)
        self.start_reply(1)

    def schedule_finish(self) -> None:
        """After the last sentence: the bed alone for a while, then clear it, then EOS."""
        if self.finish_scheduled:
            return
        self.finish_scheduled = True
        vlog(f"  demo: last sentence played; the bed plays alone for {self.tail_ms} ms")
        self.tasks.append(asyncio.ensure_future(self.finish()))

    async def finish(self) -> None:
        await asyncio.sleep(self.tail_ms / 1000)
        ev = self.call("clear-background")
        ev.dropped = round(self.out.clear_background() * SECOND)
        vlog(f"  demo: clear-background at {secs(ev.time)} -> {secs(ev.dropped)} of the "
             "current loop dropped")
        # end-of-stream does not wait for the background: let the fade-out and a little
        # silence reach the file first.
        await asyncio.sleep(0.2)
        ev = self.call("end-of-stream")
        ret = await self.out.end_of_stream()
        vlog(f"  demo: end-of-stream at {secs(ev.time)} -> {ret.value_nick}")
        if ret != Gst.FlowReturn.OK:
            self.fail(f"end-of-stream returned {ret.value_nick}")

    def fail(self, why: str) -> None:
        vlog(f"  demo: stopping: {why}")
        self.failures.append(why)
        if not self.done.done():
            self.done.set_result(None)

    # ---- what the element reports -------------------------------------------------------

    def sentence_of(self, handle) -> int | None:
        return next((n for n, u in self.utterances.items() if u.handle is handle), None)

    async def watch_output(self, events) -> None:
        """The element's messages, as AgentOutput's typed events."""
        first_audio_seen = False
        async for e in events:
            if isinstance(e, agentaudio.FirstAudio):
                ev = Event("first-audio", e.running_time)
                first_audio_seen = True
            elif isinstance(e, agentaudio.LastAudio):
                ev = Event("last-audio", e.running_time, interrupted=e.interrupted,
                           duration=e.duration, dropped=e.dropped)
            elif isinstance(e, agentaudio.Mark):
                n = self.sentence_of(e.handle)
                if n is None:
                    continue
                rt = Gst.CLOCK_TIME_NONE if e.running_time is None else e.running_time
                ev = Event("mark", rt, f"sentence-{n}", interrupted=e.interrupted)
            else:
                continue
            vlog(f"  bus: {ev.kind:<11} {ev.name} running-time={secs(ev.time)}"
                 + (f" duration={secs(ev.duration)} dropped={secs(ev.dropped)} "
                    f"interrupted={ev.interrupted}" if ev.kind == "last-audio" else "")
                 + (f" interrupted={ev.interrupted}" if ev.kind == "mark" else ""))
            self.events.append(ev)
            if ev.kind == "mark" and not ev.interrupted:
                if ev.name == f"sentence-{INTERRUPTED_SENTENCE - 1}":
                    self.schedule_interrupt(ev.time)
                if ev.name == f"sentence-{len(self.sentences)}":
                    self.schedule_finish()
            if first_audio_seen and self.first_audio_watchdog is not None:
                self.first_audio_watchdog.cancel()
                self.first_audio_watchdog = None

    async def watch_bus(self, messages) -> None:
        """EOS, errors and warnings (and, with --verbose, the rest)."""
        async for msg in messages:
            t = msg.type
            src_name = msg.src.get_name() if msg.src else "?"
            if t == Gst.MessageType.ERROR:
                err, dbg = msg.parse_error()
                self.fail(f"error from {src_name}: {err.message} ({dbg})")
            elif t == Gst.MessageType.WARNING:
                err, dbg = msg.parse_warning()
                log(f"  bus: WARNING from {src_name}: {err.message} ({dbg})")
            elif t == Gst.MessageType.EOS:
                # EOS carries no running time; it happened where the last buffer ended.
                when = self.end_of_last_buffer or self.running_time() or 0
                self.events.append(Event("eos", when))
                vlog(f"  bus: EOS (the last buffer ended at {secs(when)})")
                self.eos = True
                if not self.done.done():
                    self.done.set_result(None)
            elif VERBOSE and t == Gst.MessageType.STATE_CHANGED and msg.src == self.pipeline:
                old, new, _pending = msg.parse_state_changed()
                log(f"  bus: state-changed {src_name}: {old.value_nick} -> {new.value_nick}")

    async def no_first_audio(self) -> None:
        await asyncio.sleep(self.lead_in_ms / 1000 + 3)
        self.first_audio_watchdog = None
        self.fail("no first-audio message within 3 s of the first say()")

    # ---- running it -----------------------------------------------------------------

    async def run(self, bed: bytes) -> float:
        loop = asyncio.get_running_loop()
        self.done = loop.create_future()
        self.tasks: list[asyncio.Future] = []
        self.out = agentaudio.AgentOutput(self.agent)
        self.out.background_volume = BACKGROUND_VOLUME
        self.out.duck_volume = DUCK_VOLUME
        events = self.out.events()
        messages = agentaudio.bus_messages(
            self.pipeline, Gst.MessageType.EOS | Gst.MessageType.ERROR |
            Gst.MessageType.WARNING | Gst.MessageType.STATE_CHANGED)
        watchers = [asyncio.ensure_future(self.watch_output(events)),
                    asyncio.ensure_future(self.watch_bus(messages))]
        loop.add_signal_handler(signal.SIGINT, self.fail, "interrupted by SIGINT")
        started = time.monotonic()
        # Queued before PLAYING: it plays from the first buffer, and forever (background-loop)
        # until clear-background.
        bed_queued = self.out.play_background(bed, loop=True)
        self.first_audio_watchdog = None
        if self.pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            self.fail("the pipeline refused to go to PLAYING")
        else:
            # The bed plays alone for the lead-in, as while the agent "thinks".
            self.first_audio_watchdog = asyncio.ensure_future(self.no_first_audio())
            await asyncio.sleep(self.lead_in_ms / 1000)
            if not await bed_queued:
                self.fail("the background bed was not queued")
            self.start_reply(0)
            try:
                await asyncio.wait_for(asyncio.shield(self.done), self.timeout_s)
            except asyncio.TimeoutError:
                self.fail(f"timed out after {self.timeout_s} s")
        wall = time.monotonic() - started
        loop.remove_signal_handler(signal.SIGINT)
        for task in self.tasks + watchers + [self.first_audio_watchdog]:
            if task is not None:
                task.cancel()
        messages.close()
        if not self.eos:
            self.finalise_after_failure()
        # NULL ends whatever the output still had pending (it resolves every handle).
        self.pipeline.set_state(Gst.State.NULL)
        await asyncio.sleep(0)
        await self.out.aclose()
        return wall

    def finalise_after_failure(self) -> None:
        """Stopped early: still send EOS through so that wavenc writes a valid header."""
        bus = self.pipeline.get_bus()
        self.pipeline.send_event(Gst.Event.new_eos())
        msg = bus.timed_pop_filtered(2 * SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
        if msg is None or msg.type != Gst.MessageType.EOS:
            log("  demo: the WAV file could not be finalised")

    # ---- queries on what was collected ----------------------------------------------

    def of_kind(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.kind == kind]

    def mark(self, n: int) -> Event | None:
        return next((e for e in self.of_kind("mark") if e.name == f"sentence-{n}"), None)

    def call_event(self, name: str) -> Event | None:
        return next((e for e in self.of_kind("call") if e.name == name), None)


# --------------------------------------------------------------------------------------
# Analysis: sentences on the timeline, and the levels in the output
# --------------------------------------------------------------------------------------


@dataclass
class SentenceSpan:
    number: int
    start: int | None = None  # running time, ns
    end: int | None = None
    length: int = 0  # the whole sentence as synthesised
    cut: bool = False

    @property
    def played(self) -> int | None:
        if self.start is None or self.end is None:
            return None
        return self.end - self.start


@dataclass
class Analysis:
    spans: list[SentenceSpan] = field(default_factory=list)
    out: "np.ndarray | None" = None  # the WAV, float -1..1
    voice: "np.ndarray | None" = None  # speech_0, aligned with `out`
    t0: int = 0  # running time of out[0]
    bed_alone: float | None = None  # RMS, 0..1
    bed_ducked: float | None = None
    bed_after_clear: float | None = None
    wav_seconds: float = 0.0


def sentence_spans(demo: AgentDemo) -> list[SentenceSpan]:
    """Where each sentence played, from the bus messages alone.

    The sentences of a reply play back to back, so a sentence starts where the previous one's
    mark is; the first of a reply starts at the utterance's first-audio. A sentence ends at its
    mark, or, when cut, where the interrupted utterance's last-audio says the voice stopped.
    """
    firsts = demo.of_kind("first-audio")
    lasts = demo.of_kind("last-audio")
    spans = []
    for reply_index, numbers in enumerate(REPLIES):
        start = firsts[reply_index].time if reply_index < len(firsts) else None
        for n in numbers:
            span = SentenceSpan(n, start=start, length=demo.sentences[n - 1].duration)
            mark = demo.mark(n)
            if mark is not None and not mark.interrupted:
                span.end = mark.time
            else:
                span.cut = True
                if reply_index < len(lasts) and lasts[reply_index].interrupted:
                    span.end = lasts[reply_index].time
            spans.append(span)
            start = span.end
            if span.cut:
                break
    return spans


def read_wav(path: str):
    with wave.open(path, "rb") as w:
        if (w.getframerate(), w.getnchannels(), w.getsampwidth()) != (OUT_RATE, 1, 2):
            raise RuntimeError(f"{path}: unexpected format {w.getparams()}")
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.int32)


def voice_signal(demo: AgentDemo, n: int) -> np.ndarray:
    """The speech_0 recording as an array aligned sample for sample with the WAV file."""
    voice = np.zeros(n, dtype=np.int32)
    for pts, data in sorted(demo.voice_chunks, key=lambda c: c[0]):
        a = round((pts - demo.first_pts) * OUT_RATE / SECOND)
        chunk = np.frombuffer(data, dtype="<i2").astype(np.int32)
        if 0 <= a < n:
            voice[a : a + len(chunk)] = chunk[: n - a]
    return voice


def rms_over(x: np.ndarray, t0: int, windows: list[tuple[int, int]]) -> float | None:
    """RMS (0..1 of full scale) of `x` over [start, end) running-time windows."""
    parts = []
    for start, end in windows:
        a = max(0, (start - t0) * OUT_RATE // SECOND)
        b = min(len(x), (end - t0) * OUT_RATE // SECOND)
        if b > a:
            parts.append(x[a:b].astype(np.float64))
    if not parts:
        return None
    joined = np.concatenate(parts)
    return float(np.sqrt(np.mean(joined * joined))) / 32768


def analyse(demo: AgentDemo) -> Analysis:
    result = Analysis(spans=sentence_spans(demo))
    if not demo.eos or demo.first_pts is None:
        return result
    out = read_wav(demo.output)
    voice = voice_signal(demo, len(out))
    # The element adds the bed under the voice (rounded, saturated): with no clipping the
    # output minus the voice IS the bed as it was mixed, gain and ducking included.
    bed = out - voice
    result.out, result.voice, result.t0 = out / 32768, voice / 32768, demo.first_pts
    result.wav_seconds = len(out) / OUT_RATE

    ms = MSECOND
    firsts, lasts = demo.of_kind("first-audio"), demo.of_kind("last-audio")
    clear = demo.call_event("clear-background")
    eos = demo.of_kind("eos")
    if len(firsts) < len(REPLIES) or len(lasts) < len(REPLIES) or clear is None or not eos:
        return result
    # Stay clear of the one-buffer gain ramps (20 ms) at the edges of each stretch.
    alone = [(result.t0 + 50 * ms, firsts[0].time - 30 * ms)]
    alone += [(lasts[i].time + 50 * ms, firsts[i + 1].time - 30 * ms)
              for i in range(len(REPLIES) - 1)]
    alone += [(lasts[-1].time + 50 * ms, clear.time - 30 * ms)]
    ducked = [(f.time + 50 * ms, l.time - 30 * ms) for f, l in zip(firsts, lasts)]
    result.bed_alone = rms_over(bed, result.t0, alone)
    result.bed_ducked = rms_over(bed, result.t0, ducked)
    result.bed_after_clear = rms_over(bed, result.t0, [(clear.time + 60 * ms, eos[0].time)])
    return result


def check(demo: AgentDemo, result: Analysis) -> list[str]:
    """What a successful run must have shown; returns the failures."""
    failures = []
    if not demo.eos:
        failures.append("the stream never reached EOS")
    firsts, lasts = demo.of_kind("first-audio"), demo.of_kind("last-audio")
    if not firsts:
        if not any("first-audio" in f for f in demo.failures):
            failures.append("no first-audio message: the element never played speech")
    elif len(firsts) != len(REPLIES) or len(lasts) != len(REPLIES):
        failures.append(f"expected {len(REPLIES)} utterances, got {len(firsts)} first-audio "
                        f"and {len(lasts)} last-audio messages")
    elif not lasts[0].interrupted or lasts[1].interrupted:
        failures.append("last-audio: expected interrupted=True for the first utterance only, "
                        f"got {[e.interrupted for e in lasts]}")
    interrupt = demo.call_event("interrupt")
    if interrupt is None:
        failures.append("the interrupt never happened (no mark for the sentence before it)")
    elif interrupt.dropped == 0:
        failures.append("interrupt returned 0 ns dropped")
    if demo.call_event("clear-background") is None and demo.eos:
        failures.append("clear-background was never called")
    spans = {span.number: span for span in result.spans}
    for n, record in sorted(demo.utterances.items()):
        mark, playout = demo.mark(n), record.playout
        if playout is None:
            failures.append(f"sentence {n}: its handle never resolved")
            continue
        if mark is None:
            failures.append(f"sentence {n}: no mark message came")
        elif mark.interrupted != (n == INTERRUPTED_SENTENCE):
            failures.append(f"mark sentence-{n}: interrupted={mark.interrupted}")
        if playout.interrupted != (n == INTERRUPTED_SENTENCE):
            failures.append(f"sentence {n}: the handle says interrupted={playout.interrupted}")
        # What the handle says was played, against the span on the bus (the sentence plays
        # without a gap: the TTS is faster than real time).
        span = spans.get(n)
        if span is not None and span.played is not None and \
                abs(round(playout.played_s * SECOND) - span.played) > MSECOND // 10:
            failures.append(f"sentence {n}: the handle says {playout.played_s:.4f} s played, "
                            f"the bus {secs(span.played, 4)}")
        if n == INTERRUPTED_SENTENCE and not (
                playout.heard_text and demo.sentences[n - 1].text.startswith(playout.heard_text)
                and playout.heard_text != demo.sentences[n - 1].text):
            failures.append(f"sentence {n}: heard_text {playout.heard_text!r} is not the start "
                            "of its text")
    for span in result.spans:
        if span.played is None:
            failures.append(f"sentence {span.number}: no start or end in the bus messages")
        # Resampled to 24 kHz, a sentence lasts its own length to the nearest output sample
        # (42 us), and its mark comes after its last one: allow 0.1 ms.
        elif not span.cut and abs(span.played - span.length) > MSECOND // 10:
            failures.append(f"sentence {span.number} played {secs(span.played)}, but it is "
                            f"{secs(span.length)} long")
    if result.bed_alone is not None and result.bed_ducked is not None:
        ducking = db(result.bed_ducked) - db(result.bed_alone)
        if db(result.bed_alone) < -50:
            failures.append(f"the bed is not audible on its own ({db(result.bed_alone):.1f} dBFS)")
        elif abs(ducking - db(DUCK_VOLUME)) > 1.0:
            failures.append(f"the bed under speech is {ducking:+.1f} dB from the bed alone, "
                            f"expected {db(DUCK_VOLUME):+.1f} dB (duck-volume {DUCK_VOLUME})")
    elif demo.eos:
        failures.append("the bed's levels could not be measured")
    if result.bed_after_clear is not None and result.bed_after_clear > 0.0005:
        failures.append("the bed is still audible after clear-background "
                        f"({db(result.bed_after_clear):.1f} dBFS)")
    return failures


# --------------------------------------------------------------------------------------
# The picture
# --------------------------------------------------------------------------------------

EVENT_STYLE = {
    # kind: (colour, line style, legend text)
    "first-audio": ("#2e7d32", "-", "first-audio (bus)"),
    "last-audio": ("#c62828", "-", "last-audio (bus)"),
    "mark": ("#6a1b9a", "-", "mark (bus)"),
    "call": ("#424242", "--", "the demo calls a signal"),
    "eos": ("#000000", ":", "EOS (bus)"),
}
SENTENCE_COLOURS = ["#ffe0b2", "#ffccbc", "#dcedc8"]
BED_COLOUR = "#00838f"


def event_label(ev: Event) -> str:
    if ev.kind == "last-audio":
        how = "interrupted, " if ev.interrupted else ""
        return f"last-audio ({how}{ev.duration / SECOND:.2f} s)"
    if ev.kind == "mark":
        return f"mark {ev.name}" + (" (interrupted)" if ev.interrupted else "")
    if ev.kind == "call":
        if ev.name == "interrupt":
            return f"interrupt(): {ev.dropped / SECOND:.2f} s dropped"
        return f"{ev.name}()"
    if ev.kind == "eos":
        return "EOS"
    return ev.kind


def envelope(x: np.ndarray, t0: int, bin_ms: float = 5.0):
    """Min/max per bin: a waveform of any length drawn with a few thousand points."""
    step = max(1, int(OUT_RATE * bin_ms / 1000))
    n = len(x) // step * step
    bins = x[:n].reshape(-1, step)
    t = t0 / SECOND + (np.arange(len(bins)) * step + step / 2) / OUT_RATE
    return t, bins.min(axis=1), bins.max(axis=1)


def level_db(x: np.ndarray, t0: int, window_ms: float = 20.0, floor: float = -70.0):
    """RMS level in dBFS per window (the element's buffers are 20 ms)."""
    step = int(OUT_RATE * window_ms / 1000)
    n = len(x) // step * step
    bins = x[:n].reshape(-1, step)
    rms = np.sqrt(np.mean(bins * bins, axis=1))
    with np.errstate(divide="ignore"):
        level = np.maximum(20 * np.log10(rms), floor)
    t = t0 / SECOND + (np.arange(len(bins)) * step + step / 2) / OUT_RATE
    return t, level


def place_labels(ax, fig, items: list[tuple[float, str, str]], rows: int) -> list[float]:
    """Put each (x, text, colour) label in the lowest row where it does not overlap a label
    already there (labels that would run past the right edge end at their x instead of
    starting there); returns the height (axes fraction) of each label's row."""
    renderer = fig.canvas.get_renderer()
    right_edge = ax.get_window_extent(renderer).x1
    placed: list[list] = [[] for _ in range(rows)]
    ys = [0.06 + i * (0.9 / rows) for i in range(rows)]

    def make(x, y, text, colour):
        label = ax.text(x, y, f" {text} ", fontsize=7.5, color=colour, ha="left",
                        va="bottom", transform=ax.get_xaxis_transform(), clip_on=False)
        if label.get_window_extent(renderer).x1 > right_edge:
            label.set_horizontalalignment("right")
        return label

    heights = []
    for x, text, colour in items:
        for row in range(rows):
            label = make(x, ys[row], text, colour)
            box = label.get_window_extent(renderer)
            if not any(box.overlaps(other) for other in placed[row]):
                placed[row].append(box)
                heights.append(ys[row])
                break
            label.remove()
        else:  # every row is taken here: accept an overlap in the top row
            make(x, ys[-1], text, colour)
            heights.append(ys[-1])
    return heights


def plot(demo: AgentDemo, result: Analysis, path: str):
    import matplotlib

    matplotlib.use("Agg")  # no display: render straight to the PNG
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    t0 = result.t0
    events = sorted(demo.events, key=lambda e: e.time)
    t_end = max(result.wav_seconds + t0 / SECOND, max(e.time for e in events) / SECOND)

    fig, (ax_ev, ax_out, ax_sp, ax_bed) = plt.subplots(
        4, 1, figsize=(12, 6.6), sharex=True,
        gridspec_kw={"height_ratios": [1.3, 1.9, 1.2, 1.2], "hspace": 0.1},
    )
    fig.subplots_adjust(left=0.075, right=0.985, top=0.93, bottom=0.15)
    fig.suptitle("agentaudiosrc demo: espeak-ng speech over a ducked, looped bed; "
                 "the caller barges in during sentence 2", fontsize=11)

    # Output: what the src pad played (the WAV file).
    t, lo, hi = envelope(result.out, t0)
    ax_out.fill_between(t, lo, hi, color="#1565c0", lw=0, label="output (src)")
    ax_out.set_ylim(-1, 1)
    ax_out.set_ylabel("output\n(src, WAV)", fontsize=8.5)

    # Speech: the voice alone, from speech_0, and each sentence's span from the bus messages.
    t, lo, hi = envelope(result.voice, t0)
    ax_sp.fill_between(t, lo, hi, color="#e65100", lw=0)
    ax_sp.set_ylim(-1, 1)
    ax_sp.set_ylabel("speech\n(speech_0)", fontsize=8.5)
    for span in result.spans:
        if span.start is None or span.end is None:
            continue
        a, b = span.start / SECOND, span.end / SECOND
        ax_sp.axvspan(a, b, color=SENTENCE_COLOURS[(span.number - 1) % 3], zorder=0)
        text = f"sentence {span.number}: {span.played / SECOND:.2f} s"
        if span.cut:
            text += f" of {span.length / SECOND:.2f} s"
        ax_sp.text(a + 0.04, 0.93, text, fontsize=7.5, va="top",
                   transform=ax_sp.get_xaxis_transform())
        if span.cut:
            # What the interrupt kept from being heard, drawn where it would have played.
            missing = (span.length - span.played) / SECOND
            ax_sp.add_patch(plt.Rectangle((b, -0.95), missing, 0.35, fill=False, hatch="////",
                                          edgecolor="#9e9e9e", lw=0.6))
            ax_sp.text(b + 0.04, -0.55, f"never played: {missing:.2f} s", fontsize=7.5,
                       color="#616161", va="bottom")
            record = demo.utterances.get(span.number)
            if record is not None and record.playout is not None:
                # The words before the cut (by character count: espeak-ng gives no timestamps).
                words = record.playout.heard_text.split()
                shown = " ".join(words[-4:])
                ax_sp.text(a + 0.04, -0.93, f"heard: \"{'... ' if len(words) > 4 else ''}"
                           f"{shown}\"", fontsize=7, style="italic", va="bottom")
    interrupt = demo.call_event("interrupt")
    firsts = demo.of_kind("first-audio")
    if interrupt is not None and len(firsts) > 1:
        ax_sp.text((interrupt.time + firsts[1].time) / 2 / SECOND, 0.3, "caller\ntalks",
                   fontsize=7.5, style="italic", color="#616161", ha="center", va="center")

    # Background: the bed's level, measured as output minus voice.
    t, level = level_db(result.out - result.voice, t0)
    ax_bed.plot(t, level, color=BED_COLOUR, lw=1.2)
    ax_bed.set_ylim(-72, -10)
    ax_bed.set_yticks([-60, -40, -20])
    ax_bed.set_ylabel("background\n(dBFS)", fontsize=8.5)
    if result.bed_alone and result.bed_ducked:
        alone, ducked = db(result.bed_alone), db(result.bed_ducked)
        ax_bed.text(t0 / SECOND + 0.05, alone + 5, f"alone: {alone:.1f} dBFS", fontsize=7.5,
                    va="bottom")
        if firsts:
            ax_bed.text(firsts[0].time / SECOND + 0.05, ducked - 4,
                        f"ducked under speech: {ducked:.1f} dBFS "
                        f"({ducked - alone:+.1f} dB, duck-volume {DUCK_VOLUME})",
                        fontsize=7.5, va="top")
        clear = demo.call_event("clear-background")
        if clear is not None:
            ax_bed.text(clear.time / SECOND - 0.05, -66, "faded out by clear-background",
                        fontsize=7.5, va="bottom", ha="right")

    # Every event: a line through the lanes, a labelled stem in the event lane.
    for ev in events:
        colour, style, _ = EVENT_STYLE[ev.kind]
        for ax in (ax_out, ax_sp, ax_bed):
            ax.axvline(ev.time / SECOND, color=colour, ls=style, lw=0.9, alpha=0.8)
    heights = place_labels(
        ax_ev, fig, [(e.time / SECOND, event_label(e), EVENT_STYLE[e.kind][0]) for e in events],
        rows=4,
    )
    for ev, y in zip(events, heights):
        colour, style, _ = EVENT_STYLE[ev.kind]
        ax_ev.plot([ev.time / SECOND] * 2, [0, y + 0.1], color=colour, ls=style, lw=0.9,
                   transform=ax_ev.get_xaxis_transform())
    ax_ev.set_ylim(0, 1)
    ax_ev.set_yticks([])
    ax_ev.set_ylabel("events", fontsize=8.5)
    for side in ("top", "right", "left"):
        ax_ev.spines[side].set_visible(False)

    for ax in (ax_out, ax_sp):
        ax.set_yticks([-0.5, 0, 0.5])
    for ax in (ax_ev, ax_out, ax_sp, ax_bed):
        ax.tick_params(labelsize=8)
        ax.grid(axis="x", color="#e0e0e0", lw=0.5)
    ax_bed.set_xlim(0, math.ceil(t_end * 2 + 0.5) / 2)
    ax_bed.set_xticks(np.arange(0, ax_bed.get_xlim()[1] + 0.01, 1.0))
    ax_bed.set_xlabel("running time (s)", fontsize=9)

    handles = [Line2D([], [], color=c, ls=s, lw=1.2, label=text)
               for c, s, text in EVENT_STYLE.values()]
    handles += [Patch(color="#1565c0", label="output: voice + bed"),
                Patch(color="#e65100", label="voice alone (speech_0)"),
                Line2D([], [], color=BED_COLOUR, lw=1.2, label="bed level (output − voice)")]
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=8, frameon=False)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --------------------------------------------------------------------------------------
# The summary
# --------------------------------------------------------------------------------------


def rel(path: str) -> str:
    """`path` relative to the working directory when it is below it, for shorter lines."""
    r = os.path.relpath(path)
    return path if r.startswith("..") else r


def summary(demo: AgentDemo, result: Analysis, png: str | None) -> list[str]:
    """A dozen lines a newcomer can read: the timeline, the ducking, the files."""
    timeline: list[tuple[int, str]] = [
        (0, f"the bed starts: {BED_SECONDS} s of 44.1 kHz stereo, looped, at "
            f"background-volume {BACKGROUND_VOLUME}")
    ]
    firsts = {e.time for e in demo.of_kind("first-audio")}
    for span in result.spans:
        if span.played is None:
            timeline.append((span.start or 0, f"sentence {span.number}: not played"))
            continue
        begin = f"sentence {span.number} starts" + (" (first-audio)" if span.start in firsts
                                                    else "")
        if span.cut:
            timeline.append((span.start, f"{begin}; cut at {span.end / SECOND:.2f} s after "
                             f"{span.played / SECOND:.2f} s of {span.length / SECOND:.2f} s: "
                             f"{(span.length - span.played) / SECOND:.2f} s never played"))
        else:
            timeline.append((span.start, f"{begin}; ends at {span.end / SECOND:.2f} s "
                             f"(mark sentence-{span.number}): {span.played / SECOND:.2f} s, "
                             "all of it"))
    interrupt = demo.call_event("interrupt")
    if interrupt is not None:
        mark = demo.mark(INTERRUPTED_SENTENCE)
        said = (f"mark sentence-{INTERRUPTED_SENTENCE} and last-audio came with interrupted=True"
                if mark is not None and mark.interrupted else
                "last-audio came with interrupted=True")
        fade_ms = demo.agent.get_property("interrupt-fade") // MSECOND
        timeline.append((interrupt.time, f"interrupt() dropped {interrupt.dropped / SECOND:.2f} s "
                         f"of queued speech after a {fade_ms} ms fade; {said}"))
    record = demo.utterances.get(INTERRUPTED_SENTENCE)
    heard = None if record is None or record.playout is None else record.playout
    if interrupt is not None and heard is not None:
        # espeak-ng gives no word timestamps: the text is aligned by characters (rough).
        timeline.append((interrupt.time + 1, f"the caller heard {heard.played_s:.2f} s of "
                         f"sentence {INTERRUPTED_SENTENCE}: \"{heard.heard_text}\" (its text "
                         "aligned by characters, give the TTS's word timestamps for an exact "
                         "cut)"))
    clear, eos = demo.call_event("clear-background"), demo.of_kind("eos")
    if clear is not None and eos:
        timeline.append((clear.time, "clear-background() fades the bed out; end-of-stream() -> "
                         f"EOS at {eos[0].time / SECOND:.2f} s"))

    lines = ["", "What happened (pipeline running times, from the bus messages):"]
    lines += [f"  {t / SECOND:5.2f} s  {text}" for t, text in sorted(timeline, key=lambda x: x[0])]
    if result.bed_alone and result.bed_ducked:
        alone, ducked = db(result.bed_alone), db(result.bed_ducked)
        lines.append(f"  Ducking: under the voice the bed is {ducked - alone:+.1f} dB "
                     f"({alone:.1f} dBFS alone, {ducked:.1f} ducked; duck-volume {DUCK_VOLUME} "
                     f"= {db(DUCK_VOLUME):+.1f} dB)")
    counts = {k: len(demo.of_kind(k)) for k in ("first-audio", "last-audio", "mark")}
    lines.append("  Bus messages: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    lines.append("Outputs:")
    if result.wav_seconds:
        lines.append(f"  WAV  {rel(demo.output)}  ({result.wav_seconds:.2f} s, 24 kHz mono): "
                     "listen to it")
    elif os.path.exists(demo.output):
        lines.append(f"  WAV  {rel(demo.output)}  (from a run that went wrong)")
    if png:
        lines.append(f"  PNG  {rel(png)}  (the waveform, speech and background lanes, every "
                     "event)")
    lines.append(f"Next: {DOCS} explains every message, signal and property; --verbose "
                 "prints each bus message as it arrives.")
    return lines


def verbose_details(demo: AgentDemo, result: Analysis, wall: float):
    log("")
    log("Details")
    for n, r in sorted(demo.utterances.items()):
        speech = demo.sentences[n - 1]
        p = r.playout
        state = "no playout" if p is None else (
            f"played {p.played_s:.3f} s of the {p.duration_s:.3f} s pushed"
            + (", cut by the interrupt" if p.interrupted else ""))
        log(f"  say sentence-{n} ({r.how}, a WAV file of {speech.rate} Hz x {speech.channels}): "
            f"the TTS gave {r.pushed} of its {len(speech.wav)} bytes in {r.chunks} chunks, "
            f"{r.waited} held back by max-speech-time; {state}")
    for ev in sorted(demo.events, key=lambda e: e.time):
        when = "" if ev.clock_time is None else f" (clock: {secs(ev.clock_time, 4)})"
        log(f"  {secs(ev.time, 4):>10}  {event_label(ev)}{when}")
    lasts = demo.of_kind("last-audio")
    spans = {s.number: s for s in result.spans}
    if lasts and all(spans.get(n) and spans[n].played for n in REPLIES[0]):
        total = sum(spans[n].played for n in REPLIES[0])
        log(f"  utterance 1: last-audio duration {secs(lasts[0].duration)}, sentences "
            f"{secs(total)} (the same speech counted two ways)")
    if result.bed_after_clear is not None:
        log(f"  bed after clear-background: {db(result.bed_after_clear):.1f} dBFS")
    if result.out is not None:
        clipped = int(np.count_nonzero(np.abs(result.out) >= 32767 / 32768))
        log(f"  clipped samples in the output: {clipped}")
    log(f"  wall time {wall:.2f} s")


def main() -> int:
    global VERBOSE
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", default="out/agent-demo.wav",
                        help="WAV file to write (default: %(default)s)")
    parser.add_argument("--plot", metavar="PATH",
                        help="PNG to write (default: the WAV's path with .png)")
    parser.add_argument("--no-plot", action="store_true", help="do not draw the PNG")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="print every bus message and what the demo does, as it happens")
    parser.add_argument("--max-speech-time-ms", type=int, default=4000,
                        help="back-pressure: push-speech blocks while this much speech is queued "
                        "(default: %(default)s)")
    parser.add_argument("--lead-in-ms", type=int, default=1000,
                        help="the bed alone before the first sentence (default: %(default)s)")
    parser.add_argument("--pause-ms", type=int, default=1200,
                        help="the caller talks this long between the interrupt and the reply "
                        "(default: %(default)s)")
    parser.add_argument("--tail-ms", type=int, default=1000,
                        help="the bed alone after the last sentence (default: %(default)s)")
    parser.add_argument("--timeout", type=int, default=40,
                        help="give up after this many seconds (default: %(default)s)")
    args = parser.parse_args()
    VERBOSE = args.verbose

    if np is None:
        print("numpy is missing: install python3-matplotlib (bash scripts/install-deps.sh), "
              "and run with /usr/bin/python3", file=sys.stderr)
        return 2
    Gst.init(None)
    if Gst.ElementFactory.find("agentaudiosrc") is None:
        print("agentaudiosrc not found: build the plugin (bash scripts/build.sh) and set "
              "GST_PLUGIN_PATH=$PWD/builddir/gst/agentaudio", file=sys.stderr)
        return 2

    output = os.path.abspath(args.output)
    os.makedirs(os.path.dirname(output), exist_ok=True)
    png = None
    if not args.no_plot:
        png = os.path.abspath(args.plot or os.path.splitext(output)[0] + ".png")

    sentences = render_sentences(SENTENCES)
    log(f"Synthesised {len(sentences)} sentences with espeak-ng (WAV files of "
        f"{sentences[0].rate} Hz mono, pushed as they are, header included):")
    for s in sentences:
        log(f"  {s.number}. \"{s.text}\" ({s.duration / SECOND:.2f} s)")
    bed = make_bed()

    demo = AgentDemo(output, sentences, args.max_speech_time_ms * MSECOND, args.timeout,
                     args.lead_in_ms, args.pause_ms, args.tail_ms)
    log("Playing in real time (about 12 s): the voice over a ducked bed, a barge-in during "
        f"sentence {INTERRUPTED_SENTENCE} ...")
    vlog(f"  pipeline: agentaudiosrc (max-speech-time={args.max_speech_time_ms} ms, "
         f"background-volume={BACKGROUND_VOLUME}, duck-volume={DUCK_VOLUME}, background-loop) "
         f"! {OUTPUT_CAPS} ! wavenc ! filesink location={output}; agent.speech_0 ! queue ! "
         "appsink")
    wall = asyncio.run(demo.run(bed))

    result = Analysis(spans=sentence_spans(demo))
    try:
        result = analyse(demo)
    except (OSError, wave.Error, EOFError, RuntimeError) as exc:
        demo.failures.append(f"the WAV file is unreadable: {exc}")
    demo.failures.extend(check(demo, result))

    if png is not None and result.out is not None and demo.events:
        try:
            plot(demo, result, png)
        except ImportError as exc:
            demo.failures.append(f"matplotlib is missing ({exc}): install python3-matplotlib "
                                 "(bash scripts/install-deps.sh)")
            png = None
    else:
        png = None

    if VERBOSE:
        verbose_details(demo, result, wall)
    for line in summary(demo, result, png):
        log(line)

    if demo.failures:
        print("", file=sys.stderr)
        for f in demo.failures:
            print(f"FAILED: {f}", file=sys.stderr)
        print("Run with --verbose to see every bus message.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
