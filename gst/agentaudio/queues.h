/* agentaudiosrc
 * Copyright (C) 2026 agentaudiosrc authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "backgroundlayer.h"
#include "speechlayer.h"
#include "timeline.h"

namespace agentaudio {

/* The two inputs the application feeds; they differ in what they queue
 * into, not in how bytes become frames. */
enum Layer { SPEECH, BACKGROUND, N_LAYERS };

/* What the pushing threads, the action signals and the streaming thread
 * share: the queued audio of both layers in the output format, and what
 * decides where it plays. Everything is guarded by `lock`, unless said. */
struct Queues {
  std::mutex lock;
  /* Queued audio shrank, or a push's wait for room must end. */
  std::condition_variable room;

  SpeechLayer speech;
  BackgroundLayer background;
  /* The format of the queued samples: the output's once negotiated. Written
   * with the intake's lock held too, so that no push converts to a format
   * that is going away. */
  Format format;
  bool negotiated = false;
  Timeline timeline;
  bool eos_pending = false;
  /* max-speech-time, max-background-time: here rather than with the other
   * properties so that a blocked push sees a change as soon as it is
   * woken. */
  guint64 max_time[N_LAYERS] = {0, 0};
  /* Bumped by interrupt / clear-background and by stop: a push to that layer
   * that started before is not queued and returns FLUSHING. Written under
   * `lock`, read anywhere. */
  std::atomic<guint64> generation[N_LAYERS] = {};

  /* Frames a layer holds that count against its max-*-time. */
  guint64 queued_frames(Layer layer) const {
    return layer == SPEECH ? speech.queued_frames() : background.pending_frames();
  }

  /* Whether a layer holds its max-*-time or more. A limit shorter than a
   * sample still limits: to one sample. */
  bool full(Layer layer) const {
    if (max_time[layer] == 0)
      return false;
    const guint64 max_frames =
        std::max<guint64>(1, format.time_to_frames(max_time[layer]));
    return queued_frames(layer) >= max_frames;
  }

  bool empty() const { return speech.queued_frames() == 0 && background.empty(); }

  void queue(Layer layer, std::vector<gint16> &&samples) {
    if (layer == SPEECH)
      speech.push(std::move(samples));
    else
      background.push(std::move(samples));
  }

  /* The queues hold `to` from now on: what is queued already keeps its
   * format and is converted as it plays (see SampleQueue). */
  void set_format(const Format &to) {
    format = to;
    speech.set_format(to.rate, to.channels);
    background.set_format(to.rate, to.channels);
  }

  /* A vector to fill with a push's samples: a chunk the streaming thread
   * consumed, when one has room for `samples`, so that memory goes round
   * between the two threads instead of through malloc's per-thread caches
   * (which grow when one thread frees what another allocated). */
  std::vector<gint16> spare(Layer layer, std::size_t samples) {
    return layer == SPEECH ? speech.spare(samples) : background.spare(samples);
  }
};

}  // namespace agentaudio
