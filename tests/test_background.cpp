/* agentaudiosrc — element tests: the background layer of the reference (docs/agentaudiosrc.md)
 * (saturating mix, volume, ducking, looping beds, clear-background). */
#include <cmath>

#include "srcharness.h"

/* Expects every sample of buf to be within 1 LSB of expected(i). */
template <typename F>
static void expect_samples_near(GstBuffer *buf, F expected) {
  std::vector<gint16> v = buffer_samples(buf);
  for (gsize i = 0; i < v.size(); i++) {
    double e = expected(i);
    fail_unless(std::fabs(v[i] - e) <= 1.0,
                "sample %" G_GSIZE_FORMAT " is %d, expected %f", i, v[i], e);
  }
}

GST_START_TEST(test_background_alone_plays_and_is_not_gap) {
  Src s = src_new();
  std::vector<gint16> bed = speech_samples(FRAMES_PER_BUFFER + 100);
  fail_unless_equals_int(push_background(s.element, bed), GST_FLOW_OK);
  gst_harness_play(s.h);

  GstBuffer *a = next_buffer(s);
  GstBuffer *b = next_buffer(s);
  fail_if(GST_BUFFER_FLAG_IS_SET(a, GST_BUFFER_FLAG_GAP));
  fail_if(GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_GAP));
  std::vector<gint16> out = buffer_samples(a), vb = buffer_samples(b);
  out.insert(out.end(), vb.begin(), vb.end());
  /* Volume 1.0: the bed comes out bit-exact, then silence. */
  fail_unless(memcmp(out.data(), bed.data(), bed.size() * sizeof(gint16)) == 0);
  fail_unless(all_zero(out.data() + bed.size(), out.size() - bed.size()));
  gst_buffer_unref(a);
  gst_buffer_unref(b);

  GstBuffer *c = next_buffer(s);
  fail_unless(GST_BUFFER_FLAG_IS_SET(c, GST_BUFFER_FLAG_GAP));
  gst_buffer_unref(c);
  /* Background alone is not speech. */
  expect_no_message(s);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_mix_saturates_instead_of_wrapping) {
  Src s = src_new();
  std::vector<gint16> speech, bed;
  for (gsize i = 0; i < FRAMES_PER_BUFFER; i++) {
    bool positive = i % 2 == 0;
    speech.push_back(positive ? 30000 : -30000);
    bed.push_back(positive ? 30000 : -30000);
  }
  fail_unless_equals_int(push_samples(s.element, speech), GST_FLOW_OK);
  fail_unless_equals_int(push_background(s.element, bed), GST_FLOW_OK);
  gst_harness_play(s.h);

  GstBuffer *buf = next_buffer(s);
  std::vector<gint16> v = buffer_samples(buf);
  for (gsize i = 0; i < v.size(); i++)
    fail_unless_equals_int(v[i], i % 2 == 0 ? 32767 : -32768);
  gst_buffer_unref(buf);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_volume_scales_the_bed) {
  Src s = src_new();
  g_object_set(s.element, "background-volume", 0.5, NULL);
  std::vector<gint16> bed = speech_samples(FRAMES_PER_BUFFER);
  fail_unless_equals_int(push_background(s.element, bed), GST_FLOW_OK);
  gst_harness_play(s.h);

  GstBuffer *buf = next_buffer(s);
  expect_samples_near(buf, [&](gsize i) { return bed[i] * 0.5; });
  gst_buffer_unref(buf);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_volume_change_ramps_over_one_buffer) {
  Src s = src_new();
  g_object_set(s.element, "background-loop", TRUE, NULL);
  fail_unless_equals_int(push_background(s.element, constant_samples(160, 20000)),
                         GST_FLOW_OK);
  gst_harness_play(s.h);
  gst_buffer_unref(next_buffer(s));

  g_object_set(s.element, "background-volume", 0.5, NULL);
  GstBuffer *buf = next_buffer(s);
  /* Sample by sample: a straight line from 1.0 to 0.5, reached on the last
   * frame of the buffer. */
  expect_samples_near(
      buf, [](gsize i) { return 20000 * (1.0 - 0.5 * (i + 1) / FRAMES_PER_BUFFER); });
  gst_buffer_unref(buf);

  buf = next_buffer(s);
  expect_samples_near(buf, [](gsize) { return 10000.0; });
  gst_buffer_unref(buf);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_ducking_follows_speech) {
  Src s = src_new();
  const double duck = 0.25;
  g_object_set(s.element, "duck-volume", duck, "background-loop", TRUE, NULL);
  fail_unless_equals_int(push_background(s.element, constant_samples(240, 16000)),
                         GST_FLOW_OK);
  gst_harness_play(s.h);
  GstBuffer *buf = next_buffer(s);
  expect_samples_near(buf, [](gsize) { return 16000.0; });
  gst_buffer_unref(buf);

  /* Two buffers of speech at 1000. */
  fail_unless_equals_int(
      push_samples(s.element, constant_samples(2 * FRAMES_PER_BUFFER, 1000)),
      GST_FLOW_OK);
  buf = next_buffer(s);
  gst_message_unref(expect_message(s, "first-audio"));
  /* Reaches the ducked level within the ptime after first-audio. */
  expect_samples_near(buf, [&](gsize i) {
    return 1000 + 16000 * (1.0 + (duck - 1.0) * (i + 1) / FRAMES_PER_BUFFER);
  });
  gst_buffer_unref(buf);
  buf = next_buffer(s);
  expect_samples_near(buf, [&](gsize) { return 1000 + 16000 * duck; });
  gst_buffer_unref(buf);

  /* The first buffer without speech: last-audio, and the bed comes back. */
  buf = next_buffer(s);
  gst_message_unref(expect_message(s, "last-audio"));
  expect_samples_near(buf, [&](gsize i) {
    return 16000 * (duck + (1.0 - duck) * (i + 1) / FRAMES_PER_BUFFER);
  });
  gst_buffer_unref(buf);
  buf = next_buffer(s);
  expect_samples_near(buf, [](gsize) { return 16000.0; });
  gst_buffer_unref(buf);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_looped_bed_is_periodic_to_the_sample) {
  Src s = src_new();
  const gsize period = 720; /* 30 ms: not a divisor of the 20 ms buffers */
  std::vector<gint16> bed = speech_samples(period, 5);
  g_object_set(s.element, "background-loop", TRUE, NULL);
  /* Pushed in uneven pieces: the loop joins them seamlessly. */
  std::vector<gint16> head(bed.begin(), bed.begin() + 333);
  std::vector<gint16> tail(bed.begin() + 333, bed.end());
  fail_unless_equals_int(push_background(s.element, head), GST_FLOW_OK);
  fail_unless_equals_int(push_background(s.element, tail), GST_FLOW_OK);
  gst_harness_play(s.h);

  gsize k = 0;
  for (int n = 0; n < 250; n++) { /* 5 s */
    GstBuffer *buf = next_buffer(s);
    fail_if(GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_GAP));
    std::vector<gint16> v = buffer_samples(buf);
    for (gint16 x : v) {
      fail_unless(x == bed[k % period], "sample %" G_GSIZE_FORMAT " is %d, expected %d",
                  k, x, bed[k % period]);
      k++;
    }
    gst_buffer_unref(buf);
  }
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_loop_turned_on_mid_bed_loops_what_is_left) {
  Src s = src_new();
  std::vector<gint16> bed = speech_samples(720, 8);
  fail_unless_equals_int(push_background(s.element, bed), GST_FLOW_OK);
  gst_harness_play(s.h);
  gst_buffer_unref(next_buffer(s)); /* frames 0..479 played once */
  g_object_set(s.element, "background-loop", TRUE, NULL);

  /* The loop is frames 480..719, from the play position on. */
  gsize k = 0;
  for (int n = 0; n < 3; n++) {
    GstBuffer *buf = next_buffer(s);
    std::vector<gint16> v = buffer_samples(buf);
    for (gint16 x : v) {
      fail_unless_equals_int(x, bed[480 + k % 240]);
      k++;
    }
    gst_buffer_unref(buf);
  }
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_clear_background_fades_and_drops) {
  Src s = src_new();
  g_object_set(s.element, "background-loop", TRUE, NULL);
  fail_unless_equals_int(
      push_background(s.element, constant_samples(FRAMES_PER_BUFFER * 3, 8000)),
      GST_FLOW_OK);
  std::vector<gint16> speech = speech_samples(3 * FRAMES_PER_BUFFER);
  gst_harness_play(s.h);
  gst_buffer_unref(next_buffer(s));
  fail_unless_equals_int(push_samples(s.element, speech), GST_FLOW_OK);

  /* One buffer of the bed played; of the two left in this pass the 10 ms
   * (240 frames) fade plays, the rest is dropped. */
  fail_unless_equals_uint64(clear_background(s.element),
                            frames_to_time(2 * FRAMES_PER_BUFFER - 240));
  fail_unless_equals_uint64(queued_time(s.element, "queued-background-time"),
                            frames_to_time(240));

  /* Speech is untouched: it plays exactly, over the fading bed. */
  GstBuffer *buf = next_buffer(s);
  expect_samples_near(buf, [&](gsize i) {
    double bed = i < 240 ? 8000.0 * (239 - i) / 240 : 0.0;
    return speech[i] + bed;
  });
  gst_buffer_unref(buf);
  for (int n = 1; n < 3; n++) {
    buf = next_buffer(s);
    std::vector<gint16> v = buffer_samples(buf);
    fail_unless(memcmp(v.data(), speech.data() + n * FRAMES_PER_BUFFER,
                       FRAMES_PER_BUFFER * sizeof(gint16)) == 0);
    gst_buffer_unref(buf);
  }
  /* The loop is over. */
  buf = next_buffer(s);
  fail_unless(GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_GAP));
  gst_buffer_unref(buf);
  fail_unless_equals_uint64(queued_time(s.element, "queued-background-time"), 0);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_interrupt_leaves_background_playing) {
  Src s = src_new();
  g_object_set(s.element, "interrupt-fade", (guint64)0, NULL);
  std::vector<gint16> bed = speech_samples(4 * FRAMES_PER_BUFFER, 11);
  fail_unless_equals_int(push_background(s.element, bed), GST_FLOW_OK);
  fail_unless_equals_int(
      push_samples(s.element, constant_samples(4 * FRAMES_PER_BUFFER, 100)), GST_FLOW_OK);
  gst_harness_play(s.h);
  gst_buffer_unref(next_buffer(s));

  interrupt(s.element);
  fail_unless_equals_uint64(queued_time(s.element, "queued-background-time"),
                            frames_to_time(3 * FRAMES_PER_BUFFER));
  GstBuffer *buf = next_buffer(s);
  std::vector<gint16> v = buffer_samples(buf);
  fail_unless(memcmp(v.data(), bed.data() + FRAMES_PER_BUFFER,
                     FRAMES_PER_BUFFER * sizeof(gint16)) == 0);
  gst_buffer_unref(buf);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_background_joins_partial_frames) {
  Src s = src_new();
  gst_harness_play(s.h);
  gint16 sample = -1234;
  const guint8 *b = reinterpret_cast<const guint8 *>(&sample);
  fail_unless_equals_int(push_bytes(s.element, b, 1, "push-background"), GST_FLOW_OK);
  fail_unless_equals_int(push_bytes(s.element, b + 1, 1, "push-background"), GST_FLOW_OK);
  GstBuffer *buf = next_buffer(s);
  std::vector<gint16> v = buffer_samples(buf);
  fail_unless_equals_int(v[0], -1234);
  fail_unless(all_zero(v.data() + 1, v.size() - 1));
  gst_buffer_unref(buf);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_max_background_time_blocks_until_room) {
  Src s = src_new();
  g_object_set(s.element, "max-background-time", (guint64)(40 * GST_MSECOND), NULL);
  fail_unless_equals_int(
      push_background(s.element, constant_samples(2 * FRAMES_PER_BUFFER, 1)),
      GST_FLOW_OK);
  gst_harness_play(s.h);

  BlockedPush p;
  fail_unless(blocked_push_start(p, s.element, FRAMES_PER_BUFFER, "push-background"),
              "push did not block with 40 ms queued");
  gst_buffer_unref(next_buffer(s));
  blocked_push_join(p);
  fail_unless_equals_int(p.ret, GST_FLOW_OK);
  fail_unless(p.queued_after <= 40 * GST_MSECOND);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_clear_background_releases_blocked_push) {
  Src s = src_new();
  g_object_set(s.element, "max-background-time", (guint64)(20 * GST_MSECOND), NULL);
  fail_unless_equals_int(
      push_background(s.element, constant_samples(FRAMES_PER_BUFFER, 1)), GST_FLOW_OK);
  BlockedPush p;
  fail_unless(blocked_push_start(p, s.element, FRAMES_PER_BUFFER, "push-background"),
              "push did not block");
  clear_background(s.element);
  blocked_push_join(p);
  fail_unless_equals_int(p.ret, GST_FLOW_FLUSHING);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_unplayable_background_caps_are_refused) {
  Src s = src_new();
  std::vector<gint16> bed = constant_samples(100, 5);
  fail_unless_equals_int(push_background(s.element, bed), GST_FLOW_OK);
  GstCaps *caps = gst_caps_from_string(
      "audio/x-raw, format=S24LE, layout=non-interleaved, rate=24000, channels=1");
  g_object_set(s.element, "background-caps", caps, NULL);
  gst_caps_unref(caps);
  fail_unless_equals_int(push_background(s.element, bed), GST_FLOW_NOT_NEGOTIATED);

  std::string debug = bus_debug(s, GST_MESSAGE_ERROR);
  fail_unless(debug.find("push-background") != std::string::npos &&
                  debug.find("non-interleaved") != std::string::npos,
              "error does not name the signal and caps: %s", debug.c_str());
  fail_unless_equals_uint64(queued_time(s.element, "queued-background-time"),
                            frames_to_time(100));
  src_free(s);
}
GST_END_TEST;

static Suite *background_suite(void) {
  Suite *s = suite_create("background");
  TCase *tc = tcase_create("general");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_background_alone_plays_and_is_not_gap);
  tcase_add_test(tc, test_mix_saturates_instead_of_wrapping);
  tcase_add_test(tc, test_volume_scales_the_bed);
  tcase_add_test(tc, test_volume_change_ramps_over_one_buffer);
  tcase_add_test(tc, test_ducking_follows_speech);
  tcase_add_test(tc, test_looped_bed_is_periodic_to_the_sample);
  tcase_add_test(tc, test_loop_turned_on_mid_bed_loops_what_is_left);
  tcase_add_test(tc, test_clear_background_fades_and_drops);
  tcase_add_test(tc, test_interrupt_leaves_background_playing);
  tcase_add_test(tc, test_background_joins_partial_frames);
  tcase_add_test(tc, test_max_background_time_blocks_until_room);
  tcase_add_test(tc, test_clear_background_releases_blocked_push);
  tcase_add_test(tc, test_unplayable_background_caps_are_refused);
  return s;
}

GST_CHECK_MAIN(background);
