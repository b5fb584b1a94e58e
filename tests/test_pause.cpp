/* agentaudiosrc — element tests: pause and resume (false interruptions).
 *
 * A pause fades the speech out in the next buffer and holds it; a resume
 * plays it again from the first sample the fade attenuated, fading in, so
 * nothing is lost. Expected samples are computed with the mixer's own
 * rounding (a gain ramp from + step * i in float; below unity the gain in
 * Q15 and the product rounded half up; at unity the sample itself), so the
 * comparisons are exact.
 */
#include <cmath>

#include "srcharness.h"

#define FADE 240 /* the default interrupt-fade, 10 ms at 24 kHz */

static gint16 scaled(gint16 s, float gain) {
  if (std::fabs(gain) < 32767.0f / 32768.0f) {
    const gint32 q = (gint32)std::nearbyint(gain * 32768.0f);
    return (gint16)CLAMP((s * q + 16384) >> 15, -32768, 32767);
  }
  return (gint16)CLAMP((gint32)std::nearbyint(s * gain), -32768, 32767);
}

static std::vector<gint16> faded_out(const gint16 *in, gsize n, gsize length) {
  const float from = (float)(length - 1) / (float)length;
  const float step = -1.0f / (float)length;
  std::vector<gint16> v(n);
  for (gsize i = 0; i < n; i++)
    v[i] = scaled(in[i], from + step * (float)i);
  return v;
}

static std::vector<gint16> faded_in(const gint16 *in, gsize n, gsize length) {
  const float step = 1.0f / (float)length;
  std::vector<gint16> v(n);
  for (gsize i = 0; i < n; i++)
    v[i] = i < length ? scaled(in[i], step + step * (float)i) : in[i];
  return v;
}

static guint64 pause(GstElement *e) {
  guint64 held = G_MAXUINT64;
  g_signal_emit_by_name(e, "pause", &held);
  return held;
}

static guint64 resume(GstElement *e) {
  guint64 paused_for = G_MAXUINT64;
  g_signal_emit_by_name(e, "resume", &paused_for);
  return paused_for;
}

static gboolean is_paused(GstElement *e) {
  gboolean paused;
  g_object_get(e, "paused", &paused, NULL);
  return paused;
}

static gboolean is_speaking(GstElement *e) {
  gboolean speaking;
  g_object_get(e, "speaking", &speaking, NULL);
  return speaking;
}

static std::vector<gint16> pull_samples(Src &s) {
  GstBuffer *buf = next_buffer(s);
  std::vector<gint16> v = buffer_samples(buf);
  gst_buffer_unref(buf);
  return v;
}

static void expect_range(const std::vector<gint16> &got, gsize at,
                         const std::vector<gint16> &want, const gchar *what) {
  for (gsize i = 0; i < want.size(); i++)
    fail_unless(got[at + i] == want[i], "%s: frame %zu is %d, expected %d", what, at + i,
                got[at + i], want[i]);
}

GST_START_TEST(test_pause_then_resume_loses_nothing_to_the_sample) {
  Src s = src_new();
  const gsize n = 8 * FRAMES_PER_BUFFER;
  std::vector<gint16> in = speech_samples(n);
  fail_unless_equals_int(push_samples(s.element, in), GST_FLOW_OK);
  gst_harness_play(s.h);
  expect_range(pull_samples(s), 0, std::vector<gint16>(in.begin(), in.begin() + 480),
               "before the pause");
  gst_message_unref(expect_message(s, "first-audio"));

  fail_unless_equals_uint64(pause(s.element), frames_to_time(n - 480));
  fail_unless(is_paused(s.element));

  /* Buffer 1: the fade over frames 480..719, then silence. */
  std::vector<gint16> v = pull_samples(s);
  expect_range(v, 0, faded_out(in.data() + 480, FADE, FADE), "the pause's fade");
  fail_unless(all_zero(v.data() + FADE, 480 - FADE));
  GstMessage *msg = expect_message(s, "paused");
  fail_unless_equals_uint64(get_u64(msg, "running-time"), frames_to_time(480 + FADE));
  fail_unless_equals_uint64(get_u64(msg, "played"), frames_to_time(480));
  gst_message_unref(msg);

  /* Held: silence, the utterance goes on, nothing is taken. */
  for (int i = 0; i < 2; i++) {
    GstBuffer *buf = next_buffer(s);
    fail_unless(GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_GAP));
    gst_buffer_unref(buf);
  }
  expect_no_message(s);
  fail_unless(is_speaking(s.element));
  fail_unless_equals_uint64(queued_speech_time(s.element), frames_to_time(n - 480));

  /* The resume is in buffer 4: paused from frame 720 to frame 1920. */
  fail_unless_equals_uint64(resume(s.element),
                            frames_to_time(1920) - frames_to_time(720));
  fail_unless(!is_paused(s.element));
  std::vector<gint16> out;
  for (int i = 0; i < 8; i++) {
    std::vector<gint16> b = pull_samples(s);
    out.insert(out.end(), b.begin(), b.end());
  }
  msg = expect_message(s, "resumed");
  fail_unless_equals_uint64(get_u64(msg, "running-time"), frames_to_time(1920));
  fail_unless_equals_uint64(get_u64(msg, "paused-for"),
                            frames_to_time(1920) - frames_to_time(720));
  gst_message_unref(msg);

  /* Everything from frame 480 on, the first FADE frames fading in. */
  std::vector<gint16> want = faded_in(in.data() + 480, n - 480, FADE);
  expect_range(out, 0, want, "after the resume");
  fail_unless(all_zero(out.data() + want.size(), out.size() - want.size()));
  msg = expect_message(s, "last-audio");
  fail_unless_equals_uint64(get_u64(msg, "running-time"), frames_to_time(1920 + n - 480));
  fail_unless_equals_uint64(get_u64(msg, "duration"), frames_to_time(n));
  fail_unless(!get_bool(msg, "interrupted"));
  gst_message_unref(msg);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_pause_fade_longer_than_a_buffer) {
  Src s = src_new();
  const gsize fade = 1200; /* 50 ms: two and a half buffers */
  g_object_set(s.element, "interrupt-fade", (guint64)(50 * GST_MSECOND), NULL);
  const gsize n = 10 * FRAMES_PER_BUFFER;
  std::vector<gint16> in = speech_samples(n);
  fail_unless_equals_int(push_samples(s.element, in), GST_FLOW_OK);
  gst_harness_play(s.h);
  gst_buffer_unref(next_buffer(s));
  pause(s.element);
  std::vector<gint16> out;
  for (int i = 0; i < 4; i++) {
    std::vector<gint16> v = pull_samples(s);
    out.insert(out.end(), v.begin(), v.end());
  }
  expect_range(out, 0, faded_out(in.data() + 480, fade, fade), "the pause's fade");
  fail_unless(all_zero(out.data() + fade, out.size() - fade));
  resume(s.element);
  out.clear();
  for (int i = 0; i < 12; i++) {
    std::vector<gint16> v = pull_samples(s);
    out.insert(out.end(), v.begin(), v.end());
  }
  expect_range(out, 0, faded_in(in.data() + 480, n - 480, fade), "after the resume");
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_interrupt_while_paused_drops_the_held_speech) {
  Src s = src_new();
  fail_unless_equals_int(push_samples(s.element, speech_samples(3000)), GST_FLOW_OK);
  mark(s.element, "end");
  gst_harness_play(s.h);
  gst_buffer_unref(next_buffer(s));
  gst_message_unref(expect_message(s, "first-audio"));
  pause(s.element);
  gst_buffer_unref(next_buffer(s));
  gst_message_unref(expect_message(s, "paused"));
  gst_buffer_unref(next_buffer(s));

  /* Dropped at once, from this thread: the fade frames kept for replaying
   * too. */
  fail_unless_equals_uint64(interrupt(s.element), frames_to_time(3000 - 480));
  fail_unless(!is_paused(s.element));
  fail_unless(!is_speaking(s.element));
  GstMessage *msg = expect_message(s, "last-audio");
  fail_unless(get_bool(msg, "interrupted"));
  fail_unless_equals_uint64(get_u64(msg, "running-time"), frames_to_time(480 + FADE));
  fail_unless_equals_uint64(get_u64(msg, "duration"), frames_to_time(480));
  fail_unless_equals_uint64(get_u64(msg, "dropped"), frames_to_time(3000 - 480));
  gst_message_unref(msg);
  msg = expect_message(s, "mark");
  fail_unless(get_bool(msg, "interrupted"));
  fail_unless_equals_uint64(get_u64(msg, "running-time"), frames_to_time(480 + FADE));
  gst_message_unref(msg);

  GstBuffer *buf = next_buffer(s);
  fail_unless(GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_GAP));
  gst_buffer_unref(buf);
  expect_no_message(s);
  fail_unless_equals_uint64(resume(s.element), 0);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_pushes_and_marks_while_paused_queue_normally) {
  Src s = src_new();
  std::vector<gint16> a = speech_samples(1000, 1), b = speech_samples(500, 2);
  fail_unless_equals_int(push_samples(s.element, a), GST_FLOW_OK);
  gst_harness_play(s.h);
  gst_buffer_unref(next_buffer(s));
  pause(s.element);
  gst_buffer_unref(next_buffer(s));
  mark(s.element, "after-a");
  fail_unless_equals_int(push_samples(s.element, b), GST_FLOW_OK);
  mark(s.element, "after-b");
  gst_buffer_unref(next_buffer(s));
  fail_unless_equals_uint64(queued_speech_time(s.element), frames_to_time(1500 - 480));
  resume(s.element); /* from buffer 3, frame 1440 */
  std::vector<gint16> out;
  for (int i = 0; i < 4; i++) {
    std::vector<gint16> v = pull_samples(s);
    out.insert(out.end(), v.begin(), v.end());
  }
  std::vector<gint16> rest(a.begin() + 480, a.end());
  rest.insert(rest.end(), b.begin(), b.end());
  expect_range(out, 0, faded_in(rest.data(), rest.size(), FADE), "after the resume");

  std::vector<std::pair<std::string, guint64>> marks;
  while (GstMessage *msg = pop_element_message(s)) {
    if (gst_message_has_name(msg, "mark"))
      marks.emplace_back(get_str(msg, "name"), get_u64(msg, "running-time"));
    gst_message_unref(msg);
  }
  fail_unless_equals_int(marks.size(), 2);
  fail_unless_equals_string(marks[0].first.c_str(), "after-a");
  fail_unless_equals_uint64(marks[0].second, frames_to_time(1440 + 520));
  fail_unless_equals_string(marks[1].first.c_str(), "after-b");
  fail_unless_equals_uint64(marks[1].second, frames_to_time(1440 + 1020));
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_end_of_stream_while_paused_waits) {
  Src s = src_new();
  fail_unless_equals_int(push_samples(s.element, speech_samples(700)), GST_FLOW_OK);
  gst_harness_play(s.h);
  gst_buffer_unref(next_buffer(s));
  pause(s.element);
  fail_unless_equals_int(end_of_stream(s.element), GST_FLOW_OK);
  for (int i = 0; i < 5; i++)
    gst_buffer_unref(next_buffer(s)); /* no EOS while held */
  resume(s.element);
  GstBuffer *buf = next_buffer(s);
  fail_if(GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_GAP));
  gst_buffer_unref(buf);
  /* Then EOS, once the rest has played. */
  GstTestClock *clock = gst_harness_get_testclock(s.h);
  gst_test_clock_crank(clock);
  gst_object_unref(clock);
  GstEvent *event;
  bool eos = false;
  while ((event = gst_harness_pull_event(s.h)) != NULL) {
    eos = eos || GST_EVENT_TYPE(event) == GST_EVENT_EOS;
    gst_event_unref(event);
    if (eos)
      break;
  }
  fail_unless(eos);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_pause_and_resume_no_ops) {
  Src s = src_new();
  gst_harness_play(s.h);
  gst_buffer_unref(next_buffer(s));
  fail_unless_equals_uint64(pause(s.element), 0); /* nothing playing */
  fail_unless(!is_paused(s.element));
  fail_unless_equals_uint64(resume(s.element), 0); /* not paused */

  fail_unless_equals_int(push_samples(s.element, speech_samples(2000)), GST_FLOW_OK);
  gst_buffer_unref(next_buffer(s));
  fail_unless(pause(s.element) > 0);
  fail_unless_equals_uint64(pause(s.element), 0); /* twice */
  gst_buffer_unref(next_buffer(s));
  gst_buffer_unref(next_buffer(s));
  fail_unless(resume(s.element) > 0);
  fail_unless_equals_uint64(resume(s.element), 0); /* twice */

  /* A pause called off before its fade began changes nothing. */
  for (int i = 0; i < 6; i++)
    gst_buffer_unref(next_buffer(s));
  while (GstMessage *msg = pop_element_message(s))
    gst_message_unref(msg);
  const std::vector<gint16> next = speech_samples(2000, 3);
  fail_unless_equals_int(push_samples(s.element, next), GST_FLOW_OK);
  gst_buffer_unref(next_buffer(s));
  gst_message_unref(expect_message(s, "first-audio"));
  pause(s.element);
  resume(s.element);
  std::vector<gint16> v = pull_samples(s);
  expect_range(v, 0, std::vector<gint16>(next.begin() + 480, next.begin() + 960),
               "a pause called off");
  expect_no_message(s);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_stop_while_paused_discards) {
  Src s = src_new();
  fail_unless_equals_int(push_samples(s.element, speech_samples(3000)), GST_FLOW_OK);
  mark(s.element, "end");
  gst_harness_play(s.h);
  gst_buffer_unref(next_buffer(s));
  pause(s.element);
  gst_buffer_unref(next_buffer(s));
  while (GstMessage *msg = pop_element_message(s))
    gst_message_unref(msg);
  gst_element_set_state(s.element, GST_STATE_READY);
  GstMessage *msg = expect_message(s, "last-audio");
  fail_unless(get_bool(msg, "interrupted"));
  fail_unless_equals_uint64(get_u64(msg, "duration"), frames_to_time(480));
  gst_message_unref(msg);
  gst_message_unref(expect_message(s, "mark"));
  fail_unless(!is_paused(s.element));
  fail_unless_equals_uint64(queued_speech_time(s.element), 0);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_background_plays_on_ducked_while_paused) {
  Src s = src_new();
  g_object_set(s.element, "duck-volume", 0.5, NULL);
  fail_unless_equals_int(push_background(s.element, constant_samples(20 * 480, 1000)),
                         GST_FLOW_OK);
  fail_unless_equals_int(push_samples(s.element, constant_samples(3000, 2)), GST_FLOW_OK);
  gst_harness_play(s.h);
  gst_buffer_unref(next_buffer(s));
  pause(s.element);
  gst_buffer_unref(next_buffer(s)); /* the fade */
  for (int i = 0; i < 3; i++) {
    std::vector<gint16> v = pull_samples(s);
    for (gint16 x : v)
      fail_unless_equals_int(x, 500); /* the bed alone, still ducked */
  }
  src_free(s);
}
GST_END_TEST;

static Suite *pause_suite(void) {
  Suite *suite = suite_create("pause");
  TCase *tc = tcase_create("pause");
  suite_add_tcase(suite, tc);
  tcase_add_test(tc, test_pause_then_resume_loses_nothing_to_the_sample);
  tcase_add_test(tc, test_pause_fade_longer_than_a_buffer);
  tcase_add_test(tc, test_interrupt_while_paused_drops_the_held_speech);
  tcase_add_test(tc, test_pushes_and_marks_while_paused_queue_normally);
  tcase_add_test(tc, test_end_of_stream_while_paused_waits);
  tcase_add_test(tc, test_pause_and_resume_no_ops);
  tcase_add_test(tc, test_stop_while_paused_discards);
  tcase_add_test(tc, test_background_plays_on_ducked_while_paused);
  return suite;
}

GST_CHECK_MAIN(pause);
