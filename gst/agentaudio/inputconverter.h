/* agentaudiosrc
 * Copyright (C) 2026 agentaudiosrc authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/audio/audio.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace agentaudio {

/* Converts one input stream (a layer's pushes) from any raw audio format to
 * the output's interleaved S16, with GstAudioConverter and its Kaiser
 * resampler at audioresample's default quality, without dither so that the
 * same input always gives the same samples.
 *
 * A resampler holds back the last few input frames until it sees what
 * follows them: drain() pushes them through when the stream ends (speech
 * ran dry, an interrupt, a format change), and the next convert() then
 * starts a fresh stream. */
class InputConverter {
 public:
  InputConverter() = default;
  ~InputConverter();
  InputConverter(const InputConverter &) = delete;
  InputConverter &operator=(const InputConverter &) = delete;

  /* Sets up in -> out (out must be S16 interleaved). FALSE when GStreamer
   * cannot convert between them; the converter is then unconfigured. */
  bool configure(const GstAudioInfo &in, const GstAudioInfo &out);
  /* Whether configure(in, out) is what is set up now. */
  bool configured_for(const GstAudioInfo &in, const GstAudioInfo &out) const;
  bool configured() const { return configured_; }
  /* Configured with in == out: samples are copied as they are. */
  bool passthrough() const { return configured_ && conv_ == nullptr; }

  const GstAudioInfo &in_info() const { return in_; }
  const GstAudioInfo &out_info() const { return out_; }

  /* Converts `frames` whole input frames, appending the output samples to
   * `out`. */
  bool convert(const uint8_t *data, std::size_t frames, std::vector<int16_t> &out);

  /* Appends what the resampler still holds back, so that the stream's
   * output is exactly as long as its input (to the nearest output frame),
   * and starts a fresh stream. */
  void drain(std::vector<int16_t> &out);
  /* Starts a fresh stream, dropping what the resampler holds back. */
  void reset();

  /* Whether input has gone in since the last drain or reset whose output is
   * still held back. */
  bool holds_back() const { return holds_back_; }
  /* How many output frames the input so far still owes: what drain() would
   * append now. */
  uint64_t held_back_frames() const;

 private:
  void release();
  /* Converts whole input frames that make at least one output frame. */
  bool run(const uint8_t *data, std::size_t frames, std::vector<int16_t> &out);

  GstAudioConverter *conv_ = nullptr; /* NULL when passing S16 through */
  /* Frames in and out since the last drain or reset: the drain makes the
   * output exactly the input's duration. */
  uint64_t frames_in_ = 0;
  uint64_t frames_out_ = 0;
  /* Input frames too few to make an output frame yet: GStreamer 1.22's
   * converter crashes when asked for none (with mixing and resampling), so
   * they wait for the next push or the drain. */
  std::vector<uint8_t> pending_;
  GstAudioInfo in_{};
  GstAudioInfo out_{};
  bool configured_ = false;
  bool holds_back_ = false;
};

}  // namespace agentaudio
