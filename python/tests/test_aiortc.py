"""AgentAudioTrack in a real aiortc session: two RTCPeerConnections in one process, the track's
Opus sent over loopback, decoded on the other side.

The receiver must hear the pushed 440 Hz tone (frequency from the zero crossings), as much of it
as the element's last-audio says was played, and then silence once the track is interrupted.
Runs on the system clock with real sockets, so its waits are bounded by audio received, with a
watchdog, and it asserts nothing about how long anything took.
"""

from __future__ import annotations

import asyncio
import fractions

import numpy as np
import pytest

aiortc = pytest.importorskip("aiortc")
from aiortc import RTCConfiguration, RTCPeerConnection  # noqa: E402

import agentaudio  # noqa: E402
from agentaudio.aiortc import AgentAudioTrack  # noqa: E402
from conftest import run, tone  # noqa: E402

RATE = 48000  # what aiortc's Opus decoder gives
FRAME = 960  # 20 ms


async def connect(track: AgentAudioTrack):
    config = RTCConfiguration(iceServers=[])  # loopback only: no STUN server to ask
    sender, receiver = RTCPeerConnection(config), RTCPeerConnection(config)
    sender.addTrack(track)
    remote = asyncio.get_running_loop().create_future()
    receiver.on("track", lambda t: remote.done() or remote.set_result(t))
    await sender.setLocalDescription(await sender.createOffer())
    await receiver.setRemoteDescription(sender.localDescription)
    await receiver.setLocalDescription(await receiver.createAnswer())
    await sender.setRemoteDescription(receiver.localDescription)
    return sender, receiver, await asyncio.wait_for(remote, 10)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) if len(x) else 0.0


def zero_crossing_hz(x: np.ndarray) -> float:
    signs = np.signbit(x.astype(np.float64))
    crossings = np.count_nonzero(signs[1:] != signs[:-1])
    return crossings / 2 / (len(x) / RATE)


def test_the_other_peer_hears_the_tone_then_silence_after_interrupt():
    async def main():
        track = AgentAudioTrack()
        assert track.kind == "audio"
        # What add_new_bytes takes, under VideoSDK's attribute names.
        assert (track.sample_rate, track.channels, track.sample_width) == (24000, 1, 2)
        assert isinstance(track.output, agentaudio.AgentOutput)
        ended = []
        track.on_last_audio_byte(lambda event: ended.append(event))
        sender, receiver, remote = await connect(track)
        frames: list[np.ndarray] = []
        tone_frames = 0
        cut_at: int | None = None
        try:
            # Media flows once DTLS is up: wait for the first (silent) frames, then speak.
            for _ in range(10):
                await asyncio.wait_for(remote.recv(), 10)
            # 3 s of 440 Hz, as a TTS would send it: 24 kHz mono S16LE in 40 ms chunks.
            pcm = tone(440, 3.0, rate=24000)
            for i in range(0, len(pcm), 1920):
                await track.add_new_bytes(pcm[i:i + 1920])

            while True:
                frame = await asyncio.wait_for(remote.recv(), 5)
                data = frame.to_ndarray().reshape(-1, len(frame.layout.channels))[:, 0]
                assert frame.sample_rate == RATE and len(data) == FRAME
                frames.append(data)
                if cut_at is None:
                    if rms(data) > 1000:
                        tone_frames += 1
                    if tone_frames == 50:  # one second of tone heard: the user barges in
                        dropped = await track.interrupt()
                        # What is still queued: the 2 s not heard yet, less what the network
                        # and the receiver's jitter buffer hold.
                        assert 1.0 < dropped < 2.0
                        cut_at = len(frames)
                elif len(frames) >= cut_at + 75:  # 1.5 s more
                    break
                assert len(frames) < 1000, "no tone within 20 s"
        finally:
            track.cleanup()
            await sender.close()
            await receiver.close()
        return frames, cut_at, ended

    frames, cut_at, ended = run(main, timeout=60)
    audio = np.concatenate(frames)
    loud = np.array([rms(f) > 1000 for f in frames])
    first, last = int(np.argmax(loud)), len(loud) - 1 - int(np.argmax(loud[::-1]))
    heard = audio[(first + 1) * FRAME:last * FRAME]
    assert abs(zero_crossing_hz(heard) - 440) < 5
    assert loud[first:last + 1].all(), "the tone has gaps"
    # Silence after the cut (the fade, the network and the jitter buffer take a few frames).
    assert last < cut_at + 25
    assert max(rms(f) for f in frames[last + 2:]) < 100
    # The element's last-audio, given to on_last_audio_byte, says how much was played: the
    # receiver heard that much tone, to a frame or two.
    assert len(ended) == 1 and ended[0].interrupted
    assert abs(ended[0].duration_s - (last - first + 1) * 0.02) <= 0.045


def test_track_method_names_match_the_videosdk_track():
    async def main():
        track = AgentAudioTrack(asyncio.get_running_loop())
        calls = []

        async def no_argument():  # VideoSDK's callbacks take no argument and are coroutines
            calls.append("called")

        track.on_last_audio_byte(no_argument)
        try:
            handle = await track.add_new_bytes(tone(440, 0.1, rate=24000))
            await track.add_background_bytes(tone(220, 0.1, rate=24000))
            frame = await asyncio.wait_for(track.recv(), 5)  # starts the pipeline
            assert frame.pts is not None and frame.time_base == fractions.Fraction(1, 48000)
            await asyncio.wait_for(handle, 5)
            for _ in range(100):  # the callback runs as a task after the last-audio
                if calls:
                    break
                await asyncio.sleep(0.01)
            assert calls == ["called"]
            assert track.interrupt().result() == 0.0
        finally:
            await track.cleanup()  # awaitable, as VideoSDK awaits it
        assert track.readyState == "ended"
        with pytest.raises(aiortc.mediastreams.MediaStreamError):
            await track.recv()

    run(main, timeout=30)
