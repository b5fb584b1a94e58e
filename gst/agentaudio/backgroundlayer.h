/* agentaudiosrc
 * Copyright (C) 2026 agentaudiosrc authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "reformat.h"
#include "samplequeue.h"

namespace agentaudio {

/* The background layer: a bed of interleaved S16 frames, played once or
 * looped.
 *
 * Audio stays in the chunks it was pushed in, grouped in runs of one format
 * (as in SampleQueue). Played once, a chunk is freed once it is behind the
 * history a resampler may need; looped, the chunks are kept and a cursor
 * walks over them again from the start, so a bed of any length repeats
 * sample-exactly without being copied per loop.
 *
 * A change of output format converts nothing: the run being played goes on
 * through a resampler primed with what it just played, the others are
 * converted when the cursor reaches them. A looping run converted over one
 * whole pass is replaced by that converted copy, so a bed is converted once,
 * not on every loop. A looping bed of one run is converted as the circle it
 * is: the resampler sees its end before its start and its start after its
 * end, so the loop point stays seamless.
 *
 * clear() takes the next few frames as a fade-out tail and forgets the bed;
 * audio pushed after the clear plays once the tail has faded.
 *
 * Not thread-safe: the element guards it with its queue lock. */
class BackgroundLayer {
 public:
  explicit BackgroundLayer(unsigned channels = 1, unsigned rate = 24000)
      : format_{rate, channels}, tail_(channels, rate) {}

  unsigned channels() const { return format_.channels; }
  const PcmFormat &format() const { return format_; }

  /* The output is now rate x channels: O(runs), no sample converted. */
  void set_format(unsigned rate, unsigned channels);

  /* Looping keeps the bed from the current play position on; turning it
   * off lets the bed play out to its end once. */
  void set_loop(bool loop);
  bool loop() const { return loop_; }

  /* Appends whole frames in format(); samples.size() must be a multiple of
   * channels(). */
  void push(std::vector<int16_t> &&samples);
  /* An empty vector, with room for `samples` if a consumed chunk has it. */
  std::vector<int16_t> spare(std::size_t samples) { return pool_.spare(samples); }

  /* Frames still to play before the bed ends or next wraps around (the fade
   * tail included): what "queued" means for a bed. */
  uint64_t pending_frames() const { return pending_ + tail_.queued_frames(); }
  bool empty() const { return pending_frames() == 0 && !(loop_ && stored_ > 0); }
  bool fading() const { return !tail_.empty(); }

  /* Fades out over the next fade_frames frames (a fade already running is
   * left to finish) and forgets the bed. Returns the frames dropped: what
   * was pending minus what the fade plays. Converts at most the fade. */
  uint64_t clear(uint64_t fade_frames);

  /* Forgets everything at once (the element stops), scratch included.
   * Returns the frames that were pending. */
  uint64_t discard();

  /* Writes up to `frames` frames of background to out (the fade tail
   * first, then the bed, wrapping when looping) and zero-fills the rest.
   * Returns the frames of background written. */
  std::size_t read(int16_t *out, std::size_t frames);

  /* Source frames converted so far (for tests: bounded work). */
  uint64_t frames_converted() const {
    return reader_.frames_converted() + tail_.frames_converted();
  }
  /* Bytes held beyond the bed's own samples. */
  std::size_t scratch_bytes() const {
    return reader_.scratch_bytes() + pool_.bytes() + tail_.scratch_bytes() +
           collect_.capacity() * sizeof(int16_t);
  }

 private:
  struct Run {
    PcmFormat format;
    std::deque<std::vector<int16_t>> chunks;
    std::deque<uint64_t> starts; /* source index of each chunk's first frame */
    uint64_t begin = 0;          /* where a pass starts */
    uint64_t end = 0;            /* source index after the last frame */
    uint64_t out = 0;            /* output frames of a whole pass */
    bool open = true;            /* pushes may still join it */
  };

  /* Copies bed frames from the cursor without zero fill or fade. */
  std::size_t read_bed(int16_t *out, std::size_t frames);
  void start_reader();
  void end_pass();
  std::size_t fetch(uint64_t index, std::size_t frames, int16_t *dst) const;
  void free_run(Run &run);
  void forget_bed();

  PcmFormat format_;
  bool loop_ = false;

  std::deque<Run> runs_;
  std::size_t cursor_ = 0; /* the run being played */
  uint64_t left_ = 0;      /* output frames left in its pass */
  SourcePos pos_;          /* where its pass goes on (when no reader runs) */
  RunReader reader_;       /* reads runs_[cursor_] while active */
  /* The reader sees a looping one-run bed as a circle: its source index i
   * is frame begin + (i - begin) % length, and it starts `offset_` frames
   * (whole laps) in, so that there is history before the first frame. */
  bool circular_ = false;
  uint64_t offset_ = 0;
  /* A looping run converted over a whole pass, to replace it. */
  bool collecting_ = false;
  std::vector<int16_t> collect_;

  uint64_t stored_ = 0;  /* output frames of a whole pass over every run */
  uint64_t pending_ = 0; /* output frames from the cursor to the end */

  SampleQueue tail_;      /* the fade-out of a clear(), played first */
  uint64_t tail_len_ = 0; /* its length, for the gain */
  ChunkPool pool_;
};

}  // namespace agentaudio
