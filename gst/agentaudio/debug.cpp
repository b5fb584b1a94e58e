/* agentaudiosrc
 * Copyright (C) 2026 agentaudiosrc authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "debug.h"

GST_DEBUG_CATEGORY(agent_audio_src_debug);

namespace agentaudio {

void init_debug() {
  static gsize once = 0;
  if (g_once_init_enter(&once)) {
    GST_DEBUG_CATEGORY_INIT(agent_audio_src_debug, "agentaudiosrc", 0,
                            "Clock-paced speech source for voice agents");
    g_once_init_leave(&once, 1);
  }
}

}  // namespace agentaudio
