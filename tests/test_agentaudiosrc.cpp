/* agentaudiosrc — element tests: the speech path of the reference (docs/agentaudiosrc.md). */
#include <atomic>
#include <string>

#include "srcharness.h"

/* ---- output stream -------------------------------------------------------- */

GST_START_TEST(test_random_chunks_come_out_byte_identical) {
  Src s = src_new();
  /* Not a whole number of buffers, so the tail is padded with silence. */
  const gsize total = 3 * RATE + 123;
  std::vector<gint16> speech = speech_samples(total);
  const guint8 *bytes = reinterpret_cast<const guint8 *>(speech.data());
  const gsize nbytes = total * sizeof(gint16);
  GRand *rand = g_rand_new_with_seed(4242);

  /* 1 byte, odd sizes and many KB, some before PLAYING and the rest while
   * the element plays. */
  gsize pos = 0;
  auto push_some = [&](gsize budget) {
    gsize end = std::min(nbytes, pos + budget);
    while (pos < end) {
      gsize n;
      switch (g_rand_int_range(rand, 0, 4)) {
        case 0:
          n = 1;
          break;
        case 1:
          n = 2 * g_rand_int_range(rand, 0, 50) + 1;
          break;
        case 2:
          n = g_rand_int_range(rand, 2, 600);
          break;
        default:
          n = g_rand_int_range(rand, 4096, 20000);
          break;
      }
      n = std::min(n, end - pos);
      fail_unless_equals_int(push_bytes(s.element, bytes + pos, n), GST_FLOW_OK);
      pos += n;
    }
  };
  push_some(5000);
  gst_harness_play(s.h);

  std::vector<gint16> out;
  guint64 expected_pts = 0;
  gsize silent_buffers = 0;
  for (guint i = 0; silent_buffers < 3; i++) {
    push_some(3000); /* faster than real time (960 bytes per buffer) */
    GstBuffer *buf = next_buffer(s);
    std::vector<gint16> v = buffer_samples(buf);

    fail_unless_equals_int(v.size(), FRAMES_PER_BUFFER);
    fail_unless_equals_uint64(GST_BUFFER_PTS(buf), expected_pts);
    fail_unless_equals_uint64(GST_BUFFER_DURATION(buf), BUFFER_TIME);
    fail_unless_equals_uint64(GST_BUFFER_OFFSET(buf), (guint64)i * FRAMES_PER_BUFFER);
    fail_unless_equals_uint64(GST_BUFFER_OFFSET_END(buf),
                              (guint64)(i + 1) * FRAMES_PER_BUFFER);
    fail_unless_equals_int(GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DISCONT), i == 0);
    expected_pts += BUFFER_TIME;

    gsize speech_left = total - std::min(total, out.size());
    gsize speech_here = std::min<gsize>(speech_left, FRAMES_PER_BUFFER);
    /* GAP exactly on buffers without speech. */
    fail_unless_equals_int(GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_GAP),
                           speech_here == 0);
    if (speech_here == 0) {
      fail_unless(all_zero(v.data(), v.size()));
      silent_buffers++;
    } else {
      out.insert(out.end(), v.begin(), v.begin() + speech_here);
      fail_unless(all_zero(v.data() + speech_here, v.size() - speech_here),
                  "tail not padded with silence");
    }
    gst_buffer_unref(buf);
  }
  fail_unless_equals_int(pos, nbytes);
  fail_unless_equals_int(out.size(), total);
  fail_unless(memcmp(out.data(), speech.data(), nbytes) == 0,
              "speech did not come out byte-identical");

  g_rand_free(rand);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_push_while_waiting_is_in_that_buffer) {
  Src s = src_new();
  gst_harness_play(s.h);
  for (int i = 0; i < 3; i++)
    gst_buffer_unref(next_buffer(s));

  /* The element is now waiting for buffer 3's due time. */
  fail_unless(gst_harness_wait_for_clock_id_waits(s.h, 1, 60));
  std::vector<gint16> speech = speech_samples(100);
  fail_unless_equals_int(push_samples(s.element, speech), GST_FLOW_OK);

  GstBuffer *buf = next_buffer(s);
  fail_unless_equals_uint64(GST_BUFFER_PTS(buf), 3 * BUFFER_TIME);
  fail_if(GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_GAP));
  std::vector<gint16> v = buffer_samples(buf);
  fail_unless(memcmp(v.data(), speech.data(), 100 * sizeof(gint16)) == 0);
  fail_unless(all_zero(v.data() + 100, v.size() - 100));
  gst_buffer_unref(buf);

  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_short_push_plays_at_once) {
  /* 100 samples do not wait for a "full frame": they play in the next
   * buffer, padded with silence, and the one after is silent. */
  Src s = src_new();
  gst_harness_play(s.h);
  gst_buffer_unref(next_buffer(s));

  std::vector<gint16> speech = speech_samples(100, 7);
  fail_unless_equals_int(push_samples(s.element, speech), GST_FLOW_OK);
  GstBuffer *buf = next_buffer(s);
  std::vector<gint16> v = buffer_samples(buf);
  fail_unless(memcmp(v.data(), speech.data(), 100 * sizeof(gint16)) == 0);
  fail_unless(all_zero(v.data() + 100, v.size() - 100));
  gst_buffer_unref(buf);

  buf = next_buffer(s);
  fail_unless(GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_GAP));
  gst_buffer_unref(buf);
  fail_unless_equals_uint64(queued_speech_time(s.element), 0);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_partial_sample_held_until_completed) {
  Src s = src_new();
  gst_harness_play(s.h);
  gint16 sample = 0x1234;
  const guint8 *b = reinterpret_cast<const guint8 *>(&sample);

  fail_unless_equals_int(push_bytes(s.element, b, 1), GST_FLOW_OK);
  GstBuffer *buf = next_buffer(s);
  fail_unless(GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_GAP));
  gst_buffer_unref(buf);

  fail_unless_equals_int(push_bytes(s.element, b + 1, 1), GST_FLOW_OK);
  buf = next_buffer(s);
  std::vector<gint16> v = buffer_samples(buf);
  fail_unless_equals_int(v[0], 0x1234);
  fail_unless(all_zero(v.data() + 1, v.size() - 1));
  gst_buffer_unref(buf);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_first_buffer_at_current_running_time) {
  /* A source started in a pipeline that has run for 5 s starts at 5 s
   * instead of bursting from 0 to catch up. */
  Src s = src_new();
  gst_harness_set_time(s.h, 5 * GST_SECOND);
  gst_harness_play(s.h);
  for (int i = 0; i < 3; i++) {
    GstBuffer *buf = next_buffer(s);
    fail_unless_equals_uint64(GST_BUFFER_PTS(buf), 5 * GST_SECOND + i * BUFFER_TIME);
    gst_buffer_unref(buf);
  }
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_ptime_sets_buffer_duration) {
  const guint ptimes[] = {10, 20, 40};
  for (guint ptime : ptimes) {
    Src s = src_new();
    g_object_set(s.element, "ptime", ptime, NULL);
    gst_harness_play(s.h);
    const guint frames = RATE * ptime / 1000;
    for (guint i = 0; i < 4; i++) {
      GstBuffer *buf = next_buffer(s);
      fail_unless_equals_int(gst_buffer_get_size(buf), frames * sizeof(gint16));
      fail_unless_equals_uint64(GST_BUFFER_PTS(buf), i * ptime * GST_MSECOND);
      fail_unless_equals_uint64(GST_BUFFER_DURATION(buf), ptime * GST_MSECOND);
      gst_buffer_unref(buf);
    }

    GstQuery *query = gst_query_new_latency();
    fail_unless(gst_element_query(s.element, query));
    gboolean live;
    GstClockTime min, max;
    gst_query_parse_latency(query, &live, &min, &max);
    fail_unless(live);
    fail_unless_equals_uint64(min, ptime * GST_MSECOND);
    fail_unless_equals_uint64(max, GST_CLOCK_TIME_NONE); /* as audiotestsrc */
    gst_query_unref(query);
    src_free(s);
  }
}
GST_END_TEST;

GST_START_TEST(test_latency_query_before_playing) {
  Src s = src_new();
  GstQuery *query = gst_query_new_latency();
  fail_unless(gst_element_query(s.element, query));
  gboolean live;
  GstClockTime min, max;
  gst_query_parse_latency(query, &live, &min, &max);
  fail_unless(live);
  fail_unless_equals_uint64(min, BUFFER_TIME);
  gst_query_unref(query);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_speech_caps_sets_output_format) {
  /* 16 kHz stereo speech: output negotiated to it, played unchanged. */
  Src s = src_new();
  GstCaps *caps = gst_caps_from_string(
      "audio/x-raw, format=S16LE, layout=interleaved, rate=16000, channels=2");
  g_object_set(s.element, "speech-caps", caps, NULL);
  std::vector<gint16> speech = speech_samples(2 * 500);
  fail_unless_equals_int(push_samples(s.element, speech), GST_FLOW_OK);
  fail_unless_equals_uint64(queued_speech_time(s.element), frames_to_time(500, 16000));
  gst_harness_play(s.h);

  GstBuffer *a = next_buffer(s);
  GstBuffer *b = next_buffer(s);
  GstCaps *out = gst_pad_get_current_caps(s.h->sinkpad);
  GstStructure *st = gst_caps_get_structure(out, 0);
  gint rate, channels;
  fail_unless(gst_structure_get_int(st, "rate", &rate));
  fail_unless(gst_structure_get_int(st, "channels", &channels));
  fail_unless_equals_int(rate, 16000);
  fail_unless_equals_int(channels, 2);

  fail_unless_equals_int(gst_buffer_get_size(a), 320 * 2 * sizeof(gint16));
  fail_unless_equals_uint64(GST_BUFFER_PTS(b), BUFFER_TIME);
  fail_unless_equals_uint64(GST_BUFFER_OFFSET(b), 320);
  std::vector<gint16> va = buffer_samples(a), vb = buffer_samples(b);
  va.insert(va.end(), vb.begin(), vb.end());
  fail_unless(memcmp(va.data(), speech.data(), speech.size() * sizeof(gint16)) == 0);
  fail_unless(all_zero(va.data() + speech.size(), va.size() - speech.size()));

  gst_caps_unref(out);
  gst_caps_unref(caps);
  gst_buffer_unref(a);
  gst_buffer_unref(b);
  src_free(s);
}
GST_END_TEST;

/* Pushes in `caps` must fail with NOT_NEGOTIATED and an error on the bus
 * that names the caps, losing nothing already queued. */
static void expect_refused(Src &s, const gchar *caps_str, const gchar *named) {
  GstCaps *caps = gst_caps_from_string(caps_str);
  g_object_set(s.element, "speech-caps", caps, NULL);
  gst_caps_unref(caps);
  guint64 queued = queued_speech_time(s.element);
  fail_unless_equals_int(push_samples(s.element, speech_samples(100)),
                         GST_FLOW_NOT_NEGOTIATED);

  std::string debug = bus_debug(s, GST_MESSAGE_ERROR, caps_str);
  fail_unless(debug.find(named) != std::string::npos, "error does not name %s: %s", named,
              debug.c_str());
  fail_unless_equals_uint64(queued_speech_time(s.element), queued);
}

GST_START_TEST(test_unplayable_caps_are_refused_and_queue_kept) {
  Src s = src_new();
  fail_unless_equals_int(push_samples(s.element, speech_samples(1000)), GST_FLOW_OK);
  expect_refused(s, "video/x-raw, format=I420, width=2, height=2", "video/x-raw");
  /* Encoded audio that no installed plugin decodes. */
  expect_refused(s, "audio/x-agentaudio-unknown, rate=48000, channels=1",
                 "audio/x-agentaudio-unknown");
  expect_refused(
      s, "audio/x-raw, format=F32LE, layout=non-interleaved, rate=24000, channels=2",
      "non-interleaved");
  expect_refused(s,
                 "audio/x-raw, format=S16LE, layout=interleaved, rate=[8000, 48000], "
                 "channels=1",
                 "[ 8000, 48000 ]");
  fail_unless_equals_uint64(queued_speech_time(s.element), frames_to_time(1000));
  src_free(s);
}
GST_END_TEST;

/* ---- speaking events ------------------------------------------------------ */

GST_START_TEST(test_first_and_last_audio_exact_to_the_sample) {
  Src s = src_new();
  const GstClockTime origin = 3 * GST_SECOND + 7;
  gst_harness_set_time(s.h, origin);
  gst_harness_play(s.h);
  for (int i = 0; i < 2; i++)
    gst_buffer_unref(next_buffer(s));
  expect_no_message(s);

  /* 1000 frames from buffer 2: 480 + 480 + 40. */
  fail_unless_equals_int(push_samples(s.element, speech_samples(1000)), GST_FLOW_OK);
  gst_buffer_unref(next_buffer(s)); /* 2 */
  GstMessage *msg = expect_message(s, "first-audio");
  fail_unless_equals_uint64(get_u64(msg, "running-time"), origin + 2 * BUFFER_TIME);
  gst_message_unref(msg);
  gboolean speaking;
  g_object_get(s.element, "speaking", &speaking, NULL);
  fail_unless(speaking);

  gst_buffer_unref(next_buffer(s)); /* 3 */
  gst_buffer_unref(next_buffer(s)); /* 4: speech ends 40 frames in */
  expect_no_message(s);

  gst_buffer_unref(next_buffer(s)); /* 5: the first without speech */
  msg = expect_message(s, "last-audio");
  fail_unless_equals_uint64(get_u64(msg, "running-time"),
                            origin + 2 * BUFFER_TIME + frames_to_time(1000));
  fail_unless_equals_uint64(get_u64(msg, "duration"), frames_to_time(1000));
  fail_if(get_bool(msg, "interrupted"));
  fail_unless_equals_uint64(get_u64(msg, "dropped"), 0);
  gst_message_unref(msg);
  g_object_get(s.element, "speaking", &speaking, NULL);
  fail_if(speaking);
  expect_no_message(s);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_speech_resumed_next_buffer_is_one_utterance) {
  /* Speech that runs dry mid-buffer and resumes in the next buffer is not a
   * new utterance: no last-audio / first-audio pair in between. */
  Src s = src_new();
  gst_harness_play(s.h);
  fail_unless_equals_int(push_samples(s.element, speech_samples(300)), GST_FLOW_OK);
  gst_buffer_unref(next_buffer(s));
  gst_message_unref(expect_message(s, "first-audio"));
  fail_unless_equals_int(push_samples(s.element, speech_samples(300)), GST_FLOW_OK);
  gst_buffer_unref(next_buffer(s));
  expect_no_message(s);
  gst_buffer_unref(next_buffer(s));
  GstMessage *msg = expect_message(s, "last-audio");
  fail_unless_equals_uint64(get_u64(msg, "running-time"),
                            BUFFER_TIME + frames_to_time(300));
  fail_unless_equals_uint64(get_u64(msg, "duration"), frames_to_time(600));
  gst_message_unref(msg);
  src_free(s);
}
GST_END_TEST;

/* ---- interrupt ------------------------------------------------------------ */

GST_START_TEST(test_interrupt_fades_then_drops) {
  Src s = src_new();
  const gint16 level = 16000;
  std::vector<gint16> speech(RATE, level); /* 1 s */
  fail_unless_equals_int(push_samples(s.element, speech), GST_FLOW_OK);
  mark(s.element, "after-sentence");
  gst_harness_play(s.h);
  for (int i = 0; i < 3; i++)
    gst_buffer_unref(next_buffer(s));
  gst_message_unref(expect_message(s, "first-audio"));

  /* 10 ms default fade = 240 frames kept, the rest dropped. */
  const guint64 fade = 240;
  const guint64 queued = RATE - 3 * FRAMES_PER_BUFFER;
  fail_unless_equals_uint64(interrupt(s.element), frames_to_time(queued - fade));

  /* Pending marks are posted interrupted right away, at the cut. */
  GstMessage *msg = expect_message(s, "mark");
  fail_unless_equals_string(get_str(msg, "name"), "after-sentence");
  fail_unless(get_bool(msg, "interrupted"));
  fail_unless_equals_uint64(get_u64(msg, "running-time"),
                            frames_to_time(3 * FRAMES_PER_BUFFER + fade));
  gst_message_unref(msg);

  GstBuffer *buf = next_buffer(s);
  fail_if(GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_GAP));
  std::vector<gint16> v = buffer_samples(buf);
  for (guint i = 0; i < fade; i++) {
    double expected = level * (double)(fade - 1 - i) / fade;
    fail_unless(std::abs(v[i] - expected) <= 1.0, "fade sample %u is %d, expected %f", i,
                v[i], expected);
    if (i > 0)
      fail_unless(v[i] <= v[i - 1], "fade not decaying at %u", i);
  }
  fail_unless_equals_int(v[fade - 1], 0);
  fail_unless(all_zero(v.data() + fade, v.size() - fade));
  gst_buffer_unref(buf);
  expect_no_message(s);

  buf = next_buffer(s);
  fail_unless(GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_GAP));
  gst_buffer_unref(buf);
  msg = expect_message(s, "last-audio");
  fail_unless(get_bool(msg, "interrupted"));
  fail_unless_equals_uint64(get_u64(msg, "dropped"), frames_to_time(queued - fade));
  fail_unless_equals_uint64(get_u64(msg, "duration"),
                            frames_to_time(3 * FRAMES_PER_BUFFER + fade));
  fail_unless_equals_uint64(get_u64(msg, "running-time"),
                            frames_to_time(3 * FRAMES_PER_BUFFER + fade));
  gst_message_unref(msg);
  fail_unless_equals_uint64(queued_speech_time(s.element), 0);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_interrupt_without_fade_is_a_hard_cut) {
  Src s = src_new();
  g_object_set(s.element, "interrupt-fade", (guint64)0, NULL);
  fail_unless_equals_int(push_samples(s.element, speech_samples(RATE)), GST_FLOW_OK);
  gst_harness_play(s.h);
  gst_buffer_unref(next_buffer(s));
  fail_unless_equals_uint64(interrupt(s.element),
                            frames_to_time(RATE - FRAMES_PER_BUFFER));

  GstBuffer *buf = next_buffer(s);
  fail_unless(GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_GAP));
  std::vector<gint16> v = buffer_samples(buf);
  fail_unless(all_zero(v.data(), v.size()));
  gst_buffer_unref(buf);
  gst_message_unref(expect_message(s, "first-audio"));
  GstMessage *msg = expect_message(s, "last-audio");
  fail_unless(get_bool(msg, "interrupted"));
  fail_unless_equals_uint64(get_u64(msg, "running-time"), BUFFER_TIME);
  gst_message_unref(msg);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_interrupt_before_speech_starts_drops_everything) {
  /* Nothing audible yet: no fade, no utterance, every sample dropped. */
  Src s = src_new();
  fail_unless_equals_int(push_samples(s.element, speech_samples(1000)), GST_FLOW_OK);
  fail_unless_equals_uint64(interrupt(s.element), frames_to_time(1000));
  gst_harness_play(s.h);
  GstBuffer *buf = next_buffer(s);
  fail_unless(GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_GAP));
  gst_buffer_unref(buf);
  expect_no_message(s);

  /* Speech pushed after the interrupt plays normally. */
  std::vector<gint16> speech = speech_samples(200, 3);
  fail_unless_equals_int(push_samples(s.element, speech), GST_FLOW_OK);
  buf = next_buffer(s);
  std::vector<gint16> v = buffer_samples(buf);
  fail_unless(memcmp(v.data(), speech.data(), 200 * sizeof(gint16)) == 0);
  gst_buffer_unref(buf);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_interrupt_discards_partial_sample) {
  /* A half sample left by the interrupted stream must not shift the next. */
  Src s = src_new();
  gst_harness_play(s.h);
  guint8 odd = 0x55;
  fail_unless_equals_int(push_bytes(s.element, &odd, 1), GST_FLOW_OK);
  interrupt(s.element);
  std::vector<gint16> speech = speech_samples(10);
  fail_unless_equals_int(push_samples(s.element, speech), GST_FLOW_OK);
  GstBuffer *buf = next_buffer(s);
  std::vector<gint16> v = buffer_samples(buf);
  fail_unless(memcmp(v.data(), speech.data(), 10 * sizeof(gint16)) == 0);
  gst_buffer_unref(buf);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_speech_after_interrupt_is_a_new_utterance) {
  Src s = src_new();
  fail_unless_equals_int(push_samples(s.element, constant_samples(RATE, 8000)),
                         GST_FLOW_OK);
  gst_harness_play(s.h);
  gst_buffer_unref(next_buffer(s));
  gst_message_unref(expect_message(s, "first-audio"));

  /* Barge-in, and the agent's next answer arrives before the next buffer. */
  interrupt(s.element);
  std::vector<gint16> answer = speech_samples(300, 4);
  std::vector<gint16> first_part(answer.begin(), answer.begin() + 100);
  std::vector<gint16> second_part(answer.begin() + 100, answer.end());
  fail_unless_equals_int(push_samples(s.element, first_part), GST_FLOW_OK);
  mark(s.element, "in-answer");
  fail_unless_equals_int(push_samples(s.element, second_part), GST_FLOW_OK);

  GstBuffer *buf = next_buffer(s);
  std::vector<gint16> v = buffer_samples(buf);
  fail_unless_equals_int(v[239], 0); /* the 240-frame fade */
  fail_unless(memcmp(v.data() + 240, answer.data(), 240 * sizeof(gint16)) == 0);
  gst_buffer_unref(buf);

  GstMessage *msg = expect_message(s, "last-audio");
  fail_unless(get_bool(msg, "interrupted"));
  fail_unless_equals_uint64(get_u64(msg, "running-time"), frames_to_time(480 + 240));
  fail_unless_equals_uint64(get_u64(msg, "duration"), frames_to_time(480 + 240));
  gst_message_unref(msg);
  msg = expect_message(s, "first-audio");
  fail_unless_equals_uint64(get_u64(msg, "running-time"), frames_to_time(480 + 240));
  gst_message_unref(msg);
  /* In time order: the answer's mark comes after its first-audio. */
  msg = expect_message(s, "mark");
  fail_unless_equals_uint64(get_u64(msg, "running-time"),
                            frames_to_time(480 + 240 + 100));
  fail_unless_equals_uint64(get_u64(msg, "played"), frames_to_time(100));
  gst_message_unref(msg);
  expect_no_message(s);

  gst_buffer_unref(next_buffer(s)); /* the answer's last 60 frames */
  gst_buffer_unref(next_buffer(s));
  msg = expect_message(s, "last-audio");
  fail_if(get_bool(msg, "interrupted"), "the new answer was not interrupted");
  fail_unless_equals_uint64(get_u64(msg, "duration"), frames_to_time(300));
  fail_unless_equals_uint64(get_u64(msg, "dropped"), 0);
  gst_message_unref(msg);
  src_free(s);
}
GST_END_TEST;

static void count_speaking(GObject *object, GParamSpec *, gpointer data) {
  gboolean speaking;
  g_object_get(object, "speaking", &speaking, NULL);
  static_cast<std::vector<bool> *>(data)->push_back(speaking);
}

/* notify::speaking means a change: not when an interrupted utterance hands
 * over to the next one in the same buffer. */
GST_START_TEST(test_speaking_notified_only_when_it_changes) {
  Src s = src_new();
  std::vector<bool> seen; /* written by the streaming thread before each pull returns */
  g_signal_connect(s.element, "notify::speaking", G_CALLBACK(count_speaking), &seen);
  fail_unless_equals_int(push_samples(s.element, constant_samples(RATE, 8000)),
                         GST_FLOW_OK);
  gst_harness_play(s.h);
  gst_buffer_unref(next_buffer(s));
  fail_unless(seen == std::vector<bool>{true});

  interrupt(s.element);
  fail_unless_equals_int(push_samples(s.element, speech_samples(300, 4)), GST_FLOW_OK);
  gst_buffer_unref(next_buffer(s)); /* last-audio, then first-audio: still speaking */
  fail_unless(seen == std::vector<bool>{true}, "%zu notifications", seen.size());

  gst_buffer_unref(next_buffer(s)); /* the answer's last 60 frames */
  gst_buffer_unref(next_buffer(s));
  fail_unless(seen == (std::vector<bool>{true, false}), "%zu notifications", seen.size());
  g_signal_handlers_disconnect_by_data(s.element, &seen);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_interrupt_after_speech_played_changes_nothing) {
  Src s = src_new();
  fail_unless_equals_int(push_samples(s.element, speech_samples(100)), GST_FLOW_OK);
  gst_harness_play(s.h);
  gst_buffer_unref(next_buffer(s));
  gst_message_unref(expect_message(s, "first-audio"));

  fail_unless_equals_uint64(interrupt(s.element), 0);
  gst_buffer_unref(next_buffer(s));
  GstMessage *msg = expect_message(s, "last-audio");
  fail_if(get_bool(msg, "interrupted"), "nothing was cut");
  gst_message_unref(msg);
  src_free(s);
}
GST_END_TEST;

/* ---- marks and end of stream ----------------------------------------------- */

GST_START_TEST(test_marks_in_order_at_exact_running_time) {
  Src s = src_new();
  mark(s.element, "start");
  fail_unless_equals_int(push_samples(s.element, speech_samples(700)), GST_FLOW_OK);
  mark(s.element, "a");
  fail_unless_equals_int(push_samples(s.element, speech_samples(300)), GST_FLOW_OK);
  mark(s.element, "b");
  mark(s.element, "c");
  gst_harness_play(s.h);

  gst_buffer_unref(next_buffer(s)); /* frames 0..480 */
  GstMessage *msg = expect_message(s, "mark");
  fail_unless_equals_string(get_str(msg, "name"), "start");
  fail_unless_equals_uint64(get_u64(msg, "running-time"), 0);
  gst_message_unref(msg);
  gst_message_unref(expect_message(s, "first-audio"));
  expect_no_message(s);

  gst_buffer_unref(next_buffer(s)); /* 480..960: mark a at 700 */
  msg = expect_message(s, "mark");
  fail_unless_equals_string(get_str(msg, "name"), "a");
  fail_unless_equals_uint64(get_u64(msg, "running-time"), frames_to_time(700));
  fail_if(get_bool(msg, "interrupted"));
  gst_message_unref(msg);
  expect_no_message(s);

  gst_buffer_unref(next_buffer(s)); /* 960..1440: b and c at 1000 */
  const gchar *names[] = {"b", "c"};
  for (const gchar *name : names) {
    msg = expect_message(s, "mark");
    fail_unless_equals_string(get_str(msg, "name"), name);
    fail_unless_equals_uint64(get_u64(msg, "running-time"), frames_to_time(1000));
    gst_message_unref(msg);
  }
  expect_no_message(s);

  /* A mark with nothing queued before it marks the end of what played. */
  mark(s.element, "d");
  gst_buffer_unref(next_buffer(s));
  gst_message_unref(expect_message(s, "last-audio"));
  msg = expect_message(s, "mark");
  fail_unless_equals_string(get_str(msg, "name"), "d");
  fail_unless_equals_uint64(get_u64(msg, "running-time"), frames_to_time(1000));
  gst_message_unref(msg);
  src_free(s);
}
GST_END_TEST;

/* A mark's played is its utterance's speech before it, silence inside the
 * utterance not counted: what a client needs to share out last-audio's
 * duration when bytes say nothing of length (encoded input). */
GST_START_TEST(test_mark_says_what_its_utterance_played) {
  Src s = src_new();
  mark(s.element, "start");
  fail_unless_equals_int(push_samples(s.element, speech_samples(700)), GST_FLOW_OK);
  mark(s.element, "a");
  fail_unless_equals_int(push_samples(s.element, speech_samples(300)), GST_FLOW_OK);
  mark(s.element, "b");
  gst_harness_play(s.h);

  auto expect_mark = [&](const gchar *name, guint64 running_frames, guint64 played_frames) {
    GstMessage *msg = expect_message(s, "mark");
    fail_unless_equals_string(get_str(msg, "name"), name);
    fail_unless_equals_uint64(get_u64(msg, "running-time"), frames_to_time(running_frames));
    fail_unless_equals_uint64(get_u64(msg, "played"), frames_to_time(played_frames));
    fail_if(get_bool(msg, "interrupted"));
    gst_message_unref(msg);
  };
  gst_buffer_unref(next_buffer(s)); /* 0..480 */
  expect_mark("start", 0, 0);
  gst_message_unref(expect_message(s, "first-audio"));
  gst_buffer_unref(next_buffer(s)); /* 480..960 */
  expect_mark("a", 700, 700);
  gst_buffer_unref(next_buffer(s)); /* 960..1440: speech ends at 1000 */
  expect_mark("b", 1000, 1000);

  /* The TTS falls behind: 440 frames of silence, then the same utterance. */
  fail_unless_equals_int(push_samples(s.element, speech_samples(200)), GST_FLOW_OK);
  mark(s.element, "c");
  gst_buffer_unref(next_buffer(s)); /* 1440..1920 */
  expect_mark("c", 1640, 1200);
  expect_no_message(s);

  /* After the utterance's end: its whole duration. */
  gst_buffer_unref(next_buffer(s));
  GstMessage *msg = expect_message(s, "last-audio");
  fail_unless_equals_uint64(get_u64(msg, "duration"), frames_to_time(1200));
  gst_message_unref(msg);
  mark(s.element, "d");
  gst_buffer_unref(next_buffer(s));
  expect_mark("d", 1640, 1200);

  /* Cut: what had played when the interrupt came, the fade not counted. */
  fail_unless_equals_int(push_samples(s.element, speech_samples(2000)), GST_FLOW_OK);
  mark(s.element, "e");
  gst_buffer_unref(next_buffer(s)); /* 2880..3360 */
  gst_message_unref(expect_message(s, "first-audio"));
  interrupt(s.element);
  msg = expect_message(s, "mark");
  fail_unless_equals_string(get_str(msg, "name"), "e");
  fail_unless(get_bool(msg, "interrupted"));
  fail_unless_equals_uint64(get_u64(msg, "played"), frames_to_time(480));
  gst_message_unref(msg);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_end_of_stream_drains_then_eos) {
  Src s = src_new();
  std::vector<gint16> speech = speech_samples(1000);
  fail_unless_equals_int(push_samples(s.element, speech), GST_FLOW_OK);
  mark(s.element, "end");
  fail_unless_equals_int(end_of_stream(s.element), GST_FLOW_OK);
  fail_unless_equals_int(push_samples(s.element, speech), GST_FLOW_EOS);
  fail_unless_equals_int(end_of_stream(s.element), GST_FLOW_EOS);
  gst_harness_play(s.h);

  std::vector<gint16> out;
  for (int i = 0; i < 3; i++) {
    GstBuffer *buf = next_buffer(s);
    std::vector<gint16> v = buffer_samples(buf);
    out.insert(out.end(), v.begin(), v.end());
    gst_buffer_unref(buf);
  }
  fail_unless(memcmp(out.data(), speech.data(), 1000 * sizeof(gint16)) == 0);
  fail_unless(all_zero(out.data() + 1000, out.size() - 1000));

  /* The next due time: no buffer, EOS, with the last events posted. */
  fail_unless(gst_harness_crank_single_clock_wait(s.h));
  GstEvent *event;
  while ((event = gst_harness_pull_event(s.h)) != NULL) {
    GstEventType type = GST_EVENT_TYPE(event);
    gst_event_unref(event);
    if (type == GST_EVENT_EOS)
      break;
  }
  fail_unless(event != NULL, "no EOS");
  fail_unless_equals_int(gst_harness_buffers_in_queue(s.h), 0);

  gst_message_unref(expect_message(s, "first-audio"));
  GstMessage *msg = expect_message(s, "mark");
  fail_unless_equals_uint64(get_u64(msg, "running-time"), frames_to_time(1000));
  gst_message_unref(msg);
  msg = expect_message(s, "last-audio");
  fail_unless_equals_uint64(get_u64(msg, "running-time"), frames_to_time(1000));
  gst_message_unref(msg);
  fail_unless_equals_int(push_samples(s.element, speech), GST_FLOW_EOS);
  src_free(s);
}
GST_END_TEST;

/* ---- flow control and state ------------------------------------------------ */

GST_START_TEST(test_max_speech_time_blocks_until_room) {
  Src s = src_new();
  g_object_set(s.element, "max-speech-time", (guint64)(40 * GST_MSECOND), NULL);
  fail_unless_equals_int(push_samples(s.element, speech_samples(2 * FRAMES_PER_BUFFER)),
                         GST_FLOW_OK);
  gst_harness_play(s.h);

  BlockedPush p;
  fail_unless(blocked_push_start(p, s.element, FRAMES_PER_BUFFER),
              "push did not block with 40 ms queued");

  gst_buffer_unref(next_buffer(s)); /* 20 ms played: room */
  blocked_push_join(p);
  fail_unless_equals_int(p.ret, GST_FLOW_OK);
  fail_unless(p.queued_after <= 40 * GST_MSECOND, "queued %" G_GUINT64_FORMAT,
              p.queued_after);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_interrupt_releases_blocked_push) {
  Src s = src_new();
  g_object_set(s.element, "max-speech-time", (guint64)(20 * GST_MSECOND), NULL);
  fail_unless_equals_int(push_samples(s.element, speech_samples(FRAMES_PER_BUFFER)),
                         GST_FLOW_OK);
  BlockedPush p;
  fail_unless(blocked_push_start(p, s.element, FRAMES_PER_BUFFER), "push did not block");
  interrupt(s.element);
  blocked_push_join(p);
  fail_unless_equals_int(p.ret, GST_FLOW_FLUSHING);
  fail_unless_equals_uint64(queued_speech_time(s.element), 0);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_stopping_releases_blocked_push) {
  Src s = src_new();
  g_object_set(s.element, "max-speech-time", (guint64)(20 * GST_MSECOND), NULL);
  fail_unless_equals_int(push_samples(s.element, speech_samples(10 * FRAMES_PER_BUFFER)),
                         GST_FLOW_OK);
  gst_harness_play(s.h);
  gst_buffer_unref(next_buffer(s));
  BlockedPush p;
  fail_unless(blocked_push_start(p, s.element, FRAMES_PER_BUFFER), "push did not block");
  /* PAUSED->READY discards the queue and wakes the push. */
  fail_unless_equals_int(gst_element_set_state(s.element, GST_STATE_READY),
                         GST_STATE_CHANGE_SUCCESS);
  blocked_push_join(p);
  fail_unless_equals_int(p.ret, GST_FLOW_FLUSHING);
  fail_unless_equals_uint64(queued_speech_time(s.element), 0);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_ready_discards_and_closes_utterance) {
  Src s = src_new();
  fail_unless_equals_int(push_samples(s.element, speech_samples(RATE)), GST_FLOW_OK);
  mark(s.element, "never");
  gst_harness_play(s.h);
  gst_buffer_unref(next_buffer(s));
  gst_message_unref(expect_message(s, "first-audio"));

  fail_unless_equals_int(gst_element_set_state(s.element, GST_STATE_READY),
                         GST_STATE_CHANGE_SUCCESS);
  fail_unless_equals_uint64(queued_speech_time(s.element), 0);
  /* Every first-audio gets its last-audio, every mark one message. */
  GstMessage *msg = expect_message(s, "last-audio");
  fail_unless(get_bool(msg, "interrupted"));
  fail_unless_equals_uint64(get_u64(msg, "duration"), BUFFER_TIME);
  fail_unless_equals_uint64(get_u64(msg, "dropped"),
                            frames_to_time(RATE - FRAMES_PER_BUFFER));
  gst_message_unref(msg);
  msg = expect_message(s, "mark");
  fail_unless(get_bool(msg, "interrupted"));
  gst_message_unref(msg);

  /* Pushed in READY: plays from the first buffer of the next run. */
  std::vector<gint16> speech = speech_samples(50, 9);
  fail_unless_equals_int(push_samples(s.element, speech), GST_FLOW_OK);
  gst_harness_play(s.h);
  GstBuffer *buf = next_buffer(s);
  fail_unless(GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DISCONT));
  std::vector<gint16> v = buffer_samples(buf);
  fail_unless(memcmp(v.data(), speech.data(), 50 * sizeof(gint16)) == 0);
  gst_buffer_unref(buf);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_raising_max_speech_time_releases_blocked_push) {
  Src s = src_new();
  g_object_set(s.element, "max-speech-time", (guint64)(20 * GST_MSECOND), NULL);
  fail_unless_equals_int(push_samples(s.element, speech_samples(FRAMES_PER_BUFFER)),
                         GST_FLOW_OK);
  BlockedPush p;
  fail_unless(blocked_push_start(p, s.element, FRAMES_PER_BUFFER), "push did not block");
  g_object_set(s.element, "max-speech-time", (guint64)0, NULL);
  blocked_push_join(p);
  fail_unless_equals_int(p.ret, GST_FLOW_OK);
  fail_unless_equals_uint64(queued_speech_time(s.element), 2 * BUFFER_TIME);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_max_speech_time_below_one_sample_still_limits) {
  Src s = src_new();
  g_object_set(s.element, "max-speech-time", (guint64)1, NULL);
  fail_unless_equals_int(push_samples(s.element, speech_samples(10)), GST_FLOW_OK);
  BlockedPush p;
  fail_unless(blocked_push_start(p, s.element, 10), "a 1 ns limit behaved as no limit");
  interrupt(s.element);
  blocked_push_join(p);
  fail_unless_equals_int(p.ret, GST_FLOW_FLUSHING);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_latency_is_the_ptime_in_use) {
  Src s = src_new();
  gst_harness_play(s.h);
  gst_buffer_unref(next_buffer(s));
  /* ptime applies from the next start; the latency in force stays. */
  g_object_set(s.element, "ptime", 40, NULL);
  GstQuery *query = gst_query_new_latency();
  fail_unless(gst_element_query(s.element, query));
  GstClockTime min;
  gst_query_parse_latency(query, NULL, &min, NULL);
  fail_unless_equals_uint64(min, BUFFER_TIME);
  gst_query_unref(query);
  GstBuffer *buf = next_buffer(s);
  fail_unless_equals_uint64(GST_BUFFER_DURATION(buf), BUFFER_TIME);
  gst_buffer_unref(buf);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_push_after_eos_is_eos_whatever_the_format) {
  Src s = src_new();
  fail_unless_equals_int(end_of_stream(s.element), GST_FLOW_OK);
  GstCaps *caps =
      gst_caps_from_string("audio/x-raw, format=F32LE, rate=24000, channels=1");
  g_object_set(s.element, "speech-caps", caps, NULL);
  gst_caps_unref(caps);
  fail_unless_equals_int(push_samples(s.element, speech_samples(10)), GST_FLOW_EOS);
  src_free(s);
}
GST_END_TEST;

struct Pusher {
  GstElement *element;
  std::atomic<bool> stop{false};
  std::atomic<guint> pushes{0};
};

static gpointer pusher_thread(gpointer data) {
  Pusher *p = static_cast<Pusher *>(data);
  std::vector<gint16> speech = speech_samples(333);
  while (!p->stop.load()) {
    GstFlowReturn ret = push_samples(p->element, speech);
    fail_unless(ret == GST_FLOW_OK || ret == GST_FLOW_FLUSHING, "push returned %s",
                gst_flow_get_name(ret));
    if (p->pushes++ % 7 == 0)
      mark(p->element, "m");
    if (p->pushes % 50 == 0)
      interrupt(p->element);
  }
  return NULL;
}

GST_START_TEST(test_state_cycles_while_pushing) {
  Src s = src_new();
  g_object_set(s.element, "max-speech-time", (guint64)(100 * GST_MSECOND), NULL);
  Pusher p;
  p.element = s.element;
  GThread *thread = g_thread_new("pusher", pusher_thread, &p);
  /* Cycle while it pushes, however late the thread gets going. */
  gint64 deadline = g_get_monotonic_time() + 30 * G_TIME_SPAN_SECOND;
  while (p.pushes.load() == 0) {
    fail_unless(g_get_monotonic_time() < deadline, "the pusher never pushed");
    g_thread_yield();
  }

  for (int cycle = 0; cycle < 50; cycle++) {
    gst_harness_play(s.h);
    for (int i = 0; i < cycle % 4; i++)
      gst_buffer_unref(next_buffer(s));
    fail_unless_equals_int(gst_element_set_state(s.element, GST_STATE_NULL),
                           GST_STATE_CHANGE_SUCCESS);
    while (GstBuffer *buf = gst_harness_try_pull(s.h))
      gst_buffer_unref(buf);
    while (GstMessage *msg = gst_bus_pop(s.bus))
      gst_message_unref(msg);
  }
  p.stop = true;
  /* Lifting the limit wakes a push blocked on a full queue and keeps any
   * later one from blocking. */
  g_object_set(s.element, "max-speech-time", (guint64)0, NULL);
  g_thread_join(thread);
  src_free(s);
}
GST_END_TEST;

static Suite *agentaudiosrc_suite(void) {
  Suite *s = suite_create("agentaudiosrc");
  TCase *tc;

  tc = tcase_create("stream");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_random_chunks_come_out_byte_identical);
  tcase_add_test(tc, test_push_while_waiting_is_in_that_buffer);
  tcase_add_test(tc, test_short_push_plays_at_once);
  tcase_add_test(tc, test_partial_sample_held_until_completed);
  tcase_add_test(tc, test_first_buffer_at_current_running_time);
  tcase_add_test(tc, test_ptime_sets_buffer_duration);
  tcase_add_test(tc, test_latency_query_before_playing);
  tcase_add_test(tc, test_speech_caps_sets_output_format);
  tcase_add_test(tc, test_unplayable_caps_are_refused_and_queue_kept);

  tc = tcase_create("events");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_first_and_last_audio_exact_to_the_sample);
  tcase_add_test(tc, test_speech_resumed_next_buffer_is_one_utterance);
  tcase_add_test(tc, test_interrupt_fades_then_drops);
  tcase_add_test(tc, test_interrupt_without_fade_is_a_hard_cut);
  tcase_add_test(tc, test_interrupt_before_speech_starts_drops_everything);
  tcase_add_test(tc, test_interrupt_discards_partial_sample);
  tcase_add_test(tc, test_speech_after_interrupt_is_a_new_utterance);
  tcase_add_test(tc, test_speaking_notified_only_when_it_changes);
  tcase_add_test(tc, test_interrupt_after_speech_played_changes_nothing);
  tcase_add_test(tc, test_marks_in_order_at_exact_running_time);
  tcase_add_test(tc, test_mark_says_what_its_utterance_played);
  tcase_add_test(tc, test_end_of_stream_drains_then_eos);

  tc = tcase_create("flow");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_max_speech_time_blocks_until_room);
  tcase_add_test(tc, test_interrupt_releases_blocked_push);
  tcase_add_test(tc, test_stopping_releases_blocked_push);
  tcase_add_test(tc, test_ready_discards_and_closes_utterance);
  tcase_add_test(tc, test_raising_max_speech_time_releases_blocked_push);
  tcase_add_test(tc, test_max_speech_time_below_one_sample_still_limits);
  tcase_add_test(tc, test_latency_is_the_ptime_in_use);
  tcase_add_test(tc, test_push_after_eos_is_eos_whatever_the_format);
  tcase_add_test(tc, test_state_cycles_while_pushing);
  return s;
}

GST_CHECK_MAIN(agentaudiosrc);
