/* agentaudiosrc
 * Copyright (C) 2026 agentaudiosrc authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "samplequeue.h"

#include <algorithm>
#include <cstring>

namespace agentaudio {

void SampleQueue::push(std::vector<int16_t> &&samples) {
  if (samples.empty())
    return;
  write_pos_ += samples.size() / channels_;
  chunks_.push_back(std::move(samples));
}

std::size_t SampleQueue::pop(int16_t *out, std::size_t max_frames) {
  std::size_t wanted = max_frames * channels_;
  std::size_t copied = 0;
  while (copied < wanted && !chunks_.empty()) {
    const std::vector<int16_t> &front = chunks_.front();
    std::size_t n = std::min(wanted - copied, front.size() - head_);
    std::memcpy(out + copied, front.data() + head_, n * sizeof(int16_t));
    copied += n;
    head_ += n;
    if (head_ == front.size()) {
      chunks_.pop_front();
      head_ = 0;
    }
  }
  std::size_t frames = copied / channels_;
  read_pos_ += frames;
  return frames;
}

uint64_t SampleQueue::truncate(uint64_t keep_frames) {
  uint64_t queued = queued_frames();
  if (keep_frames >= queued)
    return 0;

  if (keep_frames == 0) {
    chunks_.clear();
    head_ = 0;
  } else {
    /* Drop the consumed head of the first chunk, so that the chunk holding
     * the cut can be shrunk to what is kept. */
    std::vector<int16_t> &first = chunks_.front();
    first.erase(first.begin(), first.begin() + head_);
    head_ = 0;

    uint64_t keep = keep_frames * channels_;
    std::size_t i = 0;
    while (keep > chunks_[i].size()) {
      keep -= chunks_[i].size();
      i++;
    }
    chunks_.resize(i + 1);
    chunks_[i].resize(keep);
    /* A barge-in usually keeps a few ms of a long push: give the rest back. */
    if (chunks_[i].capacity() > 2 * chunks_[i].size())
      chunks_[i].shrink_to_fit();
  }

  write_pos_ = read_pos_ + keep_frames;
  return queued - keep_frames;
}

}  // namespace agentaudio
