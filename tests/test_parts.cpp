/* agentaudiosrc — unit tests of the element's GStreamer-light parts, driven
 * directly: the timeline (running times across rate changes), the outbox
 * (ordered posting, a streaming-thread wait that flushing ends) and the
 * intake (frame assembly, generations, sliced conversion).
 */
#include <gst/check/gstcheck.h>

#include <atomic>
#include <cmath>
#include <vector>

#include "debug.h"
#include "intake.h"
#include "outbox.h"
#include "timeline.h"

using namespace agentaudio;

/* ---- Timeline ------------------------------------------------------------- */

/* The running time of `frame` computed the long way: the segments' exact
 * starts summed as rationals, one floor at the end per segment. */
struct Seg {
  guint64 frame;
  gint rate;
};

GST_START_TEST(test_timeline_is_exact_across_many_rate_changes) {
  const guint ptime = 20;
  const gint rates[] = {24000, 48000, 16000, 44100, 22050, 8000, 96000, 11025};
  Timeline t;
  t.start(5 * GST_SECOND, rates[0]);
  std::vector<Seg> segs{{0, rates[0]}};
  std::vector<GstClockTime> starts{5 * GST_SECOND};
  std::vector<std::pair<guint64, GstClockTime>> probes;

  for (gsize r = 1; r < G_N_ELEMENTS(rates); r++) {
    for (int b = 0; b < 7; b++) {
      guint64 first, end;
      t.next_buffer(ptime, &first, &end);
      /* A frame in the middle of each buffer, kept to ask again later. */
      probes.emplace_back(first + (end - first) / 2,
                          t.running_time(first + (end - first) / 2));
      t.advance();
    }
    const Seg &s = segs.back();
    const guint64 next = t.next_frame(ptime);
    starts.push_back(starts.back() +
                     gst_util_uint64_scale_int(next - s.frame, GST_SECOND, s.rate));
    segs.push_back(Seg{next, rates[r]});
    t.change_rate(ptime, rates[r]);
  }
  fail_unless_equals_int(t.segments(), G_N_ELEMENTS(rates));
  /* Every position answers as it did when it was current, and as the long
   * way computes it. */
  for (auto &[frame, when] : probes) {
    gsize i = segs.size() - 1;
    while (segs[i].frame > frame)
      i--;
    const GstClockTime expected =
        starts[i] +
        gst_util_uint64_scale_int(frame - segs[i].frame, GST_SECOND, segs[i].rate);
    fail_unless_equals_uint64(t.running_time(frame), expected);
    fail_unless_equals_uint64(t.running_time(frame), when);
  }
}
GST_END_TEST;

GST_START_TEST(test_timeline_two_changes_between_buffers) {
  Timeline t;
  t.start(0, 24000);
  for (int b = 0; b < 3; b++)
    t.advance();
  const GstClockTime before = t.running_time(1000);
  t.change_rate(20, 48000);
  t.change_rate(20, 16000); /* no buffer at 48 kHz */
  fail_unless_equals_int(t.segments(), 2);
  fail_unless_equals_uint64(t.running_time(1000), before);
  fail_unless_equals_uint64(t.running_time(1440), 60 * GST_MSECOND);
  guint64 from, to;
  t.next_buffer(20, &from, &to);
  const guint64 frames = to - from;
  fail_unless_equals_uint64(frames, 320); /* 20 ms at 16 kHz */
}
GST_END_TEST;

GST_START_TEST(test_timeline_forgets_only_what_no_position_needs) {
  Timeline t;
  t.start(0, 24000);
  t.advance();
  t.change_rate(20, 48000); /* at frame 480 */
  t.advance();
  t.change_rate(20, 16000); /* at frame 1440 */
  t.forget_before(500);     /* 500 is in the 48 kHz segment */
  fail_unless_equals_int(t.segments(), 2);
  fail_unless_equals_uint64(t.running_time(500), 20 * GST_MSECOND + 416666);
  t.forget_before(2000);
  fail_unless_equals_int(t.segments(), 1);
}
GST_END_TEST;

/* ---- Outbox --------------------------------------------------------------- */

struct Posted {
  GMutex lock;
  GCond cond;
  std::vector<std::string> names;
  bool hold = false; /* the sync handler blocks while set */
  bool holding = false;
};

static GstBusSyncReply record(GstBus *, GstMessage *msg, gpointer data) {
  Posted *p = static_cast<Posted *>(data);
  g_mutex_lock(&p->lock);
  p->names.push_back(gst_structure_get_name(gst_message_get_structure(msg)));
  p->holding = p->hold;
  g_cond_broadcast(&p->cond);
  while (p->hold)
    g_cond_wait(&p->cond, &p->lock);
  p->holding = false;
  g_mutex_unlock(&p->lock);
  return GST_BUS_PASS;
}

struct Poster {
  GstElement *element;
  GstBus *bus;
  Outbox outbox;
  Posted posted;

  Poster() {
    element = GST_ELEMENT(gst_object_ref_sink(gst_bin_new(NULL)));
    bus = gst_bus_new();
    gst_element_set_bus(element, bus);
    gst_bus_set_sync_handler(bus, record, &posted, NULL);
    outbox.set_poster(element, NULL);
    g_mutex_init(&posted.lock);
    g_cond_init(&posted.cond);
  }
    ~Poster() {
    gst_bus_set_sync_handler(bus, NULL, NULL, NULL);
    gst_bus_set_flushing(bus, TRUE); /* drops what was posted */
    gst_object_unref(bus);
    gst_object_unref(element);
  }
  void enqueue(const gchar *name) {
    outbox.enqueue(
        gst_message_new_element(GST_OBJECT(element), gst_structure_new_empty(name)));
  }
};

GST_START_TEST(test_outbox_posts_in_enqueue_order) {
  Poster p;
  p.enqueue("a");
  p.enqueue("b");
  p.outbox.post();
  p.enqueue("c");
  fail_unless(p.outbox.begin_buffer());
  p.enqueue("d");
  p.outbox.end_buffer();
  fail_unless_equals_int(p.posted.names.size(), 4);
  fail_unless(p.posted.names == std::vector<std::string>({"a", "b", "c", "d"}));
  fail_unless_equals_uint64(p.outbox.posted(), 4);
}
GST_END_TEST;

struct Thread {
  GThread *thread = nullptr;
  std::atomic<bool> done{false};
  std::atomic<bool> result{false};
};

GST_START_TEST(test_outbox_buffer_wait_ends_on_flushing) {
  Poster p;
  /* Another thread posts and its sync handler blocks (as one that changes
   * the pipeline's state would). */
  p.posted.hold = true;
  p.enqueue("interrupted-mark");
  GThread *other = g_thread_new(
      "other",
      [](gpointer d) -> gpointer {
        static_cast<Poster *>(d)->outbox.post();
        return NULL;
      },
      &p);
  g_mutex_lock(&p.posted.lock);
  while (!p.posted.holding)
    g_cond_wait(&p.posted.cond, &p.posted.lock);
  g_mutex_unlock(&p.posted.lock);

  /* The streaming thread waits for its turn... */
  Thread streaming;
  streaming.thread = g_thread_new(
      "streaming",
      [](gpointer d) -> gpointer {
        Poster *p = static_cast<Poster *>(d);
        bool ok = p->outbox.begin_buffer();
        if (ok)
          p->outbox.end_buffer();
        return GINT_TO_POINTER(ok ? 1 : 2);
      },
      &p);
  /* ...until unlock() flushes: it gives up without becoming the poster. */
  p.outbox.set_flushing(true);
  fail_unless_equals_int(GPOINTER_TO_INT(g_thread_join(streaming.thread)), 2);

  g_mutex_lock(&p.posted.lock);
  p.posted.hold = false;
  g_cond_broadcast(&p.posted.cond);
  g_mutex_unlock(&p.posted.lock);
  g_thread_join(other);

  p.outbox.set_flushing(false);
  fail_unless(p.outbox.begin_buffer());
  p.outbox.end_buffer();
}
GST_END_TEST;

static GstBusSyncReply post_again(GstBus *, GstMessage *msg, gpointer data) {
  Poster *p = static_cast<Poster *>(data);
  if (gst_message_has_name(msg, "first")) {
    p->enqueue("from-handler");
    p->outbox.post(); /* the poster itself: returns, the outer loop posts it */
  }
  p->posted.names.push_back(gst_structure_get_name(gst_message_get_structure(msg)));
  return GST_BUS_PASS;
}

GST_START_TEST(test_outbox_post_from_a_sync_handler_returns) {
  Poster p;
  gst_bus_set_sync_handler(p.bus, post_again, &p, NULL);
  p.enqueue("first");
  p.enqueue("second");
  p.outbox.post();
  fail_unless(p.posted.names ==
              std::vector<std::string>({"first", "second", "from-handler"}));
}
GST_END_TEST;

/* ---- Intake --------------------------------------------------------------- */

static PushFormat format_of(const gchar *caps_string) {
  PushFormat f;
  GstCaps *caps = gst_caps_from_string(caps_string);
  f.playable = gst_audio_info_from_caps(&f.info, caps);
  gst_caps_unref(caps);
  return f;
}

static GstBuffer *bytes(const void *data, gsize size) {
  return gst_buffer_new_memdup(data, size);
}

static PushResult push(Intake &intake, const PushFormat &f, const void *data,
                       gsize size) {
  GstBuffer *buf = bytes(data, size);
  PushResult r = intake.push(SPEECH, f, buf, true);
  gst_buffer_unref(buf);
  return r;
}

static const gchar *S16_24K =
    "audio/x-raw, format=S16LE, layout=interleaved, rate=24000, channels=1";

GST_START_TEST(test_intake_joins_partial_frames) {
  Queues q;
  Intake intake(q);
  PushFormat f = format_of(S16_24K);
  const guint8 b[] = {1, 0, 2, 0, 3};
  fail_unless_equals_int(push(intake, f, b, 3).flow, GST_FLOW_OK);
  fail_unless_equals_uint64(q.speech.queued_frames(), 1);
  fail_unless_equals_int(push(intake, f, b + 3, 2).flow, GST_FLOW_OK);
  fail_unless_equals_uint64(q.speech.queued_frames(), 2);
  gint16 out[2];
  RenderResult r;
  q.speech.render(out, 2, 0, r);
  fail_unless_equals_int(out[0], 1);
  fail_unless_equals_int(out[1], 2); /* the byte 3 waits for its frame */
}
GST_END_TEST;

GST_START_TEST(test_intake_push_overtaken_by_a_new_generation_is_flushed) {
  Queues q;
  Intake intake(q);
  PushFormat f = format_of(S16_24K);
  q.max_time[SPEECH] = 10 * GST_MSECOND;
  std::vector<gint16> v(480, 7);
  fail_unless_equals_int(push(intake, f, v.data(), 960).flow, GST_FLOW_OK);

  /* The layer is full: a second push waits, and an interrupt's generation
   * bump ends its wait with FLUSHING, having queued nothing. Bumped until it
   * returns: whenever it began, a later bump overtakes it. */
  struct Args {
    Intake *intake;
    PushFormat *f;
    std::vector<gint16> *v;
    std::atomic<int> ret{-100};
    std::atomic<bool> done{false};
  } args{&intake, &f, &v};
  GThread *t = g_thread_new(
      "pusher",
      [](gpointer d) -> gpointer {
        Args *a = static_cast<Args *>(d);
        a->ret = push(*a->intake, *a->f, a->v->data(), 960).flow;
        a->done = true;
        return NULL;
      },
      &args);
  while (!args.done) {
    {
      std::lock_guard<std::mutex> lock(q.lock);
      q.generation[SPEECH]++;
    }
    q.room.notify_all();
    g_thread_yield();
  }
  g_thread_join(t);
  fail_unless_equals_int(args.ret.load(), GST_FLOW_FLUSHING);
  fail_unless_equals_uint64(q.speech.queued_frames(), 480);
}
GST_END_TEST;

GST_START_TEST(test_intake_converts_in_bounded_slices) {
  Queues q;
  Intake intake(q);
  PushFormat f =
      format_of("audio/x-raw, format=F32LE, layout=interleaved, rate=48000, channels=2");
  f.preferred = Format{24000, 1};
  /* 20 s of stereo float in one push: 7.7 MB. */
  const gsize frames = 20 * 48000;
  std::vector<float> in(frames * 2);
  for (gsize i = 0; i < frames; i++)
    in[2 * i] = in[2 * i + 1] = 0.25f * std::sin(2 * G_PI * 440.0 * i / 48000);
  fail_unless_equals_int(push(intake, f, in.data(), in.size() * sizeof(float)).flow,
                         GST_FLOW_OK);
  fail_unless(intake.scratch_bytes() <= 16 * 1024 + 8, "%zu bytes of scratch kept",
              intake.scratch_bytes());

  /* The same samples as one conversion of the whole: slicing is invisible. */
  InputConverter whole;
  fail_unless(whole.configure(f.info, Format{24000, 1}.info()));
  std::vector<gint16> expected;
  whole.convert(reinterpret_cast<const guint8 *>(in.data()), frames, expected);
  intake.drain_dry_layers(G_MAXSIZE);
  whole.drain(expected);
  std::vector<gint16> out(q.speech.queued_frames());
  RenderResult r;
  q.speech.render(out.data(), out.size(), 0, r);
  fail_unless_equals_int(out.size(), expected.size());
  /* Sample-identical but for the drained tail, the filter ringing into the
   * silence that pushes the last frames out, which depends on where the
   * last slice ended (measured: the last 22 frames, by up to 41). */
  const gsize tail = 64;
  gsize differ = 0;
  for (gsize i = 0; i + tail < out.size(); i++)
    differ += out[i] != expected[i];
  fail_unless(differ == 0,
              "sliced conversion differs from whole conversion in %zu samples", differ);

  intake.reset();
  fail_unless_equals_int(intake.scratch_bytes(), 0);
}
GST_END_TEST;

static Suite *parts_suite(void) {
  init_debug();
  Suite *suite = suite_create("parts");
  TCase *tc = tcase_create("timeline");
  suite_add_tcase(suite, tc);
  tcase_add_test(tc, test_timeline_is_exact_across_many_rate_changes);
  tcase_add_test(tc, test_timeline_two_changes_between_buffers);
  tcase_add_test(tc, test_timeline_forgets_only_what_no_position_needs);

  tc = tcase_create("outbox");
  suite_add_tcase(suite, tc);
  tcase_add_test(tc, test_outbox_posts_in_enqueue_order);
  tcase_add_test(tc, test_outbox_buffer_wait_ends_on_flushing);
  tcase_add_test(tc, test_outbox_post_from_a_sync_handler_returns);

  tc = tcase_create("intake");
  suite_add_tcase(suite, tc);
  tcase_add_test(tc, test_intake_joins_partial_frames);
  tcase_add_test(tc, test_intake_push_overtaken_by_a_new_generation_is_flushed);
  tcase_add_test(tc, test_intake_converts_in_bounded_slices);
  return suite;
}

GST_CHECK_MAIN(parts);
