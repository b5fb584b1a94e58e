/* agentaudiosrc
 * Copyright (C) 2026 agentaudiosrc authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

namespace agentaudio {

/* A FIFO of interleaved S16 frames in the output format.
 *
 * Audio is kept in the chunks it was pushed in (no copy into a ring, no
 * reallocation when a large push arrives). Positions are absolute frame
 * counts since the queue was created, so a mark placed at write_pos() stays
 * valid however the queue is later read, truncated or cleared.
 *
 * Not thread-safe: the element guards it with its queue lock. */
class SampleQueue {
 public:
  explicit SampleQueue(unsigned channels = 1) : channels_(channels) {}

  unsigned channels() const { return channels_; }
  /* Only meaningful while empty: queued samples are not reinterpreted. */
  void set_channels(unsigned channels) { channels_ = channels; }

  /* Appends whole frames; samples.size() must be a multiple of channels(). */
  void push(std::vector<int16_t> &&samples);

  /* Copies up to max_frames frames to out and removes them; returns the
   * number of frames copied. */
  std::size_t pop(int16_t *out, std::size_t max_frames);

  /* Keeps the first keep_frames frames, drops the rest; returns the frames
   * dropped. */
  uint64_t truncate(uint64_t keep_frames);
  uint64_t clear() { return truncate(0); }

  uint64_t queued_frames() const { return write_pos_ - read_pos_; }
  bool empty() const { return write_pos_ == read_pos_; }
  /* Frames ever removed (played or dropped). */
  uint64_t read_pos() const { return read_pos_; }
  /* Frames ever queued. */
  uint64_t write_pos() const { return write_pos_; }

 private:
  std::deque<std::vector<int16_t>> chunks_;
  std::size_t head_ = 0; /* samples already read from chunks_.front() */
  unsigned channels_;
  uint64_t read_pos_ = 0;
  uint64_t write_pos_ = 0;
};

}  // namespace agentaudio
