"""What part of an utterance's text was heard: transcript truncation after a barge-in."""

from __future__ import annotations

import re
from typing import Optional, Sequence, Tuple

Word = Tuple[str, float, float]

# A TTS voice says about 14-16 characters a second. Only used to spread text over a streamed
# utterance that was cut before all of its audio arrived (its full length is then unknown).
CHARACTERS_PER_SECOND = 15.0

# A word counts as heard when it ended no later than this after the cut: float slack, well
# under one sample at any rate the element takes.
_SLACK_S = 0.5e-6

_WORD = re.compile(r"\S+")


def validate_words(words: Optional[Sequence[Word]]) -> Optional[list[Word]]:
    """Checks ``[(word, start_s, end_s), ...]`` and returns it as a list of tuples."""
    if words is None:
        return None
    out: list[Word] = []
    for item in words:
        try:
            word, start, end = item
        except (TypeError, ValueError):
            raise TypeError(
                f"words: expected (word, start_s, end_s) tuples, got {item!r}") from None
        if not isinstance(word, str):
            raise TypeError(f"words: the word must be a str, got {word!r}")
        start, end = float(start), float(end)
        if not 0.0 <= start <= end:
            raise ValueError(f"words: {word!r} has start {start} and end {end}")
        out.append((word, start, end))
    return out


def heard_words(words: Sequence[Word], played_s: float) -> int:
    """How many of ``words`` ended by ``played_s`` (they are in order)."""
    n = 0
    for _word, _start, end in words:
        if end > played_s + _SLACK_S:
            break
        n += 1
    return n


def _cut_text_at_words(text: str, words: Sequence[Word], n: int) -> Optional[str]:
    """``text`` up to the end of its ``n``-th word, finding the TTS's words in it in order, so
    that the original spacing and punctuation are kept; ``None`` if a word is not found."""
    if n == 0:
        return ""
    pos = 0
    end = 0
    for word, _start, _end in words[:n]:
        token = word.strip()
        if not token:
            continue
        at = text.find(token, pos)
        if at < 0:
            return None
        end = pos = at + len(token)
    # Keep punctuation that trails the last heard word ("Hello," -> "Hello,").
    while end < len(text) and not text[end].isspace() and not text[end].isalnum():
        end += 1
    return text[:end]


def heard_text(text: Optional[str], words: Optional[Sequence[Word]], played_s: float,
               duration_s: float, complete: bool) -> str:
    """The text whose words ended before the cut.

    ``words`` (from the TTS) are exact. Without them the text is spread over the utterance by
    character count: word ``k`` is taken to end at ``duration * chars_up_to_its_end / len(text)``.
    ``complete`` says whether ``duration_s`` is the utterance's full length; when it is not (a
    stream cut before its end), the length is estimated at :data:`CHARACTERS_PER_SECOND`.
    """
    if words is not None:
        n = heard_words(words, played_s)
        if text:
            cut = _cut_text_at_words(text, words, n)
            if cut is not None:
                return cut
        return " ".join(w.strip() for w, _s, _e in words[:n] if w.strip())
    if not text:
        return ""
    total = duration_s if complete else max(duration_s, len(text) / CHARACTERS_PER_SECOND)
    if total <= 0.0:
        return ""
    heard_end = 0
    for match in _WORD.finditer(text):
        if total * match.end() / len(text) > played_s + _SLACK_S:
            break
        heard_end = match.end()
    return text[:heard_end]
