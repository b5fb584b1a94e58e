"""Element behaviour the package relies on, which the race tests once found wrong.

Each test asserts what docs/agentaudiosrc.md promises. (A second interrupt before the first
one's cut took effect used to move the first utterance's end; fixed in the speech layer.)
"""

from __future__ import annotations

import pytest
from gi.repository import Gst

from conftest import MS, RATE, Clocked, samples


def element_messages(clocked: Clocked) -> list[Gst.Structure]:
    bus = clocked.pipeline.get_bus()
    out = []
    while (msg := bus.pop_filtered(Gst.MessageType.ELEMENT)) is not None:
        out.append(msg.get_structure())
    return out


def test_second_interrupt_before_the_cut_is_posted_keeps_the_first_utterance_end():
    c = Clocked({"interrupt-fade": 2 * MS})  # 48 samples at 24 kHz
    agent = c.agent
    agent.emit("push-speech", Gst.Buffer.new_wrapped(samples(100, 960)))
    c.start()  # buffer 0: 480 samples of speech
    agent.emit("interrupt")  # the fade is buffer 1's first 48 samples, and nothing follows
    c.crank()  # buffer 1: the fade, then silence; the utterance ends with its fade
    agent.emit("push-speech", Gst.Buffer.new_wrapped(samples(200, 480)))  # a new utterance
    agent.emit("interrupt")  # ... interrupted before it plays
    c.crank(3)
    lasts = [s for s in element_messages(c) if s.get_name() == "last-audio"]
    c.stop()
    first = lasts[0]
    # The first utterance: 480 + 48 samples, ending with the fade at 20 ms + 2 ms.
    assert first.get_value("running-time") == 22 * MS
    assert first.get_value("duration") == (480 + 48) * Gst.SECOND // RATE
