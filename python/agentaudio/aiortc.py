"""AgentAudioTrack: an aiortc audio track whose audio comes from ``agentaudiosrc``.

It keeps the method names of the audio track of VideoSDK's agents framework
(``CustomAudioStreamTrack``), so that an agent changes one line::

    audio_track = AgentAudioTrack(loop=loop)     # was: CustomAudioStreamTrack(loop=loop)

and gets clock-paced playout, a mixed and ducked background, an atomic barge-in and the exact
end of the speech played. Its own pipeline is::

    agentaudiosrc ! audio/x-raw,format=S16LE,rate=48000,channels=1 ! appsink

``recv()`` returns one 20 ms ``av.AudioFrame`` per buffer the element makes, with ``pts`` and
``time_base`` from the buffer's PTS; GStreamer's clock paces it, not ``asyncio.sleep``.
"""

from __future__ import annotations

import asyncio
import collections
import fractions
import inspect
from typing import Any, Callable, Generator, Optional, Union

import av
import gi
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

gi.require_version("Gst", "1.0")
gi.require_version("GstAudio", "1.0")
from gi.repository import Gst, GstAudio  # noqa: E402

from ._events import LastAudio  # noqa: E402
from ._output import AgentAudioError, AgentOutput, SpeechHandle  # noqa: E402

# Frames kept for a consumer that is late; older ones are dropped (the stream is live).
MAX_PENDING_FRAMES = 50


class _Done:
    """An awaitable that is already done, for methods the seed framework awaits and others
    call plainly (``cleanup()``)."""

    def __await__(self) -> Generator[Any, None, None]:
        return
        yield  # pragma: no cover


class AgentAudioTrack(MediaStreamTrack):
    """An aiortc ``MediaStreamTrack`` (``kind`` ``"audio"``) fed by an ``agentaudiosrc``.

    ``loop``: the event loop (default: the running one). ``output_rate`` and
    ``output_channels``: the frames ``recv()`` returns (aiortc's Opus encoder takes 20 ms frames
    of mono or stereo at any rate). ``speech_caps`` / ``background_caps``: the format of the
    bytes given to :meth:`add_new_bytes` / :meth:`add_background_bytes` (default S16LE 24 kHz
    mono, as in VideoSDK); as in VideoSDK's track, :attr:`sample_rate`, :attr:`channels` and
    :attr:`sample_width` describe those bytes. ``max_speech_time``: seconds of speech queued
    ahead before :meth:`add_new_bytes` waits (0 = never wait, as VideoSDK's track). Other
    element properties can be set on ``track.output.element``.

    The pipeline goes to PLAYING at the first ``recv()`` (speech added before plays from the
    first frame) and to NULL in :meth:`cleanup` / :meth:`stop`.
    """

    kind = "audio"

    def __init__(self, loop: Optional[asyncio.AbstractEventLoop] = None, *,
                 output_rate: int = 48000, output_channels: int = 1,
                 speech_caps: Union[Gst.Caps, str, None] = None,
                 background_caps: Union[Gst.Caps, str, None] = None,
                 max_speech_time: float = 0.0) -> None:
        super().__init__()
        if not Gst.is_initialized():
            Gst.init(None)
        if Gst.ElementFactory.find("agentaudiosrc") is None:
            raise AgentAudioError(
                "agentaudiosrc not found: build the plugin and set GST_PLUGIN_PATH to its "
                "directory (builddir/gst/agentaudio)")
        if output_channels not in (1, 2):
            raise ValueError("output_channels must be 1 or 2 (aiortc sends mono or stereo)")
        self._loop = loop if loop is not None else _current_loop()
        self.output_rate = output_rate
        self.output_channels = output_channels
        self._time_base = fractions.Fraction(1, output_rate)
        self._pipeline = Gst.parse_launch(
            "agentaudiosrc name=agent ptime=20 "
            f"! audio/x-raw,format=S16LE,layout=interleaved,rate={output_rate},"
            f"channels={output_channels} "
            "! appsink name=sink sync=false emit-signals=true max-buffers=50 drop=true")
        agent = self._pipeline.get_by_name("agent")
        if speech_caps is not None:
            agent.set_property("speech-caps", _to_caps(speech_caps))
        info = GstAudio.AudioInfo.new_from_caps(agent.get_property("speech-caps"))
        self.sample_rate: int = info.rate
        """Rate of the bytes :meth:`add_new_bytes` takes (VideoSDK's attribute)."""
        self.channels: int = info.channels
        self.sample_width: int = info.bpf // max(1, info.channels)
        if background_caps is not None:
            agent.set_property("background-caps", _to_caps(background_caps))
        agent.set_property("max-speech-time", int(max_speech_time * Gst.SECOND))
        self._sink = self._pipeline.get_by_name("sink")
        self._sink.connect("new-sample", self._on_new_sample)
        self._frames: collections.deque[tuple[int, bytes]] = collections.deque()
        self._frame_ready: Optional[asyncio.Future] = None
        self._started = False
        self._stopped = False
        self._last_audio_callback: Optional[Callable[..., Any]] = None
        self.output = AgentOutput(agent, loop=self._loop)
        """The :class:`~agentaudio.AgentOutput` of the track's element: handles, events,
        pause/resume, background volume and ducking."""
        self.output._listeners.append(self._on_event)

    # ---- VideoSDK's CustomAudioStreamTrack API ------------------------------------

    async def add_new_bytes(self, audio_data: bytes) -> SpeechHandle:
        """Queues TTS audio (``speech_caps`` format, any chunk size) after what is queued.

        Returns once it is queued in the element (with ``max_speech_time``, once there was
        room), or at once if an interrupt dropped it; the returned handle resolves when it has
        been played."""
        handle = self.output.say(audio_data)
        await handle.wait_queued()
        return handle

    async def add_background_bytes(self, audio_data: bytes) -> None:
        """Appends background audio (``background_caps`` format), mixed under the speech and
        ducked by the element's ``duck-volume``."""
        await self.output.play_background(audio_data, loop=self.output.element.get_property(
            "background-loop"), replace=False)

    def interrupt(self) -> "asyncio.Future[float]":
        """Barge-in: drops all queued speech, atomically (see
        :meth:`AgentOutput.interrupt`); returns a done future of the seconds dropped."""
        return self.output.interrupt()

    def on_last_audio_byte(self, callback: Callable[..., Any]) -> None:
        """Calls ``callback`` each time the agent stops being heard (every ``last-audio``).

        It is called with the :class:`~agentaudio.LastAudio` event (its ``running_time`` is the
        exact end of the last sample played) when it takes an argument, else with none, as
        VideoSDK's track does; a coroutine it returns is run as a task."""
        self._last_audio_callback = callback

    def cleanup(self) -> _Done:
        """Interrupts, closes the output (pending handles resolve as interrupted), stops the
        pipeline and ends the track. May be awaited (VideoSDK awaits it) or called."""
        self.stop()
        return _Done()

    # ---- aiortc ------------------------------------------------------------------

    async def recv(self) -> av.AudioFrame:
        """The next 20 ms frame, when the element makes it."""
        if self.readyState != "live":
            raise MediaStreamError
        if not self._started:
            self._started = True
            if self._pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
                raise MediaStreamError("the agentaudiosrc pipeline cannot play")
        while not self._frames:
            if self.readyState != "live":
                raise MediaStreamError
            self._frame_ready = self._loop.create_future()
            try:
                await self._frame_ready
            finally:
                self._frame_ready = None
        pts_ns, data = self._frames.popleft()
        samples = len(data) // (2 * self.output_channels)
        frame = av.AudioFrame(format="s16",
                              layout="mono" if self.output_channels == 1 else "stereo",
                              samples=samples)
        frame.planes[0].update(data)
        frame.sample_rate = self.output_rate
        frame.time_base = self._time_base
        frame.pts = (pts_ns * self.output_rate + Gst.SECOND // 2) // Gst.SECOND
        return frame

    def stop(self) -> None:
        if not self._stopped:
            self._stopped = True
            self.output.close()
            self._pipeline.set_state(Gst.State.NULL)
            if self._frame_ready is not None and not self._frame_ready.done():
                self._frame_ready.set_result(None)
        super().stop()

    # ---- internals -----------------------------------------------------------------

    def _on_new_sample(self, sink: Gst.Element) -> Gst.FlowReturn:
        # The streaming thread: copy the samples out and hand them to the loop.
        sample = sink.emit("pull-sample")
        if sample is None:
            return Gst.FlowReturn.FLUSHING
        buf = sample.get_buffer()
        ok, info = buf.map(Gst.MapFlags.READ)
        if not ok:
            return Gst.FlowReturn.ERROR
        try:
            data = bytes(info.data)
        finally:
            buf.unmap(info)
        try:
            self._loop.call_soon_threadsafe(self._add_frame, buf.pts, data)
        except RuntimeError:  # the loop is closed
            return Gst.FlowReturn.FLUSHING
        return Gst.FlowReturn.OK

    def _add_frame(self, pts: int, data: bytes) -> None:
        if self._stopped:
            return
        self._frames.append((pts, data))
        while len(self._frames) > MAX_PENDING_FRAMES:
            self._frames.popleft()
        if self._frame_ready is not None and not self._frame_ready.done():
            self._frame_ready.set_result(None)

    def _on_event(self, event: Any) -> None:
        if not isinstance(event, LastAudio) or self._last_audio_callback is None:
            return
        callback = self._last_audio_callback
        result = callback(event) if _takes_argument(callback) else callback()
        if inspect.isawaitable(result):
            asyncio.ensure_future(result, loop=self._loop)


def _takes_argument(callback: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(callback).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
               for p in params)


def _to_caps(caps: Union[Gst.Caps, str]) -> Gst.Caps:
    return caps if isinstance(caps, Gst.Caps) else Gst.Caps.from_string(caps)


def _current_loop() -> asyncio.AbstractEventLoop:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        raise RuntimeError("AgentAudioTrack: pass loop=, or create it inside the running "
                           "event loop") from None


__all__ = ["AgentAudioTrack"]
