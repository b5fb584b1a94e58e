/* agentaudiosrc
 * Copyright (C) 2026 agentaudiosrc authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "samplequeue.h"

namespace agentaudio {

/* Everything below is in output frames: a "position" is the index of a frame
 * on the output timeline (frame 0 is the first frame the element produced),
 * which the element turns into running time. */

struct MarkEvent {
  std::string name;
  uint64_t position; /* end of the speech before the mark, or where it was cut */
  bool interrupted;
  /* Speech frames its utterance played before the mark (as UtteranceEnd's
   * played counts them); for a cut mark, what had played when it was cut. */
  uint64_t played = 0;
};

/* The end of an utterance, for last-audio. */
struct UtteranceEnd {
  uint64_t position; /* end of the last speech frame */
  uint64_t played;   /* speech frames played since it started */
  uint64_t dropped;  /* speech frames discarded by interrupt or stop */
  bool interrupted;
};

/* What one rendered buffer did to the speech layer. */
struct RenderResult {
  std::size_t speech_frames = 0; /* frames [0, speech_frames) hold speech */
  bool started = false;          /* an utterance starts in here */
  uint64_t start = 0;            /* its position, when started */
  bool ended = false;            /* an utterance ended (reported before started) */
  UtteranceEnd end{};
  std::vector<MarkEvent> marks; /* marks now due, in order */
  bool held = false;            /* a pause holds the utterance (ducking stays on) */
  bool paused = false;          /* a pause's fade ended in here: */
  uint64_t paused_at = 0;       /*   where */
  uint64_t paused_played = 0;   /*   the utterance's frames played until then */
  bool resumed = false;         /* a resume's fade-in starts in here: */
  uint64_t resumed_at = 0;      /*   where (this buffer's first frame) */
  uint64_t paused_since = 0;    /*   where the pause's fade had ended */
};

struct CutResult {
  uint64_t dropped = 0; /* frames removed from the queue */
  std::vector<MarkEvent> marks;
  bool ended = false; /* only from discard(): the utterance it ended */
  UtteranceEnd end{};
};

/* The speech layer: queued TTS frames, marks placed between them, the fade
 * of a barge-in, and the started/stopped-speaking state.
 *
 * An utterance starts with the first buffer that holds speech and ends with
 * the first buffer that holds none, so speech that runs out mid-buffer and
 * resumes at the next buffer is one utterance. An interrupt ends it where its
 * fade ends: speech pushed after the interrupt is a new utterance even when
 * it follows in the same buffer. Within a buffer speech is always a prefix:
 * the queue is read from the buffer's first frame on.
 *
 * Not thread-safe: the element guards it with its queue lock. */
class SpeechLayer {
 public:
  explicit SpeechLayer(unsigned channels = 1, unsigned rate = 24000)
      : queue_(channels, rate) {}

  unsigned channels() const { return queue_.channels(); }
  const PcmFormat &format() const { return queue_.format(); }

  /* The output is now rate x channels (it was renegotiated). O(chunks +
   * marks), converting no sample: queued speech keeps its format and is
   * converted as render() takes it (see SampleQueue). Marks, a running fade
   * and the end of an interrupted utterance keep their place in
   * proportion; the running utterance's counts of played and dropped
   * frames keep their duration. */
  void set_format(unsigned rate, unsigned channels);

  /* Appends whole frames in format(). */
  void push(std::vector<int16_t> &&samples) { queue_.push(std::move(samples)); }
  /* An empty vector to fill and push, with room for `samples` when a chunk
   * the streaming thread consumed has it: memory goes round between the
   * pushing and the streaming thread instead of through malloc. */
  std::vector<int16_t> spare(std::size_t samples) { return queue_.spare(samples); }

  /* Places a mark after everything queued so far and `still_coming` frames
   * more: the ones a resampler holds back from what was pushed before the
   * mark. */
  void mark(std::string name, uint64_t still_coming = 0);
  /* Nothing more is held back (the resampler was drained): a mark placed
   * beyond the queued frames moves back to their end. */
  void settle_marks();

  /* Barge-in. While speech is audible the next fade_frames queued frames fade
   * out to silence (a fade already running is left to finish); the rest of the
   * queue is dropped and every pending mark is reported interrupted. */
  CutResult interrupt(uint64_t fade_frames);

  /* Drops everything, as when the element stops: ends a running utterance
   * (interrupted) and reports every pending mark interrupted. Positions start
   * again from 0 afterwards. */
  CutResult discard();

  /* A false interruption's first half. While speech is audible the next
   * fade_frames frames fade out and playback holds: the queue, the utterance
   * and its marks are kept, and the frames the fade attenuated are kept
   * whole to be played again. Returns the frames held (all queued speech);
      * 0, doing nothing, when no speech is playing, nothing is queued, it is
   * paused already or an interrupt is ending the utterance (its fade runs,
   * or its cut takes effect in the next render). */
  uint64_t pause(uint64_t fade_frames);
  /* Playback restarts at the first frame the pause's fade attenuated,
   * fading in over fade_frames frames from the next render. FALSE, doing
   * nothing, when not paused. Resumed before any frame of its fade was
   * rendered, the pause is simply called off (and nothing is reported). */
  bool resume(uint64_t fade_frames);
  bool paused() const { return paused_; }
  /* Where the pause's fade ended (or will end: the next frame), and where
   * the next render starts. */
  uint64_t pause_end() const { return pause_end_; }
  uint64_t next_position() const { return next_; }

  /* Fills `frames` frames at output position `position` with queued speech,
   * then silence. With frames == 0 (end of stream) it only settles the state:
   * ends the utterance and reports the marks that are due. */
  void render(int16_t *out, std::size_t frames, uint64_t position, RenderResult &result);

    /* Speech not played yet: the queue, and what a pause will play again. */
  uint64_t queued_frames() const { return queue_.queued_frames() + replay_frames(); }
  /* Source frames converted so far, and scratch bytes held: for tests of
   * bounded work and memory. */
  uint64_t frames_converted() const { return queue_.frames_converted(); }
  std::size_t scratch_bytes() const { return queue_.scratch_bytes(); }
    bool speaking() const { return speaking_; }
  bool fading() const { return fade_left_ > 0; }
  /* The earliest position a message may still name: the end of the last
   * speech played (a mark placed after it). */
  uint64_t last_end() const { return last_end_; }

 private:
  struct Mark {
    uint64_t at; /* queue position (SampleQueue::write_pos() when placed) */
    std::string name;
  };

  void cut_marks(uint64_t position, std::vector<MarkEvent> &out);
  uint64_t replay_frames() const { return replay_.size() / queue_.channels(); }
  /* The queue position of the next frame to play: what the pause holds for
   * playing again comes before the queue's read position. */
  uint64_t play_pos() const { return queue_.read_pos() - replay_frames(); }
  /* Copies up to `frames` frames to play next (the replayed ones first) and
   * returns how many. */
  std::size_t take(int16_t *out, std::size_t frames);
  /* Renders the pause's fade into out; returns the frames. */
  std::size_t render_pause_fade(int16_t *out, std::size_t frames);

  SampleQueue queue_;
  std::deque<Mark> marks_;

  /* The queue's first fade_left_ frames are the tail of a fade-out of
   * fade_len_ frames. */
  uint64_t fade_len_ = 0;
  uint64_t fade_left_ = 0;

  /* The running utterance. */
  bool speaking_ = false;
  bool cut_pending_ = false; /* an interrupt ends it at queue position cut_at_ */
  uint64_t cut_at_ = 0;
  bool interrupted_ = false;
  uint64_t played_ = 0;
  uint64_t dropped_ = 0;

  /* A pause: fading out over the queue's next pause_fade_left_ frames (of
   * pause_fade_len_), whose whole samples go to replay_, then holding. */
  bool paused_ = false;
  uint64_t pause_fade_len_ = 0;
  uint64_t pause_fade_left_ = 0;
  uint64_t pause_end_ = 0; /* position where the pause's fade ended */
  uint64_t pause_kept_ =
      0; /* frames the pause's fade has kept so far, at replay_'s head */
  bool pause_reported_ = false;
  std::vector<int16_t> replay_; /* played again on resume, before the queue */
  /* A resume: the next resume_fade_left_ frames (of resume_fade_len_) fade in. */
  uint64_t resume_fade_len_ = 0;
  uint64_t resume_fade_left_ = 0;
  bool resume_pending_ = false;

  uint64_t last_end_ = 0; /* position after the last speech frame played */
  uint64_t next_ = 0;     /* position of the next frame to render */
};

}  // namespace agentaudio
