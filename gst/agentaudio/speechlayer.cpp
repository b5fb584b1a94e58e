/* agentaudiosrc
 * Copyright (C) 2026 agentaudiosrc authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "speechlayer.h"

#include <algorithm>
#include <cstring>

#include "mixer.h"

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
    out.push_back(MarkEvent{std::move(m.name), position, true});
  marks_.clear();
}

CutResult SpeechLayer::interrupt(uint64_t fade_frames) {
  CutResult cut;
  uint64_t keep = 0;
  if (fade_left_ > 0) {
    keep = fade_left_;
  } else if (speaking_ && fade_frames > 0) {
    /* Fade over what is left when less than a whole fade is queued, so the
     * gain still reaches zero before the cut. */
    keep = std::min(fade_frames, queue_.queued_frames());
    fade_len_ = fade_left_ = keep;
  }
  cut.dropped = queue_.truncate(keep);
  cut_marks(next_ + keep, cut.marks);
  if (speaking_ && (keep > 0 || cut.dropped > 0)) {
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
  cut.dropped = queue_.reset();
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

void SpeechLayer::set_format(unsigned rate, unsigned channels) {
  const PcmFormat from = queue_.format();
  const uint64_t base = queue_.read_pos();
  const PositionMap map = queue_.set_format(PcmFormat{rate, channels});
  for (Mark &m : marks_)
    m.at = map.map(m.at);
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
  }
}

void SpeechLayer::render(int16_t *out, std::size_t frames, uint64_t position,
                         RenderResult &result) {
  const unsigned channels = queue_.channels();
  const uint64_t read_before = queue_.read_pos();
  std::size_t n = frames > 0 ? queue_.pop(out, frames) : 0;

  if (fade_left_ > 0 && n > 0) {
    std::size_t f = static_cast<std::size_t>(std::min<uint64_t>(n, fade_left_));
    uint64_t done = fade_len_ - fade_left_;
    scale_ramp(out, f, channels, fade_out_gain(done, fade_len_),
               -1.0f / static_cast<float>(fade_len_));
    fade_left_ -= f;
  }
  if (n < frames)
    std::memset(out + n * channels, 0, (frames - n) * channels * sizeof(int16_t));

  while (!marks_.empty() && marks_.front().at <= queue_.read_pos()) {
    Mark &m = marks_.front();
    /* A mark with nothing before it in this buffer marks the end of speech
     * that was already played. */
    uint64_t at = m.at <= read_before ? last_end_ : position + (m.at - read_before);
    result.marks.push_back(MarkEvent{std::move(m.name), at, false});
    marks_.pop_front();
  }

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
  next_ = position + frames;
}

}  // namespace agentaudio
