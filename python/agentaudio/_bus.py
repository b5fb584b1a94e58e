"""Bus messages on asyncio, without taking the bus watch or the sync handler."""

from __future__ import annotations

import asyncio
from typing import Any, Optional

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402


class BusMessages:
    """The pipeline's bus messages of ``types``, on the event loop, from the moment it is made.

    An async iterator (and async context manager); :meth:`close` disconnects it. Like
    :class:`~agentaudio.AgentOutput`, it listens with a ``sync-message`` handler, so the
    application's bus watch and sync handler keep working (a sync handler that returns
    ``Gst.BusSyncReply.DROP`` hides the messages it drops from it).
    """

    def __init__(self, pipeline: Gst.Element, types: Gst.MessageType = Gst.MessageType.ANY,
                 *, loop: Optional[asyncio.AbstractEventLoop] = None):
        self._loop = loop or asyncio.get_running_loop()
        self._types = types
        self._queue: asyncio.Queue[Gst.Message] = asyncio.Queue()
        self._bus = pipeline.get_bus()
        self._bus.enable_sync_message_emission()
        self._handler: Optional[int] = self._bus.connect("sync-message", self._on_sync)

    def _on_sync(self, _bus: Gst.Bus, msg: Gst.Message) -> None:
        if msg.type & self._types:
            try:
                self._loop.call_soon_threadsafe(self._queue.put_nowait, msg)
            except RuntimeError:  # the loop is closed
                pass

    def __aiter__(self) -> "BusMessages":
        return self

    async def __anext__(self) -> Gst.Message:
        if self._handler is None and self._queue.empty():
            raise StopAsyncIteration
        return await self._queue.get()

    def close(self) -> None:
        """Disconnects from the bus (messages already received can still be read)."""
        if self._handler is not None:
            self._bus.disconnect(self._handler)
            self._bus.disable_sync_message_emission()
            self._handler = None

    async def __aenter__(self) -> "BusMessages":
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        self.close()


def bus_messages(pipeline: Gst.Element, types: Gst.MessageType = Gst.MessageType.ANY, *,
                 loop: Optional[asyncio.AbstractEventLoop] = None) -> BusMessages:
    """The pipeline's bus messages of ``types`` on the loop, from now on (a
    :class:`BusMessages`)::

        eos = agentaudio.bus_messages(pipeline, Gst.MessageType.EOS | Gst.MessageType.ERROR)
        ...
        msg = await anext(eos)
        eos.close()
    """
    return BusMessages(pipeline, types, loop=loop)
