/* agentaudiosrc — element tests: the bad-input catalogue (docs/BAD_INPUT.md).
 * Each test is one row: what the element does with the input, and that it
 * loses nothing already queued. */
#include <gst/check/gsttestclock.h>

#include <atomic>
#include <string>

#include "srcharness.h"

GST_START_TEST(test_null_buffer_is_refused_and_queue_kept) {
  Src s = src_new();
  fail_unless_equals_int(push_samples(s.element, speech_samples(100)), GST_FLOW_OK);

  const gchar *signals[] = {"push-speech", "push-background", "push-speech-sample"};
  for (const gchar *signal : signals) {
    GstFlowReturn ret = GST_FLOW_OK;
    g_signal_emit_by_name(s.element, signal, NULL, &ret);
    fail_unless_equals_int(ret, GST_FLOW_ERROR);
    std::string debug = bus_debug(s, GST_MESSAGE_WARNING);
    fail_unless(debug.find(signal) != std::string::npos, "warning does not name %s: %s",
                signal, debug.c_str());
  }
  fail_unless_equals_uint64(queued_speech_time(s.element), frames_to_time(100));
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_zero_length_push_queues_nothing) {
  Src s = src_new();
  const gchar *signals[] = {"push-speech", "push-background"};
  for (const gchar *signal : signals) {
    GstBuffer *empty = gst_buffer_new(); /* no memory at all */
    GstFlowReturn ret = GST_FLOW_ERROR;
    g_signal_emit_by_name(s.element, signal, empty, &ret);
    fail_unless_equals_int(ret, GST_FLOW_OK);
    gst_buffer_unref(empty);
  }
  fail_unless_equals_uint64(queued_speech_time(s.element), 0);
  gst_harness_play(s.h);
  GstBuffer *buf = next_buffer(s);
  fail_unless(GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_GAP));
  gst_buffer_unref(buf);
  expect_no_message(s);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_absurd_input_rates_and_channels_are_refused) {
  Src s = src_new();
  fail_unless_equals_int(push_samples(s.element, speech_samples(100)), GST_FLOW_OK);
  const gchar *caps_strs[] = {
      /* a few KB at 1 Hz would be gigabytes at the output rate */
      "audio/x-raw, format=S16LE, layout=interleaved, rate=1, channels=1",
      "audio/x-raw, format=S16LE, layout=interleaved, rate=100000000, channels=1",
      /* no channel positions GstAudioConverter could mix down */
      "audio/x-raw, format=S16LE, layout=interleaved, rate=24000, channels=64",
  };
  for (const gchar *caps_str : caps_strs) {
    GstCaps *caps = gst_caps_from_string(caps_str);
    g_object_set(s.element, "speech-caps", caps, NULL);
    gst_caps_unref(caps);
    fail_unless_equals_int(push_samples(s.element, speech_samples(64 * 10)),
                           GST_FLOW_NOT_NEGOTIATED);
    std::string debug = bus_debug(s, GST_MESSAGE_ERROR);
    fail_unless(debug.find("push-speech") != std::string::npos, "%s", debug.c_str());
  }
  fail_unless_equals_uint64(queued_speech_time(s.element), frames_to_time(100));
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_out_of_range_speech_rate_plays_at_nearest_output_rate) {
  /* 4 kHz speech is valid input; the output cannot go below 8 kHz. */
  Src s = src_new();
  GstCaps *caps = gst_caps_from_string(
      "audio/x-raw, format=S16LE, layout=interleaved, rate=4000, channels=1");
  g_object_set(s.element, "speech-caps", caps, NULL);
  gst_caps_unref(caps);
  fail_unless_equals_int(push_samples(s.element, speech_samples(400)), GST_FLOW_OK);
  gst_harness_play(s.h);
  GstBuffer *buf = next_buffer(s);
  fail_unless_equals_int(gst_buffer_get_size(buf),
                         160 * sizeof(gint16)); /* 20 ms at 8 kHz */
  gst_buffer_unref(buf);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_extreme_ptimes_work) {
  const guint ptimes[] = {1, 1000};
  for (guint ptime : ptimes) {
    Src s = src_new();
    g_object_set(s.element, "ptime", ptime, NULL);
    fail_unless_equals_int(push_samples(s.element, speech_samples(30)), GST_FLOW_OK);
    gst_harness_play(s.h);
    for (int i = 0; i < 3; i++) {
      GstBuffer *buf = next_buffer(s);
      fail_unless_equals_int(gst_buffer_get_size(buf),
                             RATE * ptime / 1000 * sizeof(gint16));
      fail_unless_equals_uint64(GST_BUFFER_PTS(buf), i * ptime * GST_MSECOND);
      gst_buffer_unref(buf);
    }
    src_free(s);
  }
}
GST_END_TEST;

GST_START_TEST(test_background_pushes_after_eos_are_eos) {
  Src s = src_new();
  g_object_set(s.element, "max-background-time", (guint64)(20 * GST_MSECOND), NULL);
  fail_unless_equals_int(
      push_background(s.element, constant_samples(FRAMES_PER_BUFFER, 1)), GST_FLOW_OK);
  BlockedPush p;
  fail_unless(blocked_push_start(p, s.element, 10, "push-background"),
              "push did not block");
  /* end-of-stream wakes the blocked push, and later pushes are EOS too. */
  fail_unless_equals_int(end_of_stream(s.element), GST_FLOW_OK);
  blocked_push_join(p);
  fail_unless_equals_int(p.ret, GST_FLOW_EOS);
  fail_unless_equals_int(push_background(s.element, constant_samples(10, 1)),
                         GST_FLOW_EOS);
  src_free(s);
}
GST_END_TEST;

/* ---- re-entrancy ----------------------------------------------------------- */

struct Reentry {
  GstElement *element;
  guint64 dropped = 0;
  int marks_seen = 0;
  GstFlowReturn pushed = GST_FLOW_ERROR;
};

/* Runs on the thread that posts: the streaming thread for first-audio. */
static GstBusSyncReply reenter_from_bus(GstBus *, GstMessage *msg, gpointer data) {
  Reentry *r = static_cast<Reentry *>(data);
  const GstStructure *st = gst_message_get_structure(msg);
  if (st == NULL)
    return GST_BUS_PASS;
  if (gst_structure_has_name(st, "first-audio")) {
    g_signal_emit_by_name(r->element, "interrupt", &r->dropped);
    g_signal_emit_by_name(r->element, "mark", "from-handler");
    std::vector<gint16> more = speech_samples(50);
    GstBuffer *buf = gst_buffer_new_memdup(more.data(), more.size() * sizeof(gint16));
    g_signal_emit_by_name(r->element, "push-speech", buf, &r->pushed);
    gst_buffer_unref(buf);
    g_object_set(r->element, "background-volume", 0.5, NULL);
  } else if (gst_structure_has_name(st, "mark")) {
    r->marks_seen++;
  }
  return GST_BUS_PASS;
}

GST_START_TEST(test_signals_from_a_bus_sync_handler) {
  Src s = src_new();
  Reentry r;
  r.element = s.element;
  g_object_set(s.element, "interrupt-fade", (guint64)0, "max-speech-time",
               (guint64)(10 * GST_MSECOND), NULL);
  gst_bus_set_sync_handler(s.bus, reenter_from_bus, &r, NULL);
  fail_unless_equals_int(push_samples(s.element, speech_samples(240)), GST_FLOW_OK);
  gst_harness_play(s.h);

  /* first-audio is posted while buffer 0 is made: the handler's interrupt
   * finds nothing left queued, its push lands after it. */
  gst_buffer_unref(next_buffer(s));
  fail_unless_equals_uint64(r.dropped, 0);
  fail_unless_equals_int(r.pushed, GST_FLOW_OK); /* 10 ms limit: not waited for */
  gst_buffer_unref(next_buffer(s));
  gst_buffer_unref(next_buffer(s));
  fail_unless_equals_int(r.marks_seen, 1);
  gst_bus_set_sync_handler(s.bus, NULL, NULL, NULL);
  src_free(s);
}
GST_END_TEST;

static GstPadProbeReturn push_from_probe(GstPad *, GstPadProbeInfo *, gpointer data) {
  GstElement *element = GST_ELEMENT(data);
  std::vector<gint16> more = speech_samples(FRAMES_PER_BUFFER);
  GstFlowReturn ret = push_samples(element, more);
  fail_unless_equals_int(ret, GST_FLOW_OK);
  return GST_PAD_PROBE_OK;
}

GST_START_TEST(test_push_from_a_pad_probe_never_waits_for_itself) {
  /* The streaming thread is the one that frees room: a push it makes with
   * the queue full must not wait, or the element would hang. */
  Src s = src_new();
  g_object_set(s.element, "max-speech-time", (guint64)(20 * GST_MSECOND), NULL);
  fail_unless_equals_int(push_samples(s.element, speech_samples(2 * FRAMES_PER_BUFFER)),
                         GST_FLOW_OK);
  GstPad *src = gst_element_get_static_pad(s.element, "src");
  gulong id =
      gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_BUFFER, push_from_probe, s.element, NULL);
  gst_harness_play(s.h);
  for (int i = 0; i < 4; i++)
    gst_buffer_unref(next_buffer(s));
  gst_pad_remove_probe(src, id);
  gst_object_unref(src);
  src_free(s);
}
GST_END_TEST;

/* ---- huge pushes ------------------------------------------------------------ */

GST_START_TEST(test_huge_push) {
  /* 1 GiB by default; AGENTAUDIO_HUGE_PUSH_MB makes it smaller where memory
   * checkers would take minutes over it. */
  const gchar *mb = g_getenv("AGENTAUDIO_HUGE_PUSH_MB");
  const gsize bytes = (mb ? g_ascii_strtoull(mb, NULL, 10) : 1024) << 20;
  GstBuffer *huge = gst_buffer_new_allocate(NULL, bytes, NULL);
  gst_buffer_memset(huge, 0, 0x11, bytes);
  const guint64 frames = bytes / sizeof(gint16);

  for (int limited = 0; limited < 2; limited++) {
    Src s = src_new();
    if (limited)
      g_object_set(s.element, "max-speech-time", (guint64)(100 * GST_MSECOND), NULL);
    GstFlowReturn ret = GST_FLOW_ERROR;
    g_signal_emit_by_name(s.element, "push-speech", huge, &ret);
    /* Room existed when it came: taken whole, even past a limit. */
    fail_unless_equals_int(ret, GST_FLOW_OK);
    fail_unless_equals_uint64(queued_speech_time(s.element), frames_to_time(frames));

    if (limited) {
      /* The next push waits for room, and the interrupt releases it. */
      BlockedPush p;
      fail_unless(blocked_push_start(p, s.element, 10), "push did not block");
      fail_unless_equals_uint64(interrupt(s.element), frames_to_time(frames));
      blocked_push_join(p);
      fail_unless_equals_int(p.ret, GST_FLOW_FLUSHING);
    } else {
      gst_harness_play(s.h);
      GstBuffer *buf = next_buffer(s);
      std::vector<gint16> v = buffer_samples(buf);
      fail_unless_equals_int(v[0], 0x1111);
      gst_buffer_unref(buf);
      fail_unless_equals_uint64(interrupt(s.element),
                                frames_to_time(frames - FRAMES_PER_BUFFER - 240));
    }
    src_free(s);
  }
  gst_buffer_unref(huge);
}
GST_END_TEST;

/* ---- a consumer that never returns ------------------------------------------ */

struct Stopper {
  GstElement *pipeline;
  std::atomic<bool> done{false};
};

static gpointer stop_pipeline(gpointer data) {
  Stopper *st = static_cast<Stopper *>(data);
  fail_unless_equals_int(gst_element_set_state(st->pipeline, GST_STATE_NULL),
                         GST_STATE_CHANGE_SUCCESS);
  st->done = true;
  return NULL;
}

GST_START_TEST(test_request_pad_consumer_that_blocks_forever) {
  /* speech_0 feeds an appsink nobody pulls, without a queue: the streaming
   * thread blocks in it (src stalls too, as behind tee), and stopping the
   * pipeline still works, because the appsink lets go when it is stopped. */
  GstElement *pipeline = gst_pipeline_new(NULL);
  GstElement *agent = gst_element_factory_make("agentaudiosrc", NULL);
  GstElement *sink = gst_element_factory_make("fakesink", NULL);
  GstElement *stuck = gst_element_factory_make("appsink", NULL);
  g_object_set(sink, "sync", FALSE, NULL);
  g_object_set(stuck, "sync", FALSE, "max-buffers", 1, "drop", FALSE, NULL);
  gst_bin_add_many(GST_BIN(pipeline), agent, sink, stuck, NULL);
  fail_unless(gst_element_link(agent, sink));
  fail_unless(gst_element_link_pads(agent, "speech_%u", stuck, "sink"));
  GstClock *clock = gst_test_clock_new();
  gst_pipeline_use_clock(GST_PIPELINE(pipeline), clock);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);

  /* Release buffers until the element waits no more: it is stuck in the
   * appsink (the second buffer fills it). */
  int released = 0;
  while (gst_test_clock_timed_wait_for_multiple_pending_ids(GST_TEST_CLOCK(clock), 1, 500,
                                                            NULL)) {
    fail_unless(gst_test_clock_crank(GST_TEST_CLOCK(clock)));
    fail_unless(++released < 20, "the element never blocked");
  }

  Stopper st;
  st.pipeline = pipeline;
  GThread *thread = g_thread_new("stopper", stop_pipeline, &st);
  gint64 deadline = g_get_monotonic_time() + 10 * G_TIME_SPAN_SECOND;
  while (!st.done && g_get_monotonic_time() < deadline)
    g_thread_yield();
  fail_unless(st.done, "stopping the pipeline deadlocked");
  g_thread_join(thread);
  gst_object_unref(clock);
  gst_object_unref(pipeline);
}
GST_END_TEST;

static Suite *badinput_suite(void) {
  Suite *s = suite_create("badinput");
  TCase *tc = tcase_create("general");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_null_buffer_is_refused_and_queue_kept);
  tcase_add_test(tc, test_zero_length_push_queues_nothing);
  tcase_add_test(tc, test_absurd_input_rates_and_channels_are_refused);
  tcase_add_test(tc, test_out_of_range_speech_rate_plays_at_nearest_output_rate);
  tcase_add_test(tc, test_extreme_ptimes_work);
  tcase_add_test(tc, test_background_pushes_after_eos_are_eos);
  tcase_add_test(tc, test_signals_from_a_bus_sync_handler);
  tcase_add_test(tc, test_push_from_a_pad_probe_never_waits_for_itself);
  tcase_add_test(tc, test_huge_push);
  tcase_add_test(tc, test_request_pad_consumer_that_blocks_forever);
  return s;
}

GST_CHECK_MAIN(badinput);
