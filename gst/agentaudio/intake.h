/* agentaudiosrc
 * Copyright (C) 2026 agentaudiosrc authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/audio/audio.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "frameassembler.h"
#include "inputconverter.h"
#include "queues.h"
#include "streamdecoder.h"

namespace agentaudio {

/* The format a push is in: its caps, parsed. */
struct PushFormat {
  GstAudioInfo info;
  bool playable = false;   /* raw audio the converter can take, or encoded audio a
                            * decoder is installed for */
  bool encoded = false;    /* not raw: decoded by a StreamDecoder */
  GstCaps *caps = nullptr; /* the encoded format (borrowed) */
  std::string why;         /* encoded and not playable: what is missing */
  Format preferred;        /* the output format, if none is negotiated yet */
};

/* How a push ended, and what the element must say about it on the bus (it
 * posts after the intake has released every lock). */
struct PushResult {
  enum Problem {
    NONE,
    NOT_NEGOTIATED, /* the format cannot be converted to the output */
    UNREADABLE,     /* the buffer cannot be mapped or converted */
    OUT_OF_MEMORY,
    DECODE_WARNING, /* part of an encoded stream could not be decoded */
    DECODE_ERROR,   /* an encoded stream failed: it starts again */
  };
  GstFlowReturn flow = GST_FLOW_OK;
  Problem problem = NONE;
  Format output;      /* the output format, for the message */
  std::string detail; /* for the decoder's problems: its one-line message */
  std::string debug;  /* and the GStreamer debug string behind it */
};

/* The push path: bytes pushed by application threads become frames of the
 * output format in the queues.
 *
 * - A push waits for room (max-*-time) before anything is converted, and
 *   checks again once it is the layer's only converting push, so that
 *   however many threads push at once, a layer holds at most its limit plus
 *   one push.
 * - Pushes of any byte length are joined into whole frames; the partial
 *   frame of one push waits for the next.
 * - Conversion (any raw format, rate and channel count) runs on the pushing
 *   thread, in slices of bounded size: scratch memory never grows with the
 *   size of a push.
 * - Generations: interrupt, clear-background and stop bump a layer's
 *   generation under the queues' lock. A push that began in an older
 *   generation is not queued and returns FLUSHING, and the partial frame and
 *   resampler history of the old generation are dropped, not carried into
 *   the new one.
 *
 * Locks: the intake's own lock serialises conversions and is taken before
 * the queues' lock, never while holding it. Every C++ exception of a push
 * ends here, as a PushResult. */
class Intake {
 public:
  explicit Intake(Queues &queues) : queues_(queues) {}
  Intake(const Intake &) = delete;
  Intake &operator=(const Intake &) = delete;

  /* Queues `buffer`'s bytes on `layer`. `may_wait` is FALSE on the
   * streaming thread (a pad probe or a bus sync handler pushing): it is the
   * thread that frees room, so waiting for it would never end. */
  PushResult push(Layer layer, const PushFormat &format, GstBuffer *buffer,
                  bool may_wait);

  /* Places a mark after the speech pushed so far, counting the frames the
   * resampler still holds back from it, and an encoded stream's audio not
   * decoded yet. */
  void mark(const std::string &name);

  /* The stream pushed to `layer` so far is complete: the decoder and the
   * resampler drain now, their tail is queued, and the next push starts a
   * new stream (a new WAV header, a new Ogg stream). A partial frame is
   * dropped. */
  PushResult end_of_stream(Layer layer);

  /* The audio an encoded stream's pushed bytes still owe (an estimate from
   * its bitrate), for what an interrupt drops. Read without the lock. */
  GstClockTime undecoded_time(Layer layer) const { return undecoded_[layer].load(); }

  /* Streaming thread, before taking `frames` frames: a layer that would run
   * dry within them gets what its resampler holds back, so that the tail of
   * a sentence plays in the buffer it belongs to. Skipped while a push is
   * converting (more audio is on its way). */
  void drain_dry_layers(std::size_t frames);

  /* The output format becomes `to` (a renegotiation): what the converters
   * hold back is queued, then the queues are set to `to`. Returns whether
   * the format changed. Call with no lock held; `under_locks` runs with
   * both locks held after the queues changed. */
  template <typename F>
  bool renegotiate(const Format &to, F &&under_locks) {
    std::lock_guard<std::mutex> input_lock(lock_);
    std::lock_guard<std::mutex> lock(queues_.lock);
    const bool changed = to != queues_.format;
    if (changed)
      flush_converters_locked();
    under_locks(changed);
    queues_.negotiated = true;
    return changed;
  }

  /* Drops what the converters and assemblers hold (the element stops) and
   * gives their scratch back. */
  void reset();

  /* The scratch the intake keeps between pushes. */
  gsize scratch_bytes() {
    std::lock_guard<std::mutex> lock(lock_);
    return scratch_.capacity();
  }

 private:
  /* Where a layer's pushes are joined into frames and converted. Guarded by
   * lock_. */
  struct Input {
    FrameAssembler assembler;
    InputConverter converter;
    std::unique_ptr<StreamDecoder> decoder; /* while the layer's input is encoded */
    guint64 generation = 0;                 /* the layer generation all three belong to */
  };

  PushResult push_locked(Layer layer, const PushFormat &format, GstBuffer *buffer,
                         guint64 generation, std::unique_lock<std::mutex> &input_lock,
                         bool may_wait);
  bool convert(Input &input, const guint8 *data, gsize size, std::vector<gint16> &out);
  /* Pushes encoded bytes through the layer's decoder into `out`. */
  PushResult decode(Layer layer, Input &input, const PushFormat &format,
                    const Format &output, GstBuffer *buffer, std::vector<gint16> &out);
  /* Converts decoded audio (in any raw format) to `output`, appending to out. */
  static void convert_decoded(Input &input, const Format &output,
                              const GstAudioInfo &info, const uint8_t *data,
                              std::size_t frames, std::vector<gint16> &out);
  /* Queues what a push converted and returns `result`, unless EOS or an
   * interrupt came meanwhile. Takes the queue lock. */
  PushResult commit(Layer layer, guint64 generation, const Format &output,
                    std::vector<gint16> samples, PushResult result);
  /* A new generation: what the layer's input held belongs to the old one. */
  static void restart(Input &input, const GstAudioInfo &info, guint64 generation);
  /* What the converters hold back joins the queues. Call with both locks. */
  void flush_converters_locked();

  Queues &queues_;
  std::mutex lock_;
  Input inputs_[N_LAYERS];      /* guarded by lock_ */
  std::vector<guint8> scratch_; /* one slice of assembled frames; guarded by lock_ */
  /* A layer's converter holds samples back. Written under lock_, read
   * without (the streaming thread's quick check). */
  std::atomic<bool> holds_back_[N_LAYERS] = {};
  std::atomic<GstClockTime> undecoded_[N_LAYERS] = {};
};

}  // namespace agentaudio
