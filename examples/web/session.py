"""One browser tab: a GStreamer pipeline with webrtcbin, the agent's voice out, the tab's mic in.

    agentaudiosrc ! opusenc ! rtpopuspay ! webrtcbin          (the agent, sent to the tab)
    webrtcbin ! rtpopusdepay ! opusdec ! audioconvert ! audioresample
              ! webrtcdsp echo-cancel=false voice-detection=true ! fakesink   (the tab's mic)

webrtcdsp posts a `voice-activity` element message each time its voice detector changes its
mind. A synchronous bus handler sees it on the receiving streaming thread and acts at once:

    voice onset                      -> `pause` (the agent fades out in its next buffer)
    voice still on after --hold-ms   -> `interrupt` (true barge-in; the next reply follows
                                        once the user has been quiet for --turn-end-ms)
    voice gone before --hold-ms      -> `resume` (a false interruption: nothing is lost)

Without the element's `pause` signal (older builds) an onset does nothing and only voice that
lasts --hold-ms interrupts.

Every element message, every voice change and every action is sent to the tab as a JSON event
with its time on this process's monotonic clock (the clock GStreamer's system clock uses), so the
page can place them on its own clock (see the ping exchange in server.py).
"""

import asyncio
import ctypes
import itertools
import logging
import threading
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstSdp", "1.0")
gi.require_version("GstWebRTC", "1.0")
from gi.repository import GLib, GObject, Gst, GstSdp, GstWebRTC  # noqa: E402

try:
    gi.require_version("Nice", "0.1")
    from gi.repository import Nice  # noqa: E402
except (ValueError, ImportError):  # gir1.2-nice-0.1 missing: candidates are still filtered
    Nice = None

log = logging.getLogger("web")

SPEECH_CAPS = "audio/x-raw,format=S16LE,layout=interleaved,rate={rate},channels=1"
BED_CAPS = "audio/x-raw,format=S16LE,layout=interleaved,rate=48000,channels=1"


def now_ms():
    """This process's clock for the page: CLOCK_MONOTONIC, in ms (GStreamer's system clock too)."""
    return time.monotonic_ns() / 1e6


def element_has_pause(element):
    return GObject.signal_lookup("pause", element.__gtype__) != 0


_session_ids = itertools.count(1)


def _keep_ice_agent_ref(ice):
    """webrtcbin 1.22's `ice-agent` getter hands out its own reference (PyGObject then drops the
    object webrtcbin still uses). Give it back one when the wrapper is the only holder."""
    if ice.__grefcount__ != 1:
        return
    gobject = ctypes.CDLL("libgobject-2.0.so.0")
    gobject.g_object_ref.restype = ctypes.c_void_p
    gobject.g_object_ref.argtypes = [ctypes.c_void_p]
    get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
    get_pointer.restype = ctypes.c_void_p
    get_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
    gobject.g_object_ref(get_pointer(ice.__gpointer__, None))


def is_loopback_candidate(candidate):
    # "candidate:1 1 UDP 2015363327 127.0.0.1 40000 typ host": the address is the fifth field.
    fields = candidate.split()
    return len(fields) > 7 and fields[2].upper() == "UDP" and fields[4] in ("127.0.0.1", "::1")


class Reply:
    def __init__(self, number, utterance):
        self.number = number
        self.utterance = utterance
        self.reached = 0  # marks reached (interrupted=FALSE): words heard


class Session:
    def __init__(self, loop, send, tts_cache, replies, bed, opts):
        self.id = next(_session_ids)
        self.loop = loop
        self._send = send  # coroutine function taking a dict, runs in `loop`
        self.tts = tts_cache
        self.replies = replies
        self.opts = opts
        self.closed = False

        self._lock = threading.RLock()  # guards everything below (the turn-taking state)
        self.state = "idle"  # idle | speaking | paused | user
        self.voice = False
        self.onset_at = 0.0
        self.onset_gen = 0  # an onset's number: timers for older onsets do nothing
        self.turn_gen = 0  # the same for the next-reply timers
        self.decided = True  # the current onset has been resolved (resume or interrupt)
        self.reply_count = 0
        self.turn_gen_of_reply = -1  # the reply now being pushed
        self.pushed = []  # Reply objects pushed, not yet started (first-audio)
        self.playing = None  # the Reply whose first-audio came last
        self.by_number = {}

        self.pipeline = Gst.parse_launch(
            f"agentaudiosrc name=agent ptime={opts.ptime} interrupt-fade={opts.fade_ms * Gst.MSECOND} "
            f"background-loop=true background-volume=1.0 duck-volume={opts.duck} "
            f"! audio/x-raw,rate=48000,channels=1 "
            f"! opusenc name=enc frame-size={opts.opus_frame} bitrate={opts.bitrate} "
            f"! rtpopuspay name=pay pt=111 ! queue "
            f"! application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000 "
            f"! webrtcbin name=webrtc bundle-policy=max-bundle latency={opts.jitter_latency}"
        )
        self.pipeline.use_clock(Gst.SystemClock.obtain())
        self.agent = self.pipeline.get_by_name("agent")
        self.webrtc = self.pipeline.get_by_name("webrtc")
        self.has_pause = element_has_pause(self.agent)
        self.agent.set_property("speech-caps", Gst.Caps.from_string(SPEECH_CAPS.format(rate=tts_cache.rate)))
        self.agent.set_property("background-caps", Gst.Caps.from_string(BED_CAPS))
        buf = Gst.Buffer.new_wrapped(bed)
        self.agent.emit("push-background", buf)

        ice = self.webrtc.get_property("ice-agent")
        _keep_ice_agent_ref(ice)
        ice.set_property("ice-tcp", False)
        if Nice is not None:
            # Gather on loopback only: no other interface's address is ever offered or bound.
            addr = Nice.Address.new()
            addr.set_from_string("127.0.0.1")
            ice.get_property("agent").add_local_address(addr)

        transceiver = self.webrtc.emit("get-transceiver", 0)
        transceiver.set_property("direction", GstWebRTC.WebRTCRTPTransceiverDirection.SENDRECV)

        # webrtcbin blocks its RTP input until DTLS is up; blocked, the live source would make
        # every missed buffer back to back once unblocked, and the browser's jitter buffer would
        # start out holding all of it (about a second, draining slowly). Until the peer
        # connection is up, the packets are dropped instead. (A leaky queue does that too, but
        # it also drops speech whenever the send path stalls for a moment.)
        self.media_up = False
        self.pipeline.get_by_name("pay").get_static_pad("src").add_probe(
            Gst.PadProbeType.BUFFER | Gst.PadProbeType.BUFFER_LIST, self._gate)

        self.webrtc.connect("on-negotiation-needed", self._on_negotiation_needed)
        self.webrtc.connect("on-ice-candidate", self._on_ice_candidate)
        self.webrtc.connect("pad-added", self._on_pad_added)
        self.webrtc.connect("notify::ice-connection-state", self._on_state, "ice")
        self.webrtc.connect("notify::connection-state", self._on_state, "connection")
        self.pipeline.get_bus().set_sync_handler(self._on_bus)

    # -- to the page ------------------------------------------------------------------------

    def send(self, msg):
        """Thread-safe: queue one JSON message for the tab."""
        if not self.closed:
            self.loop.call_soon_threadsafe(lambda: asyncio.ensure_future(self._send(msg)))

    def event(self, name, **fields):
        fields.update(type="event", name=name, ts=fields.get("ts", now_ms()))
        self.send(fields)

    # -- lifetime ---------------------------------------------------------------------------

    def start(self):
        if self.pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            raise RuntimeError("the session pipeline did not start")
        log.info("session %d: started (pause/resume %s)", self.id, "yes" if self.has_pause else "NO")

    def stop(self):
        self.closed = True
        with self._lock:
            self.onset_gen += 1
            self.turn_gen += 1
        # READY first: it wakes a push in progress and posts what was cut; then NULL.
        self.pipeline.set_state(Gst.State.READY)
        self.pipeline.get_bus().set_sync_handler(None)
        self.pipeline.set_state(Gst.State.NULL)
        log.info("session %d: stopped", self.id)

    def base_time_ms(self):
        return self.pipeline.get_base_time() / 1e6

    # -- signalling -------------------------------------------------------------------------

    def _on_negotiation_needed(self, webrtc):
        promise = Gst.Promise.new_with_change_func(self._on_offer_created, None)
        webrtc.emit("create-offer", None, promise)

    def _on_offer_created(self, promise, _):
        reply = promise.get_reply()
        offer = reply.get_value("offer")
        self.webrtc.emit("set-local-description", offer, Gst.Promise.new())
        self.send({"type": "sdp", "sdp": {"type": "offer", "sdp": offer.sdp.as_text()}})

    def _on_ice_candidate(self, webrtc, mline, candidate):
        if is_loopback_candidate(candidate):
            self.send({"type": "ice", "candidate": candidate, "sdpMLineIndex": mline})

    def _gate(self, pad, info):
        return Gst.PadProbeReturn.PASS if self.media_up else Gst.PadProbeReturn.DROP

    def _on_state(self, webrtc, pspec, what):
        value = webrtc.get_property(pspec.name)
        nick = value.value_nick if hasattr(value, "value_nick") else str(value)
        if what == "connection":
            self.media_up = nick == "connected"
        self.event("webrtc", what=what, state=nick)

    def on_answer(self, sdp_text):
        ret, msg = GstSdp.SDPMessage.new_from_text(sdp_text)
        if ret != GstSdp.SDPResult.OK:
            raise ValueError("the answer is not valid SDP")
        answer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, msg)
        self.webrtc.emit("set-remote-description", answer, Gst.Promise.new())

    def on_remote_candidate(self, mline, candidate):
        # Only loopback host candidates: nothing of this demo leaves the machine.
        if candidate and is_loopback_candidate(candidate):
            self.webrtc.emit("add-ice-candidate", mline, candidate)

    def _on_pad_added(self, webrtc, pad):
        if pad.get_direction() != Gst.PadDirection.SRC:
            return
        o = self.opts
        branch = Gst.parse_bin_from_description(
            "queue max-size-buffers=0 max-size-bytes=0 max-size-time=200000000 leaky=downstream "
            "! rtpopusdepay ! opusdec plc=true ! audioconvert ! audioresample "
            "! audio/x-raw,format=S16LE,rate=16000,channels=1 "
            "! webrtcdsp name=dsp echo-cancel=false noise-suppression=false gain-control=false "
            f"voice-detection=true voice-detection-frame-size-ms=10 voice-detection-likelihood={o.vad_likelihood} "
            "! fakesink sync=false async=false",
            True,
        )
        self.pipeline.add(branch)
        branch.sync_state_with_parent()
        pad.link(branch.get_static_pad("sink"))
        self.event("mic", state="linked")

    # -- the bus: element messages and voice activity ---------------------------------------

    def _on_bus(self, bus, msg):
        t = msg.type
        if t == Gst.MessageType.ELEMENT:
            s = msg.get_structure()
            name = s.get_name()
            if name == "voice-activity":
                self._on_voice(s.get_value("stream-has-voice"), now_ms())
            elif msg.src == self.agent:
                # Read here, handled on the event loop: this thread (the element's streaming
                # thread, or one emitting `interrupt`) must never wait for our lock, which is
                # held while we emit the element's signals.
                fields = self._message_fields(s)
                self.loop.call_soon_threadsafe(self._on_agent_message, name, fields)
        elif t == Gst.MessageType.ERROR:
            err, dbg = msg.parse_error()
            log.error("session %d: %s (%s)", self.id, err.message, dbg)
            self.event("error", message=f"{msg.src.get_name()}: {err.message}")
        elif t == Gst.MessageType.WARNING:
            err, dbg = msg.parse_warning()
            log.warning("session %d: %s (%s)", self.id, err.message, dbg)
        # No main loop runs the bus: handle everything here and keep nothing queued.
        return Gst.BusSyncReply.DROP

    def _message_fields(self, s):
        fields = {"ts": now_ms()}
        for i in range(s.n_fields()):
            key = s.nth_field_name(i)
            value = s.get_value(key)
            if isinstance(value, (bool, int, float, str)):
                # A mark's `name` would clash with the event's own name.
                fields["mark" if key == "name" else key.replace("-", "_")] = value
        rt = fields.get("running_time")
        if rt is not None and rt != Gst.CLOCK_TIME_NONE:
            # The sample's time on this process's clock: base time + running time.
            fields["at"] = self.base_time_ms() + rt / 1e6
        return fields

    def _on_agent_message(self, name, fields):
        """On the event loop."""
        with self._lock:
            if name == "first-audio":
                self.playing = self.pushed.pop(0) if self.pushed else self.playing
                if self.playing:
                    fields["reply"] = self.playing.number
            elif name == "mark":
                number, _, word = fields.get("mark", "").partition(".w")
                reply = self.by_number.get(int(number[1:])) if number.startswith("r") else None
                if reply and word.isdigit():
                    i = int(word)
                    fields.update(reply=reply.number, word=i, text=reply.utterance.words[i].text)
                    if not fields.get("interrupted"):
                        reply.reached = max(reply.reached, i + 1)
            elif name == "last-audio":
                reply = self.playing
                if reply:
                    fields.update(
                        reply=reply.number,
                        words=reply.reached,
                        total_words=len(reply.utterance.words),
                        heard=reply.utterance.heard_text(reply.reached),
                        text=reply.utterance.text,
                    )
                if not fields.get("interrupted") and self.state in ("speaking", "paused"):
                    if self.state == "paused":
                        log.warning("session %d: last-audio while paused", self.id)
                    self.state = "idle"
                    self._schedule_turn(self.opts.gap_ms, "gap")
        self.event(name, **fields)

    # -- turn taking ------------------------------------------------------------------------

    def _on_voice(self, on, ts):
        """On the mic's streaming thread: decide at once, never wait here."""
        with self._lock:
            if on == self.voice:
                return
            self.voice = on
            self.event("vad", on=on, ts=ts)
            if self.closed:
                return
            if on:
                self.onset_at = ts
                self.onset_gen += 1
                self.turn_gen += 1  # the user speaks: no reply starts now
                if self.state == "speaking":
                    self.decided = False
                    if self.has_pause:
                        held = self.agent.emit("pause")
                        self.state = "paused"
                        self.event("action", action="pause", ts=ts, returned=held, onset=ts)
                    gen = self.onset_gen
                    self.loop.call_soon_threadsafe(
                        self.loop.call_later, self.opts.hold_ms / 1000.0, self._on_hold_elapsed, gen
                    )
                elif self.state == "idle":
                    self.state = "user"
            else:
                if not self.decided:
                    self.decided = True
                    lasted = ts - self.onset_at
                    if self.state == "paused":
                        paused = self.agent.emit("resume")
                        self.state = "speaking"
                        self.event("action", action="resume", returned=paused, lasted=lasted)
                    else:
                        self.event("action", action="ignore", lasted=lasted)
                elif self.state == "user":
                    self._schedule_turn(self.opts.turn_end_ms, "turn-end")

    def _on_hold_elapsed(self, gen):
        with self._lock:
            if gen != self.onset_gen or self.decided or not self.voice or self.closed:
                return
            self.decided = True
            dropped = self.agent.emit("interrupt")
            self.state = "user"
            self.event("action", action="interrupt", returned=dropped, lasted=now_ms() - self.onset_at,
                       onset=self.onset_at)

    def _schedule_turn(self, delay_ms, why):
        self.turn_gen += 1
        gen = self.turn_gen
        self.loop.call_soon_threadsafe(self.loop.call_later, delay_ms / 1000.0, self._on_turn, gen, why)

    def _on_turn(self, gen, why):
        with self._lock:
            if gen != self.turn_gen or self.voice or self.closed or self.state not in ("idle", "user"):
                return
            self.state = "speaking"
            number = self.reply_count
            self.reply_count += 1
            self.turn_gen_of_reply = number
        self.loop.run_in_executor(None, self._say, number)

    def begin(self):
        """The tab pressed Start (and is connected): the agent says its first reply."""
        with self._lock:
            if self.reply_count == 0 and self.state == "idle":
                self._schedule_turn(self.opts.first_reply_ms, "start")

    def _say(self, number):
        """On a worker thread: push one reply, a mark after every word."""
        utterance = self.tts.get(self.replies[number % len(self.replies)])
        reply = Reply(number, utterance)
        with self._lock:
            self.by_number[number] = reply
            self.pushed.append(reply)
        ts = now_ms()
        self.event(
            "push", ts=ts, reply=number, text=utterance.text, words=len(utterance.words),
            word_ends=[w.text_end for w in utterance.words], duration=utterance.duration_ns,
            lead_in=self.tts.lead_in(utterance.text),
        )
        pcm = utterance.pcm
        for i, word in enumerate(utterance.words):
            chunk = pcm[word.start * 2 : word.end * 2]
            # Under the lock, so that an interrupt falls between two words, never between the
            # check and the push (a push made after an interrupt returned would play).
            with self._lock:
                if self.closed or self.state == "user" or self.turn_gen_of_reply != number:
                    return
                ret = self.agent.emit("push-speech", Gst.Buffer.new_wrapped(chunk)) if chunk else Gst.FlowReturn.OK
                if ret != Gst.FlowReturn.OK:
                    log.info("session %d: reply %d cut at word %d (%s)", self.id, number, i, ret.value_nick)
                    return
                self.agent.emit("mark", f"r{number}.w{i}")


class TtsCache:
    """Every reply synthesized once, at start-up, so that a push never waits for espeak-ng."""

    def __init__(self, espeak, texts):
        self.rate = espeak.rate
        self._cache = {text: espeak.synth(text) for text in texts}
        self._lead_in = {text: u.lead_in_ns() for text, u in self._cache.items()}

    def get(self, text):
        return self._cache[text]

    def lead_in(self, text):
        return self._lead_in[text]
