"""The background bed, made at run time: a soft low drone with a little rumble, below 250 Hz.

Everything in it is periodic over the bed's length (whole cycles of each partial, noise shaped in
the frequency domain of exactly one loop), so with `background-loop=true` it loops without a
seam. It is kept below 250 Hz on purpose: the page measures the agent's *speech* in the band
above 600 Hz, where the bed is some 40 dB further down, so the bed playing on under a pause
does not hide the silence being measured.
"""

import numpy as np


def make_bed(rate=48000, seconds=4.0, rms_dbfs=-36.0, seed=16):
    n = int(rate * seconds)
    t = np.arange(n) / rate
    # Whole cycles in `seconds`: each frequency is a multiple of 1 / seconds.
    step = 1.0 / seconds
    drone = np.zeros(n)
    for freq, amp in ((55.0, 1.0), (82.5, 0.6), (110.0, 0.45), (165.0, 0.2)):
        f = round(freq / step) * step
        drone += amp * np.sin(2 * np.pi * f * t + freq)
    # A slow swell (one cycle per loop), never below half level.
    drone *= 0.75 + 0.25 * np.sin(2 * np.pi * step * t)
    # Rumble: random phases, a spectrum falling off above 120 Hz, nothing above 250 Hz.
    rng = np.random.default_rng(seed)
    freqs = np.fft.rfftfreq(n, 1.0 / rate)
    mag = np.where(freqs < 250.0, 1.0 / (1.0 + (freqs / 120.0) ** 4), 0.0)
    mag[0] = 0.0
    spectrum = mag * np.exp(2j * np.pi * rng.random(len(freqs)))
    rumble = np.fft.irfft(spectrum, n)
    rumble *= 0.5 * np.sqrt(np.mean(drone**2)) / np.sqrt(np.mean(rumble**2))
    bed = drone + rumble
    bed *= 10 ** (rms_dbfs / 20.0) * 32767.0 / np.sqrt(np.mean(bed**2))
    return np.clip(np.round(bed), -32768, 32767).astype("<i2").tobytes()


if __name__ == "__main__":
    pcm = np.frombuffer(make_bed(), dtype="<i2").astype(float)
    rms = 20 * np.log10(np.sqrt(np.mean(pcm**2)) / 32767.0)
    peak = 20 * np.log10(np.max(np.abs(pcm)) / 32767.0)
    print(f"bed: {len(pcm) / 48000:.1f} s, RMS {rms:.1f} dBFS, peak {peak:.1f} dBFS")
