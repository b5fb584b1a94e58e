"""agentaudio: the asyncio side of the ``agentaudiosrc`` GStreamer element.

* :class:`AgentOutput` wraps an ``agentaudiosrc`` in any pipeline: ``say()`` queues an utterance
  and returns a :class:`SpeechHandle` at once; ``await handle`` gives its :class:`Playout`
  (what was played, whether it was cut, the text that was heard); ``await interrupt()`` is an
  atomic barge-in; ``events()`` yields :class:`FirstAudio`, :class:`LastAudio`, :class:`Mark`
  (and :class:`Paused` / :class:`Resumed`).
* :mod:`agentaudio.aiortc` has :class:`~agentaudio.aiortc.AgentAudioTrack`, an aiortc audio
  track paced by GStreamer, with the method names of VideoSDK's agent audio track.

See docs/python.md in the agentaudiosrc repository.
"""

from ._bus import BusMessages, bus_messages
from ._events import Event, FirstAudio, LastAudio, Mark, Paused, Resumed
from ._output import AgentAudioError, AgentOutput, EventStream, Playout, SpeechHandle
from ._text import CHARACTERS_PER_SECOND, heard_text

__all__ = [
    "AgentAudioError",
    "AgentOutput",
    "BusMessages",
    "CHARACTERS_PER_SECOND",
    "Event",
    "EventStream",
    "FirstAudio",
    "LastAudio",
    "Mark",
    "Paused",
    "Playout",
    "Resumed",
    "SpeechHandle",
    "bus_messages",
    "heard_text",
]

__version__ = "0.1.0"
