/* agentaudiosrc
 * Copyright (C) 2026 agentaudiosrc authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <vector>

namespace agentaudio {

/* The background layer: a bed of interleaved S16 frames, played once or
 * looped.
 *
 * Audio stays in the chunks it was pushed in. Played once, a chunk is freed
 * as soon as it has been read; looped, the chunks are kept and a cursor
 * walks over them again from the start, so a bed of any length repeats
 * sample-exactly without being copied per loop.
 *
 * clear() takes the next few frames as a fade-out tail and forgets the bed;
 * audio pushed after the clear plays once the tail has faded.
 *
 * Not thread-safe: the element guards it with its queue lock. */
class BackgroundLayer {
 public:
  explicit BackgroundLayer(unsigned channels = 1) : channels_(channels) {}

  unsigned channels() const { return channels_; }
  /* Only meaningful while empty: stored samples are not reinterpreted. */
  void set_channels(unsigned channels) { channels_ = channels; }

  /* Looping keeps the bed from the current play position on; turning it
   * off lets the bed play out to its end once. */
  void set_loop(bool loop);
  bool loop() const { return loop_; }

  /* Appends whole frames; samples.size() must be a multiple of channels(). */
  void push(std::vector<int16_t> &&samples);

  /* Frames still to play before the bed ends or next wraps around (the fade
   * tail included): what "queued" means for a bed. */
  uint64_t pending_frames() const { return pending_ + (tail_frames() - tail_pos_); }
  bool empty() const { return pending_frames() == 0 && !(loop_ && stored_ > 0); }
  bool fading() const { return tail_pos_ < tail_frames(); }

  /* Fades out over the next fade_frames frames (a fade already running is
   * left to finish) and forgets the bed. Returns the frames dropped: what
   * was pending minus what the fade plays. */
  uint64_t clear(uint64_t fade_frames);

  /* Forgets everything at once (the element stops). Returns the frames
   * that were pending. */
  uint64_t discard();

  /* Replaces the bed by convert(it), now `channels` wide (the output was
   * renegotiated); the play position keeps its place in proportion. A fade
   * in progress is dropped. */
  using Convert = std::function<std::vector<int16_t>(std::vector<int16_t> &&)>;
  void reformat(unsigned channels, const Convert &convert);

  /* Writes up to `frames` frames of background to out (the fade tail
   * first, then the bed, wrapping when looping) and zero-fills the rest.
   * Returns the frames of background written. */
  std::size_t read(int16_t *out, std::size_t frames);

 private:
  /* Copies bed frames from the cursor without zero fill or fade. */
  std::size_t read_bed(int16_t *out, std::size_t frames);
  void drop_played_chunks();
  uint64_t tail_frames() const { return tail_.size() / channels_; }

  unsigned channels_;
  bool loop_ = false;

  std::deque<std::vector<int16_t>> chunks_;
  std::size_t chunk_ = 0;  /* cursor: chunks_[chunk_] ... */
  std::size_t offset_ = 0; /* ... at this sample */
  uint64_t stored_ = 0;    /* frames in chunks_ */
  uint64_t pending_ = 0;   /* frames from the cursor to the end of chunks_ */

  std::vector<int16_t> tail_; /* the fade-out of a clear(), played first */
  uint64_t tail_pos_ = 0;     /* frames of the tail already played */
};

}  // namespace agentaudio
