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

namespace agentaudio {

/* Where positions moved when the output format changed: a position p on
 * the queue before set_format() is map(p) after it. */
class PositionMap {
 public:
  uint64_t map(uint64_t p) const;

 private:
  friend class SampleQueue;
  struct Span {
    uint64_t from, length; /* before */
    uint64_t to, new_length;
  };
  std::vector<Span> spans_; /* in order, back to back */
  uint64_t from_end_ = 0, to_end_ = 0;
  unsigned from_rate_ = 1, to_rate_ = 1;
};

/* A bounded free-list of sample vectors: chunks the streaming thread has
 * consumed go back to the pushing threads instead of to malloc, so memory
 * allocated on one thread is not freed on another (which per-thread malloc
 * caches turn into growth). */
class ChunkPool {
 public:
  /* A vector with room for `samples` samples if one is pooled, else an
   * empty one. Its size is 0. */
  std::vector<int16_t> spare(std::size_t samples);
  /* Takes a consumed chunk; frees it if the pool is full or it is huge. */
  void recycle(std::vector<int16_t> &&chunk);
  void clear();
  std::size_t bytes() const { return bytes_; }

  /* At most this many bytes are kept (a few pushes of TTS audio), and no
   * chunk above half of it. */
  static constexpr std::size_t kMaxBytes = 16 * 1024;
  static constexpr std::size_t kMaxChunks = 4;

 private:
  std::vector<std::vector<int16_t>> free_;
  std::size_t bytes_ = 0;
};

/* A FIFO of interleaved S16 frames, read in the output format.
 *
 * Audio is kept in the chunks it was pushed in (no copy into a ring, no
 * reallocation when a large push arrives), grouped in runs: consecutive
 * chunks in one format. Pushes are in the output format of their time.
 * When the output format changes, set_format() converts nothing: each run
 * keeps its samples and now promises round(N * new_rate / old_rate) of its
 * N frames still to play; pop() converts the front run lazily, a slice at a
 * time, and delivers exactly what it promised. Several format changes in a
 * row leave runs of several formats.
 *
 * Positions are absolute output frame counts since the queue was created,
 * so a mark placed at write_pos() stays valid however the queue is later
 * read, truncated or cleared; a format change moves the positions inside
 * the queue in proportion (the PositionMap it returns).
 *
 * Not thread-safe: the element guards it with its queue lock. */
class SampleQueue {
 public:
  explicit SampleQueue(unsigned channels = 1, unsigned rate = 24000)
      : format_{rate, channels} {}

  const PcmFormat &format() const { return format_; }
  unsigned channels() const { return format_.channels; }

  /* The output is now `format`: O(runs), no sample converted. */
  PositionMap set_format(PcmFormat format);

  /* Appends whole frames in format(); samples.size() must be a multiple of
   * channels(). */
  void push(std::vector<int16_t> &&samples);
  /* An empty vector, with room for `samples` if a consumed chunk has it. */
  std::vector<int16_t> spare(std::size_t samples) { return pool_.spare(samples); }

  /* Writes up to max_frames frames to out and removes them; returns the
   * number of frames written. */
  std::size_t pop(int16_t *out, std::size_t max_frames);

  /* Keeps the first keep_frames frames, drops the rest; returns the frames
   * dropped. Converts nothing. */
  uint64_t truncate(uint64_t keep_frames);
  uint64_t clear() { return truncate(0); }
  /* clear(), and gives back the conversion scratch and the pooled chunks. */
  uint64_t reset();

  uint64_t queued_frames() const { return write_pos_ - read_pos_; }
  bool empty() const { return write_pos_ == read_pos_; }
  /* Frames ever removed (played or dropped). */
  uint64_t read_pos() const { return read_pos_; }
  /* Frames ever queued. */
  uint64_t write_pos() const { return write_pos_; }

  /* Source frames converted so far (for tests: bounded work). */
  uint64_t frames_converted() const { return reader_.frames_converted(); }
  /* Bytes held beyond the queued samples: conversion scratch and pool. */
  std::size_t scratch_bytes() const { return reader_.scratch_bytes() + pool_.bytes(); }

 private:
  struct Run {
    PcmFormat format;
    std::deque<std::vector<int16_t>> chunks;
    std::deque<uint64_t> starts; /* source index of each chunk's first frame */
    uint64_t end = 0;            /* source index after the last frame */
    uint64_t out = 0;            /* output frames still to come from it */
    SourcePos pos;               /* source position of its next output frame */
    bool open = true;            /* pushes may still join it */
  };

  std::size_t fetch(Run &run, uint64_t index, std::size_t frames, int16_t *dst) const;
  void drop_before(Run &run, uint64_t index);
  void retire_front();

  PcmFormat format_;
  std::deque<Run> runs_;
  RunReader reader_; /* reads runs_.front() while active */
  ChunkPool pool_;
  uint64_t read_pos_ = 0;
  uint64_t write_pos_ = 0;
};

}  // namespace agentaudio
