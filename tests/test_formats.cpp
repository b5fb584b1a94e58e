/* agentaudiosrc — element tests: any raw audio format in, any negotiated
 * format out (GstAudioConverter, resampler drained when speech runs dry). */
#include <cmath>

#include "srcharness.h"

static void set_caps_property(GstElement *e, const gchar *property,
                              const gchar *caps_str) {
  GstCaps *caps = gst_caps_from_string(caps_str);
  g_object_set(e, property, caps, NULL);
  gst_caps_unref(caps);
}

/* A sine as interleaved samples of type T (all channels equal). */
template <typename T>
static std::vector<T> sine(gint rate, gint channels, gsize frames, double freq,
                           double amp) {
  std::vector<T> v(frames * channels);
  for (gsize i = 0; i < frames; i++)
    for (gint c = 0; c < channels; c++)
      v[i * channels + c] = (T)(amp * std::sin(2 * M_PI * freq * i / rate));
  return v;
}

/* Pushes `in` as speech in chunks of `chunk` samples, as a TTS streams it. */
static void push_in_chunks(GstElement *e, const std::vector<gint16> &in, gsize chunk) {
  for (gsize pos = 0; pos < in.size(); pos += chunk) {
    std::vector<gint16> part(in.begin() + pos,
                             in.begin() + std::min(in.size(), pos + chunk));
    fail_unless_equals_int(push_samples(e, part), GST_FLOW_OK);
  }
}

/* Positive-going zero crossings per second over the non-silent part of a
 * mono signal. */
static double frequency(const std::vector<gint16> &v, gint rate) {
  gsize first = 0, last = v.size();
  while (first < v.size() && std::abs(v[first]) < 50)
    first++;
  while (last > first && std::abs(v[last - 1]) < 50)
    last--;
  gsize crossings = 0, from = 0, to = 0;
  for (gsize i = first + 1; i < last; i++)
    if (v[i - 1] < 0 && v[i] >= 0) {
      if (crossings == 0)
        from = i;
      to = i;
      crossings++;
    }
  return crossings < 2 ? 0.0 : (crossings - 1) * (double)rate / (to - from);
}

/* Plays until the utterance ends; returns the speech frames (one channel)
 * and checks last-audio against first-audio and the expected duration. */
static std::vector<gint16> play_utterance(Src &s, gint rate, gint channels,
                                          GstClockTime expected, gint channel = 0) {
  std::vector<gint16> out;
  GstClockTime start = GST_CLOCK_TIME_NONE;
  for (int i = 0; i < 500; i++) {
    GstBuffer *buf = next_buffer(s);
    std::vector<gint16> v = buffer_samples(buf);
    gst_buffer_unref(buf);
    for (gsize f = 0; f < v.size() / channels; f++)
      out.push_back(v[f * channels + channel]);
    while (GstMessage *msg = pop_element_message(s)) {
      const GstStructure *st = gst_message_get_structure(msg);
      if (gst_structure_has_name(st, "first-audio")) {
        start = get_u64(msg, "running-time");
      } else if (gst_structure_has_name(st, "last-audio")) {
        const GstClockTime sample = frames_to_time(1, rate) + 1;
        GstClockTime duration = get_u64(msg, "duration");
        GstClockTime end = get_u64(msg, "running-time");
        fail_unless(start != GST_CLOCK_TIME_NONE);
        fail_unless(duration + sample >= expected && duration <= expected + sample,
                    "speech lasted %" GST_TIME_FORMAT ", expected %" GST_TIME_FORMAT,
                    GST_TIME_ARGS(duration), GST_TIME_ARGS(expected));
        fail_unless(end + sample >= start + expected && end <= start + expected + sample,
                    "last-audio at %" GST_TIME_FORMAT, GST_TIME_ARGS(end));
        gst_message_unref(msg);
        return out;
      }
      gst_message_unref(msg);
    }
  }
  fail("no last-audio");
  return out;
}

/* An element whose speech-caps are espeak-ng's 22.05 kHz mono S16, playing
 * into a 24 kHz harness. */
static Src src_22khz_speech_to_24khz(void) {
  Src s = src_new();
  set_caps_property(
      s.element, "speech-caps",
      "audio/x-raw, format=S16LE, layout=interleaved, rate=22050, channels=1");
  gst_harness_set_sink_caps_str(
      s.h, "audio/x-raw, format=S16LE, layout=interleaved, rate=24000, channels=1");
  return s;
}

GST_START_TEST(test_22khz_speech_plays_at_24khz) {
  Src s = src_22khz_speech_to_24khz();
  std::vector<gint16> in = sine<gint16>(22050, 1, 22050, 440.0, 12000);
  /* TTS-like odd chunks: the resampler carries its history across them. */
  push_in_chunks(s.element, in, 777);
  gst_harness_play(s.h);

  std::vector<gint16> v = play_utterance(s, RATE, 1, GST_SECOND);
  GstCaps *out = gst_pad_get_current_caps(s.h->sinkpad);
  GstStructure *st = gst_caps_get_structure(out, 0);
  gint rate;
  gst_structure_get_int(st, "rate", &rate);
  fail_unless_equals_int(rate, 24000);
  gst_caps_unref(out);
  double f = frequency(v, RATE);
  fail_unless(std::fabs(f - 440.0) < 1.0, "tone came out at %f Hz", f);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_output_negotiated_to_48khz_stereo) {
  Src s = src_new();
  gst_harness_set_sink_caps_str(
      s.h, "audio/x-raw, format=S16LE, layout=interleaved, rate=48000, channels=2");
  std::vector<gint16> in = sine<gint16>(RATE, 1, RATE / 2, 1000.0, 10000);
  fail_unless_equals_int(push_samples(s.element, in), GST_FLOW_OK);
  gst_harness_play(s.h);

  GstBuffer *buf = next_buffer(s);
  fail_unless_equals_int(gst_buffer_get_size(buf), 960 * 2 * sizeof(gint16));
  std::vector<gint16> v = buffer_samples(buf);
  for (gsize f = 0; f < 960; f++)
    fail_unless_equals_int(v[2 * f], v[2 * f + 1]); /* mono on both channels */
  gst_buffer_unref(buf);

  std::vector<gint16> left = play_utterance(s, 48000, 2, GST_SECOND / 2);
  double f = frequency(left, 48000);
  fail_unless(std::fabs(f - 1000.0) < 2.0, "tone came out at %f Hz", f);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_upsampling_keeps_the_whole_tail) {
  /* 4x up: the resampler holds back several output frames per input frame;
   * all of them come out when speech runs dry. */
  Src s = src_new();
  gst_harness_set_sink_caps_str(
      s.h, "audio/x-raw, format=S16LE, layout=interleaved, rate=96000, channels=1");
  fail_unless_equals_int(
      push_samples(s.element, sine<gint16>(RATE, 1, RATE, 440.0, 9000)), GST_FLOW_OK);
  gst_harness_play(s.h);
  play_utterance(s, 96000, 1, GST_SECOND);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_f32_speech_is_converted) {
  Src s = src_new();
  set_caps_property(
      s.element, "speech-caps",
      "audio/x-raw, format=F32LE, layout=interleaved, rate=24000, channels=1");
  std::vector<float> in = sine<float>(RATE, 1, FRAMES_PER_BUFFER, 300.0, 0.5);
  fail_unless_equals_int(push_bytes(s.element, in.data(), in.size() * sizeof(float)),
                         GST_FLOW_OK);
  gst_harness_play(s.h);

  GstBuffer *buf = next_buffer(s);
  std::vector<gint16> v = buffer_samples(buf);
  for (gsize i = 0; i < v.size(); i++)
    fail_unless(std::fabs(v[i] - in[i] * 32768.0) <= 1.0,
                "sample %" G_GSIZE_FORMAT " is %d", i, v[i]);
  gst_buffer_unref(buf);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_push_speech_sample_uses_its_caps) {
  Src s = src_new();
  GstCaps *caps = gst_caps_from_string(
      "audio/x-raw, format=S16LE, layout=interleaved, rate=16000, channels=1");
  std::vector<gint16> in = sine<gint16>(16000, 1, 16000, 500.0, 9000);
  GstBuffer *buffer = gst_buffer_new_memdup(in.data(), in.size() * sizeof(gint16));
  GstSample *sample = gst_sample_new(buffer, caps, NULL, NULL);
  GstFlowReturn ret = GST_FLOW_ERROR;
  g_signal_emit_by_name(s.element, "push-speech-sample", sample, &ret);
  fail_unless_equals_int(ret, GST_FLOW_OK);
  gst_sample_unref(sample);
  gst_buffer_unref(buffer);
  gst_caps_unref(caps);
  gst_harness_play(s.h);

  std::vector<gint16> v = play_utterance(s, RATE, 1, GST_SECOND);
  double f = frequency(v, RATE);
  fail_unless(std::fabs(f - 500.0) < 1.0, "tone came out at %f Hz", f);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_44khz_stereo_bed_under_16khz_speech) {
  Src s = src_new();
  set_caps_property(
      s.element, "speech-caps",
      "audio/x-raw, format=S16LE, layout=interleaved, rate=16000, channels=1");
  set_caps_property(
      s.element, "background-caps",
      "audio/x-raw, format=S16LE, layout=interleaved, rate=44100, channels=2");
  GstHarness *voice = gst_harness_new_with_element(s.element, NULL, "speech_%u");
  std::vector<gint16> bed = sine<gint16>(44100, 2, 44100, 200.0, 4000);
  fail_unless_equals_int(push_background(s.element, bed), GST_FLOW_OK);
  std::vector<gint16> speech = speech_samples(16000 / 2);
  fail_unless_equals_int(push_samples(s.element, speech), GST_FLOW_OK);
  gst_harness_play(s.h);

  std::vector<gint16> mixed, alone;
  for (int i = 0; i < 40; i++) { /* 800 ms at 16 kHz mono */
    GstBuffer *a = next_buffer(s);
    GstBuffer *b = gst_harness_pull(voice);
    fail_unless_equals_int(gst_buffer_get_size(a), 320 * sizeof(gint16));
    std::vector<gint16> va = buffer_samples(a), vb = buffer_samples(b);
    mixed.insert(mixed.end(), va.begin(), va.end());
    alone.insert(alone.end(), vb.begin(), vb.end());
    gst_buffer_unref(a);
    gst_buffer_unref(b);
  }
  /* Speech in the output format already: bit-exact on speech_0. */
  fail_unless(memcmp(alone.data(), speech.data(), speech.size() * sizeof(gint16)) == 0);
  /* The bed is what is left, at 200 Hz, for as long as it was pushed. */
  std::vector<gint16> bed_out(mixed.size());
  for (gsize i = 0; i < mixed.size(); i++)
    bed_out[i] = mixed[i] - alone[i];
  double f = frequency(bed_out, 16000);
  fail_unless(std::fabs(f - 200.0) < 1.0, "bed came out at %f Hz", f);
  gint16 peak = *std::max_element(bed_out.begin(), bed_out.end());
  fail_unless(std::abs(peak - 4000) < 100, "bed peak %d", peak);
  gst_harness_teardown(voice);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_speech_caps_change_applies_to_later_pushes) {
  Src s = src_new();
  gst_harness_play(s.h);
  gst_buffer_unref(next_buffer(s)); /* negotiated: 24 kHz */

  std::vector<gint16> before = speech_samples(FRAMES_PER_BUFFER);
  fail_unless_equals_int(push_samples(s.element, before), GST_FLOW_OK);
  set_caps_property(
      s.element, "speech-caps",
      "audio/x-raw, format=S16LE, layout=interleaved, rate=48000, channels=1");
  std::vector<gint16> after = sine<gint16>(48000, 1, 48000 / 2, 600.0, 8000);
  fail_unless_equals_int(push_samples(s.element, after), GST_FLOW_OK);

  std::vector<gint16> v = play_utterance(s, RATE, 1, BUFFER_TIME + GST_SECOND / 2);
  fail_unless(std::equal(before.begin(), before.end(), v.begin()),
              "audio queued before the change was altered");
  std::vector<gint16> rest(v.begin() + FRAMES_PER_BUFFER, v.end());
  double f = frequency(rest, RATE);
  fail_unless(std::fabs(f - 600.0) < 1.0, "tone came out at %f Hz", f);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_renegotiation_keeps_queued_audio) {
  Src s = src_new();
  std::vector<gint16> in = sine<gint16>(RATE, 1, RATE, 400.0, 10000);
  fail_unless_equals_int(push_samples(s.element, in), GST_FLOW_OK);
  mark(s.element, "end");
  gst_harness_play(s.h);
  for (int i = 0; i < 5; i++)
    gst_buffer_unref(next_buffer(s));
  gst_message_unref(expect_message(s, "first-audio"));

  gst_harness_set_sink_caps_str(
      s.h, "audio/x-raw, format=S16LE, layout=interleaved, rate=48000, channels=1");
  gst_harness_push_upstream_event(s.h, gst_event_new_reconfigure());
  gst_buffer_unref(next_buffer(s)); /* already waited for at 24 kHz */
  GstBuffer *buf = next_buffer(s);
  fail_unless_equals_int(gst_buffer_get_size(buf), 960 * sizeof(gint16));
  fail_unless_equals_uint64(GST_BUFFER_PTS(buf), 6 * BUFFER_TIME);
  gst_buffer_unref(buf);

  /* 1 s of speech, 7 buffers of it at 24 kHz and the rest at 48 kHz. */
  std::vector<gint16> v;
  GstMessage *last = NULL, *end_mark = NULL;
  for (int i = 0; i < 60 && last == NULL; i++) {
    buf = next_buffer(s);
    gst_buffer_unref(buf);
    while (GstMessage *msg = pop_element_message(s)) {
      const gchar *name = gst_structure_get_name(gst_message_get_structure(msg));
      if (g_str_equal(name, "last-audio"))
        last = msg;
      else if (g_str_equal(name, "mark"))
        end_mark = msg;
      else
        gst_message_unref(msg);
    }
  }
  fail_unless(last != NULL && end_mark != NULL);
  const GstClockTime tolerance = frames_to_time(2, 48000);
  GstClockTime end = get_u64(last, "running-time");
  fail_unless(end + tolerance >= GST_SECOND && end <= GST_SECOND + tolerance,
              "speech ended at %" GST_TIME_FORMAT, GST_TIME_ARGS(end));
  /* The utterance straddled the rate change: its duration is still 1 s. */
  GstClockTime duration = get_u64(last, "duration");
  fail_unless(duration + tolerance >= GST_SECOND && duration <= GST_SECOND + tolerance,
              "speech lasted %" GST_TIME_FORMAT, GST_TIME_ARGS(duration));
  GstClockTime at = get_u64(end_mark, "running-time");
  fail_unless(at + tolerance >= GST_SECOND && at <= GST_SECOND + tolerance,
              "mark at %" GST_TIME_FORMAT, GST_TIME_ARGS(at));
  gst_message_unref(last);
  gst_message_unref(end_mark);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_short_first_push_that_converts_to_nothing_yet) {
  /* A resampler's first few input frames produce no output yet. */
  Src s = src_new();
  set_caps_property(
      s.element, "speech-caps",
      "audio/x-raw, format=F32LE, layout=interleaved, rate=48000, channels=1");
  std::vector<float> in = sine<float>(48000, 1, 4800, 300.0, 0.5);
  fail_unless_equals_int(push_bytes(s.element, in.data(), 2 * sizeof(float)),
                         GST_FLOW_OK);
  fail_unless_equals_int(
      push_bytes(s.element, in.data() + 2, (in.size() - 2) * sizeof(float)), GST_FLOW_OK);
  gst_harness_play(s.h);
  play_utterance(s, RATE, 1, GST_SECOND / 10);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_partial_frame_survives_output_negotiation) {
  /* Half a sample pushed before the output is negotiated to another rate
   * is completed by the next push, not dropped (which would swap the bytes
   * of every sample after it). */
  Src s = src_new();
  gst_harness_set_sink_caps_str(
      s.h, "audio/x-raw, format=S16LE, layout=interleaved, rate=48000, channels=1");
  std::vector<gint16> in = constant_samples(4800, 1000);
  const guint8 *bytes = reinterpret_cast<const guint8 *>(in.data());
  fail_unless_equals_int(push_bytes(s.element, bytes, 1001), GST_FLOW_OK);
  gst_harness_play(s.h);
  fail_unless(gst_harness_wait_for_clock_id_waits(s.h, 1, 60));
  fail_unless_equals_int(push_bytes(s.element, bytes + 1001, in.size() * 2 - 1001),
                         GST_FLOW_OK);
  std::vector<gint16> out = play_utterance(s, 48000, 1, GST_SECOND / 5);
  for (gsize i = 2000; i < 6000; i++)
    fail_unless(std::abs(out[i] - 1000) <= 2, "sample %" G_GSIZE_FORMAT " is %d", i,
                out[i]);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_push_speech_sample_errors_name_it) {
  Src s = src_new();
  GstCaps *caps = gst_caps_from_string("audio/x-agentaudio-unknown, rate=48000, channels=1");
  GstBuffer *buffer = gst_buffer_new_allocate(NULL, 10, NULL);
  GstSample *sample = gst_sample_new(buffer, caps, NULL, NULL);
  GstFlowReturn ret = GST_FLOW_OK;
  g_signal_emit_by_name(s.element, "push-speech-sample", sample, &ret);
  fail_unless_equals_int(ret, GST_FLOW_NOT_NEGOTIATED);
  std::string debug = bus_debug(s, GST_MESSAGE_ERROR);
  fail_unless(g_str_has_prefix(strstr(debug.c_str(), "push-"), "push-speech-sample:"),
              "%s", debug.c_str());
  gst_sample_unref(sample);
  gst_buffer_unref(buffer);
  gst_caps_unref(caps);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_mono_speech_into_a_multichannel_output) {
  /* Output channels beyond stereo get GStreamer's fallback positions, which
   * mono speech can be mixed into (unpositioned ones cannot). */
  Src s = src_new();
  gst_harness_set_sink_caps_str(s.h,
                                "audio/x-raw, format=S16LE, layout=interleaved, "
                                "rate=24000, channels=6, channel-mask=(bitmask)0x3f");
  fail_unless_equals_int(
      push_samples(s.element, constant_samples(FRAMES_PER_BUFFER, 1000)), GST_FLOW_OK);
  gst_harness_play(s.h);
  fail_unless_equals_int(
      push_samples(s.element, constant_samples(FRAMES_PER_BUFFER, 1000)), GST_FLOW_OK);
  GstBuffer *buf = next_buffer(s);
  fail_unless_equals_int(gst_buffer_get_size(buf),
                         FRAMES_PER_BUFFER * 6 * sizeof(gint16));
  fail_if(GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_GAP));
  gst_buffer_unref(buf);
  fail_unless(gst_bus_pop_filtered(s.bus, GST_MESSAGE_ERROR) == NULL);
  src_free(s);
}
GST_END_TEST;

/* A mark after resampled speech comes after all of it, including the frames
 * the resampler held back until the speech ran dry. */
GST_START_TEST(test_mark_after_resampled_speech_is_at_its_end) {
  Src s = src_22khz_speech_to_24khz();
  gst_harness_play(s.h);
  gst_buffer_unref(next_buffer(s)); /* negotiated: pushes convert to 24 kHz now */

  std::vector<gint16> in = sine<gint16>(22050, 1, 22050, 440.0, 12000);
  push_in_chunks(s.element, in, 882);
  mark(s.element, "sentence");

  GstClockTime mark_time = GST_CLOCK_TIME_NONE, end = GST_CLOCK_TIME_NONE;
  for (int i = 0; i < 100 && end == GST_CLOCK_TIME_NONE; i++) {
    gst_buffer_unref(next_buffer(s));
    while (GstMessage *msg = pop_element_message(s)) {
      const GstStructure *st = gst_message_get_structure(msg);
      if (gst_structure_has_name(st, "mark"))
        mark_time = get_u64(msg, "running-time");
      else if (gst_structure_has_name(st, "last-audio"))
        end = get_u64(msg, "running-time");
      gst_message_unref(msg);
    }
  }
  fail_unless(end != GST_CLOCK_TIME_NONE, "no last-audio");
  fail_unless(mark_time != GST_CLOCK_TIME_NONE, "no mark");
  fail_unless(
      mark_time + frames_to_time(1) >= end && mark_time <= end + frames_to_time(1),
      "mark at %" GST_TIME_FORMAT ", speech ended at %" GST_TIME_FORMAT,
      GST_TIME_ARGS(mark_time), GST_TIME_ARGS(end));
  src_free(s);
}
GST_END_TEST;

/* Phase continuity across output rate changes (issue 18).
 *
 * A 440 Hz sine at 24 kHz is queued whole, then played while downstream
 * renegotiates the output rate. Every output sample is compared with the
 * ideal continuous sine at the running time the timeline gives it. */

static const double kToneHz = 440.0;
static const double kToneAmp = 8000.0;

/* AGENTAUDIO_TEST_FIGURES=1 prints what the continuity tests measured. */
static void report(const gchar *what, double steady, const struct RateRun &run);

struct RateRun {
  double max_deviation = 0;
  int rate_changes = 0;
  gsize samples = 0;
};

/* Sets the harness's downstream caps to `rate` mono and asks the element to
 * renegotiate. */
static void ask_rate(Src &s, gint rate) {
  gchar *caps = g_strdup_printf(
      "audio/x-raw, format=S16LE, layout=interleaved, rate=%d, channels=1", rate);
  gst_harness_set_sink_caps_str(s.h, caps);
  g_free(caps);
  gst_harness_push_upstream_event(s.h, gst_event_new_reconfigure());
}

/* Plays `buffers` buffers of the queued sine; before buffer k (k > 0, every
 * `every` buffers) asks for the next rate of `rates`. Skips the first 20 ms
 * of speech (its onset from silence is not a rate change). */
static RateRun play_sine(const std::vector<gint> &rates, int buffers, int every,
                         bool bed = false) {
  Src s = src_new();
  gst_harness_set_sink_caps_str(
      s.h, "audio/x-raw, format=S16LE, layout=interleaved, rate=24000, channels=1");
  if (!rates.empty())
    ask_rate(s, rates[0]);
  if (bed) {
    /* 1 s: 440 whole periods, so the loop is seamless too. */
    g_object_set(s.element, "background-loop", TRUE, NULL);
    std::vector<gint16> in = sine<gint16>(RATE, 1, RATE, kToneHz, kToneAmp);
    fail_unless_equals_int(push_background(s.element, in), GST_FLOW_OK);
  } else {
    std::vector<gint16> in = sine<gint16>(RATE, 1, 4 * RATE, kToneHz, kToneAmp);
    fail_unless_equals_int(push_samples(s.element, in), GST_FLOW_OK);
  }
  gst_harness_play(s.h);

  RateRun run;
  GstClockTime start = GST_CLOCK_TIME_NONE;
  gint last_rate = 0;
  std::size_t next = 1;
  for (int k = 0; k < buffers; k++) {
    if (every > 0 && k > 0 && k % every == 0 && rates.size() > 1) {
      ask_rate(s, rates[next % rates.size()]);
      next++;
    }
    GstBuffer *buf = next_buffer(s);
    std::vector<gint16> v = buffer_samples(buf);
    const GstClockTime pts = GST_BUFFER_PTS(buf);
    const gint rate =
        (gint)gst_util_uint64_scale_round(v.size(), GST_SECOND, GST_BUFFER_DURATION(buf));
    gst_buffer_unref(buf);
    if (last_rate != 0 && rate != last_rate)
      run.rate_changes++;
    last_rate = rate;
    while (GstMessage *msg = pop_element_message(s)) {
      if (gst_structure_has_name(gst_message_get_structure(msg), "first-audio"))
        start = get_u64(msg, "running-time");
      gst_message_unref(msg);
    }
    if (bed && k == 0)
      start = pts; /* the bed plays from the first buffer on */
    fail_unless(start != GST_CLOCK_TIME_NONE, "no first-audio with the first buffer");
    for (gsize j = 0; j < v.size(); j++) {
      const double t = (double)(pts - start) / GST_SECOND + (double)j / rate;
      if (t < 0.02)
        continue;
      const double ideal = kToneAmp * std::sin(2 * M_PI * kToneHz * t);
      run.max_deviation = std::max(run.max_deviation, std::fabs(v[j] - ideal));
      run.samples++;
    }
  }
  src_free(s);
  return run;
}

static void report(const gchar *what, double steady, const RateRun &run) {
  if (g_getenv("AGENTAUDIO_TEST_FIGURES"))
    g_printerr(
        "%s: steady conversion error %.2f, max deviation %.2f over %" G_GSIZE_FORMAT
        " samples and %d rate changes\n",
        what, steady, run.max_deviation, run.samples, run.rate_changes);
}

/* The resampler's own error against the ideal sine, on a steady
 * conversion from 24 kHz to each rate the flips use: the bound below. */
static double steady_conversion_error(bool bed = false) {
  double worst = 0;
  for (gint rate : {24000, 48000, 16000, 44100}) {
    RateRun run = play_sine({rate}, 40, 0, bed);
    fail_unless_equals_int(run.rate_changes, 0);
    worst = std::max(worst, run.max_deviation);
  }
  /* Not a bound that lets anything through: GStreamer's Kaiser resampler is
   * within about 1.5 % of the amplitude here (a few microseconds of delay). */
  fail_unless(worst > 0 && worst < 0.05 * kToneAmp, "steady conversion error %f", worst);
  return worst;
}

GST_START_TEST(test_sine_stays_continuous_across_rate_flips) {
  const double steady = steady_conversion_error();
  /* 5 % and one LSB over the steady error: rounding, not a click. */
  const double bound = steady * 1.05 + 1.0;
  RateRun run = play_sine({24000, 48000, 16000, 44100}, 16 * 5 + 2, 5);
  report("speech", steady, run);
  fail_unless(run.rate_changes >= 15, "only %d rate changes", run.rate_changes);
  fail_unless(run.max_deviation <= bound,
              "a sample deviates %.1f from the sine across %d rate changes "
              "(steady conversion: %.1f, bound %.1f)",
              run.max_deviation, run.rate_changes, steady, bound);
}
GST_END_TEST;

/* The same for a looping bed: converted lazily too, and seamless at the
 * loop point, which it passes once a second here. */
GST_START_TEST(test_looping_bed_stays_continuous_across_rate_flips) {
  const double steady = steady_conversion_error(true);
  const double bound = steady * 1.05 + 1.0;
  RateRun run = play_sine({24000, 48000, 16000, 44100}, 16 * 8 + 2, 8, true);
  report("looping bed", steady, run);
  fail_unless(run.rate_changes >= 15, "only %d rate changes", run.rate_changes);
  fail_unless(run.max_deviation <= bound,
              "a bed sample deviates %.1f from the sine across %d rate changes "
              "(steady conversion: %.1f, bound %.1f)",
              run.max_deviation, run.rate_changes, steady, bound);
}
GST_END_TEST;

struct InterruptCall {
  GstElement *element;
  GMutex lock;
  GCond cond;
  bool done = false;
  guint64 dropped = 0;
};

static gpointer interrupt_thread(gpointer data) {
  InterruptCall *c = static_cast<InterruptCall *>(data);
  guint64 dropped = interrupt(c->element);
  g_mutex_lock(&c->lock);
  c->dropped = dropped;
  c->done = true;
  g_cond_signal(&c->cond);
  g_mutex_unlock(&c->lock);
  return NULL;
}

/* Issue 12.4: with 60 s of speech queued, a renegotiation does not convert
 * the queue under the lock, and an interrupt from another thread right
 * after it returns while the streaming thread is still blocked on the
 * clock; the counts it returns are in the new rate. (How little the
 * renegotiation converts is counted in test_core.) */
GST_START_TEST(test_interrupt_right_after_renegotiation_returns_at_once) {
  Src s = src_new();
  gst_harness_set_sink_caps_str(
      s.h, "audio/x-raw, format=S16LE, layout=interleaved, rate=24000, channels=1");
  fail_unless_equals_int(push_samples(s.element, speech_samples(60 * RATE)), GST_FLOW_OK);
  gst_harness_play(s.h);
  gst_buffer_unref(next_buffer(s));
  gst_message_unref(expect_message(s, "first-audio"));

  ask_rate(s, 48000);
  gst_buffer_unref(next_buffer(s)); /* already waited for at 24 kHz */
  /* The streaming thread has renegotiated and waits for the next buffer. */
  fail_unless(gst_harness_wait_for_clock_id_waits(s.h, 1, 60));

  InterruptCall call;
  call.element = s.element;
  g_mutex_init(&call.lock);
  g_cond_init(&call.cond);
  GThread *thread = g_thread_new("interrupt", interrupt_thread, &call);
  gint64 deadline = g_get_monotonic_time() + 10 * G_TIME_SPAN_SECOND;
  g_mutex_lock(&call.lock);
  while (!call.done)
    if (!g_cond_wait_until(&call.cond, &call.lock, deadline))
      break;
  bool done = call.done;
  g_mutex_unlock(&call.lock);
  fail_unless(done, "interrupt did not return while the streaming thread waited");
  g_thread_join(thread);
  g_mutex_clear(&call.lock);
  g_cond_clear(&call.cond);
  /* 60 s less the two buffers played and the 10 ms fade. */
  fail_unless_equals_uint64(call.dropped,
                            60 * GST_SECOND - 2 * BUFFER_TIME - 10 * GST_MSECOND);

  GstBuffer *buf = next_buffer(s);
  fail_unless_equals_int(gst_buffer_get_size(buf), 960 * sizeof(gint16));
  std::vector<gint16> v = buffer_samples(buf);
  gst_buffer_unref(buf);
  fail_unless(!all_zero(v.data(), 480), "the fade is missing");
  fail_unless(all_zero(v.data() + 480, 480), "speech after the fade");
  buf = next_buffer(s);
  gst_buffer_unref(buf);
  GstMessage *last = expect_message(s, "last-audio");
  fail_unless(get_bool(last, "interrupted"));
  fail_unless_equals_uint64(get_u64(last, "duration"),
                            2 * BUFFER_TIME + 10 * GST_MSECOND);
  gst_message_unref(last);
  src_free(s);
}
GST_END_TEST;

static Suite *formats_suite(void) {
  Suite *s = suite_create("formats");
  TCase *tc = tcase_create("general");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_22khz_speech_plays_at_24khz);
  tcase_add_test(tc, test_output_negotiated_to_48khz_stereo);
  tcase_add_test(tc, test_upsampling_keeps_the_whole_tail);
  tcase_add_test(tc, test_f32_speech_is_converted);
  tcase_add_test(tc, test_push_speech_sample_uses_its_caps);
  tcase_add_test(tc, test_44khz_stereo_bed_under_16khz_speech);
  tcase_add_test(tc, test_speech_caps_change_applies_to_later_pushes);
  tcase_add_test(tc, test_renegotiation_keeps_queued_audio);
  tcase_add_test(tc, test_short_first_push_that_converts_to_nothing_yet);
  tcase_add_test(tc, test_partial_frame_survives_output_negotiation);
  tcase_add_test(tc, test_push_speech_sample_errors_name_it);
  tcase_add_test(tc, test_mono_speech_into_a_multichannel_output);
  tcase_add_test(tc, test_mark_after_resampled_speech_is_at_its_end);
  tcase_add_test(tc, test_sine_stays_continuous_across_rate_flips);
  tcase_add_test(tc, test_looping_bed_stays_continuous_across_rate_flips);
  tcase_add_test(tc, test_interrupt_right_after_renegotiation_returns_at_once);
  return s;
}

GST_CHECK_MAIN(formats);
