/* agentaudiosrc
 * Copyright (C) 2026 agentaudiosrc authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "speechlayer.h"

#include <algorithm>
#include <cstring>

#include "mixer.h"
#include "reformat.h"

namespace agentaudio {

void SpeechLayer::mark(std::string name, uint64_t still_coming) {
  marks_.push_back(Mark{queue_.write_pos() + still_coming, std::move(name)});
}

void SpeechLayer::settle_marks() {
  for (Mark &m : marks_)
    m.at = std::min(m.at, queue_.write_pos());
}

void SpeechLayer::cut_marks(uint64_t position, std::vector<MarkEvent> &out) {
  for (Mark &m : marks_)
    out.push_back(MarkEvent{std::move(m.name), position, true, played_});
  marks_.clear();
}

CutResult SpeechLayer::interrupt(uint64_t fade_frames) {
  CutResult cut;
  if (paused_ && pause_fade_left_ < pause_fade_len_ && pause_fade_left_ > 0) {
    /* The pause's fade is under way: it goes on as the interrupt's. */
    fade_len_ = pause_fade_len_;
    fade_left_ = pause_fade_left_;
  }
  if (paused_ && pause_fade_left_ == 0) {
    /* Held: everything is dropped at once and the utterance ends where the
     * pause's fade did. */
    cut.dropped = queue_.clear() + replay_frames();
    replay_.clear();
    cut_marks(pause_end_, cut.marks);
    cut.ended = true;
    cut.end = UtteranceEnd{pause_end_, played_, dropped_ + cut.dropped, true};
    paused_ = resume_pending_ = false;
    speaking_ = interrupted_ = cut_pending_ = false;
    played_ = dropped_ = 0;
    return cut;
  }
  /* A pause whose fade has not begun is called off; one whose fade is under
   * way has handed it over above. What it kept for replaying is dropped. */
  cut.dropped = replay_frames();
  replay_.clear();
  paused_ = resume_pending_ = false;
  resume_fade_left_ = 0;
  uint64_t keep = 0;
  if (fade_left_ > 0) {
    keep = fade_left_;
  } else if (speaking_ && !cut_pending_ && fade_frames > 0) {
    /* Fade over what is left when less than a whole fade is queued, so the
     * gain still reaches zero before the cut. */
    keep = std::min(fade_frames, queue_.queued_frames());
    fade_len_ = fade_left_ = keep;
  }
  cut.dropped += queue_.truncate(keep);
  cut_marks(next_ + keep, cut.marks);
  /* A second interrupt before the first one's cut took effect drops what
   * was pushed since, and leaves the interrupted utterance's end where the
   * first one put it. */
  if (speaking_ && !cut_pending_ && (keep > 0 || cut.dropped > 0)) {
    /* The utterance ends where the fade does; speech pushed from now on is
     * the next one. */
    interrupted_ = true;
    dropped_ += cut.dropped;
    cut_pending_ = true;
    cut_at_ = queue_.write_pos();
  }
  return cut;
}

CutResult SpeechLayer::discard() {
  CutResult cut;
  cut.dropped = queue_.reset() + replay_frames();
  replay_.clear();
  paused_ = resume_pending_ = false;
  pause_fade_len_ = pause_fade_left_ = resume_fade_len_ = resume_fade_left_ = 0;
  cut_marks(next_, cut.marks);
  if (speaking_) {
    cut.ended = true;
    cut.end = UtteranceEnd{last_end_, played_, dropped_ + cut.dropped, true};
  }
  fade_len_ = fade_left_ = 0;
  speaking_ = interrupted_ = cut_pending_ = false;
  played_ = dropped_ = 0;
  last_end_ = next_ = 0;
  return cut;
}

uint64_t SpeechLayer::pause(uint64_t fade_frames) {
  if (resume_pending_) {
    /* Paused again before the resume took effect: as if it never came. */
    resume_pending_ = false;
    resume_fade_left_ = 0;
    paused_ = true;
    return queued_frames();
  }
  if (!speaking_ || paused_ || fade_left_ > 0 || cut_pending_ || queued_frames() == 0)
    return 0; /* nothing to hold, or an interrupt is ending the utterance */
  const uint64_t held = queued_frames();
  paused_ = true;
  pause_reported_ = false;
  pause_end_ = next_; /* until its fade is rendered */
  /* A resume's fade-in still under way is where this fade starts from: it
   * stops, and the fade-out goes down from full level (a few frames' step at
   * most, since both last at most a fade). */
  resume_fade_left_ = 0;
  pause_fade_len_ = pause_fade_left_ = std::min(fade_frames, held);
  pause_kept_ = 0;
  return held;
}

bool SpeechLayer::resume(uint64_t fade_frames) {
  if (!paused_)
    return false;
  paused_ = false;
  const bool began = pause_reported_ || !replay_.empty();
  if (!began) {
    pause_fade_left_ = 0; /* called off before its fade began */
    return true;
  }
  /* A fade cut short ends where it stopped: the next render reports the
   * pause there, then the resume. */
  if (!pause_reported_)
    pause_end_ = next_;
  pause_fade_left_ = 0;
  resume_fade_len_ = resume_fade_left_ = fade_frames;
  resume_pending_ = true;
  return true;
}

std::size_t SpeechLayer::take(int16_t *out, std::size_t frames) {
  const unsigned channels = queue_.channels();
  const std::size_t replayed = std::min<std::size_t>(frames, replay_frames());
  if (replayed > 0) {
    std::memcpy(out, replay_.data(), replayed * channels * sizeof(int16_t));
    replay_.erase(replay_.begin(), replay_.begin() + replayed * channels);
  }
  return replayed + queue_.pop(out + replayed * channels, frames - replayed);
}

std::size_t SpeechLayer::render_pause_fade(int16_t *out, std::size_t frames) {
  const unsigned channels = queue_.channels();
  /* The fade plays what a resume had left to replay first, then the queue;
   * whole copies of what it plays stay at replay_'s head, in order. */
  const std::size_t want =
      static_cast<std::size_t>(std::min<uint64_t>(frames, pause_fade_left_));
  const std::size_t replayed = std::min<std::size_t>(
      want, static_cast<std::size_t>(replay_frames() - pause_kept_));
  if (replayed > 0)
    std::memcpy(out, replay_.data() + pause_kept_ * channels,
                replayed * channels * sizeof(int16_t));
  const std::size_t popped = queue_.pop(out + replayed * channels, want - replayed);
  replay_.insert(replay_.begin() + (pause_kept_ + replayed) * channels,
                 out + replayed * channels, out + (replayed + popped) * channels);
  const std::size_t n = replayed + popped;
  pause_kept_ += n;
  const uint64_t done = pause_fade_len_ - pause_fade_left_;
  scale_ramp(out, n, channels, fade_out_gain(done, pause_fade_len_),
             -1.0f / static_cast<float>(pause_fade_len_));
  /* The queue ran out before the fade's end: it ends here. */
  pause_fade_left_ = n < want ? 0 : pause_fade_left_ - n;
  return n;
}

void SpeechLayer::set_format(unsigned rate, unsigned channels) {
  const PcmFormat from = queue_.format();
  const PcmFormat to{rate, channels};
  if (!replay_.empty() && to != from) {
    /* What a pause keeps for replaying is converted at once: it is at most
     * a fade long. */
    const uint64_t n = replay_.size() / from.channels;
    const uint64_t out_n = (n * rate + from.rate / 2) / from.rate;
    std::vector<int16_t> converted(out_n * channels);
    RunReader reader;
    reader.start(from, to, SourcePos{}, 0);
    reader.read(converted.data(), out_n,
                [&](uint64_t index, std::size_t frames, int16_t *dst) -> std::size_t {
                  if (index >= n)
                    return 0;
                  const std::size_t k = std::min<uint64_t>(frames, n - index);
                  std::memcpy(dst, replay_.data() + index * from.channels,
                              k * from.channels * sizeof(int16_t));
                  return k;
                });
    reader.release();
    pause_kept_ = pause_kept_ * out_n / n;
    replay_ = std::move(converted);
  }
  const uint64_t base = queue_.read_pos();
  const PositionMap map = queue_.set_format(to);
  for (Mark &m : marks_)
    m.at = map.map(std::max(m.at, base)); /* one inside the replay: after it */
  if (cut_pending_)
    cut_at_ = map.map(cut_at_);
  if (rate != from.rate) {
    auto scale = [&](uint64_t n) { return (n * rate + from.rate / 2) / from.rate; };
    /* The fade's tail is the queue's first fade_left_ frames. */
    const uint64_t left = map.map(base + fade_left_) - base;
    fade_len_ = scale(fade_len_);
    fade_left_ = std::min(left, fade_len_);
    played_ = scale(played_);
    dropped_ = scale(dropped_);
    pause_fade_len_ = scale(pause_fade_len_);
    pause_fade_left_ = std::min(scale(pause_fade_left_), pause_fade_len_);
  }
}

void SpeechLayer::render(int16_t *out, std::size_t frames, uint64_t position,
                         RenderResult &result) {
  const unsigned channels = queue_.channels();
  if (paused_) {
    /* The pause's fade, then silence; the utterance and its marks wait. */
    const std::size_t n = pause_fade_left_ > 0 ? render_pause_fade(out, frames) : 0;
    std::memset(out + n * channels, 0, (frames - n) * channels * sizeof(int16_t));
    if (n > 0)
      last_end_ = position + n;
    if (pause_fade_left_ == 0 && !pause_reported_) {
      pause_reported_ = true;
      pause_end_ = n > 0 ? position + n : last_end_;
      result.paused = true;
      result.paused_at = pause_end_;
      result.paused_played = played_;
    }
    result.speech_frames = n;
    result.held = true;
    next_ = position + frames;
    return;
  }

  const uint64_t read_before = play_pos();
  std::size_t n = frames > 0 ? take(out, frames) : 0;

  if (resume_pending_) {
    resume_pending_ = false;
    if (!pause_reported_) {
      pause_reported_ = true;
      result.paused = true;
      result.paused_at = pause_end_;
      result.paused_played = played_;
    }
    result.resumed = true;
    result.resumed_at = position;
    result.paused_since = pause_end_;
  }
  if (resume_fade_left_ > 0 && n > 0) {
    /* Fading in: frame i of L at (i + 1) / L, the last one whole. */
    std::size_t f = static_cast<std::size_t>(std::min<uint64_t>(n, resume_fade_left_));
    uint64_t done = resume_fade_len_ - resume_fade_left_;
    const float step = 1.0f / static_cast<float>(resume_fade_len_);
    scale_ramp(out, f, channels, static_cast<float>(done + 1) * step, step);
    resume_fade_left_ -= f;
  }

  if (fade_left_ > 0 && n > 0) {
    std::size_t f = static_cast<std::size_t>(std::min<uint64_t>(n, fade_left_));
    uint64_t done = fade_len_ - fade_left_;
    scale_ramp(out, f, channels, fade_out_gain(done, fade_len_),
               -1.0f / static_cast<float>(fade_len_));
    fade_left_ -= f;
  }
  if (n < frames)
    std::memset(out + n * channels, 0, (frames - n) * channels * sizeof(int16_t));

  /* The marks now due, placed after the bookkeeping below so each can say
   * what its utterance had played: a mark with nothing before it in this
   * buffer marks the end of speech that was already played. */
  const uint64_t last_end_before = last_end_;
  const uint64_t played_before = played_;
  result.speech_frames = n;
  /* Frames [0, ended_at) belong to the running utterance. When speech pushed
   * after an interrupt follows the fade in this buffer, the interrupted
   * utterance ends here and the rest starts the next one; otherwise it ends,
   * as any, with the first buffer without speech. */
  std::size_t ended_at = n;
  bool cut = false;
  if (cut_pending_ && cut_at_ - read_before < n) {
    ended_at = static_cast<std::size_t>(cut_at_ - read_before);
    cut = true;
  }
  if (speaking_ && ended_at > 0) {
    played_ += ended_at;
    last_end_ = position + ended_at;
  }
  if (speaking_ && (cut || n == 0)) {
    speaking_ = false;
    cut_pending_ = false;
    result.ended = true;
    result.end = UtteranceEnd{last_end_, played_, dropped_, interrupted_};
  }
  if (n > 0 && !speaking_) {
    std::size_t from = result.ended ? ended_at : 0;
    if (from < n) {
      speaking_ = true;
      interrupted_ = false;
      played_ = n - from;
      dropped_ = 0;
      last_end_ = position + n;
      result.started = true;
      result.start = position + from;
    }
  }
  /* Frames from here on in this buffer belong to an utterance started in it. */
  const uint64_t from = result.started ? result.start - position : n;
  while (!marks_.empty() && marks_.front().at <= play_pos()) {
    Mark &m = marks_.front();
    MarkEvent event{std::move(m.name), last_end_before, false, played_before};
    if (m.at > read_before) {
      const uint64_t offset = m.at - read_before; /* frames into this buffer */
      event.position = position + offset;
      event.played = offset > from ? offset - from : played_before + offset;
    }
    result.marks.push_back(std::move(event));
    marks_.pop_front();
  }
  next_ = position + frames;
}

}  // namespace agentaudio
