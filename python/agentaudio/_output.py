"""AgentOutput: an asyncio front end for one ``agentaudiosrc`` element.

How it stays right whatever the thread timing:

* **One worker thread per output pushes, under one lock.** Every ``push-speech`` is made by the
  output's worker thread while it holds ``_lock``, after checking that the utterance's
  generation is still the current one. ``interrupt()`` takes the same lock, bumps the
  generation and emits the element's ``interrupt`` before releasing it. So a push either
  completed before the interrupt (and the interrupt drops what it queued) or it is never made:
  nothing an earlier ``say()`` pushes can be queued after the interrupt.
* **A push made under the lock never blocks.** Back-pressure (``max-speech-time``) is applied by
  the worker *before* it takes the lock: it pushes only once the element has room, so the
  element's own blocking never triggers and ``interrupt()`` never waits for more than one push
  of at most :data:`PIECE_S` of audio.
* **One mark per utterance, placed where its audio ends.** When an utterance has pushed all its
  audio the worker places its mark. When an interrupt cuts an utterance that is still being
  pushed, ``interrupt()`` places that utterance's mark itself, under the lock, just before the
  element's ``interrupt``: the element then posts it with ``interrupted=TRUE``. A mark is never
  placed after a cut, so a cut utterance can never be reported as played to the end.
* **What played is counted in samples, from the element.** ``last-audio`` says how much speech
  an utterance of the element played (``duration``, sample-exact, silences excluded). The
  utterances of this package are consecutive in the element's queue, so that duration is shared
  out in order: every utterance whose mark was reached played all it pushed; the rest goes to
  the one that was playing when the element's utterance ended. Encoded audio (WAV with its
  header, MP3, Ogg/Opus...) says nothing of its length in bytes: an encoded utterance's length
  is the difference between the ``played`` of its mark and of the mark before it, which the
  element counts in samples as it plays them.
* **Every utterance is a stream of its own.** Once its audio is all pushed, the worker emits
  ``end-of-utterance`` before the mark: the decoder (or the resampler) drains, so the mark lands
  after the utterance's last sample, and the next utterance may start with a new header.
* **Bus messages reach the loop through a sync-message handler** (``sync-message::element`` with
  ``bus.enable_sync_message_emission()``), which runs on the thread that posted the message and
  hands the parsed event to the loop with ``call_soon_threadsafe``. It does not touch the
  application's own bus watch or sync handler.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import itertools
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Generator, Iterator, Optional, Sequence, Union

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstAudio", "1.0")
from gi.repository import GObject, Gst, GstAudio  # noqa: E402

from . import _sources  # noqa: E402
from ._events import SECOND, Event, FirstAudio, LastAudio, Mark, Paused, Resumed  # noqa: E402
from ._text import Word, heard_text, validate_words  # noqa: E402

# A push is at most this much audio, so that interrupt() waits for no more than that much
# conversion, and back-pressure is fine-grained.
PIECE_S = 0.1
# Encoded audio is pushed in pieces of this many bytes (about 0.1 s of 16-bit 22 kHz WAV, 1 s of
# 32 kbit/s Opus); the element decodes each inside the push.
ENCODED_PIECE_BYTES = 4096
# The worker pushes only while the queue is more than this below max-speech-time: the element
# counts whole frames, so a queue a fraction of a frame short of the limit is already full to it.
ROOM_MARGIN_NS = 1_000_000
# Waiting for room: the queue drains in real time, so the worker sleeps about as long as the
# excess takes to play, within these bounds (a paused or stopped pipeline is looked at again
# every MAX_WAIT_S).
MIN_WAIT_S = 0.002
MAX_WAIT_S = 0.05
# What last-audio leaves over after the utterances it is shared out to, below this, is the
# rounding of sample counts to nanoseconds (well under one sample at any rate), not speech.
ROUNDING_NS = 1000

_ids = itertools.count(1)


class AgentAudioError(RuntimeError):
    """The element refused audio (for example ``push-speech`` returned ``not-negotiated``), or
    the output cannot work with the element it was given."""


@dataclass(frozen=True)
class Playout:
    """How an utterance ended: what ``await handle`` gives."""

    played_s: float
    """Audio of the utterance that was played, seconds (a fade included; sample-exact)."""
    interrupted: bool
    """It did not play to its end (an interrupt, the output closed, the pipeline stopped)."""
    heard_text: str
    """The text whose words ended before the cut (all of it when not interrupted)."""
    duration_s: float = 0.0
    """Audio the utterance pushed into the element, seconds."""
    text: Optional[str] = None
    """The text given to :meth:`AgentOutput.say`."""


class SpeechHandle:
    """One utterance queued by :meth:`AgentOutput.say`.

    ``await handle`` waits until it has been played (or cut) and returns its :class:`Playout`.
    If its audio could not be pushed (the element refused it, or the async iterable raised),
    ``await handle`` raises that error once the audio pushed before it has played;
    :attr:`playout` still says what was played.
    """

    def __init__(self, output: "AgentOutput", number: int, text: Optional[str],
                 words: Optional[list[Word]]):
        self._output = output
        self.id = number
        self.text = text
        self.words = words
        self._future: asyncio.Future = output.loop.create_future()
        self._queued: asyncio.Future = output.loop.create_future()
        self._playout: Optional[Playout] = None

    def __await__(self) -> Generator[Any, None, Playout]:
        return self._future.__await__()

    def done(self) -> bool:
        """True once the utterance has been played or cut."""
        return self._future.done()

    @property
    def playout(self) -> Optional[Playout]:
        """The :class:`Playout`, once done."""
        return self._playout

    @property
    def interrupted(self) -> Optional[bool]:
        """Whether it was cut; None until done."""
        return None if self._playout is None else self._playout.interrupted

    async def wait_queued(self) -> None:
        """Waits until all of the utterance's audio is queued in the element (or it was cut)."""
        await asyncio.shield(self._queued)

    def add_words(self, words: Sequence[Word]) -> None:
        """Adds word timestamps ``[(word, start_s, end_s), ...]`` (relative to the start of this
        utterance), for a streaming TTS that reports them as it goes. Only words added before
        the handle is done count."""
        checked = validate_words(words) or []
        if self.words is None:
            self.words = []
        self.words.extend(checked)

    def add_text(self, text: str) -> None:
        """Appends to :attr:`text` (for text that streams in, as from an LLM)."""
        if not isinstance(text, str):
            raise TypeError("text must be a str")
        self.text = text if self.text is None else self.text + text

    def add_done_callback(self, callback: Callable[["SpeechHandle"], Any]) -> None:
        """Calls ``callback(handle)`` on the loop once done."""
        self._future.add_done_callback(lambda _f: callback(self))

    def __repr__(self) -> str:
        state = "pending" if self._playout is None else repr(self._playout)
        return f"<SpeechHandle {self.id} {self.text!r} {state}>"


class _Say:
    """An utterance's state. Worker fields change under the output's ``_lock``; loop fields only
    on the loop."""

    def __init__(self, handle: SpeechHandle, generation: int, kind: str, source: Any,
                 caps: Optional[Gst.Caps], mark_name: str):
        self.handle = handle
        self.generation = generation
        self.kind = kind
        self.source = source
        self.caps = caps
        self.mark_name = mark_name
        self.channel: Optional[_sources.Channel] = None
        # Worker side.
        self.started = False  # a push was made
        self.mark_placed = False
        self.cut = False  # cut by an interrupt, a stop or a foreign interrupt
        self.exhausted = False  # its source ended normally: pushed_bytes is its whole length
        self.pushed_bytes = 0
        self.total_bytes: Optional[int] = None  # the whole length, once known
        self.bpf = 0
        self.rate = 0
        self.encoded = False  # its caps are not raw audio: lengths come from the element
        self.error: Optional[BaseException] = None
        # Loop side.
        self.played_ns = 0  # what the element is known to have played of it
        self.estimate_ns: Optional[int] = None  # an encoded cut one's whole length, estimated
        self.resolved = False

    def _ns(self, n_bytes: int) -> int:
        if self.rate <= 0 or self.bpf <= 0:
            return 0
        return n_bytes // self.bpf * SECOND // self.rate

    @property
    def pushed_ns(self) -> int:
        """What it pushed, ns; for encoded audio, what it is known to have played."""
        if self.encoded:
            return self.played_ns
        return self._ns(self.pushed_bytes)

    @property
    def total_ns(self) -> Optional[int]:
        return None if self.total_bytes is None else self._ns(self.total_bytes)


class _Op:
    """Something the worker does in order with the utterances (end-of-stream)."""

    def __init__(self, run: Callable[[], Any], future: asyncio.Future):
        self.run = run
        self.future = future


class _BedJob:
    def __init__(self, generation: int, kind: str, source: Any, future: asyncio.Future):
        self.generation = generation
        self.kind = kind
        self.source = source
        self.future = future
        self.channel: Optional[_sources.Channel] = None


class EventStream:
    """The events of one :meth:`AgentOutput.events` call, from that call on (an async
    iterator; it ends when the output is closed)."""

    _END = object()

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self._items: collections.deque = collections.deque()
        self._waiter: Optional[asyncio.Future] = None
        self._loop = loop
        self._ended = False

    def _put(self, item: Any) -> None:
        if self._ended:
            return
        self._items.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def __aiter__(self) -> "EventStream":
        return self

    async def __anext__(self) -> Event:
        while not self._items:
            self._waiter = self._loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        item = self._items.popleft()
        if item is EventStream._END:
            self._ended = True
            self._items.clear()
            raise StopAsyncIteration
        return item


def _flow_ok(ret: Gst.FlowReturn) -> bool:
    return ret == Gst.FlowReturn.OK


def _caps(caps: Union[Gst.Caps, str, None]) -> Optional[Gst.Caps]:
    if caps is None or isinstance(caps, Gst.Caps):
        return caps
    if isinstance(caps, str):
        parsed = Gst.Caps.from_string(caps)
        if parsed is None:
            raise ValueError(f"caps: cannot parse {caps!r}")
        return parsed
    raise TypeError(f"caps must be Gst.Caps or str, not {type(caps).__name__}")


def _is_encoded(caps: Optional[Gst.Caps]) -> bool:
    """Audio caps that carry no raw layout (``audio/x-wav``, ``audio/mpeg``, ``audio/ogg``...):
    the element decodes them."""
    if caps is None or caps.get_size() == 0 or caps.is_any():
        return False
    return caps.get_structure(0).get_name() != "audio/x-raw"


def _format_of(caps: Optional[Gst.Caps]) -> tuple[int, int]:
    """(bytes per frame, rate) of raw audio caps; (0, 0) if they are not raw audio."""
    if caps is None:
        return 0, 0
    try:
        info = GstAudio.AudioInfo.new_from_caps(caps)
    except TypeError:  # not audio the element can read (it answers not-negotiated)
        return 0, 0
    if info is None or info.rate <= 0 or info.bpf <= 0:
        return 0, 0
    return info.bpf, info.rate


def _piece_bytes(bpf: int, rate: int) -> int:
    """The size of one push: :data:`PIECE_S` of raw audio, whole frames; encoded audio (no
    frame size) :data:`ENCODED_PIECE_BYTES`."""
    return max(bpf, int(rate * PIECE_S) * bpf) if bpf else ENCODED_PIECE_BYTES


def _pipeline_bus(element: Gst.Element) -> Optional[Gst.Bus]:
    """The bus of the top-level bin: an element inside a bin has the bin's private child bus,
    whose messages never reach sync-message handlers."""
    top: Gst.Object = element
    while top.get_parent() is not None:
        top = top.get_parent()
    return top.get_bus() if isinstance(top, Gst.Element) else None


def _has_signal(element: Gst.Element, name: str) -> bool:
    return GObject.signal_lookup(name, type(element)) != 0


class AgentOutput:
    """The output of a voice agent: an asyncio API over an ``agentaudiosrc`` element.

    ``element`` must already be in a pipeline (the output listens on the pipeline's bus; it does
    not take over the application's bus watch or sync handler). ``loop`` is the event loop the
    output belongs to, by default the running one: call its methods from that loop's thread.

    The output must be the only one pushing speech into the element. Back-pressure follows the
    element's ``max-speech-time``: the worker pushes only while less than that is queued.
    """

    def __init__(self, element: Gst.Element, *, loop: Optional[asyncio.AbstractEventLoop] = None):
        if not Gst.is_initialized():
            Gst.init(None)
        if element is None or not _has_signal(element, "push-speech") or \
                not _has_signal(element, "interrupt"):
            raise AgentAudioError("AgentOutput needs an agentaudiosrc element")
        self._element = element
        self._loop = loop if loop is not None else asyncio.get_running_loop()
        bus = _pipeline_bus(element)
        if bus is None:
            raise AgentAudioError(
                "the element is not in a pipeline (it has no bus): add it to a pipeline first")
        self._bus = bus
        self._number = next(_ids)
        self._has_end_of_utterance = _has_signal(element, "end-of-utterance")
        self._mark_prefix = f"agentaudio-{self._number}-"
        self._says_made = itertools.count(1)

        # Worker side: guarded by _lock (pushes, marks, interrupt) and _cv (the job queue).
        self._lock = threading.Lock()
        self._cv = threading.Condition()
        self._generation = 0
        self._jobs: collections.deque = collections.deque()
        self._inflight: Optional[_Say] = None  # started pushing, mark not placed yet
        self._closed = False

        # Loop side.
        self._unresolved: collections.deque[_Say] = collections.deque()  # in say() order
        self._by_mark: dict[str, _Say] = {}
        self._in_utterance = bool(element.get_property("speaking"))
        # Speech of this element utterance given to utterances whose mark was reached; None
        # for an utterance that began before this output existed (it is not ours to share).
        self._attributed: Optional[int] = None if self._in_utterance else 0
        self._awaiting_last_audio: list[_Say] = []
        # The `played` of the last mark of this element utterance (its whole duration once it
        # ended): an encoded utterance played what its mark's `played` adds to it.
        self._mark_base = 0
        self._feeding: set[_Say] = set()
        self._streams: "weakref.WeakSet[EventStream]" = weakref.WeakSet()
        self._listeners: list[Callable[[Event], Any]] = []

        # The background layer: its own worker, lock and generation.
        self._bed_lock = threading.Lock()
        self._bed_cv = threading.Condition()
        self._bed_generation = 0
        self._bed_jobs: collections.deque = collections.deque()
        self._bed_thread: Optional[threading.Thread] = None

        bus.enable_sync_message_emission()
        self._handler_ids = [
            bus.connect("sync-message::element", self._on_sync_element),
            bus.connect("sync-message::state-changed", self._on_sync_state),
        ]
        self._thread = threading.Thread(target=self._run, name=f"agentaudio-{self._number}",
                                        daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ properties

    @property
    def element(self) -> Gst.Element:
        """The ``agentaudiosrc`` element."""
        return self._element

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def speaking(self) -> bool:
        """The element's ``speaking``: between a first-audio and its last-audio."""
        return bool(self._element.get_property("speaking"))

    @property
    def paused(self) -> bool:
        """The element's ``paused`` (False for an element without pause)."""
        if self._element.find_property("paused") is None:
            return False
        return bool(self._element.get_property("paused"))

    @property
    def queued_s(self) -> float:
        """Speech queued in the element and not yet played, seconds."""
        return self._element.get_property("queued-speech-time") / SECOND

    @property
    def background_volume(self) -> float:
        """The element's ``background-volume`` (0-10, ramped over one buffer)."""
        return float(self._element.get_property("background-volume"))

    @background_volume.setter
    def background_volume(self, value: float) -> None:
        self._element.set_property("background-volume", float(value))

    @property
    def duck_volume(self) -> float:
        """The element's ``duck-volume``: extra gain on the bed while speech plays (0-1)."""
        return float(self._element.get_property("duck-volume"))

    @duck_volume.setter
    def duck_volume(self, value: float) -> None:
        self._element.set_property("duck-volume", float(value))

    # ------------------------------------------------------------------ speech

    def say(self, audio: _sources.AudioSource, *, text: Optional[str] = None,
            words: Optional[Sequence[Word]] = None,
            caps: Union[Gst.Caps, str, None] = None) -> SpeechHandle:
        """Queues an utterance and returns its :class:`SpeechHandle` at once.

        ``audio`` is raw audio in the element's ``speech-caps`` format (or in ``caps``, pushed
        with ``push-speech-sample``): bytes, an iterable of bytes (read on the worker thread), or
        an async iterable of bytes such as a streaming TTS (read by a task on the loop). Chunks
        may be of any size. Utterances play in the order of the calls.

        ``words``: ``[(word, start_s, end_s), ...]`` relative to the start of this utterance's
        audio (a TTS's word timestamps) make ``heard_text`` exact; without them ``text`` is
        spread over the audio by character count (see :func:`agentaudio.heard_text`).
        """
        self._check_loop("say")
        if self._closed:
            raise RuntimeError("say() on a closed AgentOutput")
        kind = _sources.classify(audio)
        if kind == "bytes":
            audio = _sources.as_bytes(audio)
        parsed_caps = _caps(caps)
        checked_words = validate_words(words)
        if text is not None and not isinstance(text, str):
            raise TypeError("text must be a str")
        number = next(self._says_made)
        handle = SpeechHandle(self, number, text, checked_words)
        say = _Say(handle, self._generation, kind, audio, parsed_caps,
                   f"{self._mark_prefix}{number}")
        self._unresolved.append(say)
        self._by_mark[say.mark_name] = say
        if kind == "aiter":
            say.channel = _sources.Channel(self._cv, self._loop)
            self._feeding.add(say)
            say.channel.task = self._loop.create_task(
                say.channel.feed(audio, lambda: say.generation != self._generation or
                                 self._closed))
            say.channel.task.add_done_callback(lambda _t: self._feeding.discard(say))
        with self._cv:
            self._jobs.append(say)
            self._cv.notify_all()
        return handle

    def interrupt(self) -> "asyncio.Future[float]":
        """Barge-in: drops everything queued so far; returns (an awaitable of) the seconds of
        speech dropped.

        The cut happens before this returns: nothing pushed by any earlier :meth:`say` plays
        after the element's ``interrupt-fade`` (10 ms by default), whatever the threads were
        doing. Utterances queued later play normally. The returned future is already done, so
        ``out.interrupt()`` without ``await`` works too.
        """
        self._check_loop("interrupt")
        future = self._loop.create_future()
        if self._closed:
            future.set_result(0.0)
            return future
        dropped = self._cut()
        self._drop_stale()
        future.set_result(dropped / SECOND)
        return future

    def pause(self) -> float:
        """Holds the speech (fading out over ``interrupt-fade``), keeping the queue, the
        utterance and its marks; returns the seconds held. Needs an element with ``pause``."""
        self._check_loop("pause")
        return self._pause_signal("pause") / SECOND

    def resume(self) -> float:
        """Resumes held speech where the pause's fade began; returns the seconds it was paused.
        Needs an element with ``resume``."""
        self._check_loop("resume")
        return self._pause_signal("resume") / SECOND

    def end_of_stream(self) -> "asyncio.Future[Gst.FlowReturn]":
        """Emits the element's ``end-of-stream`` once every utterance queued so far has been
        pushed (the element then ends the stream when they have played)."""
        self._check_loop("end_of_stream")
        future = self._loop.create_future()

        def run() -> Gst.FlowReturn:
            with self._lock:
                return self._element.emit("end-of-stream")

        with self._cv:
            self._jobs.append(_Op(run, future))
            self._cv.notify_all()
        return future

    async def wait_for_playout(self) -> None:
        """Waits until every utterance queued so far has been played or cut."""
        pending = [say.handle._future for say in self._unresolved]
        if pending:
            await asyncio.wait(pending)

    def events(self) -> EventStream:
        """An async iterator of the element's events from now on: :class:`FirstAudio`,
        :class:`LastAudio`, :class:`Mark` (and :class:`Paused` / :class:`Resumed` from elements
        that pause). Each call gets every event; iteration ends when the output is closed."""
        stream = EventStream(self._loop)
        if self._closed:
            stream._put(EventStream._END)
        else:
            self._streams.add(stream)
        return stream

    # ------------------------------------------------------------------ background

    def play_background(self, audio: _sources.AudioSource, *, loop: bool = True,
                        replace: bool = True) -> "asyncio.Future[bool]":
        """Plays a background bed under the speech, in the element's ``background-caps``.

        ``loop`` sets the element's ``background-loop``. With ``replace`` (the default) the bed
        playing is faded out first (``clear-background``); ``replace=False`` appends to it.
        Returns a future that is True once all of ``audio`` is queued (False if a later
        :meth:`clear_background` or ``play_background`` dropped it first).
        """
        self._check_loop("play_background")
        if self._closed:
            raise RuntimeError("play_background() on a closed AgentOutput")
        kind = _sources.classify(audio)
        if kind == "bytes":
            audio = _sources.as_bytes(audio)
        if replace:
            self._clear_bed()
        self._element.set_property("background-loop", bool(loop))
        job = _BedJob(self._bed_generation, kind, audio, self._loop.create_future())
        if kind == "aiter":
            job.channel = _sources.Channel(self._bed_cv, self._loop)
            job.channel.task = self._loop.create_task(job.channel.feed(
                audio, lambda: job.generation != self._bed_generation or self._closed))
        with self._bed_cv:
            self._bed_jobs.append(job)
            self._bed_cv.notify_all()
        if self._bed_thread is None:
            self._bed_thread = threading.Thread(target=self._run_bed, daemon=True,
                                                name=f"agentaudio-{self._number}-bed")
            self._bed_thread.start()
        return job.future

    def clear_background(self) -> float:
        """Fades the bed out over ``interrupt-fade`` and drops it (and any background audio
        still being queued); returns the seconds dropped."""
        self._check_loop("clear_background")
        if self._closed:
            return 0.0
        return self._clear_bed() / SECOND

    # ------------------------------------------------------------------ closing

    def close(self) -> None:
        """Ends the output: interrupts its speech, resolves every pending handle (as
        interrupted), ends :meth:`events` iterators and lets the worker threads finish.
        The element and its pipeline are left as they are."""
        if self._closed:
            return
        if self._loop.is_running():
            self._check_loop("close")
        self._cut()
        self._closed = True
        with self._bed_lock:
            self._bed_generation += 1
        with self._cv:
            self._cv.notify_all()
        with self._bed_cv:
            self._bed_cv.notify_all()
        self._drop_stale()
        self._drop_stale_bed()
        for handler in self._handler_ids:
            self._bus.disconnect(handler)
        self._handler_ids = []
        self._bus.disable_sync_message_emission()
        self._end_all(cut=True)
        for stream in list(self._streams):
            stream._put(EventStream._END)
        self._streams = weakref.WeakSet()

    async def aclose(self) -> None:
        """:meth:`close`, then waits (up to 1 s) for the worker threads to exit."""
        self.close()
        for thread in (self._thread, self._bed_thread):
            if thread is not None:
                await asyncio.to_thread(thread.join, 1.0)

    async def __aenter__(self) -> "AgentOutput":
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ internals: the loop

    def _check_loop(self, what: str) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not self._loop:
            raise RuntimeError(f"AgentOutput.{what}() must be called from the thread of the "
                               "event loop the output belongs to")

    def _pause_signal(self, name: str) -> int:
        if not _has_signal(self._element, name):
            raise NotImplementedError(
                f"this agentaudiosrc has no {name!r} action signal (pause and resume come with "
                "a newer build of the element)")
        return int(self._element.emit(name))

    def _cut(self) -> int:
        """The atomic part of interrupt(): returns the ns dropped."""
        with self._lock:
            self._generation += 1
            say = self._inflight
            if say is not None and not say.mark_placed:
                # Its mark goes where its audio ends now; the interrupt then drops it, so it
                # comes back interrupted=TRUE.
                self._element.emit("mark", say.mark_name)
                say.mark_placed = True
                say.cut = True
            dropped = int(self._element.emit("interrupt"))
        with self._cv:
            self._cv.notify_all()
        return dropped

    def _drop_stale(self) -> None:
        """Resolves the utterances that were queued before a cut and never started."""
        with self._cv:
            stale = [j for j in self._jobs
                     if isinstance(j, _Say) and j.generation != self._generation]
            if stale:
                self._jobs = collections.deque(j for j in self._jobs if j not in stale)
        for say in stale:
            self._resolve(say, cut=True)
            if not say.handle._queued.done():
                say.handle._queued.set_result(None)
        for say in list(self._feeding):
            if say.generation != self._generation and say.channel is not None:
                say.channel.wake()
                if say.channel.task is not None:
                    say.channel.task.cancel()

    def _end_all(self, cut: bool) -> None:
        for say in list(self._unresolved):
            self._resolve(say, cut=cut)
        self._awaiting_last_audio.clear()
        self._in_utterance = False
        self._attributed = 0

    def _call(self, callback: Callable[..., Any], *args: Any) -> None:
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            pass

    def _resolve(self, say: _Say, cut: bool) -> None:
        if say.resolved:
            return
        say.resolved = True
        try:
            self._unresolved.remove(say)
        except ValueError:
            pass
        self._by_mark.pop(say.mark_name, None)
        pushed = say.pushed_ns
        played = min(say.played_ns, pushed) if cut else pushed
        handle = say.handle
        if cut:
            if say.encoded:  # its length: estimated from last-audio, or unknown
                total = say.estimate_ns
                pushed = played if total is None else max(total, played)
            else:
                total = say.total_ns
            text = heard_text(handle.text, handle.words, played / SECOND,
                              (pushed if total is None else total) / SECOND,
                              complete=total is not None)
        elif handle.text is not None:
            text = handle.text
        else:
            text = " ".join(w.strip() for w, _s, _e in handle.words or [] if w.strip())
        playout = Playout(played / SECOND, cut, text, pushed / SECOND, handle.text)
        handle._playout = playout
        if say.error is not None:
            handle._future.set_exception(say.error)
            # Retrieved or not, the error was the application's to see; avoid the
            # "exception was never retrieved" noise for handles nobody awaits.
            handle._future.exception()
        else:
            handle._future.set_result(playout)
        if not handle._queued.done():
            handle._queued.set_result(None)

    def _on_queued(self, say: _Say) -> None:
        if not say.handle._queued.done():
            say.handle._queued.set_result(None)

    # Bus messages, on the posting thread.

    def _on_sync_element(self, _bus: Gst.Bus, msg: Gst.Message) -> None:
        if msg.src != self._element:
            return
        s = msg.get_structure()
        if s is None:
            return
        name = s.get_name()
        now = time.monotonic()
        event: Event
        if name == "first-audio":
            event = FirstAudio(s.get_value("running-time"), now)
        elif name == "last-audio":
            event = LastAudio(s.get_value("running-time"), s.get_value("duration"),
                              bool(s.get_value("interrupted")), s.get_value("dropped"), now)
        elif name == "mark":
            rt = s.get_value("running-time")
            played = s.get_value("played") if s.has_field("played") else None
            event = Mark(s.get_string("name") or "", None if rt == Gst.CLOCK_TIME_NONE else rt,
                         bool(s.get_value("interrupted")), None, now, played)
        elif name == "paused":
            event = Paused(s.get_value("running-time"), s.get_value("played"), now)
        elif name == "resumed":
            event = Resumed(s.get_value("running-time"), s.get_value("paused-for"), now)
        else:
            return
        self._call(self._dispatch, event)

    def _on_sync_state(self, _bus: Gst.Bus, msg: Gst.Message) -> None:
        if msg.src != self._element:
            return
        _old, new, _pending = msg.parse_state_changed()
        if new == Gst.State.NULL:
            self._call(self._on_null)

    # Bus messages, on the loop.

    def _dispatch(self, event: Event) -> None:
        if self._closed:
            return
        if isinstance(event, FirstAudio):
            self._in_utterance = True
            self._attributed = 0
            self._mark_base = 0
        elif isinstance(event, Mark):
            say = self._by_mark.get(event.name)
            if say is not None:
                event = dataclasses.replace(event, handle=say.handle)
                self._on_mark(say, event)
            if event.played is not None and not event.interrupted:
                self._mark_base = max(self._mark_base, event.played)
        elif isinstance(event, LastAudio):
            self._on_last_audio(event)
        for listener in list(self._listeners):
            listener(event)
        for stream in list(self._streams):
            stream._put(event)

    def _on_mark(self, say: _Say, event: Mark) -> None:
        if not event.interrupted and not say.cut:
            if say.encoded:
                # What the element played since the mark before: this utterance's audio.
                gained = max(0, (event.played or 0) - self._mark_base)
                say.played_ns += gained
            else:
                gained = max(0, say.pushed_ns - say.played_ns)
                say.played_ns = say.pushed_ns
            if self._in_utterance and self._attributed is not None:
                self._attributed += gained
            self._resolve(say, cut=False)
        else:
            say.cut = True
            if self._in_utterance:
                # What it played is known with the last-audio that ends the cut utterance.
                self._awaiting_last_audio.append(say)
            else:
                self._resolve(say, cut=True)

    def _on_last_audio(self, event: LastAudio) -> None:
        rest = 0 if self._attributed is None else event.duration - self._attributed
        for say in self._unresolved:
            if rest < ROUNDING_NS:
                break
            if say.encoded:
                if not say.started:
                    continue
                # Its length is unknown: it is the one that was playing.
                say.played_ns += rest
                rest = 0
                break
            room = say.pushed_ns - say.played_ns
            if room <= 0:
                continue
            take = min(rest, room)
            say.played_ns += take
            rest -= take
        if event.interrupted:
            self._estimate_cut_encoded(event.dropped)
        self._in_utterance = False
        self._attributed = 0
        self._mark_base = event.duration
        waiting, self._awaiting_last_audio = self._awaiting_last_audio, []
        for say in waiting:
            self._resolve(say, cut=True)

    def _estimate_cut_encoded(self, dropped: int) -> None:
        """An interrupted utterance's ``dropped`` is the speech its cut left unplayed (bytes not
        yet decoded estimated by the element). When one encoded utterance of ours is among the
        cut ones, what the raw ones dropped is known, so the rest is its: its whole length is
        then what it played plus that (for :func:`heard_text`)."""
        cut = [say for say in self._awaiting_last_audio if say.started]
        encoded = [say for say in cut if say.encoded]
        if len(encoded) != 1:
            return
        raw_dropped = sum(max(0, say.pushed_ns - say.played_ns) for say in cut if not say.encoded)
        say = encoded[0]
        say.estimate_ns = say.played_ns + max(0, dropped - raw_dropped)

    def _on_null(self) -> None:
        """The element went to NULL: whatever was pending will not play."""
        if self._closed:
            return
        self._cut()
        self._drop_stale()
        self._end_all(cut=True)

    # ------------------------------------------------------------------ internals: the worker

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._jobs and not self._closed:
                    self._cv.wait()
                if not self._jobs:
                    return
                job = self._jobs.popleft()
            if isinstance(job, _Op):
                try:
                    result = job.run()
                except Exception as exc:  # pragma: no cover - emit does not raise
                    self._call(_set_exception, job.future, exc)
                else:
                    self._call(_set_result, job.future, result)
                continue
            try:
                self._play(job)
            except Exception as exc:  # pragma: no cover - a bug here must not stop the worker
                job.error = exc
                with self._lock:
                    if self._inflight is job:
                        self._inflight = None
                self._call(self._resolve_stale, job)

    def _stale(self, say: _Say) -> bool:
        return say.generation != self._generation or self._closed

    def _play(self, say: _Say) -> None:
        if self._stale(say):
            self._call(self._resolve_stale, say)
            return
        caps = say.caps if say.caps is not None else self._element.get_property("speech-caps")
        say.encoded = _is_encoded(caps)
        say.bpf, say.rate = _format_of(caps)
        piece = _piece_bytes(say.bpf, say.rate)
        if say.kind == "bytes":
            say.total_bytes = len(say.source)
        chunks = self._chunks(say)
        try:
            for chunk in chunks:
                for data in _sources.pieces(chunk, piece):
                    if not self._push(say, data):
                        raise _Stop
            say.exhausted = not self._stale(say) and say.error is None and not say.cut
        except _Stop:
            pass
        except Exception as exc:  # the source raised or gave something that is not audio
            say.error = exc
        finally:
            chunks.close()
        if say.exhausted:
            say.total_bytes = say.pushed_bytes
        self._finish(say)

    def _chunks(self, say: _Say) -> Iterator[bytes]:
        if say.kind == "bytes":
            yield say.source
        elif say.kind == "iter":
            iterator = iter(say.source)
            try:
                for chunk in iterator:
                    if self._stale(say):
                        return
                    yield _sources.as_bytes(chunk)
            finally:
                close = getattr(iterator, "close", None)
                if close is not None:
                    close()
        else:
            channel = say.channel
            assert channel is not None
            while True:
                with self._cv:
                    while not channel.items and not channel.ended and not self._stale(say):
                        self._cv.wait()
                    if self._stale(say):
                        return
                    data = channel.take_locked()
                    if data is None:  # ended
                        if channel.error is not None:
                            raise channel.error
                        return
                yield data

    def _room_wait(self, limit_prop: str, queued_prop: str) -> Optional[float]:
        """None when a push would not block; else how long to wait before looking again."""
        limit = self._element.get_property(limit_prop)
        if not limit:
            return None
        queued = self._element.get_property(queued_prop)
        if queued == 0 or queued + ROOM_MARGIN_NS < limit:
            return None
        return min(max((queued + ROOM_MARGIN_NS - limit) / SECOND, MIN_WAIT_S), MAX_WAIT_S)

    def _push(self, say: _Say, data: bytes) -> bool:
        buffer = Gst.Buffer.new_wrapped(data)
        if say.caps is not None:
            signal, payload = "push-speech-sample", Gst.Sample.new(buffer, say.caps, None, None)
        else:
            signal, payload = "push-speech", buffer
        while True:
            with self._lock:
                if self._stale(say):
                    return False
                wait = self._room_wait("max-speech-time", "queued-speech-time")
                if wait is None:
                    if not say.started:
                        say.started = True
                        self._inflight = say
                    # Counted before the push: the audio can play, and its last-audio reach
                    # the loop, before this thread runs again after the emit.
                    say.pushed_bytes += len(data)
                    ret = self._element.emit(signal, payload)
                    if _flow_ok(ret):
                        return True
                    say.pushed_bytes -= len(data)
                    if ret == Gst.FlowReturn.FLUSHING:
                        # Not our interrupt (we hold the lock): someone emitted interrupt on
                        # the element, or it is stopping. This utterance is cut.
                        say.cut = True
                    else:
                        say.error = AgentAudioError(
                            f"{signal} returned {ret.value_nick} (see the element's error on "
                            "the bus)")
                    return False
            with self._cv:
                if self._stale(say):
                    return False
                self._cv.wait(wait)

    def _finish(self, say: _Say) -> None:
        missing = -say.pushed_bytes % say.bpf if say.bpf else 0
        if missing and say.started and not say.cut and not self._stale(say):
            # Complete the last frame, or the next utterance's first bytes would.
            if self._push(say, bytes(missing)) and say.exhausted:
                say.total_bytes = say.pushed_bytes
        with self._lock:
            if self._inflight is say:
                self._inflight = None
            if not say.mark_placed and not self._stale(say):
                if say.started and not say.cut and self._has_end_of_utterance:
                    # Its stream is complete: what the decoder or resampler holds is queued
                    # now, before the mark, and the next utterance starts a new stream.
                    self._element.emit("end-of-utterance")
                self._element.emit("mark", say.mark_name)
                say.mark_placed = True
            placed = say.mark_placed
        if placed:
            self._call(self._on_queued, say)
        else:
            self._call(self._resolve_stale, say)

    def _resolve_stale(self, say: _Say) -> None:
        self._resolve(say, cut=True)

    # ------------------------------------------------------------------ internals: background

    def _clear_bed(self) -> int:
        with self._bed_lock:
            self._bed_generation += 1
            dropped = int(self._element.emit("clear-background"))
        with self._bed_cv:
            self._bed_cv.notify_all()
        self._drop_stale_bed()
        return dropped

    def _drop_stale_bed(self) -> None:
        with self._bed_cv:
            stale = [j for j in self._bed_jobs if j.generation != self._bed_generation]
            if stale:
                self._bed_jobs = collections.deque(
                    j for j in self._bed_jobs if j.generation == self._bed_generation)
        for job in stale:
            if not job.future.done():
                job.future.set_result(False)
            if job.channel is not None and job.channel.task is not None:
                job.channel.wake()
                job.channel.task.cancel()

    def _run_bed(self) -> None:
        while True:
            with self._bed_cv:
                while not self._bed_jobs and not self._closed:
                    self._bed_cv.wait()
                if not self._bed_jobs:
                    return
                job = self._bed_jobs.popleft()
            ok = self._play_bed(job)
            self._call(_set_result, job.future, ok)

    def _play_bed(self, job: _BedJob) -> bool:
        def stale() -> bool:
            return job.generation != self._bed_generation or self._closed

        if job.channel is not None:
            job.channel.wake()
        if stale():
            return False
        bpf, rate = _format_of(self._element.get_property("background-caps"))
        piece = _piece_bytes(bpf, rate)
        try:
            for chunk in self._bed_chunks(job, stale):
                for data in _sources.pieces(chunk, piece):
                    if not self._push_bed(data, stale):
                        return False
        except Exception:
            return False
        return not stale()

    def _bed_chunks(self, job: _BedJob, stale: Callable[[], bool]) -> Iterator[bytes]:
        if job.kind == "bytes":
            yield job.source
        elif job.kind == "iter":
            for chunk in job.source:
                if stale():
                    return
                yield _sources.as_bytes(chunk)
        else:
            channel = job.channel
            assert channel is not None
            while True:
                with self._bed_cv:
                    while not channel.items and not channel.ended and not stale():
                        self._bed_cv.wait()
                    if stale():
                        return
                    data = channel.take_locked()
                    if data is None:
                        return
                yield data

    def _push_bed(self, data: bytes, stale: Callable[[], bool]) -> bool:
        buffer = Gst.Buffer.new_wrapped(data)
        while True:
            with self._bed_lock:
                if stale():
                    return False
                wait = self._room_wait("max-background-time", "queued-background-time")
                if wait is None:
                    return _flow_ok(self._element.emit("push-background", buffer))
            with self._bed_cv:
                if stale():
                    return False
                self._bed_cv.wait(wait)


class _Stop(Exception):
    """The utterance stopped pushing (cut, or the element refused audio)."""


def _set_result(future: asyncio.Future, value: Any) -> None:
    if not future.done():
        future.set_result(value)


def _set_exception(future: asyncio.Future, exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
