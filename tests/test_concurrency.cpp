/* agentaudiosrc — element tests: what other threads, bus sync handlers,
 * pauses and clock changes may do while the element streams, and never
 * hang or lose audio.
 *
 * Hangs are caught with bounded waits: the operation that could hang runs on
 * a thread of its own, and the test fails when it has not returned after
 * HANG_SECONDS (a deadlocked thread cannot be cleaned up, so the test then
 * aborts). Nothing here asserts timing.
 */
#include <atomic>
#include <functional>

#include "srcharness.h"

#define HANG_SECONDS 10

/* Runs `fn` on a thread and fails unless it returns within HANG_SECONDS. */
struct Bounded {
  std::function<void()> fn;
  GMutex lock;
  GCond cond;
  bool done = false;
  GThread *thread = nullptr;
};

static gpointer bounded_thread(gpointer data) {
  Bounded *b = static_cast<Bounded *>(data);
  b->fn();
  g_mutex_lock(&b->lock);
  b->done = true;
  g_cond_signal(&b->cond);
  g_mutex_unlock(&b->lock);
  return NULL;
}

static void bounded_start(Bounded &b, std::function<void()> fn) {
  g_mutex_init(&b.lock);
  g_cond_init(&b.cond);
  b.fn = std::move(fn);
  b.thread = g_thread_new("bounded", bounded_thread, &b);
}

static void bounded_join(Bounded &b, const gchar *what) {
  gint64 deadline = g_get_monotonic_time() + HANG_SECONDS * G_TIME_SPAN_SECOND;
  g_mutex_lock(&b.lock);
  while (!b.done)
    if (!g_cond_wait_until(&b.cond, &b.lock, deadline))
      break;
  bool done = b.done;
  g_mutex_unlock(&b.lock);
  if (!done)
    g_error("%s did not return within %d s: deadlock", what, HANG_SECONDS);
  g_thread_join(b.thread);
  g_mutex_clear(&b.lock);
  g_cond_clear(&b.cond);
}

static void run_bounded(const gchar *what, std::function<void()> fn) {
  Bounded b;
  bounded_start(b, std::move(fn));
  bounded_join(b, what);
}

static GstTestClock *test_clock(Src &s) {
  return gst_harness_get_testclock(s.h); /* transfer full */
}

/* ---- bus sync handlers that call back in ---------------------------------- */

struct StopOnCut {
  GstElement *element;
  GstTestClock *clock;
  GstState target; /* READY or NULL */
  std::atomic<int> stops{0};
};

/* On the interrupting thread: releases the streaming thread's next buffer,
 * then stops the element while that thread is on its way to post. */
static GstBusSyncReply stop_on_cut(GstBus *, GstMessage *msg, gpointer data) {
  StopOnCut *st = static_cast<StopOnCut *>(data);
  if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ELEMENT && gst_message_has_name(msg, "mark")) {
    gboolean interrupted = FALSE;
    gst_structure_get_boolean(gst_message_get_structure(msg), "interrupted",
                              &interrupted);
    if (interrupted && st->stops++ == 0) {
      gst_test_clock_crank(st->clock);
      gst_element_set_state(st->element, st->target);
    }
  }
  return GST_BUS_PASS;
}

static void check_stop_from_sync_handler(GstState target) {
  for (int run = 0; run < 20; run++) {
    Src s = src_new();
    StopOnCut st;
    st.element = s.element;
    st.clock = test_clock(s);
    st.target = target;
    gst_bus_set_sync_handler(s.bus, stop_on_cut, &st, NULL);
    g_object_set(s.element, "interrupt-fade", (guint64)0, NULL);

    fail_unless_equals_int(push_samples(s.element, speech_samples(RATE)), GST_FLOW_OK);
    mark(s.element, "cut");
    gst_harness_play(s.h);
    gst_buffer_unref(next_buffer(s));
    gst_buffer_unref(next_buffer(s));
    gst_test_clock_wait_for_next_pending_id(st.clock, NULL);

    run_bounded("interrupt whose sync handler stops the element",
                [&] { interrupt(s.element); });
    fail_unless_equals_int(st.stops.load(), 1);
    GstState state;
    fail_unless_equals_int(gst_element_get_state(s.element, &state, NULL, 0),
                           GST_STATE_CHANGE_SUCCESS);
    fail_unless_equals_int(state, target);

    gst_bus_set_sync_handler(s.bus, NULL, NULL, NULL);
    gst_object_unref(st.clock);
    src_free(s);
  }
}

/* The interrupted mark is posted by the interrupting thread; its sync
 * handler stops the element while the streaming thread is between its clock
 * wait and its buffer. */
GST_START_TEST(test_sync_handler_stopping_to_ready_on_interrupted_mark_returns) {
  check_stop_from_sync_handler(GST_STATE_READY);
}
GST_END_TEST;

GST_START_TEST(test_sync_handler_stopping_to_null_on_interrupted_mark_returns) {
  check_stop_from_sync_handler(GST_STATE_NULL);
}
GST_END_TEST;

/* An allocator whose memory cannot be read. */
struct UnmappableAllocator {
  GstAllocator parent;
};
struct UnmappableAllocatorClass {
  GstAllocatorClass parent_class;
};
G_DEFINE_TYPE(UnmappableAllocator, unmappable_allocator, GST_TYPE_ALLOCATOR)

static void unmappable_allocator_free(GstAllocator *, GstMemory *memory) {
  g_free(memory);
}

static void unmappable_allocator_class_init(UnmappableAllocatorClass *klass) {
  GST_ALLOCATOR_CLASS(klass)->free = unmappable_allocator_free;
}

static void unmappable_allocator_init(UnmappableAllocator *self) {
  GstAllocator *allocator = GST_ALLOCATOR_CAST(self);
  allocator->mem_type = "unmappable";
  allocator->mem_map = [](GstMemory *, gsize, GstMapFlags) -> gpointer { return NULL; };
  allocator->mem_unmap = [](GstMemory *) {};
  allocator->mem_copy = [](GstMemory *, gssize, gssize) -> GstMemory * { return NULL; };
  GST_OBJECT_FLAG_SET(allocator, GST_ALLOCATOR_FLAG_CUSTOM_ALLOC);
}

static GstBuffer *unmappable_buffer(gsize size) {
  GstAllocator *allocator = GST_ALLOCATOR(
      gst_object_ref_sink(g_object_new(unmappable_allocator_get_type(), NULL)));
  GstMemory *memory = g_new0(GstMemory, 1);
  gst_memory_init(memory, (GstMemoryFlags)0, allocator, NULL, size, 0, 0, size);
  gst_object_unref(allocator); /* the memory holds its own */
  GstBuffer *buffer = gst_buffer_new();
  gst_buffer_append_memory(buffer, memory);
  return buffer;
}

struct CallBack {
  GstElement *element;
  std::atomic<int> warnings{0};
};

static GstBusSyncReply push_and_mark_on_warning(GstBus *, GstMessage *msg,
                                                gpointer data) {
  CallBack *cb = static_cast<CallBack *>(data);
  if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_WARNING) {
    cb->warnings++;
    mark(cb->element, "from-handler");
    push_samples(cb->element, speech_samples(100));
  }
  return GST_BUS_PASS;
}

GST_START_TEST(test_sync_handler_may_push_and_mark_on_a_push_warning) {
  Src s = src_new();
  CallBack cb;
  cb.element = s.element;
  gst_bus_set_sync_handler(s.bus, push_and_mark_on_warning, &cb, NULL);

  /* Memory that can neither be mapped nor copied: the push is refused with
   * a warning. */
  GstBuffer *unmappable = unmappable_buffer(960);
  GstFlowReturn ret = GST_FLOW_OK;
  run_bounded("a push whose warning's sync handler pushes and marks",
              [&] { g_signal_emit_by_name(s.element, "push-speech", unmappable, &ret); });
  gst_buffer_unref(unmappable);
  fail_unless_equals_int(ret, GST_FLOW_ERROR);
  fail_unless_equals_int(cb.warnings.load(), 1);
  /* What the handler pushed is queued. */
  fail_unless_equals_uint64(queued_speech_time(s.element), frames_to_time(100));

  gst_bus_set_sync_handler(s.bus, NULL, NULL, NULL);
  src_free(s);
}
GST_END_TEST;

/* ---- request pads --------------------------------------------------------- */

struct MidBuffer {
  GstElement *element;
  GstPad *pad = nullptr;
  std::vector<GstBuffer *> seen;
};

static GstPadProbeReturn record_buffer(GstPad *, GstPadProbeInfo *info, gpointer data) {
  MidBuffer *mb = static_cast<MidBuffer *>(data);
  mb->seen.push_back(gst_buffer_ref(GST_PAD_PROBE_INFO_BUFFER(info)));
  return GST_PAD_PROBE_OK;
}

/* On the streaming thread, between the mix of a buffer and its push. */
static GstBusSyncReply request_speech_pad_on_first_audio(GstBus *, GstMessage *msg,
                                                         gpointer data) {
  MidBuffer *mb = static_cast<MidBuffer *>(data);
  if (mb->pad == nullptr && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ELEMENT &&
      gst_message_has_name(msg, "first-audio")) {
    mb->pad = gst_element_request_pad_simple(mb->element, "speech_%u");
    gst_pad_add_probe(mb->pad, GST_PAD_PROBE_TYPE_BUFFER, record_buffer, mb, NULL);
  }
  return GST_BUS_PASS;
}

GST_START_TEST(test_speech_pad_requested_mid_buffer_never_gets_the_bed) {
  Src s = src_new();
  MidBuffer mb;
  mb.element = s.element;
  gst_bus_set_sync_handler(s.bus, request_speech_pad_on_first_audio, &mb, NULL);
  fail_unless_equals_int(
      push_background(s.element, constant_samples(10 * FRAMES_PER_BUFFER, 1000)),
      GST_FLOW_OK);
  fail_unless_equals_int(
      push_samples(s.element, constant_samples(3 * FRAMES_PER_BUFFER, 3)), GST_FLOW_OK);
  gst_harness_play(s.h);
  for (int i = 0; i < 4; i++)
    gst_buffer_unref(next_buffer(s));

  fail_unless(mb.pad != nullptr);
  fail_unless(!mb.seen.empty(), "the speech pad got no buffer");
  for (GstBuffer *buf : mb.seen) {
    for (gint16 v : buffer_samples(buf))
      fail_unless(v == 3 || v == 0, "speech_%%u carried %d: the bed was mixed in", v);
    gst_buffer_unref(buf);
  }
  gst_bus_set_sync_handler(s.bus, NULL, NULL, NULL);
  gst_element_release_request_pad(s.element, mb.pad);
  gst_object_unref(mb.pad);
  src_free(s);
}
GST_END_TEST;

struct Churn {
  GstElement *element;
  std::atomic<bool> stop{false};
};

static void change_state_on_pad_added(GstElement *element, GstPad *, gpointer) {
  gst_element_set_state(element, GST_STATE_PAUSED);
}

GST_START_TEST(test_pad_added_handler_may_change_state) {
  GstElement *element = gst_element_factory_make("agentaudiosrc", NULL);
  gst_object_ref_sink(element);
  g_signal_connect(element, "pad-added", G_CALLBACK(change_state_on_pad_added), NULL);
  Churn churn;
  churn.element = element;

  Bounded requester;
  bounded_start(requester, [&] {
    for (int i = 0; i < 300; i++) {
      GstPad *pad =
          gst_element_request_pad_simple(element, i % 2 ? "src_%u" : "speech_%u");
      gst_element_release_request_pad(element, pad);
      gst_object_unref(pad);
    }
    churn.stop = true;
  });
  run_bounded("state changes while a pad-added handler changes state", [&] {
    while (!churn.stop) {
      gst_element_set_state(element, GST_STATE_READY);
      gst_element_set_state(element, GST_STATE_PAUSED);
    }
  });
  bounded_join(requester, "pad requests whose pad-added handler changes state");

  gst_element_set_state(element, GST_STATE_NULL);
  gst_object_unref(element);
}
GST_END_TEST;

/* ---- the timeline across renegotiations ----------------------------------- */

static void renegotiate(Src &s, gint rate) {
  gchar *caps = g_strdup_printf(
      "audio/x-raw, format=S16LE, layout=interleaved, rate=%d, channels=1", rate);
  gst_harness_set_sink_caps_str(s.h, caps);
  g_free(caps);
  gst_harness_push_upstream_event(s.h, gst_event_new_reconfigure());
}

GST_START_TEST(test_mark_after_speech_ended_two_renegotiations_ago) {
  Src s = src_new();
  fail_unless_equals_int(push_samples(s.element, speech_samples(1000)), GST_FLOW_OK);
  gst_harness_play(s.h);
  for (int i = 0; i < 4; i++)
    gst_buffer_unref(next_buffer(s));
  gst_message_unref(expect_message(s, "first-audio"));
  GstMessage *last = expect_message(s, "last-audio");
  fail_unless_equals_uint64(get_u64(last, "running-time"), frames_to_time(1000));
  gst_message_unref(last);

  /* Two rate changes, each with buffers of its own. */
  renegotiate(s, 48000);
  for (int i = 0; i < 3; i++)
    gst_buffer_unref(next_buffer(s));
  renegotiate(s, 16000);
  for (int i = 0; i < 3; i++)
    gst_buffer_unref(next_buffer(s));

  /* Nothing queued: the mark is at the end of the speech already played. */
  mark(s.element, "after");
  gst_buffer_unref(next_buffer(s));
  GstMessage *msg = expect_message(s, "mark");
  fail_unless_equals_uint64(get_u64(msg, "running-time"), frames_to_time(1000));
  gst_message_unref(msg);
  src_free(s);
}
GST_END_TEST;

GST_START_TEST(test_utterance_across_two_renegotiations_ends_exactly) {
  Src s = src_new();
  /* 1 s at 24 kHz: 5 buffers at 24 kHz, 5 at 48 kHz, the rest at 16 kHz. */
  fail_unless_equals_int(push_samples(s.element, speech_samples(RATE)), GST_FLOW_OK);
  mark(s.element, "end");
  gst_harness_play(s.h);
  for (int i = 0; i < 4; i++)
    gst_buffer_unref(next_buffer(s));
  renegotiate(s, 48000);
  for (int i = 0; i < 6; i++) /* the first at 24 kHz: already waited for */
    gst_buffer_unref(next_buffer(s));
  renegotiate(s, 16000);
  GstMessage *last = NULL, *end = NULL;
  for (int i = 0; i < 60 && last == NULL; i++) {
    gst_buffer_unref(next_buffer(s));
    while (GstMessage *msg = pop_element_message(s)) {
      if (gst_message_has_name(msg, "last-audio"))
        last = msg;
      else if (gst_message_has_name(msg, "mark"))
        end = msg;
      else
        gst_message_unref(msg);
    }
  }
  fail_unless(last != NULL && end != NULL);
  /* Resampling twice may shift the end by a frame of each new rate. */
  const GstClockTime tolerance = frames_to_time(1, 48000) + frames_to_time(1, 16000);
  const guint64 running_time = get_u64(last, "running-time");
  fail_unless(
      running_time + tolerance >= GST_SECOND && running_time <= GST_SECOND + tolerance,
      "last-audio at %" GST_TIME_FORMAT, GST_TIME_ARGS(running_time));
  fail_unless_equals_uint64(get_u64(end, "running-time"), running_time);
  const guint64 duration = get_u64(last, "duration");
  fail_unless(duration + tolerance >= GST_SECOND && duration <= GST_SECOND + tolerance,
              "duration %" GST_TIME_FORMAT, GST_TIME_ARGS(duration));
  gst_message_unref(last);
  gst_message_unref(end);
  src_free(s);
}
GST_END_TEST;

/* ---- max-speech-time with many pushers ------------------------------------ */

struct Pusher {
  GstElement *element;
  std::vector<gint16> samples;
  std::atomic<int> *done;
  std::atomic<int> *ready;
  GThread *thread = nullptr;
};

static gpointer pusher_thread(gpointer data) {
  Pusher *p = static_cast<Pusher *>(data);
  /* All pushers start together. */
  (*p->ready)--;
  while (p->ready->load() > 0)
    g_thread_yield();
  push_samples(p->element, p->samples);
  (*p->done)++;
  g_mutex_lock(&waits_lock);
  g_cond_broadcast(&waits_cond);
  g_mutex_unlock(&waits_lock);
  return NULL;
}

GST_START_TEST(test_max_speech_time_holds_with_many_pushers) {
  const int pushers = 8;
  Src s = src_new();
  /* Resampled input: each push, 10 s long, converts for a while, so that
   * the pushers all arrive between the first one's room check and its
   * queueing. */
  GstCaps *caps = gst_caps_from_string(
      "audio/x-raw, format=S16LE, layout=interleaved, rate=22050, channels=1");
  g_object_set(s.element, "speech-caps", caps, "max-speech-time",
               (guint64)(40 * GST_MSECOND), NULL);
  gst_caps_unref(caps);
  watch_waits();
  /* A race each round; the limit must hold in every one. */
  for (int round = 0; round < 5; round++) {
    g_mutex_lock(&waits_lock);
    const guint before = waits_seen;
    g_mutex_unlock(&waits_lock);

    std::atomic<int> done{0};
    std::atomic<int> ready{pushers};
    std::vector<Pusher> p(pushers);
    for (int i = 0; i < pushers; i++) {
      p[i].ready = &ready;
      p[i].element = s.element;
      p[i].samples = speech_samples(10 * 22050, i + 1);
      p[i].done = &done;
      p[i].thread = g_thread_new("pusher", pusher_thread, &p[i]);
    }

    /* Every pusher has either queued or is waiting for room (a pusher that
     * got in and found the layer full again logs its wait twice: the count
     * is only ever early by that, which the limit check below does not
     * mind). */
    gint64 deadline = g_get_monotonic_time() + HANG_SECONDS * G_TIME_SPAN_SECOND;
    g_mutex_lock(&waits_lock);
    while (waits_seen - before + done.load() < (guint)pushers)
      if (!g_cond_wait_until(&waits_cond, &waits_lock, deadline))
        break;
    g_mutex_unlock(&waits_lock);

    const guint64 queued = queued_speech_time(s.element);
    fail_unless(queued <= 40 * GST_MSECOND + 10 * GST_SECOND + frames_to_time(1),
                "%d pushers queued %" GST_TIME_FORMAT " against a 40 ms limit", pushers,
                GST_TIME_ARGS(queued));
    fail_unless(done.load() < pushers, "no push waited for room");

    interrupt(s.element); /* releases the waiting pushers */
    for (Pusher &pusher : p)
      g_thread_join(pusher.thread);
  }
  src_free(s);
}
GST_END_TEST;

/* ---- live pause ----------------------------------------------------------- */

/* What a pause leaves: the element does not wait on the clock (a real
 * clock would let that wait end in PAUSED), and time passing on it lets no
 * buffer out. */
static void expect_paused_and_idle(Src &s, GstTestClock *clock) {
  fail_unless(!gst_test_clock_peek_next_pending_id(clock, NULL),
              "the element waits on the clock while PAUSED");
  gst_test_clock_advance_time(clock, 10 * BUFFER_TIME);
  fail_unless(!gst_test_clock_peek_next_pending_id(clock, NULL),
              "the element waits on the clock while PAUSED");
  fail_unless_equals_int(gst_harness_buffers_in_queue(s.h), 0);
}

static void pause(Src &s) {
  fail_unless(gst_element_set_state(s.element, GST_STATE_PAUSED) !=
              GST_STATE_CHANGE_FAILURE);
}

static void resume(Src &s) {
  fail_unless(gst_element_set_state(s.element, GST_STATE_PLAYING) !=
              GST_STATE_CHANGE_FAILURE);
}

/* Each point of an utterance's cycle, given as the buffers pulled before
 * pausing: before speech, its first buffer, the middle, the buffer before
 * a mark, the last buffer with speech. */
static const int pause_points[] = {0, 1, 3, 5, 7};

GST_START_TEST(test_live_pause_takes_no_audio_and_resume_loses_none) {
  for (int point : pause_points) {
    Src s = src_new();
    GstTestClock *clock = test_clock(s);
    const gsize n = 8 * FRAMES_PER_BUFFER - 100;
    std::vector<gint16> in = speech_samples(n);
    gst_harness_play(s.h);
    if (point == 0) {
      gst_buffer_unref(next_buffer(s));
      expect_no_message(s);
    }
    fail_unless_equals_int(
        push_samples(s.element, std::vector<gint16>(in.begin(), in.begin() + 3000)),
        GST_FLOW_OK);
    mark(s.element, "m");
    fail_unless_equals_int(
        push_samples(s.element, std::vector<gint16>(in.begin() + 3000, in.end())),
        GST_FLOW_OK);

    std::vector<gint16> out;
    auto take = [&](GstBuffer *buf) {
      std::vector<gint16> v = buffer_samples(buf);
      out.insert(out.end(), v.begin(), v.end());
      gst_buffer_unref(buf);
    };
    for (int i = point == 0 ? 1 : 0; i < point; i++)
      take(next_buffer(s));
    gst_test_clock_wait_for_next_pending_id(clock, NULL);
    const guint64 queued = queued_speech_time(s.element);

    pause(s);
    expect_paused_and_idle(s, clock);
    fail_unless_equals_uint64(queued_speech_time(s.element), queued);

    resume(s);
    for (int i = 0; i < 10; i++)
      take(next_buffer(s));
    /* Silence first when paused before speech, then every sample once. */
    std::vector<gint16> speech;
    for (gint16 v : out)
      if (v != 0)
        speech.push_back(v);
    fail_unless(speech == in, "pause at buffer %d: %zu of %zu samples came out", point,
                speech.size(), in.size());
    gst_object_unref(clock);
    src_free(s);
  }
}
GST_END_TEST;

GST_START_TEST(test_live_pause_then_stop_accounts_for_every_sample) {
  for (int point : pause_points) {
    if (point == 0)
      continue;
    Src s = src_new();
    GstTestClock *clock = test_clock(s);
    const gsize n = 8 * FRAMES_PER_BUFFER - 100;
    fail_unless_equals_int(push_samples(s.element, speech_samples(3000)), GST_FLOW_OK);
    mark(s.element, "m");
    fail_unless_equals_int(push_samples(s.element, speech_samples(n - 3000, 2)),
                           GST_FLOW_OK);
    gst_harness_play(s.h);
    guint64 played = 0;
    for (int i = 0; i < point; i++) {
      GstBuffer *buf = next_buffer(s);
      for (gint16 v : buffer_samples(buf))
        played += v != 0;
      gst_buffer_unref(buf);
    }
    gst_test_clock_wait_for_next_pending_id(clock, NULL);
    while (GstMessage *msg = pop_element_message(s))
      gst_message_unref(msg);

    pause(s);
    expect_paused_and_idle(s, clock);
    expect_no_message(s);
    const guint64 queued =
        gst_util_uint64_scale_round(queued_speech_time(s.element), RATE, GST_SECOND);
    fail_unless_equals_uint64(played + queued, n);

    gst_element_set_state(s.element, GST_STATE_READY);
    /* The stop ends the utterance with what was really played. */
    guint64 duration = 0;
    while (GstMessage *msg = pop_element_message(s)) {
      if (gst_message_has_name(msg, "last-audio")) {
        duration = get_u64(msg, "duration");
        fail_unless(get_bool(msg, "interrupted"));
      }
      gst_message_unref(msg);
    }
    if (played > 0)
      fail_unless_equals_uint64(duration, frames_to_time(played));
    gst_object_unref(clock);
    src_free(s);
  }
}
GST_END_TEST;

GST_START_TEST(test_interrupt_while_paused_fades_in_the_next_buffer) {
  Src s = src_new();
  GstTestClock *clock = test_clock(s);
  const gint16 level = 10000;
  fail_unless_equals_int(push_samples(s.element, constant_samples(RATE, level)),
                         GST_FLOW_OK);
  gst_harness_play(s.h);
  gst_buffer_unref(next_buffer(s));
  gst_test_clock_wait_for_next_pending_id(clock, NULL);

  pause(s);
  expect_paused_and_idle(s, clock);
  interrupt(s.element);
  resume(s);

  /* The default fade is 10 ms: 240 frames, starting in this very buffer. */
  GstBuffer *buf = next_buffer(s);
  std::vector<gint16> v = buffer_samples(buf);
  fail_unless_equals_uint64(GST_BUFFER_PTS(buf), BUFFER_TIME);
  gst_buffer_unref(buf);
  fail_unless(v[0] < level, "the buffer after the pause starts at full level");
  for (gsize i = 1; i < 240; i++)
    fail_unless(v[i] <= v[i - 1], "frame %zu is not fading", i);
  fail_unless(all_zero(v.data() + 240, v.size() - 240));
  gst_object_unref(clock);
  src_free(s);
}
GST_END_TEST;

/* GStreamer 1.24 and later call unlock() on PLAYING -> PAUSED and
 * unlock_stop() only before the create() after the resume: a create() that
 * took the pause for a flush returned FLUSHING, and when the resume came
 * first GstBaseSrc paused its task for good. */
GST_START_TEST(test_quick_pause_and_resume_keeps_streaming) {
  Src s = src_new();
  GstTestClock *clock = test_clock(s);
  gst_harness_play(s.h);
  gst_buffer_unref(next_buffer(s));
  for (int i = 0; i < 50; i++) {
    gst_test_clock_wait_for_next_pending_id(clock, NULL);
    pause(s);
    resume(s);
    fail_unless(gst_test_clock_timed_wait_for_multiple_pending_ids(clock, 1,
                                                                   HANG_SECONDS * 1000, NULL),
                "no buffer after pause %d: the streaming task stopped", i);
    gst_buffer_unref(next_buffer(s));
  }
  gst_object_unref(clock);
  src_free(s);
}
GST_END_TEST;

/* ---- clock changes -------------------------------------------------------- */

GST_START_TEST(test_waits_on_the_clock_chosen_after_a_pause) {
  Src s = src_new();
  GstTestClock *first = test_clock(s);
  gst_harness_play(s.h);
  gst_buffer_unref(next_buffer(s));
  gst_test_clock_wait_for_next_pending_id(first, NULL);

  /* The clock's provider goes away; the application picks another. */
  pause(s);
  GstClock *second =
      gst_test_clock_new_with_start_time(gst_clock_get_time(GST_CLOCK(first)));
  fail_unless(gst_element_set_clock(s.element, second));
  resume(s);

  fail_unless(gst_test_clock_timed_wait_for_multiple_pending_ids(
                  GST_TEST_CLOCK(second), 1, HANG_SECONDS * 1000, NULL),
              "the element never waited on the new clock");
  fail_unless(!gst_test_clock_peek_next_pending_id(first, NULL),
              "the element still waits on the old clock");
  gst_test_clock_crank(GST_TEST_CLOCK(second));
  GstBuffer *buf = gst_harness_pull(s.h);
  fail_unless(buf != NULL);
  fail_unless_equals_uint64(GST_BUFFER_PTS(buf), BUFFER_TIME);
  gst_buffer_unref(buf);

  /* And a change of clock while PLAYING re-arms the wait too. */
  gst_test_clock_wait_for_next_pending_id(GST_TEST_CLOCK(second), NULL);
  fail_unless(gst_element_set_clock(s.element, GST_CLOCK(first)));
  fail_unless(gst_test_clock_timed_wait_for_multiple_pending_ids(
                  first, 1, HANG_SECONDS * 1000, NULL),
              "a clock set while PLAYING is not waited on");

  gst_object_unref(second);
  gst_object_unref(first);
  src_free(s);
}
GST_END_TEST;

static Suite *concurrency_suite(void) {
  Suite *suite = suite_create("concurrency");
  TCase *tc = tcase_create("sync-handlers");
  suite_add_tcase(suite, tc);
  tcase_add_test(tc, test_sync_handler_stopping_to_ready_on_interrupted_mark_returns);
  tcase_add_test(tc, test_sync_handler_stopping_to_null_on_interrupted_mark_returns);
  tcase_add_test(tc, test_sync_handler_may_push_and_mark_on_a_push_warning);

  tc = tcase_create("request-pads");
  suite_add_tcase(suite, tc);
  tcase_add_test(tc, test_speech_pad_requested_mid_buffer_never_gets_the_bed);
  tcase_add_test(tc, test_pad_added_handler_may_change_state);

  tc = tcase_create("timeline");
  suite_add_tcase(suite, tc);
  tcase_add_test(tc, test_mark_after_speech_ended_two_renegotiations_ago);
  tcase_add_test(tc, test_utterance_across_two_renegotiations_ends_exactly);

  tc = tcase_create("flow");
  suite_add_tcase(suite, tc);
  tcase_add_test(tc, test_max_speech_time_holds_with_many_pushers);

  tc = tcase_create("live");
  suite_add_tcase(suite, tc);
  tcase_add_test(tc, test_live_pause_takes_no_audio_and_resume_loses_none);
  tcase_add_test(tc, test_live_pause_then_stop_accounts_for_every_sample);
  tcase_add_test(tc, test_interrupt_while_paused_fades_in_the_next_buffer);
  tcase_add_test(tc, test_quick_pause_and_resume_keeps_streaming);
  tcase_add_test(tc, test_waits_on_the_clock_chosen_after_a_pause);
  return suite;
}

GST_CHECK_MAIN(concurrency);
