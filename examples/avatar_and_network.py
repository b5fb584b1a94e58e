#!/usr/bin/python3
"""agentaudiosrc feeding the network from `src` and an avatar plus a recorder from `speech_0`.

The voice agent's mixed output (speech over a quiet background bed) goes to the network as
Opus over RTP, to 127.0.0.1 only, while the speech alone, without the bed, goes to a recorder
(a WAV file) and to an "avatar" that moves its mouth with the voice:

    agentaudiosrc name=agent
        ! audioconvert ! audioresample ! opusenc ! rtpopuspay ! udpsink host=127.0.0.1
    agent.speech_0 ! queue ! tee name=t
        t. ! queue ! wavenc ! filesink location=OUTDIR/speech-only.wav     (the recorder)
        t. ! queue ! appsink name=avatar                                    (the avatar)

The avatar computes the RMS of every 20 ms of the speech-only stream, maps it to a "mouth
openness" between 0 and 1 and prints an ASCII mouth meter every 100 ms. A receiver in the same
process (udpsrc ! rtpjitterbuffer ! rtpopusdepay ! opusdec ! fakesink, on its own pipeline)
counts the RTP packets and decodes them, to show that the network path works.

Speech is two espeak-ng sentences, pushed in espeak-ng's native format (S16LE, 22050 Hz, mono):
the first with `push-speech-sample` (each chunk carries its caps), the second with `push-speech`
after `speech-caps` has been set to that format. The element negotiates its output with
downstream: opusenc prefers 48000 Hz, so the element converts the speech to 48 kHz itself (the
audioresample in front of opusenc passes it through) and, as request pads always have the caps of
`src`, the recording is 48 kHz too. The bed is generated as F32LE, 48000 Hz, mono and converted
by the element as well.

Run it with the Debian interpreter (it needs PyGObject) and the plugin on GST_PLUGIN_PATH:

    GST_PLUGIN_PATH=$PWD/builddir/gst/agentaudio /usr/bin/python3 examples/avatar_and_network.py

It runs for about 5 seconds and prints where it wrote its file.
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
import wave

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402

MSECOND = 1_000_000
SECOND = 1_000_000_000

SENTENCES = [
    "Hello, I am the avatar's voice.",
    "Watch my mouth move, while the network hears me too.",
]

BED_RATE = 48000
BED_CAPS = f"audio/x-raw,format=F32LE,layout=interleaved,rate={BED_RATE},channels=1"
BACKGROUND_VOLUME = 0.5
DUCK_VOLUME = 0.3

RTP_CAPS = "application/x-rtp,media=audio,encoding-name=OPUS,clock-rate=48000,payload=96"

# Every request-pad branch starts with a queue. The element pushes its request pads (speech_%u,
# src_%u) from its own streaming thread, one after the other, and only then pushes `src`; the
# push into a branch returns only when that branch has taken the buffer. Without a queue, a
# slow consumer (an avatar renderer, a disk, a sink that syncs to the clock) would hold the
# streaming thread, and the network stream on `src`, and every other pad, would stall with it.
# The queue gives the branch its own thread. The tee's branches need a queue each too, as
# always with tee. Both sinks of the speech branch sync to the clock, like the udpsink on src.
#
# udpsink may post a WARNING "Pipeline construction is invalid, please add queues": it syncs to
# the clock with a 20 ms processing deadline, and agentaudiosrc answers the LATENCY query with
# max = min = ptime, leaving no room for it. It is harmless here (udpsink just drops its
# deadline); it is left visible rather than hidden behind an extra queue.
SENDER = (
    "agentaudiosrc name=agent "
    " ! audioconvert ! audioresample ! opusenc ! rtpopuspay pt=96 "
    " ! udpsink name=net host=127.0.0.1 port={port} "
    "{speech_branch}"
)
# `agent.speech_0` asks the element for the request pad named speech_0; `agent.speech_%u`
# works as well with Gst.parse_launch (it takes the next free speech_N).
SPEECH_BRANCH = (
    "queue ! tee name=t "
    " t. ! queue ! wavenc ! filesink name=recorder "
    " t. ! queue ! appsink name=avatar emit-signals=true sync=true"
)
RECEIVER = (
    "udpsrc name=udpsrc address=127.0.0.1 port={port} caps=\"" + RTP_CAPS + "\" "
    " ! rtpjitterbuffer latency=50 ! rtpopusdepay ! opusdec "
    " ! audio/x-raw,format=S16LE,channels=1 ! fakesink name=decoded sync=false"
)


def log(msg):
    print(msg, flush=True)


def fmt_time(ns):
    if ns is None or ns == Gst.CLOCK_TIME_NONE:
        return "none"
    return f"{ns / SECOND:.3f}s"


def print_once(line):
    """For GLib.idle_add: print from the main loop, once."""
    log(line)
    return GLib.SOURCE_REMOVE


def db(x):
    return 20 * math.log10(x) if x > 0 else float("-inf")


def level(samples):
    """RMS of S16 samples, 0..1."""
    if not samples:
        return 0.0
    return math.sqrt(sum(x * x for x in samples) / len(samples)) / 32768


# --------------------------------------------------------------------------------------
# Speech and bed
# --------------------------------------------------------------------------------------


def synthesise(text, wav_path):
    """espeak-ng's output as it is: (S16LE bytes, caps)."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise RuntimeError("espeak-ng not found (bash scripts/install-deps.sh installs it)")
    subprocess.run([espeak, "-w", wav_path, text], check=True)
    with wave.open(wav_path, "rb") as w:
        if w.getsampwidth() != 2 or w.getcomptype() != "NONE":
            raise RuntimeError(f"{wav_path}: expected 16-bit PCM, got {w.getparams()}")
        caps = Gst.Caps.from_string(
            "audio/x-raw,format=S16LE,layout=interleaved,"
            f"rate={w.getframerate()},channels={w.getnchannels()}"
        )
        return w.readframes(w.getnframes()), caps


def make_bed(seconds=1):
    """A quiet two-note drone with a slow swell, F32LE 48000 Hz mono; loops seamlessly."""
    out = array.array("f")
    for i in range(BED_RATE * seconds):
        t = i / BED_RATE
        swell = 0.8 + 0.2 * math.sin(2 * math.pi * t / seconds)
        out.append(0.1 * swell * (math.sin(2 * math.pi * 110 * t) + math.sin(2 * math.pi * 165 * t)))
    if sys.byteorder != "little":
        out.byteswap()
    return out.tobytes()


# --------------------------------------------------------------------------------------
# The avatar: mouth openness from the speech-only stream
# --------------------------------------------------------------------------------------


class Avatar:
    WINDOW = 20 * MSECOND  # one RMS value per 20 ms
    LINE = 5  # windows per printed line: 100 ms
    FLOOR_DB, CEIL_DB = -45.0, -15.0  # mapped to openness 0 and 1
    RELEASE = 0.15  # how far the mouth may close per window (opens at once)

    def __init__(self, appsink):
        self.appsink = appsink
        appsink.connect("new-sample", self.on_new_sample)
        self.pending = array.array("h")
        self.pending_pts = None
        self.window_samples = None
        self.openness = 0.0
        self.line_max = 0.0
        self.line_windows = 0
        self.line_pts = None
        self.closed_printed = False
        self.windows = 0
        self.open_windows = 0
        self.max_openness = 0.0
        self.first_open_pts = None
        self.last_open_pts = None

    @staticmethod
    def mouth(o):
        if o < 0.05:
            return "  (---)  "
        if o < 0.3:
            return "  ( - )  "
        if o < 0.6:
            return "  ( o )  "
        if o < 0.85:
            return "  ( O )  "
        return "  (( O )) "

    def on_new_sample(self, sink):
        # The queue's streaming thread: keep it short, print through the main loop.
        sample = sink.emit("pull-sample")
        if sample is None:
            return Gst.FlowReturn.EOS
        if self.window_samples is None:
            s = sample.get_caps().get_structure(0)
            rate, channels = s.get_value("rate"), s.get_value("channels")
            self.rate = rate
            self.window_samples = rate * channels * self.WINDOW // SECOND
        buf = sample.get_buffer()
        data = buf.extract_dup(0, buf.get_size())
        if not self.pending:
            self.pending_pts = buf.pts
        samples = array.array("h", data)
        if sys.byteorder != "little":
            samples.byteswap()
        self.pending.extend(samples)
        while len(self.pending) >= self.window_samples:
            window = self.pending[: self.window_samples]
            del self.pending[: self.window_samples]
            self.on_window(self.pending_pts, window)
            self.pending_pts += self.WINDOW
        return Gst.FlowReturn.OK

    def on_window(self, pts, window):
        target = (db(level(window)) - self.FLOOR_DB) / (self.CEIL_DB - self.FLOOR_DB)
        target = min(1.0, max(0.0, target))
        self.openness = max(target, self.openness - self.RELEASE)
        self.windows += 1
        if self.openness >= 0.05:
            self.open_windows += 1
            if self.first_open_pts is None:
                self.first_open_pts = pts
            self.last_open_pts = pts + self.WINDOW
        self.max_openness = max(self.max_openness, self.openness)
        if self.line_windows == 0:
            self.line_pts = pts
        self.line_max = max(self.line_max, self.openness)
        self.line_windows += 1
        if self.line_windows == self.LINE:
            self.print_line(self.line_pts, self.line_max)
            self.line_windows, self.line_max = 0, 0.0

    def print_line(self, pts, o):
        if o < 0.05:
            if self.closed_printed:
                return  # a closed mouth is printed once, not every 100 ms
            self.closed_printed = True
        else:
            self.closed_printed = False
        bar = "#" * round(o * 20)
        line = f"  avatar {fmt_time(pts)} |{bar:<20}| {o:4.2f}{self.mouth(o)}"
        if o < 0.05:
            line += "(silent)"
        GLib.idle_add(print_once, line)


# --------------------------------------------------------------------------------------
# The receiver: the far end of the network path
# --------------------------------------------------------------------------------------


class Receiver:
    def __init__(self, port):
        self.pipeline = Gst.parse_launch(RECEIVER.format(port=port))
        self.packets = 0
        self.rtp_bytes = 0
        self.decoded = array.array("h")
        self.lock = threading.Lock()
        self.error = None
        self.pipeline.get_by_name("udpsrc").get_static_pad("src").add_probe(
            Gst.PadProbeType.BUFFER, self.on_packet
        )
        self.pipeline.get_by_name("decoded").get_static_pad("sink").add_probe(
            Gst.PadProbeType.BUFFER, self.on_decoded
        )
        bus = self.pipeline.get_bus()
        bus.add_signal_watch()
        bus.connect("message::error", self.on_error)

    def on_packet(self, _pad, info):
        with self.lock:
            self.packets += 1
            self.rtp_bytes += info.get_buffer().get_size()
        return Gst.PadProbeReturn.OK

    def on_decoded(self, _pad, info):
        buf = info.get_buffer()
        samples = array.array("h", buf.extract_dup(0, buf.get_size()))
        if sys.byteorder != "little":
            samples.byteswap()
        with self.lock:
            self.decoded.extend(samples)
        return Gst.PadProbeReturn.OK

    def on_error(self, _bus, msg):
        err, dbg = msg.parse_error()
        self.error = f"receiver: {err.message} ({dbg})"
        log(f"  receiver: ERROR {self.error}")

    def start(self):
        return self.pipeline.set_state(Gst.State.PLAYING) != Gst.StateChangeReturn.FAILURE

    def stop(self):
        self.pipeline.get_bus().remove_signal_watch()
        self.pipeline.set_state(Gst.State.NULL)


# --------------------------------------------------------------------------------------
# The sender: agentaudiosrc and its three consumers
# --------------------------------------------------------------------------------------


class Demo:
    def __init__(self, args, sentences):
        self.args = args
        self.sentences = sentences
        self.loop = GLib.MainLoop()
        self.failures = []
        self.eos = False
        self.first_audio = None
        self.last_audio = None
        self.marks = []
        self.sent_packets = 0
        self.feeder_error = None
        self.stopping = threading.Event()
        self.speech_pad = None

        self.recording = os.path.join(args.outdir, "speech-only.wav")
        if args.link == "parse":
            # The request pad is asked for by name in the launch line.
            self.pipeline = Gst.parse_launch(
                SENDER.format(port=args.port, speech_branch="agent.speech_0 ! " + SPEECH_BRANCH)
            )
            self.agent = self.pipeline.get_by_name("agent")
        else:
            # The same with the API: request the pad, build the branch, link them.
            self.pipeline = Gst.parse_launch(SENDER.format(port=args.port, speech_branch=""))
            self.agent = self.pipeline.get_by_name("agent")
            self.speech_pad = self.agent.request_pad_simple("speech_%u")
            branch = Gst.parse_bin_from_description(SPEECH_BRANCH, True)  # ghosts its sink pad
            self.pipeline.add(branch)
            if self.speech_pad.link(branch.get_static_pad("sink")) != Gst.PadLinkReturn.OK:
                raise RuntimeError("could not link the speech pad")
        pad = self.speech_pad or self.agent.get_static_pad("speech_0")
        log(
            f"  request pad {self.agent.get_name()}.{pad.get_name()} -> "
            f"{pad.get_peer().get_parent_element().get_name()} "
            f"(by {'parse_launch' if args.link == 'parse' else 'request_pad_simple'})"
        )
        self.pipeline.get_by_name("recorder").set_property("location", self.recording)
        self.avatar = Avatar(self.pipeline.get_by_name("avatar"))
        self.pipeline.get_by_name("net").get_static_pad("sink").add_probe(
            Gst.PadProbeType.BUFFER, self.on_sent
        )

        # Speech in espeak-ng's format: the output (nothing downstream fixes its rate) and so
        # the recording are at that rate too. Set before the bed is pushed so that the bed is
        # converted once, to the format the element will negotiate.
        self.agent.set_property("speech-caps", sentences[1][1])
        self.agent.set_property("background-caps", Gst.Caps.from_string(BED_CAPS))
        self.agent.set_property("background-loop", True)
        self.agent.set_property("background-volume", BACKGROUND_VOLUME)
        self.agent.set_property("duck-volume", DUCK_VOLUME)
        self.agent.set_property("max-speech-time", 200 * MSECOND)

        bus = self.pipeline.get_bus()
        bus.add_signal_watch()
        bus.connect("message", self.on_message)
        self.feeder = threading.Thread(target=self.feed, name="tts-feeder", daemon=True)

    def on_sent(self, _pad, _info):
        self.sent_packets += 1  # udpsink's streaming thread; read after the run
        return Gst.PadProbeReturn.OK

    def feed(self):
        try:
            if self.stopping.wait(self.args.lead_in_ms / 1000):
                return
            for n, (pcm, caps) in enumerate(self.sentences, 1):
                for pos in range(0, len(pcm), 1103):  # ~25 ms chunks, splitting samples
                    buf = Gst.Buffer.new_wrapped(pcm[pos : pos + 1103])
                    if n == 1:
                        ret = self.agent.emit(
                            "push-speech-sample", Gst.Sample.new(buf, caps, None, None)
                        )
                    else:
                        ret = self.agent.emit("push-speech", buf)  # in speech-caps
                    if ret != Gst.FlowReturn.OK:
                        if self.stopping.is_set():
                            return
                        raise RuntimeError(f"push returned {ret.value_nick} in sentence {n}")
                self.agent.emit("mark", f"sentence-{n}")
        except Exception as exc:
            self.feeder_error = exc
            GLib.idle_add(self.fail, f"feeder: {exc}")

    def on_message(self, _bus, msg):
        t = msg.type
        if t == Gst.MessageType.ELEMENT and msg.src == self.agent:
            s = msg.get_structure()
            fields = []
            for i in range(s.n_fields()):
                name = s.nth_field_name(i)
                value = s.get_value(name)
                if name in ("running-time", "duration", "dropped"):
                    value = fmt_time(value)
                fields.append(f"{name}={value}")
            log(f"  bus: {s.get_name():<11} " + " ".join(fields))
            if s.get_name() == "first-audio" and self.first_audio is None:
                self.first_audio = s.get_value("running-time")
            elif s.get_name() == "last-audio":
                self.last_audio = s.get_value("running-time")
            elif s.get_name() == "mark":
                self.marks.append(s.get_string("name"))
                if s.get_string("name") == f"sentence-{len(self.sentences)}":
                    GLib.timeout_add(self.args.tail_ms, self.end_of_stream)
        elif t == Gst.MessageType.ERROR:
            err, dbg = msg.parse_error()
            self.fail(f"error from {msg.src.get_name()}: {err.message} ({dbg})")
        elif t == Gst.MessageType.WARNING:
            err, dbg = msg.parse_warning()
            log(f"  bus: WARNING from {msg.src.get_name()}: {err.message} ({dbg})")
        elif t == Gst.MessageType.EOS:
            log("  bus: EOS (the network, the recorder and the avatar have all finished)")
            self.eos = True
            self.loop.quit()
        return True

    def end_of_stream(self):
        ret = self.agent.emit("end-of-stream")  # EOS on src and on speech_0
        log(f"  demo: end-of-stream -> {ret.value_nick}")
        return GLib.SOURCE_REMOVE

    def fail(self, why):
        log(f"  demo: stopping: {why}")
        self.failures.append(why)
        self.loop.quit()
        return GLib.SOURCE_REMOVE

    def run(self, bed):
        timeout_id = GLib.timeout_add_seconds(self.args.timeout, self.on_timeout)
        sigint_id = GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, self.on_sigint)
        self.timeout_id, self.sigint_id = timeout_id, sigint_id
        ret = self.agent.emit("push-background", Gst.Buffer.new_wrapped(bed))
        if ret != Gst.FlowReturn.OK:
            self.failures.append(f"push-background returned {ret.value_nick}")
            return
        self.feeder.start()
        if self.pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            self.failures.append("the sender refused to go to PLAYING")
        else:
            self.loop.run()
        for source_id in (self.timeout_id, self.sigint_id):
            if source_id is not None:
                GLib.source_remove(source_id)
        self.stopping.set()
        bus = self.pipeline.get_bus()
        bus.remove_signal_watch()
        if not self.eos:
            # Stopped early. Note: an EOS *event* sent to the pipeline reaches only `src`
            # (GstBaseSrc handles it); agentaudiosrc forwards EOS to its request pads only
            # from `end-of-stream`, so the speech branch may never finish and the recording
            # may be left without a valid header. Use end-of-stream where possible.
            self.agent.emit("end-of-stream")
            msg = bus.timed_pop_filtered(2 * SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
            if msg is None or msg.type != Gst.MessageType.EOS:
                log(f"  demo: {self.recording} could not be finalised")
        self.pipeline.set_state(Gst.State.NULL)  # wakes a feeder blocked in a push
        if self.speech_pad is not None:
            self.agent.release_request_pad(self.speech_pad)
        self.feeder.join(timeout=5)
        if self.feeder.is_alive():
            self.failures.append("the feeder thread did not finish")

    def on_timeout(self):
        self.timeout_id = None
        self.fail(f"timed out after {self.args.timeout} s")
        return GLib.SOURCE_REMOVE

    def on_sigint(self):
        self.sigint_id = None
        self.fail("interrupted by SIGINT")
        return GLib.SOURCE_REMOVE


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outdir", default="out", help="where to write speech-only.wav")
    parser.add_argument("--port", type=int, default=5004, help="UDP port on 127.0.0.1")
    parser.add_argument(
        "--link", choices=("parse", "api"), default="parse",
        help="request speech_0 in the launch line, or with request_pad_simple()",
    )
    parser.add_argument("--lead-in-ms", type=int, default=500, help="bed alone before speech")
    parser.add_argument("--tail-ms", type=int, default=300, help="after the last sentence")
    parser.add_argument("--timeout", type=int, default=30, help="give up after this many seconds")
    args = parser.parse_args()

    Gst.init(None)
    if Gst.ElementFactory.find("agentaudiosrc") is None:
        print(
            "agentaudiosrc not found: build the plugin (bash scripts/build.sh) and set "
            "GST_PLUGIN_PATH=$PWD/builddir/gst/agentaudio",
            file=sys.stderr,
        )
        return 2
    args.outdir = os.path.abspath(args.outdir)
    os.makedirs(args.outdir, exist_ok=True)

    log("Synthesising with espeak-ng ...")
    with tempfile.TemporaryDirectory(prefix="avatar-demo-") as tmp:
        sentences = [
            synthesise(text, os.path.join(tmp, f"s{i}.wav")) for i, text in enumerate(SENTENCES)
        ]
    for (pcm, caps), text in zip(sentences, SENTENCES):
        s = caps.get_structure(0)
        secs = len(pcm) / 2 / s.get_value("channels") / s.get_value("rate")
        log(f"  {secs:.3f}s at {s.get_value('rate')} Hz: \"{text}\"")

    receiver = Receiver(args.port)
    if not receiver.start():
        log(f"the receiver could not listen on 127.0.0.1:{args.port} (try --port)")
        return 1
    log(f"Receiver: udpsrc 127.0.0.1:{args.port} ! rtpjitterbuffer ! rtpopusdepay ! opusdec")
    log(f"Sender:   agentaudiosrc ! opusenc ! rtpopuspay ! udpsink 127.0.0.1:{args.port}")
    log(f"          agent.speech_0 ! queue ! tee ! (wavenc ! {os.path.relpath(os.path.join(args.outdir, 'speech-only.wav'))}) "
        "(appsink avatar)")

    demo = Demo(args, sentences)
    demo.run(make_bed())

    # Let the last packets through the jitter buffer, then stop the receiver.
    GLib.timeout_add(300, demo.loop.quit)
    demo.loop.run()
    receiver.stop()
    if receiver.error:
        demo.failures.append(receiver.error)

    # ---- summary --------------------------------------------------------------------
    log("")
    log("Summary")
    log(f"  speech: first-audio {fmt_time(demo.first_audio)}, last-audio "
        f"{fmt_time(demo.last_audio)}, marks {', '.join(demo.marks) or 'none'}")
    av = demo.avatar
    log(f"  avatar: {av.windows} windows of 20 ms, mouth open in {av.open_windows} "
        f"({av.open_windows * 20} ms), from {fmt_time(av.first_open_pts)} to "
        f"{fmt_time(av.last_open_pts)}, widest {av.max_openness:.2f}")
    with receiver.lock:
        decoded = receiver.decoded
        log(f"  network: {demo.sent_packets} RTP packets sent, {receiver.packets} received "
            f"({receiver.rtp_bytes} bytes), {len(decoded) / 48000:.2f} s decoded")
        # The first half second the receiver decoded is the bed alone: the network gets it.
        head = decoded[4800:24000]  # 0.1 .. 0.5 s, past the decoder's start-up
        log(f"  network audio before the speech (the bed): {db(level(head)):.1f} dBFS")
    if receiver.packets == 0:
        demo.failures.append("no RTP packet reached the receiver")
    try:
        with wave.open(demo.recording, "rb") as w:
            rate = w.getframerate()
            rec = array.array("h", w.readframes(w.getnframes()))
            if sys.byteorder != "little":
                rec.byteswap()
            log(f"  recording: {demo.recording}: {len(rec) / rate:.3f} s, {rate} Hz, "
                f"{w.getnchannels()} ch")
            if demo.first_audio is not None:
                lead = rec[: demo.first_audio * rate // SECOND]
                nonzero = sum(1 for x in lead if x)
                log(f"  recording before the speech: {len(lead) / rate:.3f} s, {nonzero} "
                    "non-zero samples (speech_0 carries no bed)")
                if nonzero:
                    demo.failures.append("the speech-only recording holds audio before speech")
    except (OSError, wave.Error, EOFError) as exc:
        demo.failures.append(f"the recording is unreadable: {exc}")
    if demo.eos:
        log(f"Files: {demo.recording}")
    if av.open_windows == 0:
        demo.failures.append("the avatar never opened its mouth")
    if not demo.eos:
        demo.failures.append("no EOS")
    for f in demo.failures:
        print(f"FAILED: {f}", file=sys.stderr)
    return 1 if demo.failures else 0


if __name__ == "__main__":
    sys.exit(main())
