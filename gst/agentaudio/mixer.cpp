/* agentaudiosrc
 * Copyright (C) 2026 agentaudiosrc authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "mixer.h"

#include <cmath>

namespace agentaudio {

void scale_ramp(int16_t *samples, std::size_t frames, unsigned channels, float from,
                float step) {
  for (std::size_t i = 0; i < frames; i++) {
    float gain = from + step * static_cast<float>(i);
    for (unsigned c = 0; c < channels; c++) {
      int16_t &s = samples[i * channels + c];
      /* |gain| <= 1 here, so the product always fits. */
      s = static_cast<int16_t>(std::lrintf(s * gain));
    }
  }
}

}  // namespace agentaudio
