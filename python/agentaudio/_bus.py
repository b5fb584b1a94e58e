"""Bus messages on asyncio, without taking the bus watch or the sync handler."""

from __future__ import annotations

import asyncio
from typing import AsyncIterator, Optional

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402


async def bus_messages(pipeline: Gst.Element,
                       types: Gst.MessageType = Gst.MessageType.ANY,
                       *, loop: Optional[asyncio.AbstractEventLoop] = None
                       ) -> AsyncIterator[Gst.Message]:
    """Yields the pipeline's bus messages of ``types`` on the event loop, as they are posted.

    Like :class:`~agentaudio.AgentOutput`, it listens with a ``sync-message`` handler, so the
    application's bus watch and sync handler keep working (a sync handler that returns
    ``Gst.BusSyncReply.DROP`` hides the messages it drops from it). Stop iterating (``break``)
    to disconnect::

        async for msg in agentaudio.bus_messages(pipeline, Gst.MessageType.EOS |
                                                 Gst.MessageType.ERROR):
            ...
    """
    loop = loop or asyncio.get_running_loop()
    bus = pipeline.get_bus()
    queue: asyncio.Queue[Gst.Message] = asyncio.Queue()

    def on_sync(_bus: Gst.Bus, msg: Gst.Message) -> None:
        if msg.type & types:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, msg)
            except RuntimeError:  # the loop is closed
                pass

    bus.enable_sync_message_emission()
    handler = bus.connect("sync-message", on_sync)
    try:
        while True:
            yield await queue.get()
    finally:
        bus.disconnect(handler)
        bus.disable_sync_message_emission()
