/* agentaudiosrc
 * Copyright (C) 2026 agentaudiosrc authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/base/gstbasesrc.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_AGENT_AUDIO_SRC (gst_agent_audio_src_get_type())
G_DECLARE_FINAL_TYPE(GstAgentAudioSrc, gst_agent_audio_src, GST, AGENT_AUDIO_SRC,
                     GstBaseSrc)

GST_ELEMENT_REGISTER_DECLARE(agentaudiosrc);

G_END_DECLS
