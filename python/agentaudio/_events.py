"""The typed events an :class:`~agentaudio.AgentOutput` delivers on its event loop.

Each event is one element message of ``agentaudiosrc``, read on the thread that posted it and
handed to the loop unchanged. Times are pipeline running times in integer nanoseconds, exactly as
the element reports them (the ``*_s`` properties give seconds); ``posted_at`` is the
:func:`time.monotonic` time at which the message was posted, so that ``time.monotonic() -
event.posted_at`` on the loop is the hand-over latency.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional, Union

if TYPE_CHECKING:  # pragma: no cover
    from ._output import SpeechHandle

SECOND = 1_000_000_000


@dataclass(frozen=True)
class FirstAudio:
    """The first sample of an utterance was played (the element's ``first-audio`` message)."""

    running_time: int
    """Running time of that first sample, ns."""
    posted_at: float = field(default=0.0, compare=False)

    @property
    def running_time_s(self) -> float:
        return self.running_time / SECOND


@dataclass(frozen=True)
class LastAudio:
    """An utterance ended (``last-audio``): the voice went silent, or was cut."""

    running_time: int
    """The exact end of the last speech sample played, ns."""
    duration: int
    """Speech played in the utterance, ns (a fade included, silence inside it not)."""
    interrupted: bool
    """An interrupt cut it (or the element was stopped)."""
    dropped: int
    """Speech of the utterance that was discarded and never played, ns."""
    posted_at: float = field(default=0.0, compare=False)

    @property
    def running_time_s(self) -> float:
        return self.running_time / SECOND

    @property
    def duration_s(self) -> float:
        return self.duration / SECOND

    @property
    def dropped_s(self) -> float:
        return self.dropped / SECOND


@dataclass(frozen=True)
class Mark:
    """A mark was reached, or dropped by an interrupt (``interrupted``).

    :class:`~agentaudio.AgentOutput` puts one mark after every utterance it queues; for those,
    ``handle`` is the :class:`~agentaudio.SpeechHandle` of the utterance. Marks placed by other
    code have ``handle`` ``None``.
    """

    name: str
    running_time: Optional[int]
    """End of the speech before the mark (or where it was cut), ns; ``None`` when the element had
    not produced any output yet."""
    interrupted: bool
    handle: Optional["SpeechHandle"] = field(default=None, compare=False)
    posted_at: float = field(default=0.0, compare=False)
    played: Optional[int] = None
    """Speech its element utterance played before the mark, ns (for an interrupted mark: when it
    was cut); ``None`` from an element too old to say."""

    @property
    def running_time_s(self) -> Optional[float]:
        return None if self.running_time is None else self.running_time / SECOND


@dataclass(frozen=True)
class Paused:
    """Speech was paused (``paused`` message, from elements that have ``pause``)."""

    running_time: int
    """Where the pause's fade ends, ns."""
    played: int
    """Speech played in the utterance so far, ns."""
    posted_at: float = field(default=0.0, compare=False)

    @property
    def running_time_s(self) -> float:
        return self.running_time / SECOND


@dataclass(frozen=True)
class Resumed:
    """Paused speech resumed (``resumed`` message, from elements that have ``resume``)."""

    running_time: int
    """Where the fade-in starts, ns."""
    paused_for: int
    """How long it was paused, ns."""
    posted_at: float = field(default=0.0, compare=False)

    @property
    def running_time_s(self) -> float:
        return self.running_time / SECOND


Event = Union[FirstAudio, LastAudio, Mark, Paused, Resumed]
