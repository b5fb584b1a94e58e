/* agentaudiosrc — what the element tests share: a harness around the
 * element with a bus, pushes by action signal, bus message expectations and
 * a pushing thread that can be watched while it blocks.
 *
 * Time is driven by the harness's GstTestClock: the element waits on the
 * clock before filling every buffer, so each buffer is released by one
 * crank, and whatever a test does before the crank is in that buffer.
 * Element messages are posted before the buffer is pushed, so once a buffer
 * has been pulled its messages are already on the bus.
 */
#pragma once

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#define RATE 24000
#define FRAMES_PER_BUFFER 480 /* 20 ms at 24 kHz */
#define BUFFER_TIME (20 * GST_MSECOND)

struct Src {
  GstHarness *h;
  GstElement *element;
  GstBus *bus;
};

inline Src src_new(void) {
  Src s;
  s.h = gst_harness_new_with_padnames("agentaudiosrc", NULL, "src");
  s.element = s.h->element;
  s.bus = gst_bus_new();
  gst_element_set_bus(s.element, s.bus);
  return s;
}

inline void src_free(Src &s) {
  gst_harness_teardown(s.h);
  gst_bus_set_flushing(s.bus, TRUE);
  gst_object_unref(s.bus);
}

inline guint64 frames_to_time(guint64 frames, gint rate = RATE) {
  return gst_util_uint64_scale_int(frames, GST_SECOND, rate);
}

/* Speech that can never be mistaken for silence: every sample non-zero and
 * different from its neighbours. */
inline std::vector<gint16> speech_samples(gsize n, gint seed = 1) {
  std::vector<gint16> v(n);
  for (gsize i = 0; i < n; i++)
    v[i] = (gint16)(1 + (i * 7 + seed * 131) % 20000);
  return v;
}

inline std::vector<gint16> constant_samples(gsize n, gint16 value) {
  return std::vector<gint16>(n, value);
}

/* Emits push-speech (or the push signal named) with a copy of the bytes. */
inline GstFlowReturn push_bytes(GstElement *e, const void *data, gsize size,
                                const gchar *signal = "push-speech") {
  GstBuffer *buf = gst_buffer_new_memdup(data, size);
  GstFlowReturn ret = GST_FLOW_ERROR;
  g_signal_emit_by_name(e, signal, buf, &ret);
  gst_buffer_unref(buf);
  return ret;
}

inline GstFlowReturn push_samples(GstElement *e, const std::vector<gint16> &v,
                                  const gchar *signal = "push-speech") {
  return push_bytes(e, v.data(), v.size() * sizeof(gint16), signal);
}

inline GstFlowReturn push_background(GstElement *e, const std::vector<gint16> &v) {
  return push_samples(e, v, "push-background");
}

inline guint64 clear_background(GstElement *e) {
  guint64 dropped = G_MAXUINT64;
  g_signal_emit_by_name(e, "clear-background", &dropped);
  return dropped;
}

inline guint64 interrupt(GstElement *e) {
  guint64 dropped = G_MAXUINT64;
  g_signal_emit_by_name(e, "interrupt", &dropped);
  return dropped;
}

inline void mark(GstElement *e, const gchar *name) {
  g_signal_emit_by_name(e, "mark", name);
}

inline GstFlowReturn end_of_stream(GstElement *e) {
  GstFlowReturn ret = GST_FLOW_ERROR;
  g_signal_emit_by_name(e, "end-of-stream", &ret);
  return ret;
}

inline guint64 queued_time(GstElement *e, const gchar *property = "queued-speech-time") {
  guint64 t;
  g_object_get(e, property, &t, NULL);
  return t;
}

inline guint64 queued_speech_time(GstElement *e) {
  return queued_time(e);
}

/* Releases the element's wait for its next buffer and takes that buffer. */
inline GstBuffer *next_buffer(Src &s) {
  fail_unless(gst_harness_crank_single_clock_wait(s.h));
  GstBuffer *buf = gst_harness_pull(s.h);
  fail_unless(buf != NULL);
  return buf;
}

inline std::vector<gint16> buffer_samples(GstBuffer *buf) {
  std::vector<gint16> v(gst_buffer_get_size(buf) / sizeof(gint16));
  gst_buffer_extract(buf, 0, v.data(), v.size() * sizeof(gint16));
  return v;
}

inline bool all_zero(const gint16 *s, gsize n) {
  return std::all_of(s, s + n, [](gint16 x) { return x == 0; });
}

/* The next element message on the bus, or NULL: never waits, since messages
 * of a pulled buffer are already posted. */
inline GstMessage *pop_element_message(Src &s) {
  return gst_bus_pop_filtered(s.bus, GST_MESSAGE_ELEMENT);
}

inline GstMessage *expect_message(Src &s, const gchar *name) {
  GstMessage *msg = pop_element_message(s);
  fail_unless(msg != NULL, "expected a %s message, the bus has none", name);
  const GstStructure *st = gst_message_get_structure(msg);
  fail_unless_equals_string(gst_structure_get_name(st), name);
  return msg;
}

inline void expect_no_message(Src &s) {
  GstMessage *msg = pop_element_message(s);
  if (msg != NULL) {
    gchar *str = gst_structure_to_string(gst_message_get_structure(msg));
    fail("unexpected message %s", str);
  }
}

/* The debug text of the next error or warning on the bus, which must be
 * there; `context` says what the test expected it for. */
inline std::string bus_debug(Src &s, GstMessageType type, const gchar *context = "") {
  GstMessage *msg = gst_bus_pop_filtered(s.bus, type);
  fail_unless(msg != NULL, "no %s on the bus %s", gst_message_type_get_name(type),
              context);
  GError *err = NULL;
  gchar *debug = NULL;
  if (type == GST_MESSAGE_ERROR)
    gst_message_parse_error(msg, &err, &debug);
  else
    gst_message_parse_warning(msg, &err, &debug);
  std::string text = debug ? debug : "";
  g_error_free(err);
  g_free(debug);
  gst_message_unref(msg);
  return text;
}

inline guint64 get_u64(GstMessage *msg, const gchar *field) {
  guint64 v = 0;
  fail_unless(gst_structure_get_uint64(gst_message_get_structure(msg), field, &v),
              "no field %s", field);
  return v;
}

inline gboolean get_bool(GstMessage *msg, const gchar *field) {
  gboolean v = FALSE;
  fail_unless(gst_structure_get_boolean(gst_message_get_structure(msg), field, &v),
              "no field %s", field);
  return v;
}

inline const gchar *get_str(GstMessage *msg, const gchar *field) {
  const gchar *v = gst_structure_get_string(gst_message_get_structure(msg), field);
  fail_unless(v != NULL, "no field %s", field);
  return v;
}

/* The element logs "waiting for room" under its queue lock right before a
 * push waits; counting those lines tells a test, without timing, that a
 * push is blocked (an interrupt, which takes that lock, can only come after
 * the wait has begun). */
inline GMutex waits_lock;
inline GCond waits_cond;
inline guint waits_seen = 0;

inline void count_waits(GstDebugCategory *category, GstDebugLevel, const gchar *,
                        const gchar *, gint, GObject *, GstDebugMessage *message,
                        gpointer) {
  if (g_str_equal(gst_debug_category_get_name(category), "agentaudiosrc") &&
      strstr(gst_debug_message_get(message), "waiting for room") != NULL) {
    g_mutex_lock(&waits_lock);
    waits_seen++;
    g_cond_broadcast(&waits_cond);
    g_mutex_unlock(&waits_lock);
  }
}

inline void watch_waits(void) {
  static gsize once = 0;
  if (g_once_init_enter(&once)) {
    gst_debug_set_active(TRUE);
    gst_debug_remove_log_function(gst_debug_log_default);
    gst_debug_add_log_function(count_waits, NULL, NULL);
    gst_debug_set_threshold_for_name("agentaudiosrc", GST_LEVEL_DEBUG);
    g_once_init_leave(&once, 1);
  }
}

/* A thread doing one push, so tests can watch it block and be released. */
struct BlockedPush {
  GstElement *element;
  const gchar *signal;
  std::vector<gint16> samples;
  GMutex lock;
  GCond cond;
  bool done = false;
  GstFlowReturn ret = GST_FLOW_ERROR;
  guint64 queued_after = 0;
  GThread *thread = nullptr;
};

inline gpointer blocked_push_thread(gpointer data) {
  BlockedPush *p = static_cast<BlockedPush *>(data);
  GstFlowReturn ret = push_samples(p->element, p->samples, p->signal);
  guint64 queued = queued_time(p->element, strcmp(p->signal, "push-speech") == 0
                                               ? "queued-speech-time"
                                               : "queued-background-time");
  g_mutex_lock(&p->lock);
  p->ret = ret;
  p->queued_after = queued;
  p->done = true;
  g_cond_signal(&p->cond);
  g_mutex_unlock(&p->lock);
  g_mutex_lock(&waits_lock);
  g_cond_broadcast(&waits_cond); /* wakes a start that waits for the wait */
  g_mutex_unlock(&waits_lock);
  return NULL;
}

/* Starts a push of `frames` frames on its own thread and returns once it
 * waits for room: TRUE; FALSE if it returned without waiting. */
inline bool blocked_push_start(BlockedPush &p, GstElement *e, gsize frames,
                               const gchar *signal = "push-speech") {
  watch_waits();
  g_mutex_init(&p.lock);
  g_cond_init(&p.cond);
  p.element = e;
  p.signal = signal;
  p.samples = speech_samples(frames);
  g_mutex_lock(&waits_lock);
  guint before = waits_seen;
  p.thread = g_thread_new("pusher", blocked_push_thread, &p);
  gint64 deadline = g_get_monotonic_time() + 30 * G_TIME_SPAN_SECOND;
  bool waiting = false;
  for (;;) {
    if (waits_seen > before) {
      waiting = true;
      break;
    }
    g_mutex_lock(&p.lock);
    bool done = p.done;
    g_mutex_unlock(&p.lock);
    if (done || !g_cond_wait_until(&waits_cond, &waits_lock, deadline))
      break;
  }
  g_mutex_unlock(&waits_lock);
  return waiting;
}

/* Waits up to `ms` for the push to return. A bounded wait: a hang fails the
 * test instead of the whole run. */
inline bool blocked_push_wait(BlockedPush &p, gint ms) {
  gint64 deadline = g_get_monotonic_time() + ms * G_TIME_SPAN_MILLISECOND;
  g_mutex_lock(&p.lock);
  while (!p.done)
    if (!g_cond_wait_until(&p.cond, &p.lock, deadline))
      break;
  bool done = p.done;
  g_mutex_unlock(&p.lock);
  return done;
}

inline void blocked_push_join(BlockedPush &p) {
  fail_unless(blocked_push_wait(p, 10000), "push never returned (deadlock)");
  g_thread_join(p.thread);
  g_mutex_clear(&p.lock);
  g_cond_clear(&p.cond);
}
