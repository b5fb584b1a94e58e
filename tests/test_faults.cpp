/* agentaudiosrc — element tests: no C++ exception reaches GStreamer's C.
 *
 * This executable replaces the global operator new (the plugin's C++ code
 * resolves to it: it is exported with --export-dynamic), so a test can make
 * every C++ allocation throw std::bad_alloc while it calls one entry point
 * of the element: a signal handler, a vfunc on the streaming thread, a
 * property. Before the element caught exceptions at every entry point, each
 * of these ended the process in std::terminate(). Now each must post an
 * error naming the entry point, return a failure, and leave the element
 * working once allocations succeed again.
 *
 * GLib and GStreamer allocate with malloc and are not affected. Not run
 * under the sanitizers or valgrind, which replace operator new themselves.
 */
#include <atomic>
#include <cstdlib>
#include <new>

#include "srcharness.h"

static std::atomic<bool> failing{false};

void *operator new(std::size_t size) {
  if (failing.load(std::memory_order_relaxed))
    throw std::bad_alloc();
  if (void *p = std::malloc(size ? size : 1))
    return p;
  throw std::bad_alloc();
}

void operator delete(void *p) noexcept {
  std::free(p);
}

void operator delete(void *p, std::size_t) noexcept {
  std::free(p);
}

/* Runs `fn` with every C++ allocation failing. */
template <typename F>
static void without_memory(F &&fn) {
  failing = true;
  fn();
  failing = false;
}

/* The element said it ran out of memory in `where`. */
static void expect_out_of_memory(Src &s, const gchar *where) {
  GstMessage *msg = gst_bus_timed_pop_filtered(s.bus, 10 * GST_SECOND, GST_MESSAGE_ERROR);
  fail_unless(msg != NULL, "no error on the bus for %s", where);
  GError *err = NULL;
  gchar *debug = NULL;
  gst_message_parse_error(msg, &err, &debug);
  fail_unless(g_error_matches(err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NO_SPACE_LEFT),
              "%s: %s", where, err->message);
  fail_unless(debug != NULL && strstr(debug, where) != NULL, "%s: debug '%s'", where,
              debug);
  g_error_free(err);
  g_free(debug);
  gst_message_unref(msg);
}

static const gchar *long_name =
    "a mark whose name is long enough to need an allocation of its own";

GST_START_TEST(test_mark_without_memory) {
  Src s = src_new();
  without_memory([&] { mark(s.element, long_name); });
  expect_out_of_memory(s, "mark");
  mark(s.element, long_name); /* works again */
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_interrupt_without_memory) {
  Src s = src_new();
  fail_unless_equals_int(push_samples(s.element, speech_samples(4800)), GST_FLOW_OK);
  mark(s.element, long_name);
  guint64 dropped = 1;
  without_memory([&] { dropped = interrupt(s.element); });
  fail_unless_equals_uint64(dropped, 0);
  expect_out_of_memory(s, "interrupt");
  interrupt(s.element);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_push_without_memory) {
  Src s = src_new();
  std::vector<gint16> v = speech_samples(4800);
  GstBuffer *buf = gst_buffer_new_memdup(v.data(), v.size() * sizeof(gint16));
  GstFlowReturn ret = GST_FLOW_OK;
  without_memory([&] { g_signal_emit_by_name(s.element, "push-speech", buf, &ret); });
  gst_buffer_unref(buf);
  fail_unless_equals_int(ret, GST_FLOW_ERROR);
  expect_out_of_memory(s, "push-speech");
  fail_unless_equals_int(push_samples(s.element, v), GST_FLOW_OK);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_clear_background_without_memory) {
  Src s = src_new();
  fail_unless_equals_int(push_background(s.element, speech_samples(4800)), GST_FLOW_OK);
  gst_harness_play(s.h);
  gst_buffer_unref(next_buffer(s));
  without_memory([&] { clear_background(s.element); });
  expect_out_of_memory(s, "clear-background");
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_create_without_memory) {
  Src s = src_new();
  fail_unless_equals_int(push_samples(s.element, speech_samples(100)), GST_FLOW_OK);
  mark(s.element, long_name); /* due in the first buffer: create() allocates */
  gst_harness_play(s.h);
  GstTestClock *clock = gst_harness_get_testclock(s.h);
  gst_test_clock_wait_for_next_pending_id(clock, NULL);
  without_memory([&] {
    gst_test_clock_crank(clock);
    expect_out_of_memory(s, "create");
  });
  gst_object_unref(clock);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_stop_without_memory) {
  Src s = src_new();
  fail_unless_equals_int(push_samples(s.element, speech_samples(4800)), GST_FLOW_OK);
  mark(s.element, long_name); /* stop reports it interrupted: it allocates */
  gst_harness_play(s.h);
  gst_buffer_unref(next_buffer(s));
  without_memory([&] { gst_element_set_state(s.element, GST_STATE_READY); });
  expect_out_of_memory(s, "stop");
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_request_pad_without_memory) {
  Src s = src_new();
  GstPad *pad = (GstPad *)1;
  without_memory([&] { pad = gst_element_request_pad_simple(s.element, "speech_%u"); });
  fail_unless(pad == NULL);
  expect_out_of_memory(s, "request_new_pad");
  pad = gst_element_request_pad_simple(s.element, "speech_%u");
  fail_unless(pad != NULL);
  gst_element_release_request_pad(s.element, pad);
  gst_object_unref(pad);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_renegotiation_without_memory) {
  Src s = src_new();
  fail_unless_equals_int(push_samples(s.element, speech_samples(4800)), GST_FLOW_OK);
  gst_harness_play(s.h);
  gst_buffer_unref(next_buffer(s));
  GstTestClock *clock = gst_harness_get_testclock(s.h);
  gst_test_clock_wait_for_next_pending_id(clock, NULL);
  gst_harness_set_sink_caps_str(
      s.h, "audio/x-raw, format=S16LE, layout=interleaved, rate=48000, channels=1");
  gst_harness_push_upstream_event(s.h, gst_event_new_reconfigure());
  /* Negotiation happens before the next create(): release this wait, and
   * the rate change's new timeline segment cannot be allocated. */
  without_memory([&] {
    gst_test_clock_crank(clock);
    expect_out_of_memory(s, "set_caps");
  });
  gst_object_unref(clock);
  src_free(s);
}
GST_END_TEST;

static Suite *faults_suite(void) {
  Suite *suite = suite_create("faults");
  TCase *tc = tcase_create("out-of-memory");
  suite_add_tcase(suite, tc);
  tcase_add_test(tc, test_mark_without_memory);
  tcase_add_test(tc, test_interrupt_without_memory);
  tcase_add_test(tc, test_push_without_memory);
  tcase_add_test(tc, test_clear_background_without_memory);
  tcase_add_test(tc, test_create_without_memory);
  tcase_add_test(tc, test_stop_without_memory);
  tcase_add_test(tc, test_request_pad_without_memory);
  tcase_add_test(tc, test_renegotiation_without_memory);
  return suite;
}

GST_CHECK_MAIN(faults);
