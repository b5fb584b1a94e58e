/* agentaudiosrc
 * Copyright (C) 2026 agentaudiosrc authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "backgroundlayer.h"

#include <algorithm>
#include <cstring>

#include "mixer.h"

namespace agentaudio {

void BackgroundLayer::free_run(Run &run) {
  for (std::vector<int16_t> &c : run.chunks)
    pool_.recycle(std::move(c));
  run.chunks.clear();
  run.starts.clear();
}

void BackgroundLayer::forget_bed() {
  for (Run &r : runs_)
    free_run(r);
  runs_.clear();
  reader_.stop();
  circular_ = collecting_ = false;
  offset_ = 0;
  std::vector<int16_t>().swap(collect_);
  cursor_ = 0;
  left_ = stored_ = pending_ = 0;
  pos_ = SourcePos{};
}

void BackgroundLayer::set_format(unsigned rate, unsigned channels) {
  const PcmFormat f{rate, channels};
  if (f == format_)
    return;
  if (reader_.active()) {
    /* The run being played goes on from where its reader is. */
    pos_ = reader_.position();
    if (circular_) {
      const Run &r = runs_[cursor_];
      pos_.whole = r.begin + (pos_.whole - r.begin) % (r.end - r.begin);
    } else {
      pos_.whole -= offset_;
    }
    reader_.stop();
  }
  circular_ = collecting_ = false;
  offset_ = 0;
  std::vector<int16_t>().swap(collect_);

  auto scale = [&](uint64_t n) {
    return rate == format_.rate ? n : (n * rate + format_.rate / 2) / format_.rate;
  };
  stored_ = pending_ = 0;
  for (std::size_t i = 0; i < runs_.size(); i++) {
    Run &r = runs_[i];
    r.out = scale(r.out);
    r.open = false;
    stored_ += r.out;
    if (i > cursor_)
      pending_ += r.out;
  }
  left_ = cursor_ < runs_.size() ? scale(left_) : 0;
  pending_ += left_;

  /* The fade tail converts lazily too; its gain keeps its place. */
  tail_.set_format(f);
  tail_len_ = std::max(scale(tail_len_), tail_.queued_frames());
  format_ = f;
}

void BackgroundLayer::set_loop(bool loop) {
  if (loop && !loop_ && cursor_ < runs_.size()) {
    /* Played once, what is behind the cursor is gone for good: the loop
     * starts at the current play position, not at what already played. */
    Run &r = runs_[cursor_];
    SourcePos at = pos_;
    if (reader_.active()) {
      at = reader_.position();
      at.whole -= offset_;
    }
    r.begin = std::max(r.begin, std::min(at.whole, r.end));
    stored_ += left_;
    stored_ -= r.out;
    r.out = left_;
    while (r.chunks.size() > 1 && r.starts[1] <= r.begin) {
      pool_.recycle(std::move(r.chunks.front()));
      r.chunks.pop_front();
      r.starts.pop_front();
    }
  }
  loop_ = loop;
  if (!loop_) {
    circular_ = false; /* a circle no more: zeros past the end */
    for (; cursor_ > 0; cursor_--) {
      stored_ -= runs_.front().out;
      free_run(runs_.front());
      runs_.pop_front();
    }
  }
}

void BackgroundLayer::push(std::vector<int16_t> &&samples) {
  if (samples.empty())
    return;
  const uint64_t frames = samples.size() / format_.channels;
  if (runs_.empty() || !runs_.back().open || runs_.back().format != format_) {
    runs_.emplace_back();
    runs_.back().format = format_;
    if (cursor_ == runs_.size() - 1) {
      /* The cursor waited past the end: this run plays next. */
      pos_ = SourcePos{};
      left_ = 0;
    }
  }
  Run &r = runs_.back();
  r.starts.push_back(r.end);
  r.chunks.push_back(std::move(samples));
  r.end += frames;
  r.out += frames;
  stored_ += frames;
  pending_ += frames;
  if (cursor_ == runs_.size() - 1)
    left_ += frames;
}

std::size_t BackgroundLayer::fetch(uint64_t index, std::size_t frames,
                                   int16_t *dst) const {
  const Run &r = runs_[cursor_];
  const unsigned ch = r.format.channels;
  const uint64_t length = r.end - r.begin;
  std::size_t done = 0;
  while (done < frames) {
    uint64_t at;
    if (circular_)
      at = r.begin + (index + done - r.begin) % length;
    else
      at = index + done - offset_;
    if (r.chunks.empty() || at < r.starts.front() || at >= r.end)
      break;
    std::size_t i = static_cast<std::size_t>(
        std::upper_bound(r.starts.begin(), r.starts.end(), at) - r.starts.begin() - 1);
    const std::vector<int16_t> &c = r.chunks[i];
    const uint64_t in_chunk = at - r.starts[i];
    std::size_t n = static_cast<std::size_t>(
        std::min<uint64_t>(frames - done, c.size() / ch - in_chunk));
    std::memcpy(dst + done * ch, c.data() + in_chunk * ch, n * ch * sizeof(int16_t));
    done += n;
  }
  if (done < frames)
    std::memset(dst + done * ch, 0, (frames - done) * ch * sizeof(int16_t));
  return done;
}

void BackgroundLayer::start_reader() {
  const Run &r = runs_[cursor_];
  const uint64_t length = r.end - r.begin;
  circular_ = loop_ && runs_.size() == 1 && r.format != format_ && length > 0;
  offset_ = circular_ ? length * ((RunReader::kMaxHistory + length - 1) / length) : 0;
  const uint64_t first = r.chunks.empty() ? r.end : r.starts.front();
  const uint64_t history = circular_ ? offset_ + (pos_.whole - r.begin)
                                     : (pos_.whole > first ? pos_.whole - first : 0);
  /* A looping run converted from its start is kept converted. */
  collecting_ = loop_ && r.format != format_ && pos_.whole == r.begin && pos_.num == 0;
  collect_.clear();
  SourcePos at = pos_;
  at.whole += offset_;
  reader_.start(r.format, format_, at, history);
}

void BackgroundLayer::end_pass() {
  Run &r = runs_[cursor_];
  reader_.stop();
  if (collecting_ && collect_.size() == r.out * format_.channels) {
    free_run(r);
    r.format = format_;
    r.begin = 0;
    r.end = r.out;
    r.starts.push_back(0);
    r.chunks.push_back(std::move(collect_));
    r.open = false;
  }
  collect_ = std::vector<int16_t>();
  collecting_ = circular_ = false;
  offset_ = 0;
  if (loop_) {
    cursor_++;
  } else {
    stored_ -= r.out;
    free_run(r);
    runs_.pop_front();
  }
  left_ = cursor_ < runs_.size() ? runs_[cursor_].out : 0;
  pos_ = SourcePos{cursor_ < runs_.size() ? runs_[cursor_].begin : 0, 0, 1};
}

std::size_t BackgroundLayer::read_bed(int16_t *out, std::size_t frames) {
  const unsigned ch = format_.channels;
  std::size_t done = 0;
  while (done < frames) {
    if (cursor_ >= runs_.size()) {
      if (!loop_ || runs_.empty() || stored_ == 0)
        break;
      /* Wrap: the bed starts over from its first sample. */
      cursor_ = 0;
      left_ = runs_[0].out;
      pos_ = SourcePos{runs_[0].begin, 0, 1};
      pending_ = stored_;
    }
    if (left_ == 0) {
      end_pass();
      continue;
    }
    if (!reader_.active())
      start_reader();
    const std::size_t n =
        static_cast<std::size_t>(std::min<uint64_t>(frames - done, left_));
    int16_t *dst = out + done * ch;
    reader_.read(dst, n, [this](uint64_t index, std::size_t count, int16_t *to) {
      return fetch(index, count, to);
    });
    if (collecting_)
      collect_.insert(collect_.end(), dst, dst + n * ch);
    left_ -= n;
    pending_ -= n;
    done += n;
    if (left_ == 0) {
      end_pass();
    } else if (!loop_) {
      Run &r = runs_[cursor_];
      const uint64_t oldest = reader_.oldest_needed();
      const uint64_t keep = oldest > offset_ ? oldest - offset_ : 0;
      while (r.chunks.size() > 1 && r.starts[1] <= keep) {
        pool_.recycle(std::move(r.chunks.front()));
        r.chunks.pop_front();
        r.starts.pop_front();
      }
    }
  }
  return done;
}

std::size_t BackgroundLayer::read(int16_t *out, std::size_t frames) {
  const unsigned ch = format_.channels;
  std::size_t done = 0;
  if (!tail_.empty()) {
    const uint64_t played = tail_len_ - tail_.queued_frames();
    done = tail_.pop(out, frames);
    scale_ramp(out, done, ch, fade_out_gain(played, tail_len_),
               -1.0f / static_cast<float>(tail_len_));
    if (tail_.empty()) {
      tail_len_ = 0;
      tail_.reset(); /* fades are rare: keep no scratch or pool for the next */
    }
  }
  done += read_bed(out + done * ch, frames - done);
  if (done < frames)
    std::memset(out + done * ch, 0, (frames - done) * ch * sizeof(int16_t));
  return done;
}

uint64_t BackgroundLayer::clear(uint64_t fade_frames) {
  if (!fading() && fade_frames > 0) {
    /* The fade plays the frames that would have played next, looping
     * included; a bed shorter than the fade fades over what it has. */
    const uint64_t available =
        loop_ && stored_ > 0 ? fade_frames : std::min(fade_frames, pending_);
    std::vector<int16_t> tail = pool_.spare(available * format_.channels);
    tail.resize(static_cast<std::size_t>(available) * format_.channels);
    const std::size_t got = read_bed(tail.data(), static_cast<std::size_t>(available));
    tail.resize(got * format_.channels);
    tail_len_ = got;
    tail_.push(std::move(tail));
  }
  const uint64_t dropped = pending_;
  forget_bed();
  return dropped;
}

uint64_t BackgroundLayer::discard() {
  const uint64_t dropped = pending_frames();
  forget_bed();
  tail_.reset();
  tail_len_ = 0;
  reader_.release();
  pool_.clear();
  return dropped;
}

}  // namespace agentaudio
