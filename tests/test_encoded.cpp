/* agentaudiosrc — element tests: encoded speech (MP3, Ogg/Opus, WAV, FLAC)
 * pushed as a TTS service streams it.
 *
 * Each file is made at test time by GStreamer's own encoders: a second of a
 * 440 Hz tone. It is pushed in random-size chunks (fixed seed) with the
 * format in speech-caps, and what comes out of the element, at its default
 * 24 kHz, must be the tone (zero crossings), as long as the input within a
 * codec frame plus the codec's documented padding. A format whose encoder,
 * parser or decoder is not installed is skipped with a message.
 */
#include <cmath>

#include "encodedaudio.h"
#include "srcharness.h"

namespace {

struct Case {
  const char *name;
  const char *encoder;
  const char *caps;
  int rate;
  /* Decoded length beyond the input, in input samples: [min, max]. */
  int min_extra, max_extra;
  const char *needs[3];
};

const Case kCases[] = {
    /* LAME's 576-sample delay plus the 529 decoder samples it pads for,
     * rounded up to whole 1152-sample frames. */
    {"MP3",
     "lamemp3enc target=bitrate bitrate=128 cbr=true",
     "audio/mpeg,mpegversion=1,layer=3",
     44100,
     0,
     576 + 529 + 2 * 1152,
     {"lamemp3enc", "mpegaudioparse", "mpg123audiodec"}},
    /* opusdec drops the pre-skip and the last granule trims the end. */
    {"Ogg/Opus",
     "opusenc ! oggmux max-page-delay=100000000",
     "audio/ogg",
     48000,
     -960,
     960,
     {"opusenc", "oggdemux", "opusdec"}},
    {"WAV", "wavenc", "audio/x-wav", 24000, 0, 0, {"wavenc", "wavparse", nullptr}},
    {"FLAC", "flacenc", "audio/x-flac", 44100, 0, 0, {"flacenc", "flacparse", "flacdec"}},
};

bool installed(const Case &c) {
  for (const char *e : c.needs)
    if (e != nullptr && !encoded::have_element(e)) {
      g_print("encoded: %s skipped: no %s element installed\n", c.name, e);
      return false;
    }
  return true;
}

void set_speech_caps(Src &s, const char *caps_str) {
  GstCaps *caps = gst_caps_from_string(caps_str);
  g_object_set(s.element, "speech-caps", caps, NULL);
  gst_caps_unref(caps);
}

/* Pushes `bytes` in chunks of 1..max bytes. */
void push_chunks(Src &s, const std::vector<uint8_t> &bytes, GRand *rand, int max = 4000) {
  for (gsize at = 0; at < bytes.size();) {
    gsize n = std::min<gsize>(bytes.size() - at, g_rand_int_range(rand, 1, max));
    fail_unless_equals_int(push_bytes(s.element, bytes.data() + at, n), GST_FLOW_OK);
    at += n;
  }
}

/* Plays until last-audio; returns the speech samples and that message. */
std::vector<gint16> play_until_last_audio(Src &s, GstMessage **last,
                                          std::vector<std::string> *marks = nullptr) {
  std::vector<gint16> out;
  *last = NULL;
  for (int i = 0; i < 500 && *last == NULL; i++) {
    GstBuffer *buf = next_buffer(s);
    std::vector<gint16> v = buffer_samples(buf);
    gst_buffer_unref(buf);
    out.insert(out.end(), v.begin(), v.end());
    while (GstMessage *msg = pop_element_message(s)) {
      if (gst_message_has_name(msg, "last-audio")) {
        *last = msg;
        continue;
      }
      if (marks != nullptr && gst_message_has_name(msg, "mark"))
        marks->push_back(get_str(msg, "name"));
      gst_message_unref(msg);
    }
  }
  fail_unless(*last != NULL, "no last-audio");
  return out;
}

/* Zero crossings per second of the non-silent part. */
double frequency(const std::vector<gint16> &v) {
  gsize first = 0, last = v.size();
  while (first < last && std::abs(v[first]) < 200)
    first++;
  while (last > first && std::abs(v[last - 1]) < 200)
    last--;
  int crossings = 0;
  for (gsize i = first + 1; i < last; i++)
    crossings += (v[i - 1] < 0) != (v[i] < 0);
  return last > first ? crossings / 2.0 / ((last - first) / (double)RATE) : 0;
}

}  // namespace

GST_START_TEST(test_encoded_speech_plays_at_its_pitch_and_length) {
  for (const Case &c : kCases) {
    if (!installed(c))
      continue;
    std::string error;
    std::vector<uint8_t> file =
        encoded::encode_sine(c.encoder, c.rate, 1, 1.0, 440.0, &error);
    fail_unless(!file.empty(), "%s: %s", c.name, error.c_str());

    Src s = src_new();
    set_speech_caps(s, c.caps);
    GRand *rand = g_rand_new_with_seed(20261202);
    push_chunks(s, file, rand);
    g_rand_free(rand);
    mark(s.element, "end");
    g_signal_emit_by_name(s.element, "end-of-utterance");
    gst_harness_play(s.h);
    GstMessage *last;
    std::vector<std::string> marks;
    std::vector<gint16> out = play_until_last_audio(s, &last, &marks);

    const double f = frequency(out);
    fail_unless(std::fabs(f - 440.0) < 5.0, "%s: the tone came out at %.1f Hz", c.name,
                f);
    const guint64 duration = get_u64(last, "duration");
    const GstClockTime min =
        GST_SECOND + (gint64)c.min_extra * GST_SECOND / c.rate - frames_to_time(2);
    const GstClockTime max =
        GST_SECOND + (gint64)c.max_extra * GST_SECOND / c.rate + frames_to_time(2);
    fail_unless(duration >= min && duration <= max,
                "%s: %" GST_TIME_FORMAT " of speech, expected %" GST_TIME_FORMAT
                " to %" GST_TIME_FORMAT,
                c.name, GST_TIME_ARGS(duration), GST_TIME_ARGS(min), GST_TIME_ARGS(max));
    fail_unless(marks.size() == 1 && marks[0] == "end", "%s: the mark was not reached",
                c.name);
    g_print("encoded: %s: %.1f Hz, %" GST_TIME_FORMAT " of speech\n", c.name, f,
            GST_TIME_ARGS(duration));
    gst_message_unref(last);
    src_free(s);
  }
}
GST_END_TEST;

GST_START_TEST(test_end_of_utterance_drains_the_tail_at_once) {
  const Case &c = kCases[0]; /* MP3: the parser holds a frame back */
  if (!installed(c))
    return;
  std::vector<uint8_t> file = encoded::encode_sine(c.encoder, c.rate, 1, 1.0);
  Src s = src_new();
  set_speech_caps(s, c.caps);
  fail_unless_equals_int(push_bytes(s.element, file.data(), file.size()), GST_FLOW_OK);
  const guint64 before = queued_speech_time(s.element);
  g_signal_emit_by_name(s.element, "end-of-utterance");
  const guint64 after = queued_speech_time(s.element);
  fail_unless(after > before,
              "end-of-utterance queued nothing more (%" G_GUINT64_FORMAT " ns queued)",
              before);
  /* The next push is a new stream: the same file again decodes whole. */
  fail_unless_equals_int(push_bytes(s.element, file.data(), file.size()), GST_FLOW_OK);
  g_signal_emit_by_name(s.element, "end-of-utterance");
  fail_unless(queued_speech_time(s.element) >= 2 * after - frames_to_time(1152 / 2));
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_marks_between_encoded_chunks_keep_their_order_and_place) {
  const Case &c = kCases[2]; /* WAV: no codec delay, exact positions */
  if (!installed(c))
    return;
  std::vector<uint8_t> file = encoded::encode_sine(c.encoder, c.rate, 1, 1.0);
  Src s = src_new();
  set_speech_caps(s, c.caps);
  /* The header (up to the "data" chunk's samples) and a quarter second
   * each, a mark after each. */
  gsize header = 12;
  while (header + 8 <= file.size() && memcmp(file.data() + header, "data", 4) != 0)
    header += 8 + GST_READ_UINT32_LE(file.data() + header + 4);
  header += 8;
  const gsize quarter = 24000 / 4 * 2;
  gsize at = 0;
  for (int i = 0; i < 4; i++) {
    const gsize n = (i == 0 ? header : 0) + quarter;
    fail_unless_equals_int(push_bytes(s.element, file.data() + at, n), GST_FLOW_OK);
    at += n;
    gchar *name = g_strdup_printf("q%d", i);
    mark(s.element, name);
    g_free(name);
  }
  gst_harness_play(s.h);
  std::vector<std::pair<std::string, guint64>> marks;
  for (int i = 0; i < 60; i++) {
    gst_buffer_unref(next_buffer(s));
    while (GstMessage *msg = pop_element_message(s)) {
      if (gst_message_has_name(msg, "mark"))
        marks.emplace_back(get_str(msg, "name"), get_u64(msg, "running-time"));
      gst_message_unref(msg);
    }
  }
  fail_unless_equals_int(marks.size(), 4);
  for (int i = 0; i < 4; i++) {
    gchar *name = g_strdup_printf("q%d", i);
    fail_unless_equals_string(marks[i].first.c_str(), name);
    g_free(name);
    /* Within a frame of the codec: wavparse outputs 4096-frame chunks, and
     * where it holds part of one the mark counts the bytes it holds at the
     * stream's byte rate (measured: 22 frames late, the header's bytes). */
    const GstClockTime want = (i + 1) * GST_SECOND / 4;
    const GstClockTime got = marks[i].second;
    fail_unless(got + GST_MSECOND >= want && got <= want + 2 * GST_MSECOND,
                "mark q%d at %" GST_TIME_FORMAT ", expected %" GST_TIME_FORMAT, i,
                GST_TIME_ARGS(got), GST_TIME_ARGS(want));
  }
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_garbage_in_an_encoded_stream_recovers) {
  const Case &c = kCases[0];
  if (!installed(c))
    return;
  std::vector<uint8_t> file = encoded::encode_sine(c.encoder, c.rate, 1, 1.0);
  Src s = src_new();
  set_speech_caps(s, c.caps);
  const gsize half = file.size() / 2;
  fail_unless_equals_int(push_bytes(s.element, file.data(), half), GST_FLOW_OK);
  const guint64 decoded = queued_speech_time(s.element);
  fail_unless(decoded > 0);
  /* A burst of garbage inside the stream, then the rest of it: said on the
   * bus, and what was decoded stays. */
  std::vector<uint8_t> garbage(3000);
  GRand *rand = g_rand_new_with_seed(99);
  for (guint8 &b : garbage)
    b = (guint8)g_rand_int_range(rand, 0, 256);
  g_rand_free(rand);
  push_bytes(s.element, garbage.data(), garbage.size());
  push_bytes(s.element, file.data() + half, file.size() - half);
  g_signal_emit_by_name(s.element, "end-of-utterance");
  fail_unless(queued_speech_time(s.element) >= decoded);
  GstMessage *msg = gst_bus_pop_filtered(
      s.bus, (GstMessageType)(GST_MESSAGE_WARNING | GST_MESSAGE_ERROR));
  fail_unless(msg != NULL, "garbage was not reported");
  gst_message_unref(msg);
  /* A later stream plays. */
  g_signal_emit_by_name(s.element, "end-of-utterance");
  const guint64 before = queued_speech_time(s.element);
  fail_unless_equals_int(push_bytes(s.element, file.data(), file.size()), GST_FLOW_OK);
  g_signal_emit_by_name(s.element, "end-of-utterance");
  fail_unless(queued_speech_time(s.element) >= before + 900 * GST_MSECOND);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_interrupt_counts_undecoded_bytes_as_dropped) {
  const Case &c = kCases[0];
  if (!installed(c))
    return;
  std::vector<uint8_t> file = encoded::encode_sine(c.encoder, c.rate, 1, 1.0);
  Src s = src_new();
  set_speech_caps(s, c.caps);
  /* Cut in the middle of a frame: the parser holds its start. */
  fail_unless_equals_int(push_bytes(s.element, file.data(), file.size() / 2 + 100),
                         GST_FLOW_OK);
  const guint64 queued = queued_speech_time(s.element);
  const guint64 dropped = interrupt(s.element);
  /* What the parser holds is dropped too: at most a frame, estimated. */
  fail_unless(dropped > queued && dropped <= queued + 2 * 1152 * GST_SECOND / 44100,
              "dropped %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " queued", dropped,
              queued);
  /* Nothing of the old stream plays after the interrupt. */
  g_signal_emit_by_name(s.element, "end-of-utterance");
  fail_unless_equals_uint64(queued_speech_time(s.element), 0);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_missing_decoder_is_named) {
  Src s = src_new();
  set_speech_caps(s, "audio/x-agentaudio-unknown, rate=16000, channels=1");
  guint8 bytes[100] = {};
  fail_unless_equals_int(push_bytes(s.element, bytes, sizeof bytes),
                         GST_FLOW_NOT_NEGOTIATED);
  GstMessage *msg = gst_bus_pop_filtered(s.bus, GST_MESSAGE_ERROR);
  fail_unless(msg != NULL);
  GError *err = NULL;
  gst_message_parse_error(msg, &err, NULL);
  fail_unless(g_error_matches(err, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN), "%s",
              err->message);
  g_error_free(err);
  gst_message_unref(msg);
  src_free(s);
}
GST_END_TEST;

static Suite *encoded_suite(void) {
  Suite *suite = suite_create("encoded");
  TCase *tc = tcase_create("encoded");
  tcase_set_timeout(tc, 120);
  suite_add_tcase(suite, tc);
  tcase_add_test(tc, test_encoded_speech_plays_at_its_pitch_and_length);
  tcase_add_test(tc, test_end_of_utterance_drains_the_tail_at_once);
  tcase_add_test(tc, test_marks_between_encoded_chunks_keep_their_order_and_place);
  tcase_add_test(tc, test_garbage_in_an_encoded_stream_recovers);
  tcase_add_test(tc, test_interrupt_counts_undecoded_bytes_as_dropped);
  tcase_add_test(tc, test_missing_decoder_is_named);
  return suite;
}

GST_CHECK_MAIN(encoded);
