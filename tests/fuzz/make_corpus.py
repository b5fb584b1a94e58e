#!/usr/bin/env python3
"""Writes the seed corpus of fuzz-agentaudiosrc into tests/fuzz/corpus/.

Each seed is a short program in the target's byte format (see the comment at
the top of fuzz_agentaudiosrc.cpp): one byte picks the operation, the next
bytes are its arguments.
"""
import os
import struct

(PUSH_SPEECH, PUSH_BACKGROUND, PUSH_SAMPLE, INTERRUPT, CLEAR_BACKGROUND, MARK, CRANK,
 ADVANCE, PROPERTY, REQUEST_PAD, RELEASE_PAD, STATE, END_OF_STREAM, RENEGOTIATE,
 QUERY, REENTRANT) = range(16)
# REENTRANT actions, done from the bus handler at the next element message
R_PUSH_SPEECH, R_PUSH_BACKGROUND, R_INTERRUPT, R_CLEAR_BACKGROUND, R_MARK, R_GET = range(6)
NOISE, FULL_SCALE, FLOATS, ZEROS = 1, 2, 3, 4
NULL, READY, PAUSED, PLAYING = range(4)
# PROPERTY selectors
BG_VOLUME, DUCK, LOOP, FADE, MAX_SPEECH, MAX_BG, SPEECH_CAPS, BG_CAPS, PTIME, DEFAULT_CAPS = range(10)


def push(op, n, mode=NOISE, caps=None, data=b""):
    out = bytes([op]) + struct.pack("<H", n) + bytes([mode])
    if op == PUSH_SAMPLE:
        out += bytes([caps or 0])
    return out + data


def speech(n, mode=NOISE):
    return push(PUSH_SPEECH, n, mode)


def bg(n, mode=NOISE):
    return push(PUSH_BACKGROUND, n, mode)


def op(code, *args):
    return bytes([code, *args])


def prop(which, v):
    return op(PROPERTY, which, v)


PLAY = op(STATE, PLAYING)
SEEDS = {
    "speak-and-play": speech(4800) + PLAY + op(CRANK, 15),
    "mark-between-pushes": speech(960) + op(MARK) + speech(2000) + op(MARK) + PLAY
    + op(CRANK, 10),
    "interrupt-mid-sentence": PLAY + speech(5000) + op(CRANK, 2) + op(MARK) + op(INTERRUPT)
    + op(CRANK, 4),
    "hard-cut-interrupt": prop(FADE, 0) + PLAY + speech(4000) + op(MARK) + op(CRANK, 1)
    + op(INTERRUPT) + op(CRANK, 3),
    "background-loop-duck": prop(LOOP, 1) + prop(DUCK, 60) + bg(777) + PLAY + op(CRANK, 3)
    + speech(3000) + op(CRANK, 8) + op(CLEAR_BACKGROUND) + op(CRANK, 3),
    "saturating-mix": prop(BG_VOLUME, 255) + bg(4000, FULL_SCALE) + speech(4000, FULL_SCALE)
    + PLAY + op(CRANK, 6),
    "end-of-stream": speech(1500) + op(MARK) + op(END_OF_STREAM) + speech(100) + PLAY
    + op(CRANK, 6) + op(END_OF_STREAM),
    "eos-then-restart": PLAY + speech(1000) + op(END_OF_STREAM) + op(CRANK, 5)
    + op(STATE, READY) + speech(500) + PLAY + op(CRANK, 3),
    "request-pads": op(REQUEST_PAD, 0) + op(REQUEST_PAD, 1) + bg(900) + speech(2000) + PLAY
    + op(CRANK, 3) + op(RELEASE_PAD, 0) + op(CRANK, 2) + op(REQUEST_PAD, 0) + op(CRANK, 2),
    "request-pads-eos": op(REQUEST_PAD, 1) + PLAY + speech(700) + op(CRANK, 1)
    + op(REQUEST_PAD, 0) + op(END_OF_STREAM) + op(CRANK, 4),
    "float-stereo-speech": prop(SPEECH_CAPS, 2) + speech(3001, FLOATS) + PLAY + op(CRANK, 4),
    "resampled-22050": prop(SPEECH_CAPS, 1) + speech(2205) + op(MARK) + PLAY + op(CRANK, 5)
    + speech(1) + speech(3) + op(CRANK, 3),
    "sample-caps": push(PUSH_SAMPLE, 1000, NOISE, caps=5) + push(PUSH_SAMPLE, 999, NOISE, caps=4)
    + push(PUSH_SAMPLE, 64, NOISE, caps=13) + PLAY + op(CRANK, 4),
    "invalid-speech-caps": prop(SPEECH_CAPS, 13) + speech(100) + prop(DEFAULT_CAPS, 0)
    + speech(100) + PLAY + op(CRANK, 2),
    "renegotiate": speech(4800) + PLAY + op(CRANK, 2) + op(RENEGOTIATE, 1) + op(CRANK, 3)
    + op(RENEGOTIATE, 5) + op(CRANK, 2) + op(RENEGOTIATE, 0) + op(CRANK, 2),
    "ptime-odd-rate": prop(PTIME, 0) + prop(SPEECH_CAPS, 1) + op(RENEGOTIATE, 6) + speech(441)
    + PLAY + op(CRANK, 15) + op(QUERY),
    "max-speech-time": prop(MAX_SPEECH, 130) + PLAY + speech(1000) + speech(4000) + op(CRANK, 2)
    + op(STATE, PAUSED) + speech(3000),
    "max-background-time": prop(MAX_BG, 140) + bg(2000) + bg(2000) + PLAY + op(CRANK, 3),
    "state-cycling": speech(1000) + op(MARK) + op(STATE, PAUSED) + PLAY + op(CRANK, 1)
    + op(STATE, PAUSED) + PLAY + op(CRANK, 1) + op(STATE, READY) + op(STATE, NULL) + PLAY
    + op(ADVANCE, 200) + op(CRANK, 2) + op(QUERY),
    "stop-mid-sentence": PLAY + speech(9000) + op(MARK) + op(CRANK, 2) + op(STATE, NULL),
    "raw-odd-bytes": prop(SPEECH_CAPS, 6) + push(PUSH_SPEECH, 7, 0, data=b"\x01\x80\x7f\xff\x00\x10\x20")
    + push(PUSH_SPEECH, 5, 0, data=b"\x33\x44\x55\x66\x77") + PLAY + op(CRANK, 2),
    "reentrant-push-on-first-audio": PLAY + op(REENTRANT, R_PUSH_SPEECH) + speech(960)
    + op(CRANK, 6),
    "reentrant-interrupt-on-mark": PLAY + speech(2000) + op(MARK) + speech(2000)
    + op(REENTRANT, R_INTERRUPT) + op(CRANK, 8),
    "reentrant-mark-on-stop": PLAY + speech(3000) + op(CRANK, 1) + op(REENTRANT, R_MARK)
    + op(STATE, READY) + PLAY + op(CRANK, 2),
    "reentrant-push-past-max-time": prop(MAX_SPEECH, 128) + PLAY + speech(480)
    + op(REENTRANT, R_PUSH_SPEECH) + op(CRANK, 4),
    "reentrant-clear-background": prop(LOOP, 1) + bg(500) + PLAY + speech(700)
    + op(REENTRANT, R_CLEAR_BACKGROUND) + op(CRANK, 3) + op(REENTRANT, R_GET) + speech(100)
    + op(CRANK, 3),
    "blocked-behind-looping-bed": prop(LOOP, 1) + bg(767, FLOATS) + prop(MAX_BG, 128) + PLAY
    + bg(4000) + op(CRANK, 3) + op(STATE, PAUSED) + bg(100),
}

if __name__ == "__main__":
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print(f"{len(SEEDS)} seeds in {out}")
