/* agentaudiosrc
 * Copyright (C) 2026 agentaudiosrc authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "inputconverter.h"

#include <algorithm>
#include <cstring>

#include "reformat.h"

namespace agentaudio {

InputConverter::~InputConverter() {
  release();
}

void InputConverter::release() {
  if (conv_ != nullptr)
    gst_audio_converter_free(conv_);
  conv_ = nullptr;
  configured_ = false;
  holds_back_ = false;
}

bool InputConverter::configured_for(const GstAudioInfo &in,
                                    const GstAudioInfo &out) const {
  return configured_ && gst_audio_info_is_equal(&in, &in_) &&
         gst_audio_info_is_equal(&out, &out_);
}

bool InputConverter::configure(const GstAudioInfo &in, const GstAudioInfo &out) {
  release();
  in_ = in;
  out_ = out;

  if (gst_audio_info_is_equal(&in, &out)) {
    configured_ = true; /* already the output: copied as it is */
    return true;
  }

  conv_ = new_audio_converter(in_, out_);
  configured_ = conv_ != nullptr;
  return configured_;
}

bool InputConverter::convert(const uint8_t *data, std::size_t frames,
                             std::vector<int16_t> &out) {
  if (!configured_)
    return false;
  if (frames == 0)
    return true;

  const std::size_t channels = GST_AUDIO_INFO_CHANNELS(&out_);
  if (conv_ == nullptr) {
    std::size_t at = out.size();
    out.resize(at + frames * channels);
    std::memcpy(out.data() + at, data, frames * channels * sizeof(int16_t));
    return true;
  }

  const std::size_t bpf = GST_AUDIO_INFO_BPF(&in_);
  if (!pending_.empty()) {
    pending_.insert(pending_.end(), data, data + frames * bpf);
    data = pending_.data();
    frames = pending_.size() / bpf;
  }
  if (gst_audio_converter_get_out_frames(conv_, frames) == 0) {
    if (pending_.empty())
      pending_.assign(data, data + frames * bpf);
    holds_back_ = true;
    return true;
  }
  bool ok = run(data, frames, out);
  pending_.clear();
  return ok;
}

bool InputConverter::run(const uint8_t *data, std::size_t frames,
                         std::vector<int16_t> &out) {
  const std::size_t channels = GST_AUDIO_INFO_CHANNELS(&out_);
  std::size_t out_frames = gst_audio_converter_get_out_frames(conv_, frames);
  std::size_t at = out.size();
  out.resize(at + out_frames * channels);
  gpointer in_planes[1] = {const_cast<uint8_t *>(data)};
  gpointer out_planes[1] = {out.data() + at};
  if (!gst_audio_converter_samples(conv_, GST_AUDIO_CONVERTER_FLAG_NONE, in_planes,
                                   frames, out_planes, out_frames)) {
    out.resize(at);
    return false;
  }
  frames_in_ += frames;
  frames_out_ += out_frames;
  holds_back_ = gst_audio_converter_get_max_latency(conv_) > 0;
  return true;
}

uint64_t InputConverter::held_back_frames() const {
  if (conv_ == nullptr || !holds_back_)
    return 0;
  const uint64_t in = frames_in_ + pending_.size() / GST_AUDIO_INFO_BPF(&in_);
  const uint64_t target = gst_util_uint64_scale_int_round(in, GST_AUDIO_INFO_RATE(&out_),
                                                          GST_AUDIO_INFO_RATE(&in_));
  return target > frames_out_ ? target - frames_out_ : 0;
}

void InputConverter::drain(std::vector<int16_t> &out) {
  if (conv_ != nullptr && holds_back_) {
    const std::size_t history =
        std::max<std::size_t>(1, gst_audio_converter_get_max_latency(conv_));
    const std::size_t start = out.size();
    if (!pending_.empty()) {
      /* Frames still waiting count as input; the silence after them only
       * pushes them through. */
      const std::size_t bpf = GST_AUDIO_INFO_BPF(&in_);
      const std::size_t real = pending_.size() / bpf;
      std::size_t silence = history;
      for (int i = 0;
           i < 20 && gst_audio_converter_get_out_frames(conv_, real + silence) == 0; i++)
        silence *= 2;
      std::vector<uint8_t> block(pending_);
      block.resize((real + silence) * bpf);
      gst_audio_format_info_fill_silence(in_.finfo, block.data() + real * bpf,
                                         silence * bpf);
      run(block.data(), real + silence, out);
      frames_in_ -= silence;
      pending_.clear();
    }
    const uint64_t target = gst_util_uint64_scale_int_round(
        frames_in_, GST_AUDIO_INFO_RATE(&out_), GST_AUDIO_INFO_RATE(&in_));
    const std::size_t channels = GST_AUDIO_INFO_CHANNELS(&out_);
    /* Feed silence (no input) until the resampler has let out every frame
     * the input accounts for; a few rounds at most. */
    for (int round = 0; round < 8 && frames_out_ < target; round++) {
      std::size_t out_frames = gst_audio_converter_get_out_frames(conv_, history);
      if (out_frames == 0)
        break; /* nothing to ask for: the converter crashes when asked for none */
      std::size_t at = out.size();
      out.resize(at + out_frames * channels);
      gpointer out_planes[1] = {out.data() + at};
      if (!gst_audio_converter_samples(conv_, GST_AUDIO_CONVERTER_FLAG_NONE, nullptr,
                                       history, out_planes, out_frames)) {
        out.resize(at);
        break;
      }
      frames_out_ += out_frames;
    }
    /* What came out past the input's end is the filter ringing into the
     * silence fed: not part of the stream. */
    const uint64_t excess = frames_out_ > target ? frames_out_ - target : 0;
    out.resize(std::max(start, out.size() - static_cast<std::size_t>(excess) * channels));
  }
  reset();
}

void InputConverter::reset() {
  if (conv_ != nullptr)
    gst_audio_converter_reset(conv_);
  holds_back_ = false;
  frames_in_ = frames_out_ = 0;
  pending_.clear();
}

}  // namespace agentaudio
