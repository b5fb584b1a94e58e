/* agentaudiosrc — PLAYING -> PAUSED -> PLAYING goes on making buffers, whichever
 * thread gets there first.
 *
 * GStreamer 1.24 and later call the element's unlock() on PLAYING -> PAUSED,
 * which wakes create() from its clock wait, and call unlock_stop() only before
 * the next create(). If GstBaseSrc is PLAYING again by the time create()
 * returns, a GST_FLOW_FLUSHING from it is final: GstBaseSrc pauses its
 * streaming task and no buffer is ever made again. The stress suite ran into
 * that by chance; this test makes the interleaving happen every time: it holds
 * the streaming thread at the element's "clock wait unscheduled" debug line
 * (logged right after the pause woke it), sets PLAYING, and only then lets it
 * go on. On GStreamer before 1.24 the pause does not wake create(), and the
 * test checks the plain PAUSED -> PLAYING.
 *
 * The waits for the other thread are bounded (10 s), so a hang fails the test
 * with a message instead of running into the suite's timeout. */
#include <cstring>

#include "srcharness.h"

#include <gst/check/gsttestclock.h>

namespace {

GMutex hold_lock;
GCond hold_cond;
bool armed = false;    /* hold the next "clock wait unscheduled" */
bool held = false;     /* the streaming thread is held there */
bool released = false; /* let it go */

void hold_on_unschedule(GstDebugCategory *category, GstDebugLevel, const gchar *,
                        const gchar *, gint, GObject *, GstDebugMessage *message,
                        gpointer) {
  if (!g_str_equal(gst_debug_category_get_name(category), "agentaudiosrc") ||
      strncmp(gst_debug_message_get(message), "clock wait unscheduled", 22) != 0)
    return;
  g_mutex_lock(&hold_lock);
  if (armed) {
    armed = false;
    held = true;
    g_cond_broadcast(&hold_cond);
    gint64 deadline = g_get_monotonic_time() + 10 * G_TIME_SPAN_SECOND;
    while (!released && g_cond_wait_until(&hold_cond, &hold_lock, deadline))
      ;
  }
  g_mutex_unlock(&hold_lock);
}

/* Whether the element waits on the harness's clock within 10 s. */
bool waits_on_clock(Src &s) {
  GstTestClock *clock = gst_harness_get_testclock(s.h);
  gboolean waiting = gst_test_clock_timed_wait_for_multiple_pending_ids(clock, 1, 10000, NULL);
  gst_object_unref(clock);
  return waiting;
}

}  // namespace

GST_START_TEST(test_quick_pause_and_resume_keeps_making_buffers) {
  gst_debug_set_active(TRUE);
  gst_debug_remove_log_function(gst_debug_log_default);
  gst_debug_add_log_function(hold_on_unschedule, NULL, NULL);
  gst_debug_set_threshold_for_name("agentaudiosrc", GST_LEVEL_DEBUG);

  Src s = src_new();
  gst_harness_play(s.h);
  GstBuffer *buf = next_buffer(s);
  fail_unless_equals_uint64(GST_BUFFER_PTS(buf), 0);
  gst_buffer_unref(buf);
  fail_unless(waits_on_clock(s), "no clock wait for the second buffer");

  /* GstBaseSrc unlocks on pause since 1.23.1 (the 1.24 development series). */
  guint major, minor, micro, nano;
  gst_version(&major, &minor, &micro, &nano);
  const bool pause_unlocks = major > 1 || minor > 23 || (minor == 23 && micro >= 1);
  g_mutex_lock(&hold_lock);
  armed = pause_unlocks;
  held = released = false;
  g_mutex_unlock(&hold_lock);

  fail_if(gst_element_set_state(s.element, GST_STATE_PAUSED) == GST_STATE_CHANGE_FAILURE);
  if (pause_unlocks) {
    /* The pause woke create(): hold it before it gets back to GstBaseSrc. */
    g_mutex_lock(&hold_lock);
    gint64 deadline = g_get_monotonic_time() + 10 * G_TIME_SPAN_SECOND;
    while (!held && g_cond_wait_until(&hold_cond, &hold_lock, deadline))
      ;
    bool was_held = held;
    g_mutex_unlock(&hold_lock);
    fail_unless(was_held, "PLAYING -> PAUSED did not wake the clock wait (GStreamer %s)",
                gst_version_string());
  }
  fail_if(gst_element_set_state(s.element, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE);
  g_mutex_lock(&hold_lock);
  released = true;
  armed = false;
  g_cond_broadcast(&hold_cond);
  g_mutex_unlock(&hold_lock);

  fail_unless(waits_on_clock(s),
              "after PLAYING -> PAUSED -> PLAYING the element makes no buffer any more");
  buf = next_buffer(s);
  /* The running time stood still while paused: the stream goes on where it was. */
  fail_unless_equals_uint64(GST_BUFFER_PTS(buf), BUFFER_TIME);
  gst_buffer_unref(buf);
  buf = next_buffer(s);
  fail_unless_equals_uint64(GST_BUFFER_PTS(buf), 2 * BUFFER_TIME);
  gst_buffer_unref(buf);

    /* The log function stays: GStreamer keeps the list a removal replaces (other
   * threads may be walking it), which memcheck would report as lost. Disarmed, it
   * only looks at each message. */
  src_free(s);
}
GST_END_TEST;

static Suite *livepause_suite(void) {
  Suite *s = suite_create("livepause");
  TCase *tc = tcase_create("pause");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_quick_pause_and_resume_keeps_making_buffers);
  return s;
}

GST_CHECK_MAIN(livepause);
