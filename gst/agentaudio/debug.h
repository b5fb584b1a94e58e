/* agentaudiosrc
 * Copyright (C) 2026 agentaudiosrc authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>

/* The element's debug category (GST_DEBUG=agentaudiosrc:6), shared by the
 * parts it is made of. */
GST_DEBUG_CATEGORY_EXTERN(agent_audio_src_debug);

namespace agentaudio {
/* Registers the category; idempotent. */
void init_debug();
}  // namespace agentaudio
