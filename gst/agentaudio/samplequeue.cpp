/* agentaudiosrc
 * Copyright (C) 2026 agentaudiosrc authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "samplequeue.h"

#include <algorithm>
#include <cstring>

namespace agentaudio {

uint64_t PositionMap::map(uint64_t p) const {
  if (p >= from_end_)
    return to_end_ + (p - from_end_) * to_rate_ / from_rate_;
  if (spans_.empty() || p < spans_.front().from)
    return p; /* already played: not moved */
  auto it = std::upper_bound(spans_.begin(), spans_.end(), p,
                             [](uint64_t v, const Span &s) { return v < s.from; });
  const Span &s = *(it - 1);
  return s.length == 0 ? s.to : s.to + (p - s.from) * s.new_length / s.length;
}

std::vector<int16_t> ChunkPool::spare(std::size_t samples) {
  std::size_t best = free_.size();
  for (std::size_t i = 0; i < free_.size(); i++)
    if (free_[i].capacity() >= samples &&
        (best == free_.size() || free_[i].capacity() < free_[best].capacity()))
      best = i;
  if (best == free_.size())
    return {};
  std::vector<int16_t> v = std::move(free_[best]);
  free_[best] = std::move(free_.back());
  free_.pop_back();
  bytes_ -= v.capacity() * sizeof(int16_t);
  v.clear();
  return v;
}

void ChunkPool::recycle(std::vector<int16_t> &&chunk) {
  const std::size_t bytes = chunk.capacity() * sizeof(int16_t);
  if (bytes == 0 || bytes > kMaxBytes / 2)
    return; /* a huge push is freed, not kept */
  if (free_.size() == kMaxChunks || bytes_ + bytes > kMaxBytes) {
    /* Full: the smallest makes room if the new one is bigger (pushes of a
     * steady size end up pooled). */
    auto smallest = std::min_element(
        free_.begin(), free_.end(),
        [](const std::vector<int16_t> &a, const std::vector<int16_t> &b) {
          return a.capacity() < b.capacity();
        });
    if (smallest == free_.end() || smallest->capacity() >= chunk.capacity())
      return;
    bytes_ -= smallest->capacity() * sizeof(int16_t);
    *smallest = std::move(free_.back());
    free_.pop_back();
    if (bytes_ + bytes > kMaxBytes)
      return;
  }
  bytes_ += bytes;
  free_.push_back(std::move(chunk));
}

void ChunkPool::clear() {
  std::vector<std::vector<int16_t>>().swap(free_);
  bytes_ = 0;
}

PositionMap SampleQueue::set_format(PcmFormat format) {
  PositionMap m;
  if (format == format_)
    return m; /* the identity */
  m.from_rate_ = format_.rate;
  m.to_rate_ = format.rate;
  if (reader_.active()) {
    /* The front run carries on from where its reader is, with a new one. */
    runs_.front().pos = reader_.position();
    reader_.stop();
  }
  uint64_t from = read_pos_, to = read_pos_;
  for (Run &r : runs_) {
    /* Each run keeps its duration, to the nearest output frame. */
    const uint64_t n = format.rate == format_.rate
                           ? r.out
                           : (r.out * format.rate + format_.rate / 2) / format_.rate;
    m.spans_.push_back(PositionMap::Span{from, r.out, to, n});
    from += r.out;
    to += n;
    r.out = n;
    r.open = false;
  }
  m.from_end_ = from;
  m.to_end_ = to;
  write_pos_ = to;
  format_ = format;
  return m;
}

void SampleQueue::push(std::vector<int16_t> &&samples) {
  if (samples.empty())
    return;
  const uint64_t frames = samples.size() / format_.channels;
  if (runs_.empty() || !runs_.back().open || runs_.back().format != format_) {
    runs_.emplace_back();
    runs_.back().format = format_;
  }
  Run &r = runs_.back();
  r.starts.push_back(r.end);
  r.chunks.push_back(std::move(samples));
  r.end += frames;
  r.out += frames;
  write_pos_ += frames;
}

std::size_t SampleQueue::fetch(Run &run, uint64_t index, std::size_t frames,
                               int16_t *dst) const {
  const unsigned ch = run.format.channels;
  std::size_t done = 0;
  if (!run.chunks.empty() && index >= run.starts.front() && index < run.end) {
    std::size_t i = static_cast<std::size_t>(
        std::upper_bound(run.starts.begin(), run.starts.end(), index) -
        run.starts.begin() - 1);
    uint64_t at = index - run.starts[i];
    while (done < frames && i < run.chunks.size()) {
      const std::vector<int16_t> &c = run.chunks[i];
      const std::size_t n =
          static_cast<std::size_t>(std::min<uint64_t>(frames - done, c.size() / ch - at));
      std::memcpy(dst + done * ch, c.data() + at * ch, n * ch * sizeof(int16_t));
      done += n;
      at = 0;
      i++;
    }
  }
  if (done < frames)
    std::memset(dst + done * ch, 0, (frames - done) * ch * sizeof(int16_t));
  return done;
}

void SampleQueue::drop_before(Run &run, uint64_t index) {
  while (run.chunks.size() > 1 && run.starts[1] <= index) {
    pool_.recycle(std::move(run.chunks.front()));
    run.chunks.pop_front();
    run.starts.pop_front();
  }
}

void SampleQueue::retire_front() {
  for (std::vector<int16_t> &c : runs_.front().chunks)
    pool_.recycle(std::move(c));
  runs_.pop_front();
  reader_.stop();
}

std::size_t SampleQueue::pop(int16_t *out, std::size_t max_frames) {
  const unsigned ch = format_.channels;
  std::size_t done = 0;
  while (done < max_frames && !runs_.empty()) {
    Run &r = runs_.front();
    if (r.out == 0) {
      retire_front();
      continue;
    }
    if (!reader_.active()) {
      const uint64_t first = r.chunks.empty() ? r.end : r.starts.front();
      reader_.start(r.format, format_, r.pos,
                    r.pos.whole > first ? r.pos.whole - first : 0);
    }
    const std::size_t n =
        static_cast<std::size_t>(std::min<uint64_t>(max_frames - done, r.out));
    reader_.read(out + done * ch, n,
                 [this, &r](uint64_t index, std::size_t frames, int16_t *dst) {
                   return fetch(r, index, frames, dst);
                 });
    r.out -= n;
    done += n;
    if (r.out == 0)
      retire_front();
    else
      drop_before(r, reader_.oldest_needed());
  }
  read_pos_ += done;
  return done;
}

uint64_t SampleQueue::truncate(uint64_t keep_frames) {
  const uint64_t queued = queued_frames();
  if (keep_frames >= queued)
    return 0;

  uint64_t kept = 0;
  std::size_t i = 0;
  while (i < runs_.size() && kept + runs_[i].out <= keep_frames)
    kept += runs_[i++].out;
  if (i < runs_.size() && kept < keep_frames) {
    /* The cut falls inside this run: it ends there now. Of its samples it
     * keeps what the kept frames need (with the resampler's reach past
     * them), and nothing it already played beyond the history. */
    Run &r = runs_[i];
    const uint64_t within = keep_frames - kept;
    const bool reading = i == 0 && reader_.active();
    const SourcePos at = reading ? reader_.position() : r.pos;
    const uint64_t span = (within * r.format.rate + format_.rate - 1) / format_.rate;
    const uint64_t cut =
        std::min(r.end, at.whole + span + 1 + RunReader::kLookahead);
    while (!r.chunks.empty() && r.starts.back() >= cut) {
      pool_.recycle(std::move(r.chunks.back()));
      r.chunks.pop_back();
      r.starts.pop_back();
    }
    const unsigned ch = r.format.channels;
    if (!r.chunks.empty()) {
      std::vector<int16_t> &last = r.chunks.back();
      last.resize(static_cast<std::size_t>(cut - r.starts.back()) * ch);
      if (r.chunks.size() == 1 && reading) {
        /* A long push being played: drop what is behind the history. */
        const uint64_t oldest = reader_.oldest_needed();
        if (oldest > r.starts.front()) {
          last.erase(last.begin(), last.begin() + static_cast<std::ptrdiff_t>(
                                                      (oldest - r.starts.front()) * ch));
          r.starts.front() = oldest;
        }
      }
      /* A barge-in usually keeps a few ms of a long push: give the rest back. */
      if (last.capacity() > 2 * last.size())
        last.shrink_to_fit();
    }
    r.end = cut;
    r.out = within;
    r.open = false;
    i++;
  }
  while (runs_.size() > i) {
    for (std::vector<int16_t> &c : runs_.back().chunks)
      pool_.recycle(std::move(c));
    runs_.pop_back();
  }
  if (runs_.empty())
    reader_.stop();
  for (Run &r : runs_)
    r.open = false;
  write_pos_ = read_pos_ + keep_frames;
  return queued - keep_frames;
}

uint64_t SampleQueue::reset() {
  const uint64_t dropped = clear();
  reader_.release();
  pool_.clear();
  return dropped;
}

}  // namespace agentaudio
