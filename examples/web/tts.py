"""espeak-ng through its C library (libespeak-ng.so.1, Debian's libespeak-ng1), with word timings.

The espeak-ng command line only writes audio; the library also reports where each word starts
in the audio (espeakEVENT_WORD), which is what the agent needs to place one `mark` after every
word so that an interrupted sentence's heard text is exactly the words whose marks were reached.

Only ctypes and the standard library: no Python package beyond what Debian's python3 has.
"""

import array
import ctypes
import ctypes.util
import math
import threading
from dataclasses import dataclass

# espeak_AUDIO_OUTPUT, espeak_EVENT_TYPE, espeak_POSITION_TYPE, espeak_PARAMETER (speak_lib.h)
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_RATE = 1
_VOLUME = 2


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),  # 1-based character position of the word
        ("length", ctypes.c_int),  # characters in the word
        ("audio_position", ctypes.c_int),  # ms into the synthesized audio
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


@dataclass
class Word:
    text: str  # the text from the previous word's end to this word's end
    start: int  # first sample of the word in Utterance.pcm
    end: int  # one past its last sample (the next word's start, or the end of the audio)
    text_end: int  # offset in Utterance.text just after this word


@dataclass
class Utterance:
    text: str
    rate: int  # Hz, mono S16LE
    pcm: bytes
    words: list

    def heard_text(self, words_reached):
        """The text of the first `words_reached` words."""
        return self.text[: self.words[words_reached - 1].text_end].strip() if words_reached else ""

    def lead_in_ns(self, threshold_db=-35.0, cutoff=600.0, block_s=128 / 48000):
        """Where the speech first rises above `threshold_db` in the band above `cutoff` Hz: the
        same high-pass (two Web Audio "highpass" biquads, Q 0.707 dB) and the same blocks
        (128 frames at 48 kHz) the page measures "heard" with. The time before it is the TTS
        audio's own lead-in, not latency."""
        x = array.array("h")
        x.frombytes(self.pcm)
        w0 = 2 * math.pi * cutoff / self.rate
        alpha = math.sin(w0) / (2 * 10 ** (0.707 / 20))
        a0 = 1 + alpha
        b = ((1 + math.cos(w0)) / 2 / a0, -(1 + math.cos(w0)) / a0, (1 + math.cos(w0)) / 2 / a0)
        a = (-2 * math.cos(w0) / a0, (1 - alpha) / a0)
        state = [[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]  # x1 x2 y1 y2 per biquad
        block = max(1, round(block_s * self.rate))
        acc, n, threshold = 0.0, 0, 10 ** (threshold_db / 20)
        for i, sample in enumerate(x):
            v = sample / 32768.0
            for s in state:
                y = b[0] * v + b[1] * s[0] + b[2] * s[1] - a[0] * s[2] - a[1] * s[3]
                s[1], s[0], s[3], s[2] = s[0], v, s[2], y
                v = y
            acc += v * v
            n += 1
            if n == block:
                if math.sqrt(acc / n) > threshold:
                    return (i + 1 - block) * 1_000_000_000 // self.rate
                acc, n = 0.0, 0
        return self.duration_ns

    @property
    def duration_ns(self):
        return len(self.pcm) // 2 * 1_000_000_000 // self.rate


class Espeak:
    """One espeak-ng instance; the library is not reentrant, so calls are serialised."""

    def __init__(self, voice="en-us", rate_wpm=175):
        path = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
        self._lib = ctypes.CDLL(path)
        self._lib.espeak_Initialize.restype = ctypes.c_int
        self._lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        self._lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self._lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        self._lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
        self._lib.espeak_Synth.argtypes = [
            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
            ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
        ]
        self._lock = threading.Lock()
        self.rate = self._lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 200, None, 0)
        if self.rate <= 0:
            raise RuntimeError("espeak_Initialize failed (is espeak-ng-data installed?)")
        if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise RuntimeError(f"espeak-ng has no voice {voice!r}")
        self._lib.espeak_SetParameter(_RATE, rate_wpm, 0)
        self._lib.espeak_SetParameter(_VOLUME, 100, 0)
        self._chunks = []
        self._starts = []  # (audio ms, text position, length)
        self._callback = _CALLBACK(self._on_synth)  # kept referenced: C holds the pointer
        self._lib.espeak_SetSynthCallback(self._callback)

    def _on_synth(self, wav, numsamples, events):
        if numsamples > 0:
            self._chunks.append(ctypes.string_at(wav, numsamples * 2))
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            e = events[i]
            if e.type == _EVENT_WORD:
                self._starts.append((e.audio_position, e.text_position, e.length))
            i += 1
        return 0  # 0: go on synthesizing

    def synth(self, text):
        """Synthesizes `text`; returns an Utterance whose words tile its audio."""
        data = text.encode("utf-8")
        buf = ctypes.create_string_buffer(data)
        with self._lock:
            self._chunks, self._starts = [], []
            self._lib.espeak_Synth(buf, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
            pcm, starts = b"".join(self._chunks), list(self._starts)
        total = len(pcm) // 2
        # text_position counts characters from 1. espeak-ng sometimes reports no event for an
        # unstressed word it joins to a neighbour ("from the west" gives "from" and "west"); each
        # word's text therefore runs from the previous word's end, so nothing of the text is lost.
        words, prev_end = [], 0
        for n, (ms, pos, length) in enumerate(starts):
            start = min(total, ms * self.rate // 1000)
            end = total if n + 1 == len(starts) else min(total, starts[n + 1][0] * self.rate // 1000)
            text_end = max(prev_end, min(len(text), pos - 1 + length))
            if n + 1 == len(starts):
                text_end = len(text)
            words.append(Word(text[prev_end:text_end].strip(), start, max(start, end), text_end))
            prev_end = text_end
        if words:
            # Leading silence belongs to the first word, so the words tile the whole audio.
            words[0].start = 0
        return Utterance(text, self.rate, pcm, words)


if __name__ == "__main__":
    import sys

    u = Espeak().synth(" ".join(sys.argv[1:]) or "Hello there, this is a test of word timings.")
    print(f"{u.rate} Hz, {len(u.pcm) // 2} samples, {u.duration_ns / 1e9:.3f} s")
    for w in u.words:
        print(f"{w.start / u.rate:7.3f} {w.end / u.rate:7.3f}  {w.text}")
