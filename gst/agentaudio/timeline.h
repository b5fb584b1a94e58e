/* agentaudiosrc
 * Copyright (C) 2026 agentaudiosrc authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/audio/audio.h>

#include <vector>

namespace agentaudio {

/* The raw audio format the queues hold and src carries: interleaved S16LE
 * at some rate and channel count. */
struct Format {
  gint rate = 24000;
  gint channels = 1;

  bool operator==(const Format &o) const {
    return rate == o.rate && channels == o.channels;
  }
  bool operator!=(const Format &o) const { return !(*this == o); }
  gsize bytes_per_frame() const { return channels * sizeof(gint16); }
  GstAudioInfo info() const {
    /* Positioned like the caps the element fixates: beyond stereo,
     * GStreamer's fallback layout (unpositioned audio cannot be mixed
     * into). */
    GstAudioChannelPosition positions[64];
    GstAudioInfo i;
    if (channels > 2 &&
        gst_audio_channel_positions_from_mask(
            channels, gst_audio_channel_get_fallback_mask(channels), positions))
      gst_audio_info_set_format(&i, GST_AUDIO_FORMAT_S16LE, rate, channels, positions);
    else
      gst_audio_info_set_format(&i, GST_AUDIO_FORMAT_S16LE, rate, channels, nullptr);
    return i;
  }
  guint64 frames_to_time(guint64 frames) const {
    return gst_util_uint64_scale_int(frames, GST_SECOND, rate);
  }
  guint64 time_to_frames(guint64 time) const {
    return gst_util_uint64_scale_int(time, rate, GST_SECOND);
  }
};

/* Output frame positions to running time, and the frames of each buffer.
 *
 * Frame 0 is the first frame the element produced after it started; the
 * frames from a rate change on form a segment of their own, so a running
 * time is always one sample count scaled once, never a sum of rounded
 * durations, however many times the rate changed. Only the segments that a
 * position still in use can fall into are kept (see forget_before()). */
class Timeline {
 public:
  bool started() const { return !segments_.empty(); }

  /* Frame 0 plays at running time `origin`, at `rate`. */
  void start(GstClockTime origin, gint rate) {
    segments_.assign(1, Segment{0, origin, rate});
    index_ = 0;
  }
  void reset() {
    segments_.clear();
    index_ = 0;
  }

  gint rate() const { return segments_.back().rate; }

  /* The first frame of the next buffer. */
  guint64 next_frame(guint ptime) const { return frame_of(index_, ptime); }

  /* Buffer `index_` covers frames [first, end): ptime each, counted from the
   * segment's start so that rates where ptime is not whole samples do not
   * drift. */
  void next_buffer(guint ptime, guint64 *first, guint64 *end) const {
    *first = frame_of(index_, ptime);
    *end = frame_of(index_ + 1, ptime);
  }
  void advance() { index_++; }

  GstClockTime running_time(guint64 frame) const {
    if (!started())
      return GST_CLOCK_TIME_NONE;
    /* Newest first: nearly every position asked for is in the current
     * segment. */
    for (auto s = segments_.rbegin(); s != segments_.rend(); ++s)
      if (frame >= s->frame || s + 1 == segments_.rend())
        return s->at(frame);
    return GST_CLOCK_TIME_NONE;
  }

  /* From the next buffer on, frames are at `rate`; the running time goes on
   * from where the last buffer ended. */
  void change_rate(guint ptime, gint rate) {
    const guint64 next = next_frame(ptime);
    const GstClockTime at = running_time(next);
    if (segments_.back().frame == next)
      segments_.pop_back(); /* no buffer was made at the old rate */
    segments_.push_back(Segment{next, at, rate});
    index_ = 0;
  }

  /* No position before `frame` will be asked for again. */
  void forget_before(guint64 frame) {
    std::size_t keep = segments_.size() - 1;
    while (keep > 0 && segments_[keep].frame > frame)
      keep--;
    segments_.erase(segments_.begin(), segments_.begin() + keep);
  }

  std::size_t segments() const { return segments_.size(); }

 private:
  struct Segment {
    guint64 frame;      /* its first frame */
    GstClockTime start; /* the running time of that frame */
    gint rate;

    GstClockTime at(guint64 f) const {
      if (f >= frame)
        return start + gst_util_uint64_scale_int(f - frame, GST_SECOND, rate);
      const guint64 before = gst_util_uint64_scale_int(frame - f, GST_SECOND, rate);
      return before < start ? start - before : 0;
    }
  };

  guint64 frame_of(guint64 index, guint ptime) const {
    const Segment &s = segments_.back();
    return s.frame + gst_util_uint64_scale(index, (guint64)s.rate * ptime, 1000);
  }

  std::vector<Segment> segments_;
  guint64 index_ = 0; /* buffers made in the current segment */
};

}  // namespace agentaudio
