/* agentaudiosrc
 * Copyright (C) 2026 agentaudiosrc authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "reformat.h"

#include <gst/audio/audio.h>

#include <algorithm>
#include <cstring>
#include <numeric>

namespace agentaudio {

namespace {

GstAudioInfo info_of(const PcmFormat &f) {
  /* Positioned like the output caps: beyond stereo, GStreamer's fallback
   * layout (unpositioned audio cannot be mixed). */
  GstAudioChannelPosition positions[64];
  GstAudioInfo info;
  if (f.channels > 2 && gst_audio_channel_positions_from_mask(
                            static_cast<gint>(f.channels),
                            gst_audio_channel_get_fallback_mask(f.channels), positions))
    gst_audio_info_set_format(&info, GST_AUDIO_FORMAT_S16, static_cast<gint>(f.rate),
                              static_cast<gint>(f.channels), positions);
  else
    gst_audio_info_set_format(&info, GST_AUDIO_FORMAT_S16, static_cast<gint>(f.rate),
                              static_cast<gint>(f.channels), nullptr);
  return info;
}

GstAudioConverter *new_converter(const PcmFormat &from, const PcmFormat &to) {
  const GstAudioInfo in = info_of(from), out = info_of(to);
  return new_audio_converter(in, out);
}

}  // namespace

GstAudioConverter *new_audio_converter(const GstAudioInfo &in, const GstAudioInfo &out) {
  GstStructure *config = gst_structure_new(
      "config", GST_AUDIO_CONVERTER_OPT_RESAMPLER_METHOD, GST_TYPE_AUDIO_RESAMPLER_METHOD,
      GST_AUDIO_RESAMPLER_METHOD_KAISER, GST_AUDIO_CONVERTER_OPT_DITHER_METHOD,
      GST_TYPE_AUDIO_DITHER_METHOD, GST_AUDIO_DITHER_NONE,
      GST_AUDIO_CONVERTER_OPT_NOISE_SHAPING_METHOD, GST_TYPE_AUDIO_NOISE_SHAPING_METHOD,
      GST_AUDIO_NOISE_SHAPING_NONE, NULL);
  gst_audio_resampler_options_set_quality(
      GST_AUDIO_RESAMPLER_METHOD_KAISER, GST_AUDIO_RESAMPLER_QUALITY_DEFAULT,
      GST_AUDIO_INFO_RATE(&in), GST_AUDIO_INFO_RATE(&out), config);
  /* The converter takes config, and copies the infos. */
  return gst_audio_converter_new(GST_AUDIO_CONVERTER_FLAG_NONE,
                                 const_cast<GstAudioInfo *>(&in),
                                 const_cast<GstAudioInfo *>(&out), config);
}

RunReader::~RunReader() {
  free_converter();
}

void RunReader::free_converter() {
  if (conv_ != nullptr)
    gst_audio_converter_free(conv_);
  conv_ = nullptr;
}

void RunReader::stop() {
  free_converter();
  active_ = false;
  staged_.clear();
  staged_at_ = 0;
}

void RunReader::release() {
  stop();
  std::vector<int16_t>().swap(in_);
  std::vector<int16_t>().swap(staged_);
  std::vector<int16_t>().swap(last_);
}

std::size_t RunReader::scratch_bytes() const {
  return (in_.capacity() + staged_.capacity() + last_.capacity()) * sizeof(int16_t);
}

void RunReader::start(PcmFormat from, PcmFormat to, SourcePos at, uint64_t history) {
  stop();
  from_ = from;
  to_ = to;
  active_ = true;
  last_.assign(to.channels, 0);

  if (from == to) {
    /* Passthrough reads whole frames: a position between two (left by a
     * resampling reader) goes to the nearer one. */
    next_ = at.whole + (2 * at.num >= at.den && at.num > 0 ? 1 : 0);
    return;
  }

  conv_ = new_converter(from, to);
  if (conv_ == nullptr) {
    /* Cannot happen for S16 at rates the element allows; play silence
     * rather than misread the frames. */
    next_ = at.whole;
    return;
  }
  const uint64_t rs = from.rate, ro = to.rate;
  const uint64_t latency = gst_audio_converter_get_max_latency(conv_);
  const uint64_t most = std::min<uint64_t>({history, kMaxHistory, at.whole});
  const uint64_t least = std::min(latency, most);
  /* (H + num/den) * ro / rs output frames from the first history frame to
   * `at`: the smallest H >= the resampler's reach that makes it whole. */
  uint64_t h = least;
  bool exact = false;
  for (uint64_t c = least; c <= most; c++) {
    if (((c * at.den + at.num) * ro) % (rs * at.den) == 0) {
      h = c;
      exact = true;
      break;
    }
  }
  if (!exact) {
    /* None fits: with less history than the resampler reaches, the largest
     * exact H below it still beats rounding; else round. */
    for (uint64_t c = least; c-- > 0;)
      if (((c * at.den + at.num) * ro) % (rs * at.den) == 0) {
        h = c;
        exact = true;
        break;
      }
  }
  if (!exact)
    h = least;
  const uint64_t num = (h * at.den + at.num) * ro;
  const uint64_t den = rs * at.den;
  skip_ = skipped_ = exact ? num / den : (num + den / 2) / den;
  origin_ = at.whole - h;
  fed_ = origin_;
  produced_ = 0;
  delivered_ = 0;
}

void RunReader::produce(std::size_t wanted, const FetchFrames &fetch) {
  const unsigned in_ch = from_.channels, out_ch = to_.channels;
  /* Staged frames already handed out go first, so staged_ stays one slice. */
  if (staged_at_ > 0) {
    staged_.erase(staged_.begin(),
                  staged_.begin() + static_cast<std::ptrdiff_t>(staged_at_));
    staged_at_ = 0;
  }
  while (staged_.size() / out_ch < wanted) {
    const std::size_t need =
        wanted - staged_.size() / out_ch + static_cast<std::size_t>(skip_);
    std::size_t in = gst_audio_converter_get_in_frames(conv_, need);
    in = std::min(std::max<std::size_t>(in, 1), kMaxSlice);
    std::size_t out = gst_audio_converter_get_out_frames(conv_, in);
    /* The converter must not be asked for no output (GStreamer 1.22
     * crashes when resampling and mixing): feed more until it gives some. */
    while (out == 0 && in < kMaxSlice) {
      in = std::min(in * 2, kMaxSlice);
      out = gst_audio_converter_get_out_frames(conv_, in);
    }
    in_.resize(in * in_ch);
    fetch(fed_, in, in_.data());
    fed_ += in;
    converted_ += in;
    if (out == 0)
      continue;
    const std::size_t at = staged_.size();
    staged_.resize(at + out * out_ch);
    gpointer in_planes[1] = {in_.data()};
    gpointer out_planes[1] = {staged_.data() + at};
    if (!gst_audio_converter_samples(conv_, GST_AUDIO_CONVERTER_FLAG_NONE, in_planes, in,
                                     out_planes, out))
      std::fill(staged_.begin() + static_cast<std::ptrdiff_t>(at), staged_.end(), 0);
    produced_ += out;
    if (skip_ > 0) {
      /* The history's own output: only primes the filter. */
      const std::size_t drop = static_cast<std::size_t>(std::min<uint64_t>(skip_, out));
      staged_.erase(staged_.begin() + static_cast<std::ptrdiff_t>(at),
                    staged_.begin() + static_cast<std::ptrdiff_t>(at + drop * out_ch));
      skip_ -= drop;
    }
  }
}

void RunReader::read(int16_t *out, std::size_t frames, const FetchFrames &fetch) {
  const unsigned ch = to_.channels;
  if (frames == 0)
    return;
  if (conv_ == nullptr && from_ != to_) {
    std::memset(out, 0, frames * ch * sizeof(int16_t));
    next_ += frames;
    return;
  }
  if (conv_ == nullptr) {
    std::size_t real = fetch(next_, frames, out);
    next_ += frames;
    if (real > 0)
      std::memcpy(last_.data(), out + (real - 1) * ch, ch * sizeof(int16_t));
    /* A run rescaled by rounding may promise a frame more than it holds:
     * hold the last one rather than drop to zero. */
    for (std::size_t f = real; f < frames; f++)
      std::memcpy(out + f * ch, last_.data(), ch * sizeof(int16_t));
    return;
  }
  if (staged_.size() / ch - staged_at_ / ch < frames)
    produce(frames, fetch);
  std::memcpy(out, staged_.data() + staged_at_, frames * ch * sizeof(int16_t));
  staged_at_ += frames * ch;
  delivered_ += frames;
}

SourcePos RunReader::position() const {
  if (conv_ == nullptr)
    return SourcePos{next_, 0, 1};
  /* Output frame j is at origin + j * rs / ro; the next one handed out is
   * j = (frames skipped) + delivered. */
  const uint64_t rs = from_.rate, ro = to_.rate;
  const uint64_t j = skipped_ + delivered_;
  const uint64_t g = std::gcd(rs, ro);
  const uint64_t a = rs / g, b = ro / g;
  return SourcePos{origin_ + j * a / b, j * a % b, b};
}

uint64_t RunReader::oldest_needed() const {
  const uint64_t at = position().whole;
  return at > kMaxHistory ? at - kMaxHistory : 0;
}

}  // namespace agentaudio
