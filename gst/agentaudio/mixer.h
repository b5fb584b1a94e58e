/* agentaudiosrc
 * Copyright (C) 2026 agentaudiosrc authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <cstddef>
#include <cstdint>

namespace agentaudio {

/* Sample kernels on interleaved S16 audio. Gains are linear ramps evaluated
 * per frame as `from + step * i`, never accumulated, so a ramp split across
 * buffers gives the same samples as one done in a single call. */

/* Scales frames in place by a gain ramp, rounding to nearest. */
void scale_ramp(int16_t *samples, std::size_t frames, unsigned channels, float from,
                float step);

/* Mixes src into dst: dst = saturate(dst + src * gain), the gain ramping
 * like scale_ramp. Never wraps: loud peaks clip at the sample range. */
void mix_ramp(int16_t *dst, const int16_t *src, std::size_t frames, unsigned channels,
              float from, float step);

/* The portable kernels alone, which mix_ramp() and scale_ramp() use where the
 * CPU has no AVX2: every kernel must give exactly their samples. */
namespace reference {
void scale_ramp(int16_t *samples, std::size_t frames, unsigned channels, float from,
                float step);
void mix_ramp(int16_t *dst, const int16_t *src, std::size_t frames, unsigned channels,
              float from, float step);
}  // namespace reference

/* Gain of frame `index` of a linear fade-out lasting `length` frames: it
 * starts just below 1 and its last frame is exactly 0, so the cut that follows
 * is silent. */
inline float fade_out_gain(uint64_t index, uint64_t length) {
  return static_cast<float>(length - 1 - index) / static_cast<float>(length);
}

}  // namespace agentaudio
