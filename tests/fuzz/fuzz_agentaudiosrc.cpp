/* agentaudiosrc — libFuzzer target.
 *
 * Reads its input as a sequence of operations on one agentaudiosrc (push
 * speech / background / a speech sample, interrupt, clear-background, mark,
 * end-of-stream, crank one buffer out, advance the clock, set a property,
 * request / release a request pad, renegotiate, change state, query) and
 * checks, while it runs and at the end:
 *
 *  - every action returns the flow the contract (INTERFACE.md) gives for it;
 *  - first-audio and last-audio alternate, and after the final stop every
 *    first-audio has had its last-audio; the `speaking` property agrees;
 *  - every mark is posted exactly once, in the order the marks were placed;
 *  - no error or warning on the bus except the one of each refused push;
 *  - the streams: stream-start, caps, segment before the first buffer; the
 *    first buffer of a stream DISCONT, the others contiguous (PTS + DURATION);
 *    whole frames of one ptime; GAP buffers silent; request pads get every
 *    buffer src pushes with the same timing (src_%u: the same data) and the
 *    caps of src, and EOS when src does;
 *  - no crash, no sanitizer report, no GLib critical or warning, no hang
 *    (libFuzzer's -timeout), no leaked reference to the element.
 *
 * A broken invariant aborts, so libFuzzer keeps the input as a crash.
 *
 * Time is a GstTestClock: the element waits on it before every buffer, so a
 * "crank" releases exactly one buffer and everything else happens while the
 * streaming thread is parked on the clock. Pushes that could block (a
 * max-*-time is set) run on a helper thread and are released by cranking or
 * by interrupt / clear-background.
 *
 * Byte format: one byte chooses the operation (byte % N_OPS), the next bytes
 * are its arguments; missing bytes read as 0.
 */
#include <gst/check/gsttestclock.h>
#include <gst/gst.h>

#include <condition_variable>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gstagentaudiosrc.h"

namespace {

/* ---------------------------------------------------------------- failing */

[[noreturn]] void violation(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void violation(const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  fprintf(stderr, "\n==agentaudiosrc-fuzz== INVARIANT VIOLATED: ");
  vfprintf(stderr, fmt, args);
  fprintf(stderr, "\n");
  va_end(args);
  fflush(stderr);
  abort();
}

#define CHECK(cond, ...)   \
  do {                     \
    if (!(cond))           \
      violation(__VA_ARGS__); \
  } while (0)

/* ------------------------------------------------------------------ input */

struct Reader {
  const uint8_t *data;
  size_t size;
  size_t pos = 0;

  bool done() const { return pos >= size; }
  uint8_t u8() { return pos < size ? data[pos++] : 0; }
  uint16_t u16() {
    uint16_t lo = u8();
    return lo | (uint16_t)(u8() << 8);
  }
};

/* ------------------------------------------------------------------- caps */

enum Validity { VALID, INVALID, EITHER };

struct CapsEntry {
  const char *caps;
  Validity validity;
};

/* Formats for speech-caps, background-caps and push-speech-sample. */
const CapsEntry kInputCaps[] = {
    {"audio/x-raw, format=S16LE, layout=interleaved, rate=24000, channels=1", VALID},
    {"audio/x-raw, format=S16LE, layout=interleaved, rate=22050, channels=1", VALID},
    {"audio/x-raw, format=F32LE, layout=interleaved, rate=48000, channels=2", VALID},
    {"audio/x-raw, format=S16LE, layout=interleaved, rate=16000, channels=2", VALID},
    {"audio/x-raw, format=U8, layout=interleaved, rate=8000, channels=1", VALID},
    {"audio/x-raw, format=S32LE, layout=interleaved, rate=44100, channels=1", VALID},
    {"audio/x-raw, format=S16BE, layout=interleaved, rate=24000, channels=1", VALID},
    {"audio/x-raw, format=F64LE, layout=interleaved, rate=96000, channels=6, "
     "channel-mask=(bitmask)0x3f",
     VALID},
    {"audio/x-raw, format=S24LE, layout=interleaved, rate=11025, channels=3", EITHER},
    {"audio/x-raw, format=S16LE, layout=interleaved, rate=1000, channels=1", EITHER},
    {"audio/x-raw, format=S16LE, layout=interleaved, rate=768000, channels=1", EITHER},
    {"audio/x-raw, format=S16LE, layout=interleaved, rate=1, channels=1", EITHER},
    {"audio/x-raw, format=S16LE, layout=interleaved, rate=24000, channels=64", EITHER},
    {"video/x-raw, format=I420, width=16, height=16, framerate=30/1", INVALID},
    {"audio/x-raw, format=S16LE, layout=interleaved, rate=[8000, 48000], channels=1",
     INVALID},
    {"audio/x-raw, format=S16LE, layout=non-interleaved, rate=24000, channels=2",
     INVALID},
    /* Encoded audio that no installed plugin decodes (encoded input that
     * decodes is tested in test_encoded and test_decoder). */
    {"audio/x-agentaudio-unknown, rate=48000, channels=1", INVALID},
};
const size_t kNumInputCaps = G_N_ELEMENTS(kInputCaps);

/* What downstream (the fake sink) accepts; NULL = anything. */
const char *const kSinkCaps[] = {
    nullptr,
    "audio/x-raw, rate=48000, channels=2",
    "audio/x-raw, rate=16000, channels=1",
    "audio/x-raw, rate=8000",
    "audio/x-raw, rate=44100, channels=6",
    "audio/x-raw, rate=192000, channels=8",
    "audio/x-raw, rate=22050, channels=1",
    "audio/x-raw, channels=2",
};

const guint kPtimes[] = {1, 3, 10, 20, 20, 30, 60, 1000};

/* ------------------------------------------------------- observed streams */

enum PadRole { MAIN, MIXED, SPEECH };

struct Stream {
  PadRole role;
  GstPad *element_pad = nullptr; /* owned ref */
  GstPad *sink = nullptr;        /* ours, owned */
  /* Guarded by Ctx::lock. */
  bool stream_start = false, caps = false, segment = false, eos = false;
  std::string stream_id;
  guint64 buffers = 0;       /* src: all of them (crank() waits on it) */
  bool had_buffer = false;   /* a buffer in this stream */
  bool expect_discont = true;
  GstClockTime next_pts = GST_CLOCK_TIME_NONE;
  GstBuffer *pending = nullptr; /* request pads: the buffer for src's next one */
};

struct Ctx {
  std::mutex lock;
  std::condition_variable cond;

  GstElement *element = nullptr;
  GstTestClock *clock = nullptr;
  Stream *main = nullptr;
  std::vector<Stream *> requests; /* guarded by lock (read by the streaming thread) */
  GstCaps *sink_caps = nullptr;   /* what our sinks accept; guarded by lock */
  guint ptime_in_use = 20;        /* guarded by lock */

  /* Bus, guarded by lock. */
  bool speaking = false;
  GstClockTime first_rt = GST_CLOCK_TIME_NONE;
  std::deque<std::string> marks_due; /* placed, not yet posted, in order */
  guint64 marks_placed = 0, marks_posted = 0;
  guint errors = 0, expected_errors = 0;
  std::string last_error;

  /* OP_REENTRANT: done by the bus handler at the next element message, on
   * the thread that posts it (the streaming thread, or ours). */
  int reentrant = -1;
  bool reentrant_push_ok[2] = {false, false}; /* the layer's caps are VALID */
  bool max_time_set[2] = {false, false};
  GThread *main_thread = nullptr;
};

Ctx *g_ctx = nullptr;

const char *role_name(PadRole r) {
  return r == MAIN ? "src" : r == MIXED ? "src_%u" : "speech_%u";
}

Stream *stream_of(GstPad *pad);

/* The sink on src accepts what sink_caps allows (RENEGOTIATE changes it);
 * those on request pads accept anything: they carry src's caps. */
gboolean sink_query(GstPad *pad, GstObject *parent, GstQuery *query) {
  Ctx *ctx = g_ctx;
  if (stream_of(pad)->role != MAIN)
    return gst_pad_query_default(pad, parent, query);
  switch (GST_QUERY_TYPE(query)) {
    case GST_QUERY_CAPS: {
      GstCaps *filter = nullptr, *caps;
      gst_query_parse_caps(query, &filter);
      {
        std::lock_guard<std::mutex> l(ctx->lock);
        caps = ctx->sink_caps ? gst_caps_ref(ctx->sink_caps) : gst_caps_new_any();
      }
      if (filter) {
        GstCaps *i = gst_caps_intersect_full(filter, caps, GST_CAPS_INTERSECT_FIRST);
        gst_caps_unref(caps);
        caps = i;
      }
      gst_query_set_caps_result(query, caps);
      gst_caps_unref(caps);
      return TRUE;
    }
    case GST_QUERY_ACCEPT_CAPS:
      /* Anything, like a converter would: RENEGOTIATE changes what the
       * CAPS query answers, and a buffer already made in the old caps must
       * still go through (a refused caps event would make GstBaseSrc drop
       * it, a crank without a buffer). */
      gst_query_set_accept_caps_result(query, TRUE);
      return TRUE;
    default:
      return gst_pad_query_default(pad, parent, query);
  }
}

Stream *stream_of(GstPad *pad) {
  return static_cast<Stream *>(gst_pad_get_element_private(pad));
}

bool buffers_same_timing(GstBuffer *a, GstBuffer *b) {
  return GST_BUFFER_PTS(a) == GST_BUFFER_PTS(b) &&
         GST_BUFFER_DURATION(a) == GST_BUFFER_DURATION(b) &&
         GST_BUFFER_OFFSET(a) == GST_BUFFER_OFFSET(b) &&
         GST_BUFFER_OFFSET_END(a) == GST_BUFFER_OFFSET_END(b);
}

bool buffers_same_data(GstBuffer *a, GstBuffer *b) {
  GstMapInfo ma, mb;
  if (gst_buffer_get_size(a) != gst_buffer_get_size(b))
    return false;
  gst_buffer_map(a, &ma, GST_MAP_READ);
  gst_buffer_map(b, &mb, GST_MAP_READ);
  bool same = memcmp(ma.data, mb.data, ma.size) == 0;
  gst_buffer_unmap(a, &ma);
  gst_buffer_unmap(b, &mb);
  return same;
}

gboolean sink_event(GstPad *pad, GstObject *parent, GstEvent *event) {
  (void)parent;
  Ctx *ctx = g_ctx;
  Stream *s = stream_of(pad);
  std::unique_lock<std::mutex> l(ctx->lock);
  const char *name = role_name(s->role);

  switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_STREAM_START: {
      const gchar *id = nullptr;
      gst_event_parse_stream_start(event, &id);
      CHECK(id != nullptr, "%s: stream-start without an id", name);
      s->stream_start = true;
      s->caps = s->segment = s->eos = s->had_buffer = false;
      s->stream_id = id;
      s->expect_discont = true;
      s->next_pts = GST_CLOCK_TIME_NONE;
      gst_buffer_replace(&s->pending, nullptr);
      if (s->role != MAIN && ctx->main->stream_start)
        CHECK(s->stream_id != ctx->main->stream_id, "%s: stream id %s is src's", name,
              id);
      break;
    }
    case GST_EVENT_CAPS: {
      CHECK(s->stream_start, "%s: caps before stream-start", name);
      CHECK(!s->eos, "%s: caps after EOS", name);
      GstCaps *caps;
      gst_event_parse_caps(event, &caps);
      CHECK(gst_caps_is_fixed(caps), "%s: caps not fixed", name);
      s->caps = true;
      break;
    }
    case GST_EVENT_SEGMENT:
      CHECK(s->caps, "%s: segment before caps", name);
      CHECK(!s->eos, "%s: segment after EOS", name);
      s->segment = true;
      break;
    case GST_EVENT_EOS:
      CHECK(s->stream_start, "%s: EOS before stream-start", name);
      CHECK(!s->eos, "%s: EOS twice", name);
      s->eos = true;
      if (s->role == MAIN) {
        /* The request pads end with src: their EOS goes out first. */
        for (Stream *r : ctx->requests)
          if (r->stream_start && r->had_buffer)
            CHECK(r->eos, "src ended but %s (%s) did not", role_name(r->role),
                  GST_PAD_NAME(r->element_pad));
        ctx->cond.notify_all();
      }
      break;
    case GST_EVENT_FLUSH_START:
    case GST_EVENT_FLUSH_STOP:
      violation("%s: unexpected %s", name, GST_EVENT_TYPE_NAME(event));
    default:
      break;
  }
  l.unlock();
  gst_event_unref(event);
  return TRUE;
}

gint caps_rate_channels(GstPad *pad, gint *channels) {
  GstCaps *caps = gst_pad_get_current_caps(pad);
  gint rate = 0;
  *channels = 0;
  if (caps) {
    GstStructure *st = gst_caps_get_structure(caps, 0);
    gst_structure_get_int(st, "rate", &rate);
    gst_structure_get_int(st, "channels", channels);
    gst_caps_unref(caps);
  }
  return rate;
}

GstFlowReturn sink_chain(GstPad *pad, GstObject *parent, GstBuffer *buffer) {
  (void)parent;
  Ctx *ctx = g_ctx;
  Stream *s = stream_of(pad);
  std::unique_lock<std::mutex> l(ctx->lock);
  const char *name = role_name(s->role);

  CHECK(s->stream_start && s->caps && s->segment,
        "%s: buffer before stream-start/caps/segment (%d/%d/%d)", name, s->stream_start,
        s->caps, s->segment);
  CHECK(!s->eos, "%s: buffer after EOS", name);
  s->buffers++;
  s->had_buffer = true;

  if (s->role != MAIN) {
    CHECK(s->pending == nullptr, "%s (%s): two buffers for one buffer of src", name,
          GST_PAD_NAME(s->element_pad));
    s->pending = buffer;
    return GST_FLOW_OK;
  }

  /* src: one ptime of whole frames, contiguous. */
  gint channels, rate = caps_rate_channels(pad, &channels);
  CHECK(rate > 0 && channels > 0, "src: buffer with unusable caps");
  const gsize bpf = channels * sizeof(gint16);
  const gsize size = gst_buffer_get_size(buffer);
  CHECK(size > 0 && size % bpf == 0, "src: %zu bytes is not whole frames of %zu", size,
        bpf);
  const guint64 frames = size / bpf;
  CHECK(GST_BUFFER_PTS_IS_VALID(buffer) && GST_BUFFER_DURATION_IS_VALID(buffer),
        "src: buffer without PTS or DURATION");
  CHECK(GST_BUFFER_OFFSET_END(buffer) - GST_BUFFER_OFFSET(buffer) == frames,
        "src: offsets %" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT " for %" G_GUINT64_FORMAT
        " frames",
        GST_BUFFER_OFFSET(buffer), GST_BUFFER_OFFSET_END(buffer), frames);
  const GstClockTime ptime = ctx->ptime_in_use * GST_MSECOND;
  const GstClockTime dur = GST_BUFFER_DURATION(buffer);
  const GstClockTime one_frame = gst_util_uint64_scale_int_ceil(1, GST_SECOND, rate);
  CHECK(dur + one_frame >= ptime && dur <= ptime + one_frame,
        "src: duration %" GST_TIME_FORMAT " for a ptime of %u ms at %d Hz",
        GST_TIME_ARGS(dur), ctx->ptime_in_use, rate);
  const GstClockTime frames_time = gst_util_uint64_scale_int(frames, GST_SECOND, rate);
  CHECK(frames_time + one_frame >= dur && frames_time <= dur + one_frame,
        "src: %" G_GUINT64_FORMAT " frames at %d Hz in a buffer of %" GST_TIME_FORMAT,
        frames, rate, GST_TIME_ARGS(dur));
  const bool discont = GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DISCONT);
  CHECK(discont == s->expect_discont, "src: buffer %" G_GUINT64_FORMAT " DISCONT=%d",
        s->buffers, discont);
  if (GST_CLOCK_TIME_IS_VALID(s->next_pts))
    CHECK(GST_BUFFER_PTS(buffer) == s->next_pts,
          "src: PTS %" GST_TIME_FORMAT ", the last buffer ended at %" GST_TIME_FORMAT,
          GST_TIME_ARGS(GST_BUFFER_PTS(buffer)), GST_TIME_ARGS(s->next_pts));
  s->expect_discont = false;
  s->next_pts = GST_BUFFER_PTS(buffer) + dur;
  if (GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_GAP)) {
    GstMapInfo map;
    gst_buffer_map(buffer, &map, GST_MAP_READ);
    for (gsize i = 0; i < map.size; i++)
      CHECK(map.data[i] == 0, "src: GAP buffer with a non-zero byte at %zu", i);
    gst_buffer_unmap(buffer, &map);
  }

  /* The request pads were pushed first: each has this buffer's copy. */
  GstCaps *main_caps = gst_pad_get_current_caps(pad);
  for (Stream *r : ctx->requests) {
    const char *rname = GST_PAD_NAME(r->element_pad);
    CHECK(r->pending != nullptr,
          "%s missed buffer %" G_GUINT64_FORMAT " of src (PTS %" GST_TIME_FORMAT
          "); it has had stream-start %d, caps %d, segment %d, %" G_GUINT64_FORMAT
          " buffers",
          rname, s->buffers, GST_TIME_ARGS(GST_BUFFER_PTS(buffer)), r->stream_start, r->caps,
          r->segment, r->buffers);
    CHECK(buffers_same_timing(r->pending, buffer), "%s: timing differs from src", rname);
    if (r->role == MIXED)
      CHECK(buffers_same_data(r->pending, buffer), "%s: data differs from src", rname);
    else
      CHECK(gst_buffer_get_size(r->pending) == size, "%s: size differs from src", rname);
    GstCaps *rcaps = gst_pad_get_current_caps(r->sink);
    CHECK(rcaps && gst_caps_is_equal(rcaps, main_caps), "%s: caps differ from src's",
          rname);
    gst_caps_unref(rcaps);
    gst_buffer_replace(&r->pending, nullptr);
  }
  gst_caps_unref(main_caps);

  gst_buffer_unref(buffer);
  ctx->cond.notify_all();
  return GST_FLOW_OK;
}

Stream *stream_new(Ctx *ctx, GstPad *element_pad, PadRole role) {
  static GstStaticPadTemplate templ =
      GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);
  Stream *s = new Stream();
  s->role = role;
  s->element_pad = element_pad;
  s->sink = gst_pad_new_from_static_template(&templ, "sink");
  gst_pad_set_element_private(s->sink, s);
  gst_pad_set_chain_function(s->sink, sink_chain);
  gst_pad_set_event_function(s->sink, sink_event);
  gst_pad_set_query_function(s->sink, sink_query);
  gst_pad_set_active(s->sink, TRUE);
  (void)ctx;
  CHECK(gst_pad_link(element_pad, s->sink) == GST_PAD_LINK_OK, "cannot link %s",
        GST_PAD_NAME(element_pad));
  return s;
}

void stream_free(Stream *s) {
  gst_pad_set_active(s->sink, FALSE);
  gst_object_unref(s->sink);
  gst_object_unref(s->element_pad);
  gst_buffer_replace(&s->pending, nullptr);
  delete s;
}

/* -------------------------------------------------------------------- bus */

/* An action signal from the bus handler (called with ctx->lock held, which
 * it releases): from the streaming thread, a push must neither block nor be
 * refused, and nothing may deadlock. */
void reentrant_action(Ctx *ctx, std::unique_lock<std::mutex> &l, int action) {
  GstElement *e = ctx->element;
  const bool on_main = g_thread_self() == ctx->main_thread;
  switch (action) {
    case 0:
    case 1: {
      const int layer = action;
      /* Only pushes that cannot be refused, and none that could block the
       * thread that cranks. */
      if (!ctx->reentrant_push_ok[layer] || (on_main && ctx->max_time_set[layer]))
        return;
      l.unlock();
      std::vector<gint16> v(480 + 7 * action);
      for (gsize i = 0; i < v.size(); i++)
        v[i] = (gint16)(1000 + i * 37);
      GstBuffer *buf = gst_buffer_new_memdup(v.data(), v.size() * sizeof(gint16));
      GstFlowReturn ret = GST_FLOW_CUSTOM_ERROR;
      g_signal_emit_by_name(e, layer == 0 ? "push-speech" : "push-background", buf, &ret);
      gst_buffer_unref(buf);
      CHECK(ret == GST_FLOW_OK || ret == GST_FLOW_EOS || ret == GST_FLOW_FLUSHING,
            "%s from the bus handler returned %s", layer == 0 ? "push-speech" : "push-background",
            gst_flow_get_name(ret));
      break;
    }
    case 2:
    case 3: {
      l.unlock();
      guint64 dropped;
      g_signal_emit_by_name(e, action == 2 ? "interrupt" : "clear-background", &dropped);
      break;
    }
    case 4: {
      gchar *name = g_strdup_printf("r%" G_GUINT64_FORMAT, ctx->marks_placed);
      ctx->marks_due.push_back(name);
      ctx->marks_placed++;
      l.unlock();
      g_signal_emit_by_name(e, "mark", name);
      g_free(name);
      break;
    }
    default: {
      l.unlock();
      guint64 a, b;
      gboolean speaking;
      g_object_get(e, "queued-speech-time", &a, "queued-background-time", &b, "speaking",
                   &speaking, NULL);
      break;
    }
  }
}

GstBusSyncReply bus_sync(GstBus *bus, GstMessage *msg, gpointer data) {
  (void)bus;
  Ctx *ctx = static_cast<Ctx *>(data);
  std::unique_lock<std::mutex> l(ctx->lock);
  int action = -1;

  switch (GST_MESSAGE_TYPE(msg)) {
    case GST_MESSAGE_ERROR:
    case GST_MESSAGE_WARNING: {
      GError *err = nullptr;
      gchar *dbg = nullptr;
      if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR)
        gst_message_parse_error(msg, &err, &dbg);
      else
        gst_message_parse_warning(msg, &err, &dbg);
      ctx->last_error = std::string(err->message) + " (" + (dbg ? dbg : "") + ")";
      if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_WARNING)
        violation("warning on the bus: %s", ctx->last_error.c_str());
      ctx->errors++;
      g_error_free(err);
      g_free(dbg);
      ctx->cond.notify_all();
      break;
    }
    case GST_MESSAGE_ELEMENT: {
      const GstStructure *st = gst_message_get_structure(msg);
      const gchar *name = gst_structure_get_name(st);
      guint64 rt = GST_CLOCK_TIME_NONE;
      gst_structure_get_uint64(st, "running-time", &rt);
      if (g_str_equal(name, "first-audio")) {
        CHECK(!ctx->speaking, "first-audio while speaking (no last-audio in between)");
        CHECK(GST_CLOCK_TIME_IS_VALID(rt), "first-audio without a running time");
        ctx->speaking = true;
        ctx->first_rt = rt;
      } else if (g_str_equal(name, "last-audio")) {
        CHECK(ctx->speaking, "last-audio without first-audio");
        guint64 duration = 0, dropped = 0;
        gboolean interrupted;
        CHECK(gst_structure_get_uint64(st, "duration", &duration) &&
                  gst_structure_get_uint64(st, "dropped", &dropped) &&
                  gst_structure_get_boolean(st, "interrupted", &interrupted),
              "last-audio lacks a field: %" GST_PTR_FORMAT, st);
        CHECK(GST_CLOCK_TIME_IS_VALID(rt) && rt >= ctx->first_rt,
              "last-audio at %" GST_TIME_FORMAT " before first-audio at %" GST_TIME_FORMAT,
              GST_TIME_ARGS(rt), GST_TIME_ARGS(ctx->first_rt));
        ctx->speaking = false;
      } else if (g_str_equal(name, "mark")) {
        const gchar *mark = gst_structure_get_string(st, "name");
        CHECK(mark != nullptr, "mark without a name");
        CHECK(!ctx->marks_due.empty(), "mark %s posted, none pending (posted twice?)",
              mark);
        CHECK(ctx->marks_due.front() == mark,
              "mark %s posted, %s was placed before it and is still pending", mark,
              ctx->marks_due.front().c_str());
        ctx->marks_due.pop_front();
        ctx->marks_posted++;
      }
      action = ctx->reentrant;
      ctx->reentrant = -1;
      break;
    }
    default:
      break;
  }
  gst_message_unref(msg); /* GST_BUS_DROP: the handler owns the message */
  if (action >= 0)
    reentrant_action(ctx, l, action);
  return GST_BUS_DROP;
}

/* ------------------------------------------------------------ the element */

struct Model {
  GstState state = GST_STATE_NULL;
  bool eos_pending = false;
  guint caps_idx[2] = {0, 0}; /* speech, background */
  guint64 max_time[2] = {0, 0};
  guint ptime = 20;
};

bool started(const Model &m) { return m.state >= GST_STATE_PAUSED; }

GstFlowReturn emit_push(GstElement *e, const char *signal, GstBuffer *buf) {
  GstFlowReturn ret = GST_FLOW_CUSTOM_ERROR;
  g_signal_emit_by_name(e, signal, buf, &ret);
  return ret;
}

GstFlowReturn emit_push_sample(GstElement *e, GstSample *sample) {
  GstFlowReturn ret = GST_FLOW_CUSTOM_ERROR;
  g_signal_emit_by_name(e, "push-speech-sample", sample, &ret);
  return ret;
}

guint64 emit_u64(GstElement *e, const char *signal) {
  guint64 v = G_MAXUINT64;
  g_signal_emit_by_name(e, signal, &v);
  return v;
}

void check_errors(Ctx *ctx) {
  std::lock_guard<std::mutex> l(ctx->lock);
  CHECK(ctx->errors == ctx->expected_errors, "%u errors on the bus, %u expected; last: %s",
        ctx->errors, ctx->expected_errors, ctx->last_error.c_str());
}

bool streaming(Ctx *ctx, const Model &m) {
  std::lock_guard<std::mutex> l(ctx->lock);
  return m.state == GST_STATE_PLAYING && !ctx->main->eos;
}

/* Releases one buffer: the element must be waiting on the clock, and then
 * push a buffer or EOS. Returns false when the element is not streaming. */
bool crank(Ctx *ctx, const Model &m) {
  if (!streaming(ctx, m))
    return false;
  if (!gst_test_clock_timed_wait_for_multiple_pending_ids(ctx->clock, 1, 5000, nullptr)) {
    check_errors(ctx);
    violation("PLAYING, not at EOS, yet the element does not wait on the clock");
  }
  guint64 before;
  {
    std::lock_guard<std::mutex> l(ctx->lock);
    before = ctx->main->buffers;
  }
  CHECK(gst_test_clock_crank(ctx->clock), "crank did not release the element's wait");
  std::unique_lock<std::mutex> l(ctx->lock);
  bool out = ctx->cond.wait_for(l, std::chrono::seconds(5), [&] {
    return ctx->main->buffers > before || ctx->main->eos || ctx->errors > ctx->expected_errors;
  });
  CHECK(out, "a crank released the element but it pushed nothing");
  l.unlock();
  check_errors(ctx);
  /* `speaking` follows first-audio / last-audio. */
  gboolean speaking;
  g_object_get(ctx->element, "speaking", &speaking, NULL);
  std::lock_guard<std::mutex> l2(ctx->lock);
  CHECK(!speaking == !ctx->speaking, "speaking=%d, but the messages say %d", speaking,
        ctx->speaking);
  return true;
}

void fill(std::vector<uint8_t> &bytes, uint8_t mode, Reader &in) {
  size_t n = bytes.size();
  switch (mode % 5) {
    case 0: /* from the input: the fuzzer controls the samples */
      for (size_t i = 0; i < n; i++)
        bytes[i] = in.u8();
      break;
    case 1: { /* noise */
      uint32_t x = 2463534242u ^ (uint32_t)n;
      for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        bytes[i] = (uint8_t)x;
      }
      break;
    }
    case 2: { /* full scale, alternating: saturates any mix */
      static const uint8_t pat[] = {0xff, 0x7f, 0x00, 0x80};
      for (size_t i = 0; i < n; i++)
        bytes[i] = pat[i % 4];
      break;
    }
    case 3: { /* NaN, infinities and huge floats, for float formats */
      static const uint8_t pat[] = {0x00, 0x00, 0xc0, 0x7f, 0x00, 0x00, 0x80, 0x7f,
                                    0x00, 0x00, 0x80, 0xff, 0xff, 0xff, 0x7f, 0x7f};
      for (size_t i = 0; i < n; i++)
        bytes[i] = pat[i % sizeof(pat)];
      break;
    }
    default:
      std::fill(bytes.begin(), bytes.end(), 0);
  }
}

/* INTERFACE.md: after end-of-stream "later pushes return GST_FLOW_EOS" (of
 * either layer), until a stop. */
GstFlowReturn expected_push(const Model &m, int layer, Validity v) {
  (void)layer;
  if (m.eos_pending)
    return GST_FLOW_EOS;
  return v == INVALID ? GST_FLOW_NOT_NEGOTIATED : GST_FLOW_OK;
}

void check_push(Ctx *ctx, const char *what, GstFlowReturn ret, GstFlowReturn want,
                Validity v, bool may_flush) {
  if (ret == GST_FLOW_NOT_NEGOTIATED) {
    std::lock_guard<std::mutex> l(ctx->lock);
    ctx->expected_errors++;
  }
  bool ok = ret == want || (v == EITHER && want == GST_FLOW_OK &&
                            ret == GST_FLOW_NOT_NEGOTIATED) ||
            (may_flush && ret == GST_FLOW_FLUSHING);
  CHECK(ok, "%s returned %s, expected %s", what, gst_flow_get_name(ret),
        gst_flow_get_name(want));
  check_errors(ctx);
}

/* A push that may block (max-*-time): on a thread, released by cranking or,
 * when the element is not streaming, by interrupt / clear-background. */
GstFlowReturn blocking_push(Ctx *ctx, Model &m, const char *signal, GstBuffer *buf,
                            int layer) {
  std::mutex lock;
  std::condition_variable cond;
  bool done = false;
  GstFlowReturn ret = GST_FLOW_CUSTOM_ERROR;
  std::thread t([&] {
    GstFlowReturn r = emit_push(ctx->element, signal, buf);
    std::lock_guard<std::mutex> l(lock);
    ret = r;
    done = true;
    cond.notify_all();
  });
  auto wait = [&](int ms) {
    std::unique_lock<std::mutex> l(lock);
    return cond.wait_for(l, std::chrono::milliseconds(ms), [&] { return done; });
  };
  const char *release = layer == 0 ? "interrupt" : "clear-background";
  if (!wait(20)) {
    for (int i = 0; i < 100 && !wait(0) && crank(ctx, m); i++) {
    }
    if (!wait(0))
      emit_u64(ctx->element, release);
    if (!wait(200)) {
      /* The thread may have started its push after the release (then it is
       * a new push, rightly waiting: a fade's tail can still fill the
       * queue). Make room: play it out, or lift the limit, which wakes
       * blocked pushes. */
      for (int i = 0; i < 100 && !wait(0) && crank(ctx, m); i++) {
      }
      if (!wait(0)) {
        m.max_time[layer] = 0;
        g_object_set(ctx->element, layer == 0 ? "max-speech-time" : "max-background-time",
                     (guint64)0, NULL);
      }
    }
    CHECK(wait(5000), "%s blocked by max-*-time is released neither by %s nor by lifting "
          "the limit", signal, release);
  }
  t.join();
  return ret;
}

enum Op {
  OP_PUSH_SPEECH,
  OP_PUSH_BACKGROUND,
  OP_PUSH_SAMPLE,
  OP_INTERRUPT,
  OP_CLEAR_BACKGROUND,
  OP_MARK,
  OP_CRANK,
  OP_ADVANCE,
  OP_PROPERTY,
  OP_REQUEST_PAD,
  OP_RELEASE_PAD,
  OP_STATE,
  OP_END_OF_STREAM,
  OP_RENEGOTIATE,
  OP_QUERY,
  OP_REENTRANT,
  N_OPS
};

void set_state(Ctx *ctx, Model &m, GstState state) {
  const bool was_started = started(m);
  if (!was_started && state >= GST_STATE_PAUSED) {
    std::lock_guard<std::mutex> l(ctx->lock);
    ctx->ptime_in_use = m.ptime; /* ptime is read at start */
  }
  GstStateChangeReturn r = gst_element_set_state(ctx->element, state);
  CHECK(r != GST_STATE_CHANGE_FAILURE, "state change to %s failed",
        gst_element_state_get_name(state));
  CHECK(r != GST_STATE_CHANGE_ASYNC, "state change to %s is async",
        gst_element_state_get_name(state));
  m.state = state;
  if (was_started && !started(m)) {
    m.eos_pending = false; /* PAUSED->READY stops: end-of-stream is forgotten */
    std::lock_guard<std::mutex> l(ctx->lock);
    ctx->main->eos = false; /* the next start begins a new stream */
  }
  check_errors(ctx);
}

void run(const uint8_t *data, size_t size) {
  Ctx ctx;
  Model m;
  Reader in{data, size};
  g_ctx = &ctx;
  ctx.main_thread = g_thread_self();

  ctx.element = gst_element_factory_make("agentaudiosrc", nullptr);
  CHECK(ctx.element != nullptr, "no agentaudiosrc");
  gst_object_ref_sink(ctx.element);
  ctx.clock = GST_TEST_CLOCK(gst_test_clock_new());
  gst_element_set_clock(ctx.element, GST_CLOCK(ctx.clock));
  GstBus *bus = gst_bus_new();
  gst_bus_set_sync_handler(bus, bus_sync, &ctx, nullptr);
  gst_element_set_bus(ctx.element, bus);
  ctx.main = stream_new(&ctx, gst_element_get_static_pad(ctx.element, "src"), MAIN);

  guint mark_counter = 0;
  std::vector<uint8_t> bytes;

  while (!in.done()) {
    {
      /* What a pending OP_REENTRANT may do, as of now. */
      std::lock_guard<std::mutex> l(ctx.lock);
      for (int layer = 0; layer < 2; layer++) {
        ctx.reentrant_push_ok[layer] = kInputCaps[m.caps_idx[layer]].validity == VALID;
        ctx.max_time_set[layer] = m.max_time[layer] > 0;
      }
    }
    const uint8_t op = in.u8() % N_OPS;
    switch (op) {
      case OP_PUSH_SPEECH:
      case OP_PUSH_BACKGROUND:
      case OP_PUSH_SAMPLE: {
        const int layer = op == OP_PUSH_BACKGROUND ? 1 : 0;
        const size_t len = in.u16() % 6000;
        const uint8_t mode = in.u8();
        const uint8_t caps_sel = op == OP_PUSH_SAMPLE ? in.u8() : 0;
        bytes.assign(len, 0);
        fill(bytes, mode, in);
        GstBuffer *buf = len ? gst_buffer_new_memdup(bytes.data(), len) : gst_buffer_new();
        if (op == OP_PUSH_SAMPLE) {
          /* Caps from the table, or none: then speech-caps applies. */
          const bool none = caps_sel % (kNumInputCaps + 1) == kNumInputCaps;
          const CapsEntry &ce = kInputCaps[none ? m.caps_idx[0] : caps_sel % kNumInputCaps];
          GstCaps *caps = none ? nullptr : gst_caps_from_string(ce.caps);
          GstSample *sample = gst_sample_new(buf, caps, nullptr, nullptr);
          GstFlowReturn want = expected_push(m, 0, ce.validity);
          GstFlowReturn ret;
          if (m.max_time[0] > 0 && want == GST_FLOW_OK) {
            /* Cannot block without a thread either: keep it simple and
             * only push samples when nothing limits the queue. */
            ret = want;
          } else {
            ret = emit_push_sample(ctx.element, sample);
            check_push(&ctx, "push-speech-sample", ret, want, ce.validity, false);
          }
          gst_sample_unref(sample);
          if (caps)
            gst_caps_unref(caps);
        } else {
          const CapsEntry &ce = kInputCaps[m.caps_idx[layer]];
          const char *signal = layer == 0 ? "push-speech" : "push-background";
          GstFlowReturn want = expected_push(m, layer, ce.validity);
          GstFlowReturn ret;
          bool may_flush = false;
          if (m.max_time[layer] > 0 && want != GST_FLOW_EOS) {
            ret = blocking_push(&ctx, m, signal, buf, layer);
            may_flush = true; /* released by interrupt / clear-background */
          } else {
            ret = emit_push(ctx.element, signal, buf);
          }
          check_push(&ctx, signal, ret, want, ce.validity, may_flush);
        }
        gst_buffer_unref(buf);
        break;
      }
      case OP_INTERRUPT:
        emit_u64(ctx.element, "interrupt");
        check_errors(&ctx);
        break;
      case OP_CLEAR_BACKGROUND:
        emit_u64(ctx.element, "clear-background");
        check_errors(&ctx);
        break;
      case OP_MARK: {
        gchar *name = g_strdup_printf("m%u", mark_counter++);
        {
          std::lock_guard<std::mutex> l(ctx.lock);
          ctx.marks_due.push_back(name);
          ctx.marks_placed++;
        }
        g_signal_emit_by_name(ctx.element, "mark", name);
        g_free(name);
        break;
      }
      case OP_CRANK: {
        const int n = 1 + in.u8() % 16;
        for (int i = 0; i < n && crank(&ctx, m); i++) {
        }
        break;
      }
      case OP_ADVANCE:
        gst_test_clock_advance_time(ctx.clock, in.u8() * 3 * GST_MSECOND);
        break;
      case OP_PROPERTY: {
        const uint8_t which = in.u8(), v = in.u8();
        switch (which % 10) {
          case 0:
            g_object_set(ctx.element, "background-volume", v / 25.5, NULL);
            break;
          case 1:
            g_object_set(ctx.element, "duck-volume", v / 255.0, NULL);
            break;
          case 2:
            g_object_set(ctx.element, "background-loop", (gboolean)(v & 1), NULL);
            break;
          case 3:
            g_object_set(ctx.element, "interrupt-fade", (guint64)(v % 101) * 10 * GST_MSECOND,
                         NULL);
            break;
          case 4:
          case 5: {
            const int layer = which % 10 - 4;
            m.max_time[layer] = v < 128 ? 0 : (guint64)(v - 127) * 5 * GST_MSECOND;
            g_object_set(ctx.element, layer == 0 ? "max-speech-time" : "max-background-time",
                         m.max_time[layer], NULL);
            break;
          }
          case 6:
          case 7: {
            const int layer = which % 10 - 6;
            m.caps_idx[layer] = v % kNumInputCaps;
            GstCaps *caps = gst_caps_from_string(kInputCaps[m.caps_idx[layer]].caps);
            g_object_set(ctx.element, layer == 0 ? "speech-caps" : "background-caps", caps,
                         NULL);
            gst_caps_unref(caps);
            break;
          }
          case 8:
            m.ptime = kPtimes[v % G_N_ELEMENTS(kPtimes)];
            g_object_set(ctx.element, "ptime", m.ptime, NULL);
            break;
          default: /* NULL caps: back to the default */
            m.caps_idx[v & 1] = 0;
            g_object_set(ctx.element, (v & 1) ? "background-caps" : "speech-caps", NULL,
                         NULL);
            break;
        }
        check_errors(&ctx);
        break;
      }
      case OP_REQUEST_PAD: {
        const uint8_t v = in.u8();
        if (ctx.requests.size() >= 4)
          break;
        const bool speech = v & 1;
        GstPad *pad =
            gst_element_request_pad_simple(ctx.element, speech ? "speech_%u" : "src_%u");
        CHECK(pad != nullptr, "request for %s failed", speech ? "speech_%u" : "src_%u");
        Stream *s = stream_new(&ctx, pad, speech ? SPEECH : MIXED);
        std::lock_guard<std::mutex> l(ctx.lock);
        ctx.requests.push_back(s);
        break;
      }
      case OP_RELEASE_PAD: {
        const uint8_t v = in.u8();
        Stream *s;
        {
          std::lock_guard<std::mutex> l(ctx.lock);
          if (ctx.requests.empty())
            break;
          s = ctx.requests[v % ctx.requests.size()];
          ctx.requests.erase(ctx.requests.begin() + v % ctx.requests.size());
        }
        gst_element_release_request_pad(ctx.element, s->element_pad);
        stream_free(s);
        break;
      }
      case OP_STATE: {
        static const GstState states[] = {GST_STATE_NULL, GST_STATE_READY, GST_STATE_PAUSED,
                                          GST_STATE_PLAYING};
        set_state(&ctx, m, states[in.u8() % 4]);
        break;
      }
      case OP_END_OF_STREAM: {
        GstFlowReturn want = m.eos_pending ? GST_FLOW_EOS : GST_FLOW_OK;
        GstFlowReturn ret = GST_FLOW_CUSTOM_ERROR;
        g_signal_emit_by_name(ctx.element, "end-of-stream", &ret);
        CHECK(ret == want, "end-of-stream returned %s, expected %s", gst_flow_get_name(ret),
              gst_flow_get_name(want));
        m.eos_pending = true;
        break;
      }
      case OP_RENEGOTIATE: {
        const char *str = kSinkCaps[in.u8() % G_N_ELEMENTS(kSinkCaps)];
        GstCaps *caps = str ? gst_caps_from_string(str) : nullptr;
        {
          std::lock_guard<std::mutex> l(ctx.lock);
          gst_caps_replace(&ctx.sink_caps, caps);
        }
        if (caps)
          gst_caps_unref(caps);
        gst_pad_push_event(ctx.main->sink, gst_event_new_reconfigure());
        break;
      }
      case OP_REENTRANT: {
        std::lock_guard<std::mutex> l(ctx.lock);
        ctx.reentrant = in.u8() % 6;
        break;
      }
      case OP_QUERY: {
        GstQuery *q = gst_query_new_latency();
        GstPad *src = ctx.main->element_pad;
        CHECK(gst_pad_query(src, q), "latency query failed");
        gboolean live;
        GstClockTime min, max;
        gst_query_parse_latency(q, &live, &min, &max);
        gst_query_unref(q);
        CHECK(live, "latency: not live");
        const guint ptime = started(m) ? ctx.ptime_in_use : m.ptime;
        CHECK(min == ptime * GST_MSECOND,
              "latency %" GST_TIME_FORMAT " with a ptime of %u ms", GST_TIME_ARGS(min),
              ptime);
        guint64 a, b;
        g_object_get(ctx.element, "queued-speech-time", &a, "queued-background-time", &b,
                     NULL);
        break;
      }
    }
  }

  /* Start (if it never did) and stop: every utterance ends and every mark
   * is posted, however the run left the element. (No OP_REENTRANT now: a
   * mark placed from a message the last stop posts would rightly wait for a
   * next run.) */
  {
    std::lock_guard<std::mutex> l(ctx.lock);
    ctx.reentrant = -1;
  }
  set_state(&ctx, m, GST_STATE_PAUSED);
  set_state(&ctx, m, GST_STATE_NULL);
  {
    std::lock_guard<std::mutex> l(ctx.lock);
    CHECK(!ctx.speaking, "stopped with first-audio and no last-audio");
    CHECK(ctx.marks_due.empty(), "stopped with %zu of %" G_GUINT64_FORMAT
          " marks never posted (first: %s)", ctx.marks_due.size(), ctx.marks_placed,
          ctx.marks_due.front().c_str());
  }
  gboolean speaking;
  g_object_get(ctx.element, "speaking", &speaking, NULL);
  CHECK(!speaking, "speaking=TRUE after stop");
  check_errors(&ctx);

  for (Stream *s : ctx.requests) {
    gst_element_release_request_pad(ctx.element, s->element_pad);
    stream_free(s);
  }
  ctx.requests.clear();
  gst_pad_unlink(ctx.main->element_pad, ctx.main->sink);
  stream_free(ctx.main);
  gst_element_set_bus(ctx.element, nullptr);
  gst_bus_set_flushing(bus, TRUE);
  gst_object_unref(bus);
  CHECK(GST_OBJECT_REFCOUNT_VALUE(ctx.element) == 1, "agentaudiosrc has %d references left",
        GST_OBJECT_REFCOUNT_VALUE(ctx.element));
  gst_object_unref(ctx.element);
  gst_object_unref(ctx.clock);
  if (ctx.sink_caps)
    gst_caps_unref(ctx.sink_caps);
  g_ctx = nullptr;
}

void fatal_log(const gchar *domain, GLogLevelFlags level, const gchar *message,
               gpointer data) {
  (void)data;
  if (!(level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))) {
    g_log_default_handler(domain, level, message, nullptr);
    return;
  }
  fprintf(stderr, "\n==agentaudiosrc-fuzz== %s-%s: %s\n", domain ? domain : "",
          (level & G_LOG_LEVEL_WARNING) ? "WARNING" : "CRITICAL", message);
  fflush(stderr);
  abort();
}

}  // namespace

/* Full stacks for LeakSanitizer (GLib and GStreamer have no frame pointers,
 * so the fast unwinder stops at g_malloc and the suppression below could not
 * tell GLib's start-up from a leak). ASAN_OPTIONS overrides these. */
extern "C" const char *__asan_default_options() {
  return "fast_unwind_on_malloc=0:malloc_context_size=20";
}

/* GLib allocates from its library constructors and keeps the blocks where
 * LeakSanitizer does not always see them: not a leak of any input. */
extern "C" const char *__lsan_default_suppressions() {
  return "leak:_dl_init\n";
}

extern "C" int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  /* Only the statically registered element is needed: no plugin scan. */
  g_setenv("GST_PLUGIN_SYSTEM_PATH_1_0", "", FALSE);
  g_setenv("GST_PLUGIN_PATH_1_0", "", FALSE);
  g_setenv("GST_REGISTRY_FORK", "no", FALSE);
  g_setenv("GST_REGISTRY_UPDATE", "no", FALSE);
  gst_init(nullptr, nullptr);
  GST_ELEMENT_REGISTER(agentaudiosrc, NULL);
  /* A critical or a warning is a bug found (set AGENTAUDIOSRC_FUZZ_LAX_LOG to
   * only print them). */
  if (!g_getenv("AGENTAUDIOSRC_FUZZ_LAX_LOG"))
    g_log_set_default_handler(fatal_log, nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  run(data, size);
  return 0;
}
