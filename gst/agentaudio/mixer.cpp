/* agentaudiosrc
 * Copyright (C) 2026 agentaudiosrc authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "mixer.h"

#include <algorithm>

namespace agentaudio {

namespace {

/* Rounds to nearest (ties to even) and saturates to the S16 range, with no
 * branch and no libm call: adding and removing 1.5 * 2^23 rounds a float of
 * this magnitude (at most 11 * 32768 here) to an integer in the FPU's own
 * rounding; the conversion is then exact and the clamp is integer min/max.
 * The loops below vectorise with plain SSE2. */
inline int16_t saturate(float v) {
  constexpr float kRound = 12582912.0f;
  int32_t i = static_cast<int32_t>((v + kRound) - kRound);
  return static_cast<int16_t>(std::min(std::max(i, -32768), 32767));
}

/* The channel count as a template parameter turns the per-sample frame
 * index into a shift (or nothing, for mono), so the common layouts run as
 * one flat loop over samples. */
/* Buffers are at most a second of 8-channel audio, so a 32-bit index covers
 * them; the vectoriser cannot widen a 64-bit index to float lanes. */
template <unsigned C>
void scale_ramp_n(int16_t *samples, std::size_t frames, float from, float step) {
  const int32_t n = static_cast<int32_t>(frames * C);
  for (int32_t k = 0; k < n; k++) {
    float gain = from + step * static_cast<float>(k / static_cast<int32_t>(C));
    samples[k] = saturate(samples[k] * gain);
  }
}

template <unsigned C>
void mix_ramp_n(int16_t *dst, const int16_t *src, std::size_t frames, float from,
                float step) {
  const int32_t n = static_cast<int32_t>(frames * C);
  for (int32_t k = 0; k < n; k++) {
    float gain = from + step * static_cast<float>(k / static_cast<int32_t>(C));
    dst[k] = saturate(static_cast<float>(dst[k]) + static_cast<float>(src[k]) * gain);
  }
}

void scale_ramp_any(int16_t *samples, std::size_t frames, unsigned channels, float from,
                    float step) {
  for (std::size_t i = 0; i < frames; i++) {
    float gain = from + step * static_cast<float>(i);
    for (unsigned c = 0; c < channels; c++) {
      int16_t &s = samples[i * channels + c];
      s = saturate(s * gain);
    }
  }
}

void mix_ramp_any(int16_t *dst, const int16_t *src, std::size_t frames, unsigned channels,
                  float from, float step) {
  for (std::size_t i = 0; i < frames; i++) {
    float gain = from + step * static_cast<float>(i);
    for (unsigned c = 0; c < channels; c++) {
      std::size_t k = i * channels + c;
      dst[k] = saturate(static_cast<float>(dst[k]) + static_cast<float>(src[k]) * gain);
    }
  }
}

}  // namespace

void scale_ramp(int16_t *samples, std::size_t frames, unsigned channels, float from,
                float step) {
  switch (channels) {
    case 1:
      scale_ramp_n<1>(samples, frames, from, step);
      break;
    case 2:
      scale_ramp_n<2>(samples, frames, from, step);
      break;
    default:
      scale_ramp_any(samples, frames, channels, from, step);
      break;
  }
}

void mix_ramp(int16_t *dst, const int16_t *src, std::size_t frames, unsigned channels,
              float from, float step) {
  switch (channels) {
    case 1:
      mix_ramp_n<1>(dst, src, frames, from, step);
      break;
    case 2:
      mix_ramp_n<2>(dst, src, frames, from, step);
      break;
    default:
      mix_ramp_any(dst, src, frames, channels, from, step);
      break;
  }
}

}  // namespace agentaudio
