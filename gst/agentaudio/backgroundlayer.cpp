/* agentaudiosrc
 * Copyright (C) 2026 agentaudiosrc authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "backgroundlayer.h"

#include <algorithm>
#include <cstring>

#include "mixer.h"

namespace agentaudio {

void BackgroundLayer::set_loop(bool loop) {
  if (loop && !loop_ && !chunks_.empty() && chunk_ == 0 && offset_ > 0) {
    /* Played once, the front chunk's head is gone for good: the loop starts
     * at the current play position, not at what already played. */
    std::vector<int16_t> &front = chunks_.front();
    front.erase(front.begin(), front.begin() + offset_);
    stored_ -= offset_ / channels_;
    offset_ = 0;
  }
  loop_ = loop;
  if (!loop_)
    drop_played_chunks();
}

void BackgroundLayer::push(std::vector<int16_t> &&samples) {
  if (samples.empty())
    return;
  uint64_t frames = samples.size() / channels_;
  stored_ += frames;
  pending_ += frames;
  chunks_.push_back(std::move(samples));
}

void BackgroundLayer::drop_played_chunks() {
  for (; chunk_ > 0; chunk_--) {
    stored_ -= chunks_.front().size() / channels_;
    chunks_.pop_front();
  }
}

void BackgroundLayer::reformat(unsigned channels, const Convert &convert) {
  std::vector<int16_t> bed;
  bed.reserve(stored_ * channels_);
  uint64_t cursor = 0;
  for (std::size_t i = 0; i < chunks_.size(); i++) {
    if (i == chunk_)
      cursor = bed.size() / channels_ + offset_ / channels_;
    bed.insert(bed.end(), chunks_[i].begin(), chunks_[i].end());
  }
  if (chunk_ == chunks_.size())
    cursor = stored_;
  const uint64_t old_stored = stored_;

  chunks_.clear();
  tail_.clear();
  tail_pos_ = 0;
  channels_ = channels;
  std::vector<int16_t> converted = convert(std::move(bed));
  stored_ = converted.size() / channels;
  cursor = old_stored == 0 ? 0 : cursor * stored_ / old_stored;
  if (!converted.empty())
    chunks_.push_back(std::move(converted));
  chunk_ = 0;
  offset_ = static_cast<std::size_t>(cursor) * channels;
  if (!chunks_.empty() && offset_ == chunks_[0].size()) {
    chunk_ = 1;
    offset_ = 0;
  }
  pending_ = stored_ - cursor;
  if (!loop_)
    drop_played_chunks();
}

std::size_t BackgroundLayer::read_bed(int16_t *out, std::size_t frames) {
  std::size_t done = 0;
  while (done < frames) {
    if (chunk_ == chunks_.size()) {
      if (!loop_ || stored_ == 0)
        break;
      /* Wrap: the bed starts over from its first sample. */
      chunk_ = 0;
      offset_ = 0;
      pending_ = stored_;
    }
    const std::vector<int16_t> &c = chunks_[chunk_];
    std::size_t n = std::min((frames - done) * channels_, c.size() - offset_);
    std::memcpy(out + done * channels_, c.data() + offset_, n * sizeof(int16_t));
    done += n / channels_;
    pending_ -= n / channels_;
    offset_ += n;
    if (offset_ == c.size()) {
      chunk_++;
      offset_ = 0;
      if (!loop_)
        drop_played_chunks();
    }
  }
  return done;
}

std::size_t BackgroundLayer::read(int16_t *out, std::size_t frames) {
  std::size_t done = 0;
  uint64_t tail_len = tail_frames();
  if (tail_pos_ < tail_len) {
    std::size_t n =
        static_cast<std::size_t>(std::min<uint64_t>(frames, tail_len - tail_pos_));
    std::memcpy(out, tail_.data() + tail_pos_ * channels_,
                n * channels_ * sizeof(int16_t));
    scale_ramp(out, n, channels_, fade_out_gain(tail_pos_, tail_len),
               -1.0f / static_cast<float>(tail_len));
    tail_pos_ += n;
    done = n;
    if (tail_pos_ == tail_len) {
      tail_.clear();
      tail_pos_ = 0;
    }
  }
  done += read_bed(out + done * channels_, frames - done);
  if (done < frames)
    std::memset(out + done * channels_, 0, (frames - done) * channels_ * sizeof(int16_t));
  return done;
}

uint64_t BackgroundLayer::clear(uint64_t fade_frames) {
  if (!fading() && fade_frames > 0) {
    /* The fade plays the frames that would have played next, looping
     * included; a bed shorter than the fade fades over what it has. */
    uint64_t available =
        loop_ && stored_ > 0 ? fade_frames : std::min(fade_frames, pending_);
    tail_.resize(static_cast<std::size_t>(available) * channels_);
    std::size_t got = read_bed(tail_.data(), static_cast<std::size_t>(available));
    tail_.resize(got * channels_);
    tail_pos_ = 0;
  }
  uint64_t dropped = pending_;
  chunks_.clear();
  chunk_ = offset_ = 0;
  stored_ = pending_ = 0;
  return dropped;
}

uint64_t BackgroundLayer::discard() {
  uint64_t dropped = pending_frames();
  chunks_.clear();
  chunk_ = offset_ = 0;
  stored_ = pending_ = 0;
  tail_.clear();
  tail_pos_ = 0;
  return dropped;
}

}  // namespace agentaudio
