/* agentaudiosrc — element tests: the request pads src_%u and speech_%u.
 *
 * A second harness on the same element requests a pad by template name and
 * links to it. Request pads are pushed from the streaming thread before src,
 * so once src's buffer has been pulled, the request pads' buffers are there.
 */
#include <atomic>

#include "srcharness.h"

static GstHarness *attach(Src &s, const gchar *templ) {
  GstHarness *h = gst_harness_new_with_element(s.element, NULL, templ);
  fail_unless(h != NULL);
  return h;
}

/* The next event on a request pad's harness, which must be of `type`. */
static GstEvent *expect_event(GstHarness *h, GstEventType type) {
  GstEvent *event = gst_harness_try_pull_event(h);
  fail_unless(event != NULL, "expected a %s event", gst_event_type_get_name(type));
  fail_unless_equals_string(GST_EVENT_TYPE_NAME(event), gst_event_type_get_name(type));
  return event;
}

static void expect_stream_start_caps_segment(GstHarness *h, Src &s) {
  GstEvent *event = expect_event(h, GST_EVENT_STREAM_START);
  const gchar *id = NULL;
  gst_event_parse_stream_start(event, &id);
  GstPad *src = gst_element_get_static_pad(s.element, "src");
  GstEvent *src_start = gst_pad_get_sticky_event(src, GST_EVENT_STREAM_START, 0);
  const gchar *src_id = NULL;
  gst_event_parse_stream_start(src_start, &src_id);
  fail_unless(g_strcmp0(id, src_id) != 0, "stream id %s is not unique", id);
  gst_event_unref(src_start);
  gst_event_unref(event);

  event = expect_event(h, GST_EVENT_CAPS);
  GstCaps *caps, *src_caps = gst_pad_get_current_caps(src);
  gst_event_parse_caps(event, &caps);
  fail_unless(gst_caps_is_equal(caps, src_caps));
  gst_caps_unref(src_caps);
  gst_event_unref(event);

  gst_event_unref(expect_event(h, GST_EVENT_SEGMENT));
  gst_object_unref(src);
}

static void expect_same_timing(GstBuffer *a, GstBuffer *b) {
  fail_unless_equals_uint64(GST_BUFFER_PTS(a), GST_BUFFER_PTS(b));
  fail_unless_equals_uint64(GST_BUFFER_DURATION(a), GST_BUFFER_DURATION(b));
  fail_unless_equals_uint64(GST_BUFFER_OFFSET(a), GST_BUFFER_OFFSET(b));
  fail_unless_equals_uint64(GST_BUFFER_OFFSET_END(a), GST_BUFFER_OFFSET_END(b));
}

GST_START_TEST(test_src_pad_carries_what_src_carries) {
  Src s = src_new();
  GstHarness *copy = attach(s, "src_%u");
  fail_unless_equals_int(push_background(s.element, speech_samples(3000, 2)),
                         GST_FLOW_OK);
  fail_unless_equals_int(push_samples(s.element, speech_samples(700)), GST_FLOW_OK);
  gst_harness_play(s.h);

  for (int i = 0; i < 5; i++) {
    GstBuffer *a = next_buffer(s);
    GstBuffer *b = gst_harness_pull(copy);
    if (i == 0)
      expect_stream_start_caps_segment(copy, s);
    expect_same_timing(a, b);
    fail_unless_equals_int(GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_DISCONT), i == 0);
    fail_unless_equals_int(GST_BUFFER_FLAG_IS_SET(a, GST_BUFFER_FLAG_GAP),
                           GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_GAP));
    std::vector<gint16> va = buffer_samples(a), vb = buffer_samples(b);
    fail_unless(va == vb, "src_0 differs from src in buffer %d", i);
    gst_buffer_unref(a);
    gst_buffer_unref(b);
  }
  gst_harness_teardown(copy);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_speech_pad_carries_speech_alone) {
  Src s = src_new();
  GstHarness *voice = attach(s, "speech_%u");
  g_object_set(s.element, "background-loop", TRUE, NULL);
  fail_unless_equals_int(push_background(s.element, constant_samples(100, 1000)),
                         GST_FLOW_OK);
  std::vector<gint16> speech = speech_samples(300);
  fail_unless_equals_int(push_samples(s.element, speech), GST_FLOW_OK);
  gst_harness_play(s.h);

  GstBuffer *a = next_buffer(s);
  GstBuffer *b = gst_harness_pull(voice);
  expect_stream_start_caps_segment(voice, s);
  expect_same_timing(a, b);
  std::vector<gint16> mixed = buffer_samples(a), alone = buffer_samples(b);
  for (gsize i = 0; i < 300; i++) {
    fail_unless_equals_int(alone[i], speech[i]);
    fail_unless_equals_int(mixed[i], speech[i] + 1000);
  }
  fail_unless(all_zero(alone.data() + 300, alone.size() - 300));
  fail_unless_equals_int(mixed[300], 1000);
  fail_if(GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_GAP));
  gst_buffer_unref(a);
  gst_buffer_unref(b);

  /* No speech: silence and GAP on speech_0, the bed on src. */
  a = next_buffer(s);
  b = gst_harness_pull(voice);
  expect_same_timing(a, b);
  fail_unless(GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_GAP));
  fail_if(GST_BUFFER_FLAG_IS_SET(a, GST_BUFFER_FLAG_GAP));
  alone = buffer_samples(b);
  fail_unless(all_zero(alone.data(), alone.size()));
  gst_buffer_unref(a);
  gst_buffer_unref(b);

  gst_harness_teardown(voice);
  src_free(s);
}
GST_END_TEST;

struct Requester {
  Src *s;
  GstHarness *h = nullptr;
};

static gpointer request_thread(gpointer data) {
  Requester *r = static_cast<Requester *>(data);
  r->h = attach(*r->s, "speech_%u");
  return NULL;
}

GST_START_TEST(test_pad_requested_while_playing_from_another_thread) {
  Src s = src_new();
  gst_harness_play(s.h);
  gst_buffer_unref(next_buffer(s));
  gst_buffer_unref(next_buffer(s));

  /* The element is waiting for buffer 2 when another thread requests. */
  fail_unless(gst_harness_wait_for_clock_id_waits(s.h, 1, 60));
  Requester r;
  r.s = &s;
  g_thread_join(g_thread_new("requester", request_thread, &r));

  GstBuffer *a = next_buffer(s);
  GstBuffer *b = gst_harness_pull(r.h);
  expect_stream_start_caps_segment(r.h, s);
  fail_unless_equals_uint64(GST_BUFFER_PTS(b), 2 * BUFFER_TIME);
  fail_unless(GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_DISCONT));
  fail_if(GST_BUFFER_FLAG_IS_SET(a, GST_BUFFER_FLAG_DISCONT));
  gst_buffer_unref(a);
  gst_buffer_unref(b);

  b = (gst_buffer_unref(next_buffer(s)), gst_harness_pull(r.h));
  fail_if(GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_DISCONT));
  gst_buffer_unref(b);
  gst_harness_teardown(r.h);
  src_free(s);
}
GST_END_TEST;

/* Waits (up to the harness's 60 s) for EOS: src gets it from GstBaseSrc
 * after create() returned, the request pads before. */
static bool has_eos(GstHarness *h) {
  while (GstEvent *event = gst_harness_pull_event(h)) {
    bool eos = GST_EVENT_TYPE(event) == GST_EVENT_EOS;
    gst_event_unref(event);
    if (eos)
      return true;
  }
  return false;
}

GST_START_TEST(test_eos_reaches_every_pad) {
  Src s = src_new();
  GstHarness *copy = attach(s, "src_%u");
  GstHarness *voice = attach(s, "speech_%u");
  fail_unless_equals_int(push_samples(s.element, speech_samples(100)), GST_FLOW_OK);
  fail_unless_equals_int(end_of_stream(s.element), GST_FLOW_OK);
  gst_harness_play(s.h);
  gst_buffer_unref(next_buffer(s));
  fail_unless(gst_harness_crank_single_clock_wait(s.h));

  fail_unless(has_eos(s.h));
  fail_unless(has_eos(copy));
  fail_unless(has_eos(voice));
  gst_harness_teardown(copy);
  gst_harness_teardown(voice);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_eos_from_num_buffers_or_an_event_reaches_request_pads) {
  /* num-buffers */
  Src s = src_new();
  g_object_set(s.element, "num-buffers", 2, NULL);
  GstHarness *voice = attach(s, "speech_%u");
  gst_harness_play(s.h);
  gst_buffer_unref(next_buffer(s));
  gst_buffer_unref(next_buffer(s));
  fail_unless(has_eos(s.h));
  fail_unless(has_eos(voice));
  gst_harness_teardown(voice);
  src_free(s);

  /* an EOS event sent to the element, as gst-launch -e does */
  s = src_new();
  GstHarness *copy = attach(s, "src_%u");
  gst_harness_play(s.h);
  gst_buffer_unref(next_buffer(s));
  fail_unless(gst_element_send_event(s.element, gst_event_new_eos()));
  fail_unless(has_eos(s.h));
  fail_unless(has_eos(copy));
  gst_harness_teardown(copy);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_renegotiation_reaches_request_pads) {
  Src s = src_new();
  GstHarness *copy = attach(s, "src_%u");
  gst_harness_play(s.h);
  gst_buffer_unref(next_buffer(s));
  gst_buffer_unref(gst_harness_pull(copy));

  GstCaps *caps = gst_caps_from_string(
      "audio/x-raw, format=S16LE, layout=interleaved, rate=16000, channels=1");
  g_object_set(s.element, "speech-caps", caps, NULL);
  gst_harness_push_upstream_event(s.h, gst_event_new_reconfigure());

  /* The buffer the element waited for is still 24 kHz; the next is not. */
  gst_buffer_unref(next_buffer(s));
  gst_buffer_unref(gst_harness_pull(copy));
  GstBuffer *a = next_buffer(s);
  GstBuffer *b = gst_harness_pull(copy);
  fail_unless_equals_int(gst_buffer_get_size(b), 320 * sizeof(gint16));
  fail_unless_equals_uint64(GST_BUFFER_PTS(a), 2 * BUFFER_TIME); /* continuous */
  expect_same_timing(a, b);
  GstCaps *current = gst_pad_get_current_caps(copy->sinkpad);
  fail_unless(gst_caps_is_equal(current, caps), "src_0 did not get the new caps");
  gst_caps_unref(current);
  gst_caps_unref(caps);
  gst_buffer_unref(a);
  gst_buffer_unref(b);
  gst_harness_teardown(copy);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_unlinked_or_flushing_pads_never_stop_src) {
  Src s = src_new();
  GstPad *unlinked = gst_element_request_pad_simple(s.element, "src_%u");
  fail_unless(unlinked != NULL);
  GstHarness *flushing = attach(s, "speech_%u");
  gst_harness_play(s.h);
  gst_buffer_unref(next_buffer(s));
  gst_pad_set_active(flushing->sinkpad, FALSE);

  for (int i = 1; i < 6; i++) {
    GstBuffer *buf = next_buffer(s);
    fail_unless_equals_uint64(GST_BUFFER_PTS(buf), i * BUFFER_TIME);
    gst_buffer_unref(buf);
  }
  gst_element_release_request_pad(s.element, unlinked);
  gst_object_unref(unlinked);
  gst_harness_teardown(flushing);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_failing_branch_is_reported_once) {
  /* A branch that refuses src's caps gets nothing: said once on the bus,
   * while src carries on. */
  Src s = src_new();
  GstHarness *picky = attach(s, "src_%u");
  gst_harness_set_sink_caps_str(
      picky, "audio/x-raw, format=S16LE, layout=interleaved, rate=48000, channels=1");
  gst_harness_play(s.h);
  for (int i = 0; i < 4; i++)
    gst_buffer_unref(next_buffer(s));
  std::string debug = bus_debug(s, GST_MESSAGE_WARNING, "for the failing branch");
  fail_unless(debug.find("src_0") != std::string::npos &&
                  debug.find("not-negotiated") != std::string::npos,
              "%s", debug.c_str());
  fail_unless(gst_bus_pop_filtered(s.bus, GST_MESSAGE_WARNING) == NULL,
              "said more than once");
  gst_harness_teardown(picky);
  src_free(s);
}
GST_END_TEST;

struct Churn {
  GstElement *element;
  std::atomic<bool> done{false};
};

static gpointer churn_thread(gpointer data) {
  Churn *c = static_cast<Churn *>(data);
  for (int i = 0; i < 100; i++) {
    GstPad *a = gst_element_request_pad_simple(c->element, "src_%u");
    GstPad *b = gst_element_request_pad_simple(c->element, "speech_%u");
    fail_unless(a != NULL && b != NULL);
    gst_element_release_request_pad(c->element, a);
    gst_element_release_request_pad(c->element, b);
    gst_object_unref(a);
    gst_object_unref(b);
  }
  c->done = true;
  return NULL;
}

GST_START_TEST(test_release_while_playing_never_deadlocks) {
  Src s = src_new();
  g_object_set(s.element, "background-loop", TRUE, NULL);
  fail_unless_equals_int(push_background(s.element, speech_samples(100)), GST_FLOW_OK);
  gst_harness_play(s.h);

  Churn c;
  c.element = s.element;
  GThread *thread = g_thread_new("churn", churn_thread, &c);
  /* Keep the streaming thread pushing while pads come and go; a deadlock
   * fails here instead of hanging the run. */
  gint64 deadline = g_get_monotonic_time() + 60 * G_TIME_SPAN_SECOND;
  while (!c.done) {
    fail_unless(g_get_monotonic_time() < deadline, "request/release deadlocked");
    gst_buffer_unref(next_buffer(s));
  }
  g_thread_join(thread);

  GstIterator *it = gst_element_iterate_src_pads(s.element);
  GValue item = G_VALUE_INIT;
  int pads = 0;
  while (gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
    pads++;
    g_value_reset(&item);
  }
  g_value_unset(&item);
  gst_iterator_free(it);
  fail_unless_equals_int(pads, 1); /* only src is left */
  src_free(s);
}
GST_END_TEST;

static Suite *requestpads_suite(void) {
  Suite *s = suite_create("requestpads");
  TCase *tc = tcase_create("general");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_src_pad_carries_what_src_carries);
  tcase_add_test(tc, test_speech_pad_carries_speech_alone);
  tcase_add_test(tc, test_pad_requested_while_playing_from_another_thread);
  tcase_add_test(tc, test_eos_reaches_every_pad);
  tcase_add_test(tc, test_eos_from_num_buffers_or_an_event_reaches_request_pads);
  tcase_add_test(tc, test_renegotiation_reaches_request_pads);
  tcase_add_test(tc, test_unlinked_or_flushing_pads_never_stop_src);
  tcase_add_test(tc, test_failing_branch_is_reported_once);
  tcase_add_test(tc, test_release_while_playing_never_deadlocks);
  return s;
}

GST_CHECK_MAIN(requestpads);
