"""Audio sources: bytes, an iterable of bytes, or an async iterable of bytes (a streaming TTS).

Bytes and iterables are read on the output's worker thread; an async iterable is read by a task
on the event loop, which hands the chunks to the worker through a :class:`Channel`.
"""

from __future__ import annotations

import asyncio
import collections
import threading
from typing import Any, AsyncIterable, Callable, Iterable, Iterator, Optional, Union

AudioSource = Union[bytes, bytearray, memoryview, Iterable[Any], AsyncIterable[Any]]

# An async source is read ahead by at most this many bytes (about 1.4 s of 24 kHz mono S16):
# enough to ride over the TTS's jitter, and a stream that is interrupted is not read much past
# what was played.
READ_AHEAD_BYTES = 64 * 1024


def as_bytes(chunk: Any) -> bytes:
    """A chunk as bytes: anything with the buffer protocol (bytes, bytearray, memoryview, a
    NumPy array); text is refused."""
    if isinstance(chunk, bytes):
        return chunk
    if isinstance(chunk, str):
        raise TypeError("audio chunks must be bytes (raw samples), not str")
    try:
        return bytes(memoryview(chunk))
    except TypeError:
        raise TypeError(
            f"audio chunks must be bytes-like (bytes, bytearray, memoryview), not "
            f"{type(chunk).__name__}") from None


def classify(audio: Any) -> str:
    """``"bytes"``, ``"iter"`` or ``"aiter"``; TypeError for anything else."""
    if isinstance(audio, str):
        raise TypeError("audio must be bytes, an iterable or an async iterable of bytes, not str")
    if isinstance(audio, (bytes, bytearray, memoryview)):
        return "bytes"
    if hasattr(audio, "__aiter__"):
        return "aiter"
    if hasattr(audio, "__iter__"):
        return "iter"
    try:
        memoryview(audio)
        return "bytes"
    except TypeError:
        raise TypeError(
            "audio must be bytes, an iterable or an async iterable of bytes, not "
            f"{type(audio).__name__}") from None


class Channel:
    """Chunks from an async iterable on the loop to the worker thread.

    ``cv`` is the worker's condition variable: putting a chunk or ending the stream wakes it.
    """

    def __init__(self, cv: threading.Condition, loop: asyncio.AbstractEventLoop):
        self.cv = cv
        self.loop = loop
        self.items: collections.deque[bytes] = collections.deque()
        self.buffered = 0
        self.ended = False
        self.error: Optional[BaseException] = None
        self.task: Optional[asyncio.Task] = None
        self._room = asyncio.Event()
        self._waiting = False

    async def feed(self, source: AsyncIterable[Any], stale: Callable[[], bool]) -> None:
        """Reads ``source`` into the channel (a task on the loop)."""
        try:
            async for chunk in source:
                data = as_bytes(chunk)
                with self.cv:
                    self.items.append(data)
                    self.buffered += len(data)
                    self.cv.notify_all()
                while True:
                    with self.cv:
                        if self.buffered <= READ_AHEAD_BYTES or stale():
                            self._waiting = False
                            break
                        self._waiting = True
                    self._room.clear()
                    await self._room.wait()
                if stale():
                    break
        except asyncio.CancelledError:
            pass  # interrupted: the rest of the stream is not wanted
        except Exception as exc:  # the TTS failed: what it gave so far still plays
            self.error = exc
        finally:
            with self.cv:
                self.ended = True
                self.cv.notify_all()

    def take_locked(self) -> Optional[bytes]:
        """The next chunk, or None when none is there; call with ``cv`` held."""
        if not self.items:
            return None
        data = self.items.popleft()
        self.buffered -= len(data)
        if self._waiting and self.buffered <= READ_AHEAD_BYTES // 2:
            self._waiting = False
            try:
                self.loop.call_soon_threadsafe(self._room.set)
            except RuntimeError:  # the loop is closed
                pass
        return data

    def wake(self) -> None:
        """Lets a feeder waiting for room look again (it then sees that it is stale)."""
        self._room.set()


def pieces(data: bytes, size: int) -> Iterator[bytes]:
    """``data`` in pieces of at most ``size`` bytes."""
    if len(data) <= size:
        if data:
            yield data
        return
    for i in range(0, len(data), size):
        yield data[i:i + size]
