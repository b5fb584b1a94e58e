/* agentaudiosrc
 * Copyright (C) 2026 agentaudiosrc authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "intake.h"

#include <algorithm>
#include <exception>
#include <new>

#include "debug.h"
#define GST_CAT_DEFAULT agent_audio_src_debug

namespace agentaudio {

namespace {

/* Input bytes converted per call: bounds the intake's scratch and the
 * converter's, whatever the size of a push (16 KiB: 2 ptimes of 48 kHz
 * stereo F32). */
constexpr gsize SLICE_BYTES = 16 * 1024;

/* Waits until `layer` has room, unless the push was overtaken. Call with
 * the queues' lock held. */
GstFlowReturn wait_for_room(Queues &queues, std::unique_lock<std::mutex> &lock,
                            Layer layer, guint64 generation) {
  /* Tests watch for this line to know, without timing, that a push waits. */
  if (queues.full(layer))
    GST_DEBUG("%s queue full, waiting for room",
              layer == SPEECH ? "speech" : "background");
  queues.room.wait(lock, [&] {
    return !queues.full(layer) || queues.eos_pending ||
           queues.generation[layer].load() != generation;
  });
  if (queues.eos_pending)
    return GST_FLOW_EOS;
  if (queues.generation[layer].load() != generation)
    return GST_FLOW_FLUSHING;
  return GST_FLOW_OK;
}

PushResult flow(GstFlowReturn ret, const Format &output) {
  PushResult result;
  result.flow = ret;
  result.output = output;
  return result;
}

PushResult problem(PushResult::Problem problem, const Format &output) {
  PushResult result;
  result.flow =
      problem == PushResult::NOT_NEGOTIATED ? GST_FLOW_NOT_NEGOTIATED : GST_FLOW_ERROR;
  result.problem = problem;
  result.output = output;
  return result;
}

}  // namespace

PushResult Intake::push(Layer layer, const PushFormat &format, GstBuffer *buffer,
                        bool may_wait) {
  Format output;
  try {
    const guint64 generation = queues_.generation[layer].load();
    {
      /* Wait for room first: nothing is converted for a push that gets
       * flushed. */
      std::unique_lock<std::mutex> lock(queues_.lock);
      output = queues_.format;
      if (queues_.eos_pending)
        return flow(GST_FLOW_EOS, output);
      if (!format.playable) {
        PushResult refused = problem(PushResult::NOT_NEGOTIATED, output);
        refused.detail = format.why;
        return refused;
      }
      if (may_wait) {
        GstFlowReturn ret = wait_for_room(queues_, lock, layer, generation);
        if (ret != GST_FLOW_OK)
          return flow(ret, output);
      }
    }
    std::unique_lock<std::mutex> input_lock(lock_);
    return push_locked(layer, format, buffer, generation, input_lock, may_wait);
  } catch (const std::bad_alloc &) {
    return problem(PushResult::OUT_OF_MEMORY, output);
  } catch (const std::exception &e) {
    GST_ERROR("push: %s", e.what());
    return problem(PushResult::UNREADABLE, output);
  }
}

PushResult Intake::push_locked(Layer layer, const PushFormat &format, GstBuffer *buffer,
                               guint64 generation,
                               std::unique_lock<std::mutex> &input_lock, bool may_wait) {
  Input &input = inputs_[layer];
  Format output;
  std::vector<gint16> samples;
  {
    std::unique_lock<std::mutex> lock(queues_.lock);
    /* Another push may have filled the layer while this one waited for the
     * intake: only the push holding it may add beyond the limit. */
    while (may_wait && queues_.full(layer)) {
      input_lock.unlock();
      GstFlowReturn ret = wait_for_room(queues_, lock, layer, generation);
      if (ret != GST_FLOW_OK)
        return flow(ret, queues_.format);
      lock.unlock();
      input_lock.lock();
      lock.lock();
    }
    if (queues_.generation[layer].load() != generation)
      return flow(GST_FLOW_FLUSHING, queues_.format);
    if (!queues_.negotiated && queues_.empty())
      queues_.set_format(format.preferred); /* what negotiation will most likely pick */
    output = queues_.format;
    if (!format.encoded) {
      const GstAudioInfo &in = format.info;
      const gsize frames = gst_util_uint64_scale_int_ceil(
          gst_buffer_get_size(buffer) / GST_AUDIO_INFO_BPF(&in) + 1, output.rate,
          GST_AUDIO_INFO_RATE(&in));
      samples = queues_.spare(layer, (frames + 64) * output.channels);
    }
  }

  const GstAudioInfo &in = format.info;
  if (input.generation != generation)
    restart(input, in, generation);

  if (format.encoded) {
    PushResult result = decode(layer, input, format, output, buffer, samples);
    holds_back_[layer] = input.converter.holds_back();
    /* What was decoded is queued even when the decoder failed after it. */
    return commit(layer, generation, output, std::move(samples), result);
  }
  if (input.decoder) {
    /* Raw again: the encoded stream before ends here, its tail first. */
    input.decoder->drain(
        [&](const GstAudioInfo &info, const uint8_t *data, std::size_t frames) {
          convert_decoded(input, output, info, data, frames, samples);
        });
    input.decoder.reset();
    undecoded_[layer] = 0;
  }

  const GstAudioInfo out_info = output.info();
  if (!input.converter.configured_for(in, out_info)) {
    /* A new format: what the old conversion held back plays first. A partial
     * frame stays unless the input format is what changed. */
    const bool new_input = !input.converter.configured() ||
                           !gst_audio_info_is_equal(&in, &input.converter.in_info());
    input.converter.drain(samples);
    if (new_input)
      input.assembler.reset(GST_AUDIO_INFO_BPF(&in));
    if (!input.converter.configure(in, out_info)) {
      std::lock_guard<std::mutex> lock(queues_.lock);
      queues_.queue(layer, std::move(samples));
      return problem(PushResult::NOT_NEGOTIATED, output);
    }
  }

  GstMapInfo map;
  if (!gst_buffer_map(buffer, &map, GST_MAP_READ))
    return problem(PushResult::UNREADABLE, output);
  bool ok;
  try {
    ok = convert(input, map.data, map.size, samples);
  } catch (...) {
    gst_buffer_unmap(buffer, &map);
    throw;
  }
  gst_buffer_unmap(buffer, &map);
  if (!ok)
    return problem(PushResult::UNREADABLE, output);
  holds_back_[layer] = input.converter.holds_back();
  return commit(layer, generation, output, std::move(samples), flow(GST_FLOW_OK, output));
}

PushResult Intake::commit(Layer layer, guint64 generation, const Format &output,
                          std::vector<gint16> samples, PushResult result) {
  std::lock_guard<std::mutex> lock(queues_.lock);
  /* EOS or a flush came while the push converted: the push answers for it
   * and what it converted is gone. */
  if (queues_.eos_pending)
    return flow(GST_FLOW_EOS, output);
  if (queues_.generation[layer].load() != generation)
    return flow(GST_FLOW_FLUSHING, output);
  queues_.queue(layer, std::move(samples));
  return result;
}

void Intake::restart(Input &input, const GstAudioInfo &info, guint64 generation) {
  /* The stream was flushed: its partial frame, what the resampler held back
   * and what the decoder holds are gone with it. */
  input.assembler.reset(GST_AUDIO_INFO_BPF(&info) > 0 ? GST_AUDIO_INFO_BPF(&info) : 2);
  input.converter.reset();
  if (input.decoder)
    input.decoder->reset();
  input.generation = generation;
}

void Intake::convert_decoded(Input &input, const Format &output, const GstAudioInfo &info,
                             const uint8_t *data, std::size_t frames,
                             std::vector<gint16> &out) {
  InputConverter &converter = input.converter;
  const GstAudioInfo out_info = output.info();
  if (!converter.configured_for(info, out_info)) {
    /* The decoder changed its output format (or this is its first): the
     * tail of the last one first. */
    converter.drain(out);
    if (!converter.configure(info, out_info)) {
      GST_WARNING("decoded audio in a format the converter cannot take: dropped");
      return;
    }
  }
  converter.convert(data, frames, out);
}

PushResult Intake::decode(Layer layer, Input &input, const PushFormat &format,
                          const Format &output, GstBuffer *buffer,
                          std::vector<gint16> &out) {
  if (!input.decoder) {
    /* The raw stream before ends here: its resampler's tail first. */
    input.converter.drain(out);
    input.converter.reset();
    input.decoder = std::make_unique<StreamDecoder>(
        layer == SPEECH ? "speech" : "background", format.caps);
  } else {
    input.decoder->set_caps(format.caps); /* another format starts a new stream */
  }
  GstMapInfo map;
  if (!gst_buffer_map(buffer, &map, GST_MAP_READ))
    return problem(PushResult::UNREADABLE, output);
  StreamDecoder::Status st;
  try {
    st = input.decoder->push(
        map.data, map.size,
        [&](const GstAudioInfo &info, const uint8_t *data, std::size_t frames) {
          convert_decoded(input, output, info, data, frames, out);
        });
  } catch (...) {
    gst_buffer_unmap(buffer, &map);
    throw;
  }
  gst_buffer_unmap(buffer, &map);
  const GstClockTime owed = input.decoder->undecoded_time();
  undecoded_[layer] = GST_CLOCK_TIME_IS_VALID(owed) ? owed : 0;

  PushResult result = flow(GST_FLOW_OK, output);
  if (st.result == StreamDecoder::Result::WARNING) {
    result.problem = PushResult::DECODE_WARNING;
  } else if (st.failed()) {
    result.flow = GST_FLOW_ERROR;
    if (!st.repeated)
      result.problem = PushResult::DECODE_ERROR;
  }
  result.detail = st.message;
  result.debug = st.debug;
  return result;
}

PushResult Intake::end_of_stream(Layer layer) {
  std::lock_guard<std::mutex> input_lock(lock_);
  Input &input = inputs_[layer];
  Format output;
  {
    std::lock_guard<std::mutex> lock(queues_.lock);
    output = queues_.format;
    if (input.generation != queues_.generation[layer].load()) {
      /* Flushed since: nothing it holds may play. */
      restart(input, input.converter.in_info(), queues_.generation[layer].load());
      return flow(GST_FLOW_OK, output);
    }
  }
  std::vector<gint16> tail;
  PushResult result = flow(GST_FLOW_OK, output);
  if (input.decoder && input.decoder->stream_open()) {
    const StreamDecoder::Status st = input.decoder->drain(
        [&](const GstAudioInfo &info, const uint8_t *data, std::size_t frames) {
          convert_decoded(input, output, info, data, frames, tail);
        });
    if (st.result == StreamDecoder::Result::WARNING)
      result.problem = PushResult::DECODE_WARNING;
    else if (st.failed() && !st.repeated)
      result.problem = PushResult::DECODE_ERROR;
    result.detail = st.message;
    result.debug = st.debug;
  }
  undecoded_[layer] = 0;
  input.converter.drain(tail);
  input.assembler.reset(input.assembler.frame_bytes());
  holds_back_[layer] = false;
  std::lock_guard<std::mutex> lock(queues_.lock);
  if (queues_.generation[layer].load() == input.generation)
    queues_.queue(layer, std::move(tail));
  if (layer == SPEECH)
    queues_.speech.settle_marks();
  return result;
}

bool Intake::convert(Input &input, const guint8 *data, gsize size,
                     std::vector<gint16> &out) {
  FrameAssembler &assembler = input.assembler;
  InputConverter &converter = input.converter;
  const gsize bpf = assembler.frame_bytes();

  if (converter.passthrough()) {
    /* Already S16 in the output's format: one copy, straight in. */
    const gsize at = out.size();
    out.resize(at + assembler.whole_bytes(size) / sizeof(gint16));
    assembler.assemble(data, size, reinterpret_cast<guint8 *>(out.data() + at));
    return true;
  }

  const GstAudioInfo &in = converter.in_info();
  const GstAudioInfo &to = converter.out_info();
  const guint64 in_frames = assembler.whole_bytes(size) / bpf;
  out.reserve(out.size() +
              (gst_util_uint64_scale_int_ceil(in_frames, GST_AUDIO_INFO_RATE(&to),
                                              GST_AUDIO_INFO_RATE(&in)) +
               converter.held_back_frames() + 1) *
                  GST_AUDIO_INFO_CHANNELS(&to));
  const gsize slice = std::max<gsize>(1, SLICE_BYTES / bpf) * bpf;
  for (gsize done = 0; done < size;) {
    const gsize n = std::min(slice, size - done);
    const gsize whole = assembler.whole_bytes(n);
    scratch_.resize(whole);
    assembler.assemble(data + done, n, scratch_.data());
    if (!converter.convert(scratch_.data(), whole / bpf, out))
      return false;
    done += n;
  }
  return true;
}

void Intake::mark(const std::string &name) {
  /* After the speech pushed before it, including the frames the resampler
   * still holds back from that speech. */
  std::lock_guard<std::mutex> input_lock(lock_);
  const Input &input = inputs_[SPEECH];
  std::lock_guard<std::mutex> lock(queues_.lock);
  const bool current = input.generation == queues_.generation[SPEECH].load();
  guint64 still_coming = 0;
  if (current) {
    still_coming = input.converter.held_back_frames();
    if (input.decoder)
      still_coming += queues_.format.time_to_frames(undecoded_[SPEECH].load());
  }
  queues_.speech.mark(name, still_coming);
}

void Intake::drain_dry_layers(std::size_t frames) {
  if (!holds_back_[SPEECH] && !holds_back_[BACKGROUND])
    return;
  std::unique_lock<std::mutex> input_lock(lock_, std::try_to_lock);
  if (!input_lock.owns_lock())
    return;
  for (int i = SPEECH; i < N_LAYERS; i++) {
    const Layer layer = static_cast<Layer>(i);
    Input &input = inputs_[layer];
    if (!holds_back_[layer])
      continue;
    {
      std::lock_guard<std::mutex> lock(queues_.lock);
      if (queues_.queued_frames(layer) >= frames)
        continue;
    }
    std::vector<gint16> tail;
    input.converter.drain(tail);
    holds_back_[layer] = false;
    std::lock_guard<std::mutex> lock(queues_.lock);
    if (queues_.generation[layer].load() == input.generation)
      queues_.queue(layer, std::move(tail));
    if (layer == SPEECH)
      queues_.speech.settle_marks();
  }
}

void Intake::flush_converters_locked() {
  for (int i = SPEECH; i < N_LAYERS; i++) {
    const Layer layer = static_cast<Layer>(i);
    std::vector<gint16> tail;
    inputs_[layer].converter.drain(tail);
    holds_back_[layer] = false;
    if (queues_.generation[layer].load() == inputs_[layer].generation)
      queues_.queue(layer, std::move(tail));
  }
  queues_.speech.settle_marks();
}

void Intake::reset() {
  std::lock_guard<std::mutex> lock(lock_);
  for (int layer = SPEECH; layer < N_LAYERS; layer++) {
    inputs_[layer].converter.reset();
    holds_back_[layer] = false;
  }
  std::vector<guint8>().swap(scratch_);
}

}  // namespace agentaudio
