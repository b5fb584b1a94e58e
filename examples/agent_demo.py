#!/usr/bin/python3
"""A voice agent's speech path through agentaudiosrc, end to end, over a ducked background bed.

Three sentences are synthesised with espeak-ng and pushed into

    agentaudiosrc name=agent ! audio/x-raw,rate=24000,channels=1 ! wavenc ! filesink

in espeak-ng's NATIVE format (S16LE, 22050 Hz, mono, read from its WAV header): the element
converts any raw audio input to its output format itself, so there is no resampling pipeline in
front of it. Sentence 1 is pushed with `push-speech-sample`, each chunk a GstSample carrying its
own caps; sentences 2 and 3 with plain `push-speech`, after setting `speech-caps` to the same
format. The capsfilter pins the output (and so the WAV file) to 24 kHz mono; without it the
output would follow `speech-caps`.

Under the voice plays a 2-second ambient bed, generated here as S16LE, 44100 Hz, STEREO (the
element downmixes and resamples it too): pushed once before PLAYING, looped
(`background-loop`), at `background-volume` 0.3 and ducked to a quarter (`duck-volume` 0.25)
while speech plays. The bed plays alone for a short lead-in before the first sentence and for a
short tail after the last one; then `clear-background` fades it out and `end-of-stream` lets the
pipeline reach EOS so that the WAV file is finalised.

The speech is streamed the way a streaming TTS would: small, oddly sized chunks from a feeder
thread, with `max-speech-time` making the pushes block (back-pressure) so the element never
holds much more than 200 ms of speech. Half way through the second sentence the caller "barges
in": the main loop calls `interrupt`, which drops the queued speech and wakes the blocked push
with FLUSHING, and the feeder moves on to the third sentence.

Every bus message is printed as it arrives (the element's first-audio, last-audio and mark with
all their fields). At the end the demo measures, from the WAV file it wrote, the level of the bed
alone, of the bed ducked under the voice and of the silence after clear-background.

Run it with the Debian interpreter (it needs PyGObject) and the plugin on GST_PLUGIN_PATH:

    GST_PLUGIN_PATH=$PWD/builddir/gst/agentaudio /usr/bin/python3 examples/agent_demo.py
"""

import argparse
import array
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import wave

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402

# What the element puts out, pinned by a capsfilter so that the WAV format is stable.
OUT_RATE = 24000
OUT_CHANNELS = 1
OUTPUT_CAPS = f"audio/x-raw,rate={OUT_RATE},channels={OUT_CHANNELS}"

MSECOND = 1_000_000
SECOND = 1_000_000_000

SENTENCES = [
    "Hello! I am your voice agent, and this audio is streamed through GStreamer.",
    "This second sentence is deliberately long, so that the caller can interrupt me "
    "half way through it, exactly like a person who starts talking over an agent "
    "that will not stop.",
    "Sorry, you cut me off. This is the third and final sentence.",
]
INTERRUPTED_SENTENCE = 2  # 1-based, as in the mark names
SAMPLE_SENTENCES = {1}  # pushed with push-speech-sample; the others with push-speech

# Like a streaming TTS: mostly 20 ms chunks, some that split a sample in two.
CHUNK_SIZES = [882, 883, 441, 1437, 3, 881, 2000]

# The background bed: S16LE, 44100 Hz, stereo, 2 s, played in a loop.
BED_RATE = 44100
BED_CHANNELS = 2
BED_SECONDS = 2
BED_CAPS = (
    f"audio/x-raw,format=S16LE,layout=interleaved,rate={BED_RATE},channels={BED_CHANNELS}"
)
BACKGROUND_VOLUME = 0.3
DUCK_VOLUME = 0.25


def log(msg):
    print(msg, flush=True)


def fmt_time(ns):
    if ns is None:
        return "none"
    if ns == Gst.CLOCK_TIME_NONE:
        return "NONE"
    return f"{ns / SECOND:.3f}s"


def db(x):
    return 20 * math.log10(x) if x > 0 else float("-inf")


# --------------------------------------------------------------------------------------
# Text to speech bytes, in espeak-ng's own format
# --------------------------------------------------------------------------------------


class Speech:
    """One sentence as espeak-ng wrote it: raw S16LE bytes and their format."""

    def __init__(self, text, pcm, rate, channels):
        self.text = text
        self.pcm = pcm
        self.rate = rate
        self.channels = channels
        self.caps_string = (
            f"audio/x-raw,format=S16LE,layout=interleaved,rate={rate},channels={channels}"
        )
        self.caps = Gst.Caps.from_string(self.caps_string)

    @property
    def bytes_per_frame(self):
        return 2 * self.channels

    def ns(self, n_bytes):
        return n_bytes // self.bytes_per_frame * SECOND // self.rate


def synthesise(text, wav_path):
    """Render `text` with espeak-ng and return it in espeak-ng's native format."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise RuntimeError("espeak-ng not found (bash scripts/install-deps.sh installs it)")
    # -w writes a complete WAV header (with --stdout the data size is a "streaming" dummy).
    subprocess.run([espeak, "-w", wav_path, text], check=True)
    with wave.open(wav_path, "rb") as w:
        if w.getsampwidth() != 2 or w.getcomptype() != "NONE":
            raise RuntimeError(f"{wav_path}: expected 16-bit PCM, got {w.getparams()}")
        # WAV PCM with 16-bit samples is little-endian signed: exactly S16LE.
        return Speech(text, w.readframes(w.getnframes()), w.getframerate(), w.getnchannels())


def render_sentences(texts):
    with tempfile.TemporaryDirectory(prefix="agent-demo-") as tmp:
        return [
            synthesise(text, os.path.join(tmp, f"sentence-{i}.wav"))
            for i, text in enumerate(texts, 1)
        ]


# --------------------------------------------------------------------------------------
# The background bed
# --------------------------------------------------------------------------------------


def make_bed():
    """A soft two-chord pad with a slow tremolo, as S16LE 44100 Hz stereo bytes.

    Every frequency makes a whole number of cycles in BED_SECONDS, and the chord crossfade and
    the tremolo are periodic too, so the loop point is seamless. The crossfade keeps the power
    constant and each note is panned (louder left or right) without changing its level in a
    mono downmix, so the bed's level stays steady and the ducking is easy to measure.
    """
    chord_a = [261.5, 329.5, 392.0]  # ~C major
    chord_b = [293.5, 349.0, 440.0]  # ~D minor (no note in common: the powers add)
    pans = [-0.5, 0.0, 0.5]  # per note of each chord: left ... right
    n = BED_RATE * BED_SECONDS
    two_pi = 2 * math.pi
    out = array.array("h")
    for i in range(n):
        t = i / BED_RATE
        theta = math.pi / 4 * (1 - math.cos(two_pi * t / BED_SECONDS))  # 0 -> pi/2 -> 0
        wa, wb = math.cos(theta), math.sin(theta)  # equal-power crossfade A -> B -> A
        tremolo = 1.0 + 0.1 * math.sin(two_pi * 1.0 * t)  # 1 Hz, +-0.8 dB
        left = right = 0.0
        for fa, fb, pan in zip(chord_a, chord_b, pans):
            v = wa * math.sin(two_pi * fa * t) + wb * math.sin(two_pi * fb * t)
            left += v * (1 - pan)
            right += v * (1 + pan)
        scale = 0.35 / 3 * tremolo * 32767
        out.append(int(left * scale))
        out.append(int(right * scale))
    if sys.byteorder != "little":
        out.byteswap()
    return out.tobytes()


# --------------------------------------------------------------------------------------
# The demo
# --------------------------------------------------------------------------------------


class AgentDemo:
    def __init__(self, output, sentences, max_speech_time, timeout_s, lead_in_ms, tail_ms):
        self.output = output
        self.sentences = sentences
        self.timeout_s = timeout_s
        self.lead_in_s = lead_in_ms / 1000
        self.tail_ms = tail_ms
        self.loop = GLib.MainLoop()
        self.failures = []

        # Set by the main loop just before it interrupts; the feeder then drops the rest of
        # the interrupted sentence, whether its blocked push returned FLUSHING or not.
        self.barge_in = threading.Event()
        # Set when the demo shuts the pipeline down: FLUSHING is then expected.
        self.stopping = threading.Event()
        self.interrupt_dropped_ns = None
        self.interrupt_running_time = None
        self.interrupt_scheduled = False
        self.finish_scheduled = False
        self.clear_dropped_ns = None
        self.clear_running_time = None
        self.eos_running_time = None

        # Written by the feeder thread, read once it has been joined.
        self.feeder_log = []
        self.feeder_error = None
        self.flushing_returns = 0

        self.seen = {"first-audio": 0, "last-audio": 0, "mark": 0}
        self.first_audio = []  # running times
        self.last_audio = []  # running times
        self.marks = []
        self.first_pts = None  # PTS of the first buffer = the first sample of the WAV file
        self.eos = False

        self.pipeline = Gst.parse_launch(
            f"agentaudiosrc name=agent ! {OUTPUT_CAPS} ! wavenc ! filesink name=sink"
        )
        self.agent = self.pipeline.get_by_name("agent")
        if self.agent is None:
            raise RuntimeError("agentaudiosrc missing from the pipeline")
        self.pipeline.get_by_name("sink").set_property("location", output)
        self.pipeline.use_clock(Gst.SystemClock.obtain())

        self.agent.set_property("max-speech-time", max_speech_time)
        self.agent.set_property("background-caps", Gst.Caps.from_string(BED_CAPS))
        self.agent.set_property("background-loop", True)
        self.agent.set_property("background-volume", BACKGROUND_VOLUME)
        self.agent.set_property("duck-volume", DUCK_VOLUME)

        self.agent.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, self.on_first_buffer)

        bus = self.pipeline.get_bus()
        bus.add_signal_watch()
        bus.connect("message", self.on_message)

        self.feeder = threading.Thread(target=self.feed, name="tts-feeder", daemon=True)

    def on_first_buffer(self, _pad, info):
        self.first_pts = info.get_buffer().pts
        return Gst.PadProbeReturn.REMOVE

    # ---- feeder thread: the "TTS engine" --------------------------------------------

    def push(self, n, speech, chunk):
        buf = Gst.Buffer.new_wrapped(chunk)
        if n in SAMPLE_SENTENCES:
            # The sample's caps describe the bytes: speech-caps is not consulted.
            return self.agent.emit("push-speech-sample", Gst.Sample.new(buf, speech.caps, None, None))
        return self.agent.emit("push-speech", buf)

    def feed(self):
        try:
            self._feed()
        except Exception as exc:  # reported by the main thread after join
            self.feeder_error = exc
        finally:
            GLib.idle_add(self.on_feeder_done)

    def _feed(self):
        # The bed plays alone for the lead-in, as while the agent "thinks".
        if self.stopping.wait(self.lead_in_s):
            return
        for n, speech in enumerate(self.sentences, 1):
            how = "push-speech-sample"
            if n not in SAMPLE_SENTENCES:
                how = "push-speech"
                # Plain push-speech takes its format from speech-caps, which applies to the
                # data pushed after the change (the element is PLAYING by now).
                if not self.agent.get_property("speech-caps").is_equal(speech.caps):
                    self.agent.set_property("speech-caps", speech.caps)
            pcm = speech.pcm
            pos = 0
            n_chunks = 0
            cut = False
            while pos < len(pcm):
                # Almost always the interrupt finds this thread blocked in push-speech and
                # the push returns FLUSHING; this check covers the instant between two pushes.
                if n == INTERRUPTED_SENTENCE and self.barge_in.is_set():
                    cut = True
                    break
                size = CHUNK_SIZES[n_chunks % len(CHUNK_SIZES)]
                n_chunks += 1
                chunk = pcm[pos : pos + size]
                ret = self.push(n, speech, chunk)
                if ret == Gst.FlowReturn.OK:
                    pos += len(chunk)
                    continue
                if self.stopping.is_set():
                    return  # the demo is shutting the pipeline down
                if (
                    ret == Gst.FlowReturn.FLUSHING
                    and n == INTERRUPTED_SENTENCE
                    and self.barge_in.is_set()
                ):
                    # The interrupt woke this blocked push: the chunk was not queued.
                    self.flushing_returns += 1
                    cut = True
                    break
                raise RuntimeError(f"{how} returned {ret.value_nick} in sentence {n}")
            if cut:
                self.feeder_log.append(
                    f"sentence-{n} ({how}): cut by the interrupt after "
                    f"{fmt_time(speech.ns(pos))} of {fmt_time(speech.ns(len(pcm)))} pushed; "
                    f"{fmt_time(speech.ns(len(pcm) - pos))} never pushed"
                )
                continue
            self.agent.emit("mark", f"sentence-{n}")
            self.feeder_log.append(
                f"sentence-{n} ({how}, {speech.rate} Hz x {speech.channels}): "
                f"{fmt_time(speech.ns(len(pcm)))} pushed in {n_chunks} chunks, mark placed"
            )
        # The main loop ends the stream once the last mark has played (see finish()).

    # ---- main loop ------------------------------------------------------------------

    def running_time(self):
        clock = self.pipeline.get_clock()
        if clock is None:
            return None
        return clock.get_time() - self.pipeline.get_base_time()

    def schedule_interrupt(self, sentence_start_rt):
        """Interrupt when half of the interrupted sentence has played."""
        if self.interrupt_scheduled:
            return
        self.interrupt_scheduled = True
        speech = self.sentences[INTERRUPTED_SENTENCE - 1]
        half = speech.ns(len(speech.pcm)) // 2
        target = sentence_start_rt + half
        now = self.running_time()
        if now is None:
            now = sentence_start_rt
        delay_ms = max(0, (target - now) // MSECOND)
        log(
            f"  demo: sentence-{INTERRUPTED_SENTENCE} starts at {fmt_time(sentence_start_rt)}; "
            f"barging in at {fmt_time(target)} (in {delay_ms} ms)"
        )
        GLib.timeout_add(delay_ms, self.do_interrupt)

    def do_interrupt(self):
        self.barge_in.set()
        self.interrupt_running_time = self.running_time()
        self.interrupt_dropped_ns = self.agent.emit("interrupt")
        log(
            f"  demo: interrupt at {fmt_time(self.interrupt_running_time)} -> "
            f"dropped {self.interrupt_dropped_ns} ns ({fmt_time(self.interrupt_dropped_ns)}) "
            "of queued speech"
        )
        return GLib.SOURCE_REMOVE

    def schedule_finish(self):
        """After the last sentence: the bed alone for a while, then clear it, then EOS."""
        if self.finish_scheduled:
            return
        self.finish_scheduled = True
        log(f"  demo: last sentence played; the bed plays alone for {self.tail_ms} ms")
        GLib.timeout_add(self.tail_ms, self.do_clear_background)

    def do_clear_background(self):
        queued = self.agent.get_property("queued-background-time")
        self.clear_running_time = self.running_time()
        self.clear_dropped_ns = self.agent.emit("clear-background")
        log(
            f"  demo: clear-background at {fmt_time(self.clear_running_time)} -> returned "
            f"{self.clear_dropped_ns} ns ({fmt_time(self.clear_dropped_ns)}) dropped "
            f"(queued-background-time was {fmt_time(queued)}: the rest of the current loop)"
        )
        # Let the fade-out and a little silence reach the file before ending the stream.
        GLib.timeout_add(200, self.do_end_of_stream)
        return GLib.SOURCE_REMOVE

    def do_end_of_stream(self):
        ret = self.agent.emit("end-of-stream")
        log(f"  demo: end-of-stream at {fmt_time(self.running_time())} -> {ret.value_nick}")
        if ret != Gst.FlowReturn.OK:
            self.fail(f"end-of-stream returned {ret.value_nick}")
        return GLib.SOURCE_REMOVE

    def on_feeder_done(self):
        if self.feeder_error is not None:
            self.fail(f"feeder: {self.feeder_error}")
        return GLib.SOURCE_REMOVE

    def on_timeout(self):
        self.timeout_id = None
        self.fail(f"timed out after {self.timeout_s} s")
        return GLib.SOURCE_REMOVE

    def on_sigint(self):
        self.sigint_id = None
        self.fail("interrupted by SIGINT")
        return GLib.SOURCE_REMOVE

    def fail(self, why):
        log(f"  demo: stopping: {why}")
        self.failures.append(why)
        self.loop.quit()

    @staticmethod
    def describe_structure(s):
        parts = []
        for i in range(s.n_fields()):
            name = s.nth_field_name(i)
            value = s.get_value(name)
            if name in ("running-time", "duration", "dropped"):
                parts.append(f"{name}={fmt_time(value)}")
            else:
                parts.append(f"{name}={value}")
        return f"{s.get_name():<11} " + " ".join(parts)

    def on_message(self, _bus, msg):
        t = msg.type
        src_name = msg.src.get_name() if msg.src else "?"
        if t == Gst.MessageType.ELEMENT and msg.src == self.agent:
            s = msg.get_structure()
            name = s.get_name()
            log(f"  bus: {self.describe_structure(s)}")
            if name in self.seen:
                self.seen[name] += 1
            if name == "first-audio":
                self.first_audio.append(s.get_value("running-time"))
            elif name == "last-audio":
                self.last_audio.append(s.get_value("running-time"))
            elif name == "mark":
                mark = s.get_string("name")
                self.marks.append((mark, s.get_value("running-time"), s.get_value("interrupted")))
                if mark == f"sentence-{INTERRUPTED_SENTENCE - 1}":
                    self.schedule_interrupt(s.get_value("running-time"))
                if mark == f"sentence-{len(self.sentences)}":
                    self.schedule_finish()
        elif t == Gst.MessageType.ERROR:
            err, dbg = msg.parse_error()
            self.fail(f"error from {src_name}: {err.message}\n  debug: {dbg}")
        elif t == Gst.MessageType.WARNING:
            err, dbg = msg.parse_warning()
            log(f"  bus: WARNING from {src_name}: {err.message} ({dbg})")
        elif t == Gst.MessageType.EOS:
            self.eos_running_time = self.running_time()
            log(f"  bus: EOS at running time {fmt_time(self.eos_running_time)}")
            self.eos = True
            self.loop.quit()
        elif t == Gst.MessageType.STATE_CHANGED:
            if msg.src == self.pipeline:  # every element posts these; the pipeline's suffice
                old, new, _pending = msg.parse_state_changed()
                log(
                    f"  bus: state-changed {src_name}: {old.value_nick} -> {new.value_nick}"
                )
        else:
            # stream-status, stream-start, new-clock, latency, async-done, element messages
            # of other elements, ...: type, source and fields, whatever they are.
            s = msg.get_structure()
            fields = f" {s.to_string()}" if s is not None else ""
            names = Gst.MessageType.get_name(t)
            log(f"  bus: {names} from {src_name}{fields}")
        return True

    def run(self, bed):
        self.timeout_id = GLib.timeout_add_seconds(self.timeout_s, self.on_timeout)
        self.sigint_id = GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, self.on_sigint)
        started = time.monotonic()
        # Pushed once, before PLAYING: it plays from the first buffer, and forever
        # (background-loop) until clear-background.
        ret = self.agent.emit("push-background", Gst.Buffer.new_wrapped(bed))
        if ret != Gst.FlowReturn.OK:
            self.fail(f"push-background returned {ret.value_nick}")
            return 0.0
        self.feeder.start()
        if self.pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            self.fail("the pipeline refused to go to PLAYING")
        else:
            self.loop.run()
        wall = time.monotonic() - started
        for source_id in (self.timeout_id, self.sigint_id):
            if source_id is not None:
                GLib.source_remove(source_id)

        self.stopping.set()
        bus = self.pipeline.get_bus()
        bus.remove_signal_watch()
        if not self.eos:
            self.finalise_after_failure(bus)
        # NULL unblocks a feeder still waiting in push-speech (it gets FLUSHING).
        self.pipeline.set_state(Gst.State.NULL)
        self.feeder.join(timeout=5)
        if self.feeder.is_alive():
            self.failures.append("the feeder thread did not finish")
        if self.feeder_error is not None and not any("feeder" in f for f in self.failures):
            self.failures.append(f"feeder: {self.feeder_error}")
        return wall

    def finalise_after_failure(self, bus):
        """Stopped early: still send EOS through so that wavenc writes a valid header."""
        self.pipeline.send_event(Gst.Event.new_eos())
        msg = bus.timed_pop_filtered(
            2 * SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR
        )
        if msg is None or msg.type != Gst.MessageType.EOS:
            log("  demo: the WAV file could not be finalised")

    def check(self):
        """What a successful run must have shown."""
        if not self.eos:
            self.failures.append("no EOS")
        if self.seen["first-audio"] == 0:
            self.failures.append("no first-audio message")
        if self.interrupt_dropped_ns is None:
            self.failures.append("the interrupt never happened (no mark for the sentence before)")
        elif self.interrupt_dropped_ns == 0:
            self.failures.append("interrupt returned 0 ns dropped")
        if self.clear_dropped_ns is None:
            self.failures.append("clear-background was never called")
        names = [m[0] for m in self.marks]
        for n in range(1, len(self.sentences) + 1):
            if n != INTERRUPTED_SENTENCE and f"sentence-{n}" not in names:
                self.failures.append(f"no mark message for sentence-{n}")


# --------------------------------------------------------------------------------------
# Checking the result
# --------------------------------------------------------------------------------------


def read_wav(path):
    try:
        with wave.open(path, "rb") as w:
            rate, channels = w.getframerate(), w.getnchannels()
            samples = array.array("h", w.readframes(w.getnframes()))
    except (OSError, wave.Error, EOFError) as exc:
        return None, str(exc), None
    if sys.byteorder != "little":
        samples.byteswap()
    return samples, rate, channels


def rms(samples, windows, rate, t0):
    """RMS (0..1) of mono `samples` over [start, end) running-time windows; t0 = sample 0."""
    total, count = 0.0, 0
    for start, end in windows:
        a = max(0, (start - t0) * rate // SECOND)
        b = min(len(samples), (end - t0) * rate // SECOND)
        for x in samples[a:b]:
            total += x * x
        count += max(0, b - a)
    if count == 0:
        return None, 0
    return math.sqrt(total / count) / 32768, count * SECOND // rate


def speech_gaps(speech, min_ns=60 * MSECOND, margin=20 * MSECOND):
    """Stretches inside a sentence where espeak-ng wrote digital silence, as [start, end)
    offsets in ns from the sentence's start, shrunk by `margin` (resampler ringing)."""
    frame = speech.bytes_per_frame
    data = speech.pcm
    n_frames = len(data) // frame
    silent = bytes(frame)
    gaps, start = [], None
    for i in range(n_frames + 1):
        is_zero = i < n_frames and data[i * frame : (i + 1) * frame] == silent
        if is_zero and start is None:
            start = i
        elif not is_zero and start is not None:
            a, b = start * SECOND // speech.rate, i * SECOND // speech.rate
            if b - a >= min_ns and i < n_frames:  # not the trailing silence
                gaps.append((a + margin, b - margin))
            start = None
    return gaps


def measure_levels(demo, samples, rate):
    """Levels in the WAV file: the bed alone, the bed ducked under the voice, and after
    clear-background. Returns printable lines and the failures it found."""
    if demo.first_pts is None or not demo.first_audio or not demo.last_audio:
        return ["levels: not measured (missing timestamps)"], []
    t0 = demo.first_pts
    ms20, ms50 = 20 * MSECOND, 50 * MSECOND
    # Sentence 1 starts with the first first-audio; its silent gaps still count as speech for
    # the element (queued speech is playing), so there the file holds the ducked bed alone.
    s1_start = demo.first_audio[0]
    windows = {
        "bed alone, lead-in": [(t0 + ms50, demo.first_audio[0] - ms20)],
        "bed ducked (speech gaps)": [
            (s1_start + a, s1_start + b) for a, b in speech_gaps(demo.sentences[0])
        ],
        "speech over ducked bed": [(demo.first_audio[0], demo.last_audio[0])],
        "bed alone, tail": [(demo.last_audio[-1] + ms50, (demo.clear_running_time or 0) - ms20)],
        "after clear-background": [
            ((demo.clear_running_time or 0) + 3 * ms20, (demo.eos_running_time or 0) - ms50)
        ],
    }
    levels, lines = {}, []
    for name, w in windows.items():
        level, span = rms(samples, w, rate, t0)
        levels[name] = level
        shown = "n/a" if level is None else f"{db(level):6.1f} dBFS"
        lines.append(f"  {name:<26} {shown}  over {fmt_time(span)}")
    failures = []
    alone = [levels["bed alone, lead-in"], levels["bed alone, tail"]]
    ducked = levels["bed ducked (speech gaps)"]
    if None in alone or ducked is None:
        failures.append("levels: a measuring window was empty")
        return lines, failures
    bed = (alone[0] + alone[1]) / 2
    lines.append(
        f"  ducking: {db(ducked) - db(bed):+.1f} dB (duck-volume {DUCK_VOLUME} = "
        f"{db(DUCK_VOLUME):+.1f} dB)"
    )
    if bed < 0.003:
        failures.append(f"the bed is not audible on its own ({db(bed):.1f} dBFS)")
    if abs(db(ducked) - db(bed) - db(DUCK_VOLUME)) > 2.0:
        failures.append(
            f"the bed under speech is {db(ducked) - db(bed):+.1f} dB from the bed alone, "
            f"expected about {db(DUCK_VOLUME):+.1f} dB"
        )
    after = levels["after clear-background"]
    if after is not None and after > 0.001:
        failures.append(f"the bed is still audible after clear-background ({db(after):.1f} dBFS)")
    return lines, failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", default="out/agent-demo.wav", help="WAV file to write")
    parser.add_argument(
        "--max-speech-time-ms", type=int, default=200,
        help="back-pressure: push-speech blocks while this much speech is queued",
    )
    parser.add_argument(
        "--lead-in-ms", type=int, default=1000, help="bed alone before the first sentence"
    )
    parser.add_argument(
        "--tail-ms", type=int, default=1000, help="bed alone after the last sentence"
    )
    parser.add_argument("--timeout", type=int, default=60, help="give up after this many seconds")
    args = parser.parse_args()

    Gst.init(None)
    if Gst.ElementFactory.find("agentaudiosrc") is None:
        print(
            "agentaudiosrc not found: build the plugin (bash scripts/build.sh) and set "
            "GST_PLUGIN_PATH=$PWD/builddir/gst/agentaudio",
            file=sys.stderr,
        )
        return 2

    output = os.path.abspath(args.output)
    os.makedirs(os.path.dirname(output), exist_ok=True)

    log("Synthesising three sentences with espeak-ng ...")
    sentences = render_sentences(SENTENCES)
    for i, s in enumerate(sentences, 1):
        log(f"  sentence-{i}: {fmt_time(s.ns(len(s.pcm)))} as {s.caps_string}")
        log(f"    \"{s.text}\"")
    bed = make_bed()
    log(f"Background bed: {BED_SECONDS} s as {BED_CAPS}, looped")

    demo = AgentDemo(
        output, sentences, args.max_speech_time_ms * MSECOND, args.timeout,
        args.lead_in_ms, args.tail_ms,
    )
    log(
        f"Playing: agentaudiosrc (max-speech-time={args.max_speech_time_ms} ms, "
        f"background-volume={BACKGROUND_VOLUME}, duck-volume={DUCK_VOLUME}, background-loop) "
        f"! {OUTPUT_CAPS} ! wavenc ! filesink location={output}"
    )
    wall = demo.run(bed)
    demo.check()

    log("")
    log("Summary")
    for line in demo.feeder_log:
        log(f"  {line}")
    log(
        f"  messages: {demo.seen['first-audio']} first-audio, {demo.seen['last-audio']} last-audio, "
        f"{demo.seen['mark']} mark"
    )
    if demo.interrupt_dropped_ns is not None:
        log(
            f"  interrupt: at {fmt_time(demo.interrupt_running_time)}, dropped "
            f"{fmt_time(demo.interrupt_dropped_ns)}; blocked pushes woken with FLUSHING: "
            f"{demo.flushing_returns}"
        )
    if demo.clear_dropped_ns is not None:
        log(
            f"  clear-background: at {fmt_time(demo.clear_running_time)}, returned "
            f"{demo.clear_dropped_ns} ns ({fmt_time(demo.clear_dropped_ns)})"
        )
    log(f"  EOS reached: {demo.eos}; wall time {wall:.2f} s")
    samples, rate, channels = read_wav(output)
    if samples is None:
        demo.failures.append(f"the WAV file is unreadable: {rate}")
    else:
        log(f"  WAV: {output} ({len(samples) / channels / rate:.3f} s, {rate} Hz, {channels} ch)")
        if demo.eos and (rate, channels) == (OUT_RATE, OUT_CHANNELS):
            log("  levels in the WAV file (RMS):")
            lines, failures = measure_levels(demo, samples, rate)
            for line in lines:
                log(f"  {line}")
            demo.failures.extend(failures)

    if demo.failures:
        for f in demo.failures:
            print(f"FAILED: {f}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
