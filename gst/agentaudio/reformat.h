/* agentaudiosrc
 * Copyright (C) 2026 agentaudiosrc authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

/* GstAudioConverter, kept out of the layers' headers. */
struct _GstAudioConverter;
struct _GstAudioInfo;

namespace agentaudio {

/* Every conversion of the element, at the input and of queued audio, is
 * made by one configuration (Kaiser at audioresample's default quality, no
 * dither, no noise shaping), so that reconverted audio sounds like the rest.
 * Free with gst_audio_converter_free(); NULL if GStreamer cannot convert. */
_GstAudioConverter *new_audio_converter(const _GstAudioInfo &in, const _GstAudioInfo &out);

/* A format of queued audio: interleaved native-endian S16 at this rate. */
struct PcmFormat {
  unsigned rate = 24000;
  unsigned channels = 1;
  bool operator==(const PcmFormat &o) const {
    return rate == o.rate && channels == o.channels;
  }
  bool operator!=(const PcmFormat &o) const { return !(*this == o); }
};

/* A position in a run of source frames, exact: whole + num / den frames
 * (0 <= num < den). A run played at another rate reaches positions between
 * its frames. */
struct SourcePos {
  uint64_t whole = 0;
  uint64_t num = 0;
  uint64_t den = 1;
};

/* Fills `frames` frames of a run from source frame `index` on, zeros past
 * its end; returns how many were the run's. */
using FetchFrames =
    std::function<std::size_t(uint64_t index, std::size_t frames, int16_t *dst)>;

/* Converts one run of queued audio (frames in one format) to the output
 * format lazily: as its frames are read, in slices of at most a few
 * thousand source frames, never the whole run at once.
 *
 * Phase continuity: a reader started at a position inside the run primes a
 * fresh resampler with the frames before it (history the queue keeps) and
 * throws away their output, so that its first frame continues the waveform
 * the previous reader (or passthrough) left. The history length H is chosen
 * so that H * out_rate / in_rate is a whole number of output frames: then an
 * output frame falls exactly on the position and the result is the very
 * samples a steady conversion gives. For rate pairs where no such H fits in
 * the kept history (rates with a small common divisor: the smallest H is
 * in_rate / gcd(in_rate, out_rate) frames, a second for 44100 -> 44101), the
 * first frame is rounded to the nearest output frame, off by less than half
 * an output frame.
 *
 * Not thread-safe: its layer is guarded by the element's queue lock. */
class RunReader {
 public:
  /* Source frames a queue keeps behind the read position for priming:
   * enough for the resampler's reach (under 800 frames even for 192 kHz
   * to 8 kHz) rounded up to an exact phase for the usual rate pairs (441
   * frames for 44.1 kHz to 16 kHz, 640 for 192 kHz to 44.1 kHz). */
  static constexpr uint64_t kMaxHistory = 2048;
  /* Source frames kept past a cut for the resampler to look ahead into. */
  static constexpr uint64_t kLookahead = 256;
  /* Source frames converted per slice at most. */
  static constexpr std::size_t kMaxSlice = 4096;

  RunReader() = default;
  ~RunReader();
  RunReader(const RunReader &) = delete;
  RunReader &operator=(const RunReader &) = delete;

  /* Starts reading a run in `from` as `to` at `at`; `history` source frames
   * before at.whole can be fetched. */
  void start(PcmFormat from, PcmFormat to, SourcePos at, uint64_t history);
  bool active() const { return active_; }

  /* Writes the next `frames` output frames to out. Past the run's end it
   * lets the resampler ring out into silence (passthrough repeats the last
   * frame): the caller decides how many frames the run has. */
  void read(int16_t *out, std::size_t frames, const FetchFrames &fetch);

  /* Where the next output frame is, in source frames. */
  SourcePos position() const;
  /* The lowest source frame a later read (or a restart) can still fetch. */
  uint64_t oldest_needed() const;

  /* Ends the reader: the resampler is freed, the scratch kept for reuse. */
  void stop();
  /* Ends it and frees the scratch too. */
  void release();

  /* Source frames put through a resampler since construction (history,
   * real and ringing-out frames): what the bounded-work tests count. */
  uint64_t frames_converted() const { return converted_; }
  /* Bytes of scratch held. */
  std::size_t scratch_bytes() const;

 private:
  void free_converter();
  void produce(std::size_t wanted, const FetchFrames &fetch);

  PcmFormat from_, to_;
  bool active_ = false;
  _GstAudioConverter *conv_ = nullptr; /* NULL: passthrough */

  /* Passthrough: the next source frame. */
  uint64_t next_ = 0;
  std::vector<int16_t> last_; /* the last frame delivered, for padding */

  /* Resampling: output frame j of this reader is at source position
   * origin_ + j * from.rate / to.rate. */
  uint64_t origin_ = 0;
  uint64_t produced_ = 0;       /* output frames made so far, skipped ones included */
  uint64_t delivered_ = 0;      /* output frames handed out, counted from skip_ on */
  uint64_t skip_ = 0;           /* output frames of the history still to throw away */
  uint64_t skipped_ = 0;        /* all of them */
  uint64_t fed_ = 0;            /* next source frame to feed */
  std::vector<int16_t> in_;     /* scratch: one slice of source frames */
  std::vector<int16_t> staged_; /* converted frames not yet handed out */
  std::size_t staged_at_ = 0;   /* samples of staged_ already handed out */

  uint64_t converted_ = 0;
};

}  // namespace agentaudio
