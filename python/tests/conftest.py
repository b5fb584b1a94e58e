"""Shared set-up for the agentaudio tests.

The tests import the package from this checkout (python/) and the plugin from the build tree
(builddir/gst/agentaudio, or what GST_PLUGIN_PATH says). Run them with the Debian interpreter:

    GST_PLUGIN_PATH=$PWD/builddir/gst/agentaudio /usr/bin/python3 -m pytest python/tests

Element-driven tests use a GstTestClock: time moves only when a test cranks it, one buffer per
crank, and every assertion is about samples and messages, never about how long something took.
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import sys
import threading
from typing import Any, Awaitable, Callable, Optional

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))
if "GST_PLUGIN_PATH" not in os.environ:
    os.environ["GST_PLUGIN_PATH"] = str(ROOT / "builddir" / "gst" / "agentaudio")

import gi  # noqa: E402

gi.require_version("Gst", "1.0")
gi.require_version("GstCheck", "1.0")
from gi.repository import Gst, GstCheck  # noqa: E402

import numpy as np  # noqa: E402

Gst.init(None)

RATE = 24000
MS = Gst.MSECOND
# Bounded waits: a test that would hang fails after this instead.
WAIT_S = 10.0


def pytest_configure(config: Any) -> None:
    if Gst.ElementFactory.find("agentaudiosrc") is None:
        raise pytest.UsageError(
            "agentaudiosrc not found: build it (bash scripts/build.sh) and set GST_PLUGIN_PATH "
            f"(now {os.environ.get('GST_PLUGIN_PATH')!r})")


def run(coro_fn: Callable[[], Awaitable[Any]], timeout: float = 60.0) -> Any:
    """Runs ``coro_fn()`` in a fresh event loop, failing instead of hanging."""

    async def bounded() -> Any:
        return await asyncio.wait_for(coro_fn(), timeout)

    return asyncio.run(bounded())


def samples(value: int, n: int) -> bytes:
    """``n`` S16LE samples of the constant ``value``: a tag that survives the element."""
    return np.full(n, value, dtype="<i2").tobytes()


def tone(freq: float, seconds: float, rate: int = RATE, amplitude: int = 8000) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype("<i2").tobytes()


class Clocked:
    """``agentaudiosrc ! appsink`` on a GstTestClock, output in the speech-caps format
    (24 kHz mono S16LE), every buffer kept with its PTS."""

    def __init__(self, element_props: Optional[dict[str, Any]] = None,
                 caps: str = "audio/x-raw,rate=24000,channels=1"):
        self.pipeline = Gst.parse_launch(
            f"agentaudiosrc name=agent ! {caps} ! appsink name=sink sync=false emit-signals=true")
        self.agent = self.pipeline.get_by_name("agent")
        for name, value in (element_props or {}).items():
            self.agent.set_property(name, value)
        self.clock = GstCheck.TestClock.new()
        self.pipeline.use_clock(self.clock)
        self._cv = threading.Condition()
        self.buffers: list[tuple[int, np.ndarray]] = []
        self.pipeline.get_by_name("sink").connect("new-sample", self._on_sample)

    def _on_sample(self, sink: Gst.Element) -> Gst.FlowReturn:
        sample = sink.emit("pull-sample")
        buf = sample.get_buffer()
        ok, info = buf.map(Gst.MapFlags.READ)
        assert ok
        data = np.frombuffer(bytes(info.data), dtype="<i2").copy()
        buf.unmap(info)
        with self._cv:
            self.buffers.append((buf.pts, data))
            self._cv.notify_all()
        return Gst.FlowReturn.OK

    def wait_buffers(self, n: int) -> None:
        with self._cv:
            if not self._cv.wait_for(lambda: len(self.buffers) >= n, WAIT_S):
                raise AssertionError(f"only {len(self.buffers)} of {n} buffers came")

    def start(self) -> None:
        """PLAYING, and the first buffer."""
        assert self.pipeline.set_state(Gst.State.PLAYING) != Gst.StateChangeReturn.FAILURE
        self.crank()

    def crank(self, n: int = 1) -> None:
        """Lets ``n`` more buffers be made, each fully pushed before this returns."""
        for _ in range(n):
            expected = len(self.buffers) + 1
            assert self.clock.crank()
            self.wait_buffers(expected)

    async def crank_until(self, condition: Callable[[], bool], limit: int = 2000) -> None:
        """Cranks (letting the loop run in between) until ``condition()``."""
        for _ in range(limit):
            await settle()
            if condition():
                return
            self.crank()
        await settle()
        assert condition(), f"not reached after {limit} buffers"

    def output(self) -> np.ndarray:
        with self._cv:
            return np.concatenate([b for _pts, b in self.buffers]) if self.buffers else \
                np.zeros(0, dtype="<i2")

    def stop(self) -> None:
        self.pipeline.set_state(Gst.State.NULL)


async def settle(rounds: int = 5) -> None:
    """Lets the loop run what the element's threads handed to it."""
    for _ in range(rounds):
        await asyncio.sleep(0)
