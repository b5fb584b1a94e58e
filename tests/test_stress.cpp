/* agentaudiosrc — stress test: worker threads push random sizes of speech and
 * background, interrupt, clear the background, place marks, change
 * properties and request and release pads, while the main thread cranks the
 * harness's GstTestClock and cycles states. Invariants are checked, not just
 * "no crash":
 *
 * - samples: for speech and for background, the samples queued by pushes
 *   that returned OK = samples played + samples dropped by interrupt /
 *   clear-background (their return values) + samples discarded by stop
 *   (queued-*-time read in PAUSED, just before READY). Checked at every stop
 *   while the workers are parked at a barrier, and at the end;
 * - first-audio and last-audio strictly alternate, none is left open after a
 *   stop, and the last-audio durations add up to the speech played;
 * - every mark is posted exactly once (played, interrupted or stopped);
 * - per buffer: src and speech_0 carry the same PTS, PTS is continuous
 *   (also across PLAYING -> PAUSED -> PLAYING), speech and bed are each a
 *   prefix of the buffer, values are never altered, GAP iff no speech;
 * - no error or warning on the bus; every push returns OK or FLUSHING;
 * - a watchdog thread aborts the test, naming the step each thread is in,
 *   when the main thread makes no progress for WATCHDOG_SECONDS, so a hang
 *   fails fast instead of running into CK_DEFAULT_TIMEOUT.
 *
 * How samples are counted without help from the element (phase 1):
 * everything is S16LE 24 kHz mono, the output format (passthrough, no
 * resampling); every pushed sample is non-zero, 100..1000; interrupt-fade is
 * 0 (a hard cut: no fade alters or keeps samples), duck-volume 1.0,
 * background-volume stays in 0.5..2.0 and the background loop is off, so a
 * bed sample is never rounded to 0, never played twice, and nothing
 * saturates. A permanent speech_%u pad carries the speech alone: its
 * non-zero samples are the speech played; the non-zero samples of
 * src - speech_0 are the bed played. Durations returned by the element
 * (gst_util_uint64_scale_int(frames, GST_SECOND, 24000), floored) are turned
 * back into frames with gst_util_uint64_scale_round, and each conversion is
 * checked to round-trip exactly. Pushes are whole samples (even byte counts)
 * so that no partial sample is ever held by the element: a held byte would
 * be queued by the next push, or silently forgotten by an interrupt, and
 * neither is visible from outside.
 *
 * Phase 2 turns the sample accounting off and the rest up: odd byte counts,
 * a looping bed, fades, ducking, volumes up to 3, speech-caps and
 * background-caps changes (resampling), and state changes straight from
 * PLAYING to READY or NULL with the workers running. It checks the event
 * invariants, the flow returns and that nothing hangs.
 *
 * STRESS_SEED and STRESS_SECONDS (per phase) in the environment override the
 * defaults; the seed is printed so a failure can be replayed (the choices
 * each thread makes are reproducible, the interleaving is not).
 * STRESS_SKIP=pads,props,... leaves workers out to narrow a failure down;
 * STRESS_STRICT_MARK_ORDER=1 makes marks of one thread posted out of order
 * an error (by default they are counted and printed).
 */
#include <algorithm>
#include <atomic>
#include <cstdarg>
#include <cstdlib>
#include <deque>
#include <map>
#include <string>

#include "srcharness.h"

#define WATCHDOG_SECONDS 20
#define DEFAULT_SEED 20261123
#define DEFAULT_SECONDS 3.0
#define QUEUE_CAP (GST_SECOND / 2) /* pushers wait while this much is queued */

enum { SPEECH, BACKGROUND, N_LAYERS };
static const gchar *const layer_name[N_LAYERS] = {"speech", "background"};

struct Stress;

struct Worker {
  Stress *st = nullptr;
  int index = 0;
  const gchar *name = nullptr;
  bool (*op)(Worker *) = nullptr; /* one operation; false: a failure was recorded */
  GRand *rand = nullptr;
  std::atomic<const gchar *> step{"starting"};
  std::atomic<guint64> ops{0};
  GThread *thread = nullptr;
  /* pad churner only */
  std::vector<GstPad *> pads;
  int marks = 0;
};

struct Stress {
  Src s;
  GstHarness *voice = nullptr; /* speech_0: the speech alone */
  GstElement *e = nullptr;
  guint32 seed = DEFAULT_SEED;
  bool accounting = true; /* phase 1 */
  GRand *rand = nullptr;  /* the main thread's */

  /* Barrier: workers park between operations when asked to. */
  GMutex lock;
  GCond cond;
  bool park = false;
  bool stop = false;
  int parked = 0;
  int exited = 0;
  std::vector<Worker *> workers;

  /* Frames, per layer. */
  std::atomic<guint64> pushed[N_LAYERS] = {};
  std::atomic<guint64> dropped[N_LAYERS] = {};
  guint64 played[N_LAYERS] = {};    /* main thread */
  guint64 discarded[N_LAYERS] = {}; /* main thread */
  std::atomic<guint64> flushing_pushes{0};
  std::atomic<guint64> interrupts{0}, clears{0}, pad_requests{0}, prop_changes{0};

  /* Buffers pulled and not yet matched with their pair (phase 1). */
  std::deque<GstBuffer *> voice_pending;
  guint64 buffers = 0;
  GstClockTime next_pts = GST_CLOCK_TIME_NONE;
  int state_cycles = 0, pauses = 0;

  /* Bus (sync handler, any thread). */
  GMutex ev_lock;
  bool speaking = false;
  guint64 first_audio = 0, last_audio = 0, mark_messages = 0, interrupted_marks = 0;
  guint64 spoken = 0;      /* sum of last-audio durations, in frames */
  guint64 spoken_lost = 0; /* sum of last-audio dropped, in frames */
  guint64 first_rt = 0;    /* running-time of the open utterance's first-audio */
  guint64 mark_played = 0; /* the largest played of its reached marks, ns */
  bool paused = false;     /* a paused message with no resumed or last-audio yet */
  guint64 paused_messages = 0, resumed_messages = 0;
  std::atomic<guint64> speech_pauses{0}, speech_resumes{0}; /* pause / resume emitted */
  std::deque<std::string> recent; /* the last element messages, for an error's context */
  std::map<std::string, int> marks;                         /* name -> times posted */
  std::map<std::string, int> mark_order; /* "m-<worker>" -> last sequence number posted */
  guint64 out_of_order_marks = 0;
  std::vector<std::string> errors;

  /* Watchdog. */
  std::atomic<gint64> progress_time{0};
  std::atomic<const gchar *> main_step{"starting"};
  std::atomic<bool> done{false};
  GThread *watchdog = nullptr;
};

static std::string strf(const gchar *format, ...) G_GNUC_PRINTF(1, 2);
static std::string strf(const gchar *format, ...) {
  va_list args;
  va_start(args, format);
  gchar *text = g_strdup_vprintf(format, args);
  va_end(args);
  std::string s(text);
  g_free(text);
  return s;
}

/* With ev_lock held. */
static void add_error(Stress *st, const std::string &text) {
  if (st->errors.size() < 20)
    st->errors.push_back(text);
  g_printerr("stress (seed %u): %s\n", st->seed, text.c_str());
}

static void record_error(Stress *st, const gchar *format, ...) G_GNUC_PRINTF(2, 3);
static void record_error(Stress *st, const gchar *format, ...) {
  va_list args;
  va_start(args, format);
  gchar *text = g_strdup_vprintf(format, args);
  va_end(args);
  g_mutex_lock(&st->ev_lock);
  add_error(st, text);
  g_mutex_unlock(&st->ev_lock);
  g_free(text);
}

/* Fails the test with every error recorded so far. */
static void check_no_errors(Stress *st, const gchar *where) {
  g_mutex_lock(&st->ev_lock);
  std::string all;
  for (const std::string &e : st->errors)
    all += "\n  " + e;
  size_t n = st->errors.size();
  g_mutex_unlock(&st->ev_lock);
  fail_unless(n == 0, "seed %u, %s: %" G_GSIZE_FORMAT " invariant violation(s):%s",
              st->seed, where, n, all.c_str());
}

/* ns -> frames at 24 kHz, checked to be exactly what the element converts
 * frames to (floor(frames * GST_SECOND / rate)). */
static guint64 to_frames(Stress *st, guint64 ns, const gchar *what) {
  guint64 frames = gst_util_uint64_scale_round(ns, RATE, GST_SECOND);
  if (frames_to_time(frames) != ns)
    record_error(st, "%s: %" G_GUINT64_FORMAT " ns is not a whole number of samples",
                 what, ns);
  return frames;
}

/* Watchdog */

static void progress(Stress *st, const gchar *step) {
  st->main_step = step;
  st->progress_time = g_get_monotonic_time();
}

static gpointer watchdog_thread(gpointer data) {
  Stress *st = static_cast<Stress *>(data);
  while (!st->done) {
    g_usleep(50 * G_TIME_SPAN_MILLISECOND);
    gint64 idle = g_get_monotonic_time() - st->progress_time;
    if (idle < WATCHDOG_SECONDS * G_TIME_SPAN_SECOND)
      continue;
    g_printerr("\nstress WATCHDOG (seed %u): no progress for %" G_GINT64_FORMAT
               " s, phase %d. Main thread stuck in: %s\n",
               st->seed, idle / G_TIME_SPAN_SECOND, st->accounting ? 1 : 2,
               (const gchar *)st->main_step);
    for (Worker *w : st->workers)
      g_printerr("  worker %-12s ops %-8" G_GUINT64_FORMAT " at: %s\n", w->name,
                 (guint64)w->ops, (const gchar *)w->step);
    g_printerr("  element state %s (pending %s), %" G_GUINT64_FORMAT " buffers pulled\n",
               gst_element_state_get_name(GST_STATE(st->e)),
               gst_element_state_get_name(GST_STATE_PENDING(st->e)), st->buffers);
    abort();
  }
  return NULL;
}

/* Bus */

static GstBusSyncReply on_message(GstBus *, GstMessage *msg, gpointer data) {
  Stress *st = static_cast<Stress *>(data);
  GstMessageType type = GST_MESSAGE_TYPE(msg);

  if (type == GST_MESSAGE_ERROR || type == GST_MESSAGE_WARNING) {
    GError *err = NULL;
    gchar *debug = NULL;
    if (type == GST_MESSAGE_ERROR)
      gst_message_parse_error(msg, &err, &debug);
    else
      gst_message_parse_warning(msg, &err, &debug);
    record_error(st, "%s on the bus: %s (%s)", GST_MESSAGE_TYPE_NAME(msg), err->message,
                 debug ? debug : "");
    g_clear_error(&err);
    g_free(debug);
    gst_message_unref(msg); /* a handler that drops a message owns it */
    return GST_BUS_DROP;
  }
  if (type != GST_MESSAGE_ELEMENT) {
    gst_message_unref(msg);
    return GST_BUS_DROP;
  }

  const GstStructure *s = gst_message_get_structure(msg);
  const gchar *name = gst_structure_get_name(s);
  g_mutex_lock(&st->ev_lock);
  {
    gchar *text = gst_structure_to_string(s);
    st->recent.push_back(text);
    g_free(text);
    if (st->recent.size() > 8)
      st->recent.pop_front();
  }
  if (g_str_equal(name, "first-audio")) {
    st->first_audio++;
    if (st->speaking)
      add_error(st, strf("first-audio #%" G_GUINT64_FORMAT " while speaking (no "
                         "last-audio since the previous first-audio)",
                         st->first_audio));
    st->speaking = true;
    st->mark_played = 0;
    gst_structure_get_uint64(s, "running-time", &st->first_rt);
  } else if (g_str_equal(name, "last-audio")) {
    st->last_audio++;
    guint64 duration = 0;
    gst_structure_get_uint64(s, "duration", &duration);
    if (!st->speaking)
      add_error(st,
                strf("last-audio #%" G_GUINT64_FORMAT " without a first-audio before it",
                     st->last_audio));
    st->speaking = false;
    st->paused = false; /* an interrupt or a stop ends a pause with the utterance */
    guint64 frames = gst_util_uint64_scale_round(duration, RATE, GST_SECOND);
    if (st->accounting && frames_to_time(frames) != duration)
      add_error(st, strf("last-audio duration %" G_GUINT64_FORMAT
                         " is not a whole number of samples",
                         duration));
    st->spoken += frames;
    if (st->accounting && duration < st->mark_played)
      add_error(st, strf("last-audio #%" G_GUINT64_FORMAT ": duration %" G_GUINT64_FORMAT
                         " below a mark's played %" G_GUINT64_FORMAT,
                         st->last_audio, duration, st->mark_played));
    guint64 lost = 0, end = 0;
    gst_structure_get_uint64(s, "dropped", &lost);
    gst_structure_get_uint64(s, "running-time", &end);
    st->spoken_lost += gst_util_uint64_scale_round(lost, RATE, GST_SECOND);
    /* Speech is played from first-audio on, with silence between buffers
     * at most: never more of it than the time the utterance spans. */
    if (st->accounting && st->first_audio == st->last_audio &&
        (end < st->first_rt ||
         frames > gst_util_uint64_scale_round(end - st->first_rt, RATE, GST_SECOND) + 1))
      add_error(st, strf("last-audio #%" G_GUINT64_FORMAT ": %" G_GUINT64_FORMAT
                         " samples played between running times %" GST_TIME_FORMAT
                         " and %" GST_TIME_FORMAT,
                         st->last_audio, frames, GST_TIME_ARGS(st->first_rt),
                         GST_TIME_ARGS(end)));
  } else if (g_str_equal(name, "paused")) {
    st->paused_messages++;
    if (!st->speaking || st->paused) {
      std::string before;
      for (const std::string &r : st->recent)
        before += " " + r;
      add_error(st, strf("paused #%" G_GUINT64_FORMAT " while %s (after:%s)",
                         st->paused_messages, st->paused ? "paused" : "not speaking",
                         before.c_str()));
    }
    st->paused = true;
  } else if (g_str_equal(name, "resumed")) {
    st->resumed_messages++;
    if (!st->paused)
      add_error(st, strf("resumed #%" G_GUINT64_FORMAT " without a paused before it",
                         st->resumed_messages));
    st->paused = false;
  } else if (g_str_equal(name, "mark")) {
    st->mark_messages++;
    const gchar *mark = gst_structure_get_string(s, "name");
    gboolean interrupted = FALSE;
    gst_structure_get_boolean(s, "interrupted", &interrupted);
    if (interrupted)
      st->interrupted_marks++;
    guint64 played = 0;
    if (!gst_structure_get_uint64(s, "played", &played))
      add_error(st, strf("mark %s without played", mark));
    /* Within an utterance, reached marks say more and more was played. */
    if (!interrupted && st->speaking) {
      if (played < st->mark_played)
        add_error(st, strf("mark %s: played %" G_GUINT64_FORMAT " after a mark with %"
                           G_GUINT64_FORMAT " in the same utterance",
                           mark, played, st->mark_played));
      st->mark_played = std::max(st->mark_played, played);
    }
    auto it = mark ? st->marks.find(mark) : st->marks.end();
    if (it == st->marks.end()) {
      add_error(st, strf("mark %s was never requested", mark));
    } else if (++it->second > 1) {
      add_error(st, strf("mark %s posted %d times", mark, it->second));
    } else {
      /* Names are m-<worker>-<n>: one worker's marks should come in order. */
      std::string m(mark);
      size_t dash = m.rfind('-');
      int n = atoi(m.c_str() + dash + 1);
      auto last = st->mark_order.find(m.substr(0, dash));
      if (last != st->mark_order.end() && n < last->second) {
        /* The interface does not promise the order of marks, and the
         * element posts them outside its queue lock from both the
         * streaming thread and the interrupt caller: counted and printed,
         * an error only with STRESS_STRICT_MARK_ORDER=1. */
        st->out_of_order_marks++;
        std::string text = strf("mark %s posted after %s-%d (interrupted=%d)", mark,
                                last->first.c_str(), last->second, interrupted);
        if (g_getenv("STRESS_STRICT_MARK_ORDER"))
          add_error(st, text);
        else
          g_printerr("stress (seed %u): %s\n", st->seed, text.c_str());
      }
      if (last == st->mark_order.end() || n > last->second)
        st->mark_order[m.substr(0, dash)] = n;
    }
  }
  g_mutex_unlock(&st->ev_lock);
  gst_message_unref(msg);
  return GST_BUS_DROP;
}

static void request_mark(Worker *w) {
  Stress *st = w->st;
  gchar *name = g_strdup_printf("m-%s-%d", w->name, w->marks++);
  g_mutex_lock(&st->ev_lock);
  st->marks[name] = 0;
  g_mutex_unlock(&st->ev_lock);
  w->step = "mark";
  mark(st->e, name);
  g_free(name);
}

/* Workers */

/* Between two operations: parks while the main thread asks; false when the
 * worker must end. */
static bool checkpoint(Worker *w) {
  Stress *st = w->st;
  g_mutex_lock(&st->lock);
  if (st->park && !st->stop) {
    w->step = "parked";
    st->parked++;
    g_cond_broadcast(&st->cond);
    while (st->park && !st->stop)
      g_cond_wait(&st->cond, &st->lock);
    st->parked--;
  }
  bool go = !st->stop;
  g_mutex_unlock(&st->lock);
  return go;
}

static gpointer worker_thread(gpointer data) {
  Worker *w = static_cast<Worker *>(data);
  while (checkpoint(w)) {
    w->op(w);
    w->ops++;
  }
  g_mutex_lock(&w->st->lock);
  w->step = "exited";
  w->st->exited++;
  g_cond_broadcast(&w->st->cond);
  g_mutex_unlock(&w->st->lock);
  return NULL;
}

static void pace(Worker *w, gint max_us) {
  w->step = "pacing";
  g_usleep(g_rand_int_range(w->rand, 0, max_us));
}

static bool push_op(Worker *w, int layer) {
  Stress *st = w->st;
  const gchar *queued_prop =
      layer == SPEECH ? "queued-speech-time" : "queued-background-time";
  w->step = "reading the queue";
  if (queued_time(st->e, queued_prop) > QUEUE_CAP) {
    pace(w, 2000);
    return true;
  }
  gsize frames = g_rand_int_range(w->rand, 1, 2400);
  std::vector<gint16> v(frames);
  for (gint16 &x : v)
    x = (gint16)g_rand_int_range(w->rand, 100, 1001);
  gsize bytes = frames * sizeof(gint16);
  /* Phase 2: any byte count; the partial sample waits for the next push. */
  if (!st->accounting && g_rand_boolean(w->rand))
    bytes -= 1;
  w->step = layer == SPEECH ? "push-speech" : "push-background";
  GstFlowReturn ret = push_bytes(st->e, v.data(), bytes,
                                 layer == SPEECH ? "push-speech" : "push-background");
  if (ret == GST_FLOW_OK)
    st->pushed[layer] += frames;
  else if (ret == GST_FLOW_FLUSHING)
    st->flushing_pushes++;
  else
    record_error(st, "%s of %" G_GSIZE_FORMAT " bytes returned %s", w->step.load(), bytes,
                 gst_flow_get_name(ret));
  if (layer == SPEECH && g_rand_int_range(w->rand, 0, 4) == 0)
    request_mark(w);
  pace(w, 400);
  return true;
}

static bool push_speech_op(Worker *w) {
  return push_op(w, SPEECH);
}

static bool push_background_op(Worker *w) {
  return push_op(w, BACKGROUND);
}

static guint64 pause_speech(GstElement *e) {
  guint64 held = 0;
  g_signal_emit_by_name(e, "pause", &held);
  return held;
}

static guint64 resume_speech(GstElement *e) {
  guint64 paused_for = 0;
  g_signal_emit_by_name(e, "resume", &paused_for);
  return paused_for;
}

static bool cut_op(Worker *w) {
  Stress *st = w->st;
  switch (g_rand_int_range(w->rand, 0, 5)) {
    case 3:
      /* A false interruption's halves: nothing is dropped or altered
       * (phase 1 has no fades), so the accounting is unchanged. */
      w->step = "pause";
      pause_speech(st->e);
      st->speech_pauses++;
      break;
    case 4:
      w->step = "resume";
      resume_speech(st->e);
      st->speech_resumes++;
      break;
    case 0: {
      w->step = "interrupt";
      guint64 ns = interrupt(st->e);
      st->interrupts++;
      if (st->accounting)
        st->dropped[SPEECH] += to_frames(st, ns, "interrupt");
      break;
    }
    case 1: {
      w->step = "clear-background";
      guint64 ns = clear_background(st->e);
      st->clears++;
      if (st->accounting)
        st->dropped[BACKGROUND] += to_frames(st, ns, "clear-background");
      break;
    }
    default:
      request_mark(w);
      break;
  }
  pace(w, 4000);
  return true;
}

static bool mark_op(Worker *w) {
  request_mark(w);
  pace(w, 1500);
  return true;
}

static guint64 random_max_time(GRand *r) {
  return g_rand_boolean(r) ? 0 : g_rand_int_range(r, 100, 501) * GST_MSECOND;
}

static bool property_op(Worker *w) {
  Stress *st = w->st;
  GRand *r = w->rand;
  w->step = "set a property";
  switch (g_rand_int_range(w->rand, 0, st->accounting ? 3 : 8)) {
    case 0:
      g_object_set(st->e, "background-volume",
                   st->accounting ? g_rand_double_range(r, 0.5, 2.0)
                                  : g_rand_double_range(r, 0.0, 3.0),
                   NULL);
      break;
    case 1:
      g_object_set(st->e, "max-speech-time", random_max_time(r), NULL);
      break;
    case 2:
      g_object_set(st->e, "max-background-time", random_max_time(r), NULL);
      break;
    /* Phase 2 only: what would make samples uncountable. */
    case 3:
      g_object_set(st->e, "background-loop", g_rand_boolean(r), NULL);
      break;
    case 4:
      g_object_set(st->e, "interrupt-fade",
                   (guint64)g_rand_int_range(r, 0, 51) * GST_MSECOND, NULL);
      break;
    case 5:
      g_object_set(st->e, "duck-volume", g_rand_double_range(r, 0.0, 1.0), NULL);
      break;
    default: {
      static const gint rates[] = {16000, 24000, 48000};
      GstCaps *caps = gst_caps_new_simple(
          "audio/x-raw", "format", G_TYPE_STRING, "S16LE", "layout", G_TYPE_STRING,
          "interleaved", "rate", G_TYPE_INT, rates[g_rand_int_range(r, 0, 3)], "channels",
          G_TYPE_INT, g_rand_int_range(r, 1, 3), NULL);
      g_object_set(st->e, g_rand_boolean(r) ? "speech-caps" : "background-caps", caps,
                   NULL);
      gst_caps_unref(caps);
      break;
    }
  }
  st->prop_changes++;
  pace(w, 5000);
  return true;
}

static bool pads_op(Worker *w) {
  Stress *st = w->st;
  if (w->pads.size() < 3 && (w->pads.empty() || g_rand_boolean(w->rand))) {
    const gchar *templ = g_rand_boolean(w->rand) ? "src_%u" : "speech_%u";
    w->step = "request a pad";
    GstPad *pad = gst_element_request_pad_simple(st->e, templ);
    if (pad == NULL)
      record_error(st, "request of %s failed", templ);
    else
      w->pads.push_back(pad);
    st->pad_requests++;
  } else {
    gsize i = g_rand_int_range(w->rand, 0, w->pads.size());
    w->step = "release a pad";
    gst_element_release_request_pad(st->e, w->pads[i]);
    gst_object_unref(w->pads[i]);
    w->pads.erase(w->pads.begin() + i);
  }
  pace(w, 2000);
  return true;
}

static void start_workers(Stress *st) {
  static const struct {
    const gchar *name;
    bool (*op)(Worker *);
  } kinds[] = {
      {"speech-a", push_speech_op},
      {"speech-b", push_speech_op},
      {"bed-a", push_background_op},
      {"bed-b", push_background_op},
      {"cutter", cut_op},
      {"marker", mark_op},
      {"props", property_op},
      {"pads", pads_op},
  };
  st->park = st->stop = false;
  st->parked = st->exited = 0;
  /* STRESS_SKIP=pads,props leaves workers out, to narrow a failure down. */
  gchar **skip =
      g_strsplit(g_getenv("STRESS_SKIP") ? g_getenv("STRESS_SKIP") : "", ",", -1);
  int i = 0;
  for (const auto &k : kinds) {
    if (g_strv_contains(skip, k.name)) {
      g_print("stress: worker %s skipped (STRESS_SKIP)\n", k.name);
      i++;
      continue;
    }
    Worker *w = new Worker();
    w->st = st;
    w->index = i;
    w->name = k.name;
    w->op = k.op;
    w->rand = g_rand_new_with_seed(st->seed * 31 + i + (st->accounting ? 0 : 1000));
    st->workers.push_back(w);
    i++;
  }
  g_strfreev(skip);
  for (Worker *w : st->workers)
    w->thread = g_thread_new(w->name, worker_thread, w);
}

/* Main thread: buffers */

static void count_pair(Stress *st, GstBuffer *mixed, GstBuffer *voice) {
  if (GST_BUFFER_PTS(mixed) != GST_BUFFER_PTS(voice) ||
      gst_buffer_get_size(mixed) != gst_buffer_get_size(voice)) {
    record_error(st,
                 "buffer %" G_GUINT64_FORMAT ": src (pts %" GST_TIME_FORMAT
                 ") and speech_0 (pts %" GST_TIME_FORMAT ") differ",
                 st->buffers, GST_TIME_ARGS(GST_BUFFER_PTS(mixed)),
                 GST_TIME_ARGS(GST_BUFFER_PTS(voice)));
    return;
  }
  /* No drift, no overlap: every buffer starts where the last one ended,
   * across PAUSED too; only a start is DISCONT. */
  bool discont = GST_BUFFER_FLAG_IS_SET(mixed, GST_BUFFER_FLAG_DISCONT);
  if (!discont && GST_CLOCK_TIME_IS_VALID(st->next_pts) &&
      GST_BUFFER_PTS(mixed) != st->next_pts)
    record_error(st,
                 "buffer %" G_GUINT64_FORMAT ": pts %" GST_TIME_FORMAT
                 ", expected %" GST_TIME_FORMAT,
                 st->buffers, GST_TIME_ARGS(GST_BUFFER_PTS(mixed)),
                 GST_TIME_ARGS(st->next_pts));
  st->next_pts = GST_BUFFER_PTS(mixed) + GST_BUFFER_DURATION(mixed);

  std::vector<gint16> a = buffer_samples(mixed), v = buffer_samples(voice);
  gsize speech = 0, bed = 0;
  bool speech_prefix = true, bed_prefix = true, in_range = true;
  for (gsize i = 0; i < v.size(); i++) {
    if (v[i] != 0) {
      speech_prefix &= speech == i;
      in_range &= v[i] >= 100 && v[i] <= 1000;
      speech++;
    }
    gint d = a[i] - v[i];
    if (d != 0) {
      bed_prefix &= bed == i;
      in_range &= d >= 50 && d <= 2000;
      bed++;
    }
  }
  if (!speech_prefix || !bed_prefix || !in_range)
    record_error(st,
                 "buffer %" G_GUINT64_FORMAT " (pts %" GST_TIME_FORMAT
                 "): speech prefix %d, bed prefix %d, values in range %d",
                 st->buffers, GST_TIME_ARGS(GST_BUFFER_PTS(mixed)), speech_prefix,
                 bed_prefix, in_range);
  if ((speech == 0) != GST_BUFFER_FLAG_IS_SET(voice, GST_BUFFER_FLAG_GAP))
    record_error(st,
                 "buffer %" G_GUINT64_FORMAT ": %" G_GSIZE_FORMAT
                 " speech samples but GAP %d on speech_0",
                 st->buffers, speech, GST_BUFFER_FLAG_IS_SET(voice, GST_BUFFER_FLAG_GAP));
  st->played[SPEECH] += speech;
  st->played[BACKGROUND] += bed;
}

/* Takes one src buffer: phase 1 pairs it with its speech_0 buffer (pushed
 * before it, by the same create()) and counts its samples. */
static void take(Stress *st, GstBuffer *mixed) {
  st->buffers++;
  while (GstBuffer *v = gst_harness_try_pull(st->voice))
    st->voice_pending.push_back(v);
  if (st->accounting) {
    if (st->voice_pending.empty()) {
      record_error(st, "buffer %" G_GUINT64_FORMAT " on src has no speech_0 buffer",
                   st->buffers);
    } else {
      count_pair(st, mixed, st->voice_pending.front());
      gst_buffer_unref(st->voice_pending.front());
      st->voice_pending.pop_front();
    }
  } else {
    while (!st->voice_pending.empty()) {
      gst_buffer_unref(st->voice_pending.front());
      st->voice_pending.pop_front();
    }
  }
  gst_buffer_unref(mixed);
}

static void crank(Stress *st, bool report_progress = true) {
  if (report_progress)
    progress(st, "crank: waiting for the element to wait on the clock");
  fail_unless(gst_harness_crank_single_clock_wait(st->s.h));
  if (report_progress)
    progress(st, "pull a buffer from src");
  GstBuffer *buf = gst_harness_pull(st->s.h);
  fail_unless(buf != NULL, "seed %u: no buffer after a crank", st->seed);
  take(st, buf);
}

/* After PLAYING -> PAUSED, nothing is made any more: takes what was made.
 * Every src buffer was pushed to speech_0 first, so there are as many as
 * speech_0 has (src's may still be on its way: pull waits for it). */
static void take_in_flight(Stress *st) {
  progress(st, "drain the buffers made before PAUSED");
  while (GstBuffer *v = gst_harness_try_pull(st->voice))
    st->voice_pending.push_back(v);
  while (!st->voice_pending.empty()) {
    GstBuffer *buf = gst_harness_pull(st->s.h);
    fail_unless(buf != NULL, "seed %u: speech_0 has a buffer src never pushed", st->seed);
    take(st, buf);
  }
  if (GstBuffer *buf = gst_harness_try_pull(st->s.h)) {
    record_error(st, "src pushed a buffer speech_0 did not get");
    take(st, buf);
  }
}

static void drop_all_buffers(Stress *st) {
  while (GstBuffer *b = gst_harness_try_pull(st->s.h))
    gst_buffer_unref(b);
  while (GstBuffer *b = gst_harness_try_pull(st->voice))
    gst_buffer_unref(b);
  for (GstBuffer *b : st->voice_pending)
    gst_buffer_unref(b);
  st->voice_pending.clear();
}

static void set_state(Stress *st, GstState state, const gchar *step) {
  progress(st, step);
  GstStateChangeReturn ret = gst_element_set_state(st->e, state);
  fail_unless(ret != GST_STATE_CHANGE_FAILURE, "seed %u: %s failed", st->seed, step);
  if (state <= GST_STATE_READY)
    st->next_pts = GST_CLOCK_TIME_NONE;
}

static bool all_parked_or_exited(Stress *st, bool exited) {
  g_mutex_lock(&st->lock);
  int n = (int)st->workers.size();
  bool done = exited ? st->exited == n : st->parked + st->exited == n;
  g_mutex_unlock(&st->lock);
  return done;
}

/* Parks (or ends) the workers while PLAYING: cranking frees room for the
 * pushes max-*-time blocks, so they return and reach the barrier. */
static void park_workers(Stress *st, bool end) {
  g_mutex_lock(&st->lock);
  if (end)
    st->stop = true;
  else
    st->park = true;
  g_cond_broadcast(&st->cond);
  g_mutex_unlock(&st->lock);
  progress(st, end ? "ending the workers (cranking until they return)"
                   : "parking the workers (cranking until they park)");
  while (!all_parked_or_exited(st, end)) {
    /* A pause holds the speech: a push waiting for room would wait for
     * ever once the cutter, who resumes, is parked. */
    resume_speech(st->e);
    crank(st, false);
  }
  if (end) {
    progress(st, "joining the workers");
    for (Worker *w : st->workers) {
      g_thread_join(w->thread);
      for (GstPad *pad : w->pads) {
        gst_element_release_request_pad(st->e, pad);
        gst_object_unref(pad);
      }
      g_rand_free(w->rand);
      delete w;
    }
    st->workers.clear();
  }
}

static void unpark_workers(Stress *st) {
  g_mutex_lock(&st->lock);
  st->park = false;
  g_cond_broadcast(&st->cond);
  g_mutex_unlock(&st->lock);
}

/* With the workers parked or ended and the element PLAYING: stops it the
 * way that lets the discarded samples be counted, then checks every
 * invariant. */
static void stop_and_check(Stress *st, int cycle) {
  set_state(st, GST_STATE_PAUSED, "PLAYING -> PAUSED before a stop");
  take_in_flight(st);
  guint64 queued[N_LAYERS];
  queued[SPEECH] =
      to_frames(st, queued_time(st->e, "queued-speech-time"), "queued-speech-time");
  queued[BACKGROUND] = to_frames(st, queued_time(st->e, "queued-background-time"),
                                 "queued-background-time");
  set_state(st, GST_STATE_READY, "PAUSED -> READY");
  st->state_cycles++;
  for (int l = 0; l < N_LAYERS; l++) {
    guint64 left =
        queued_time(st->e, l == SPEECH ? "queued-speech-time" : "queued-background-time");
    if (left != 0)
      record_error(st, "%s: %" G_GUINT64_FORMAT " ns still queued in READY",
                   layer_name[l], left);
    st->discarded[l] += queued[l];
    guint64 pushed = st->pushed[l], dropped = st->dropped[l];
    if (pushed != st->played[l] + dropped + st->discarded[l])
      record_error(st,
                   "cycle %d, %s samples: pushed %" G_GUINT64_FORMAT
                   " != played %" G_GUINT64_FORMAT " + dropped %" G_GUINT64_FORMAT
                   " + discarded by stop %" G_GUINT64_FORMAT
                   " (difference %" G_GINT64_FORMAT ")",
                   cycle, layer_name[l], pushed, st->played[l], dropped, st->discarded[l],
                   (gint64)(pushed - st->played[l] - dropped - st->discarded[l]));
  }

  g_mutex_lock(&st->ev_lock);
  if (st->speaking)
    add_error(st, strf("cycle %d: still speaking in READY", cycle));
  if (st->accounting && st->spoken != st->played[SPEECH])
    add_error(st, strf("cycle %d: last-audio durations add up to %" G_GUINT64_FORMAT
                       " samples, %" G_GUINT64_FORMAT " were played",
                       cycle, st->spoken, st->played[SPEECH]));
  /* An utterance's dropped samples were dropped by interrupt or stop. */
  if (st->accounting && st->spoken_lost > st->dropped[SPEECH] + st->discarded[SPEECH])
    add_error(st, strf("cycle %d: last-audio dropped adds up to %" G_GUINT64_FORMAT
                       " samples, only %" G_GUINT64_FORMAT " were dropped or discarded",
                       cycle, st->spoken_lost,
                       (guint64)st->dropped[SPEECH] + st->discarded[SPEECH]));
  /* Every mark placed so far was played, interrupted or discarded. */
  for (const auto &m : st->marks)
    if (m.second != 1) {
      add_error(st, strf("cycle %d: mark %s posted %d times in READY", cycle,
                         m.first.c_str(), m.second));
      break;
    }
  g_mutex_unlock(&st->ev_lock);
  gchar *where = g_strdup_printf("after stop %d", cycle);
  check_no_errors(st, where);
  g_free(where);
}

static void stress_setup(Stress *st, bool accounting) {
  const gchar *env = g_getenv("STRESS_SEED");
  st->seed = env ? (guint32)g_ascii_strtoull(env, NULL, 10) : DEFAULT_SEED;
  st->accounting = accounting;
  st->rand = g_rand_new_with_seed(st->seed + (accounting ? 0 : 1000));
  g_mutex_init(&st->lock);
  g_cond_init(&st->cond);
  g_mutex_init(&st->ev_lock);
  st->s = src_new();
  st->e = st->s.element;
  gst_bus_set_sync_handler(st->s.bus, on_message, st, NULL);
  st->voice = gst_harness_new_with_element(st->e, NULL, "speech_%u");
  fail_unless(st->voice != NULL);
  /* A hard cut, no ducking, no loop: every sample can be counted. */
  g_object_set(st->e, "interrupt-fade", (guint64)0, "duck-volume", 1.0,
               "background-volume", 1.0, "background-loop", FALSE, NULL);
  progress(st, "setup");
  st->watchdog = g_thread_new("watchdog", watchdog_thread, st);
  g_print("stress phase %d: seed %u (set STRESS_SEED to replay)\n", accounting ? 1 : 2,
          st->seed);
}

static void stress_teardown(Stress *st) {
  progress(st, "teardown");
  set_state(st, GST_STATE_NULL, "-> NULL for teardown");
  drop_all_buffers(st);
  gst_harness_teardown(st->voice);
  src_free(st->s);
  st->done = true;
  g_thread_join(st->watchdog);
  g_rand_free(st->rand);
  g_mutex_clear(&st->lock);
  g_cond_clear(&st->cond);
  g_mutex_clear(&st->ev_lock);
}

static gint64 run_deadline(void) {
  const gchar *env = g_getenv("STRESS_SECONDS");
  double seconds = env ? g_ascii_strtod(env, NULL) : DEFAULT_SECONDS;
  return g_get_monotonic_time() + (gint64)(seconds * G_TIME_SPAN_SECOND);
}

static void print_summary(Stress *st, gint64 started) {
  g_print("stress phase %d, seed %u: %.2f s, %" G_GUINT64_FORMAT
          " buffers, %d stops, %d "
          "pauses; pushed %" G_GUINT64_FORMAT " speech / %" G_GUINT64_FORMAT
          " bed samples (%" G_GUINT64_FORMAT " pushes FLUSHING); %" G_GUINT64_FORMAT
          " interrupts, %" G_GUINT64_FORMAT " clears, %" G_GUINT64_FORMAT
          " pad requests, %" G_GUINT64_FORMAT " property changes; %" G_GUINT64_FORMAT
          " utterances, %" G_GUINT64_FORMAT " marks (%" G_GUINT64_FORMAT
          " interrupted, %" G_GUINT64_FORMAT " out of order); %" G_GUINT64_FORMAT
          " pause / %" G_GUINT64_FORMAT " resume signals, %" G_GUINT64_FORMAT
          " paused / %" G_GUINT64_FORMAT " resumed messages\n",
          st->accounting ? 1 : 2, st->seed,
          (g_get_monotonic_time() - started) / (double)G_TIME_SPAN_SECOND, st->buffers,
          st->state_cycles, st->pauses, (guint64)st->pushed[SPEECH],
          (guint64)st->pushed[BACKGROUND], (guint64)st->flushing_pushes,
          (guint64)st->interrupts, (guint64)st->clears, (guint64)st->pad_requests,
          (guint64)st->prop_changes, st->first_audio, st->mark_messages,
          st->interrupted_marks, st->out_of_order_marks, (guint64)st->speech_pauses,
          (guint64)st->speech_resumes, st->paused_messages, st->resumed_messages);
}

GST_START_TEST(test_stress_samples_and_events_add_up) {
  Stress st;
  gint64 started = g_get_monotonic_time();
  stress_setup(&st, true);
  start_workers(&st);
  gint64 deadline = run_deadline();

  for (int cycle = 0;; cycle++) {
    set_state(&st, GST_STATE_PLAYING, "-> PLAYING");
    int n = g_rand_int_range(st.rand, 1, 60);
    for (int i = 0; i < n; i++) {
      crank(&st);
      if (g_rand_int_range(st.rand, 0, 25) == 0) {
        /* A live source in PAUSED makes nothing; back in PLAYING it goes
         * on where it was. */
        set_state(&st, GST_STATE_PAUSED, "PLAYING -> PAUSED -> PLAYING");
        set_state(&st, GST_STATE_PLAYING, "PAUSED -> PLAYING");
        st.pauses++;
      }
    }
    bool last = g_get_monotonic_time() >= deadline;
    park_workers(&st, last);
    stop_and_check(&st, cycle);
    if (last)
      break;
    if (g_rand_int_range(st.rand, 0, 4) == 0) {
      static const guint ptimes[] = {10, 20, 30, 60};
      g_object_set(st.e, "ptime", ptimes[g_rand_int_range(st.rand, 0, 4)], NULL);
    }
    unpark_workers(&st);
  }

  g_mutex_lock(&st.ev_lock);
  fail_unless_equals_uint64(st.first_audio, st.last_audio);
  g_mutex_unlock(&st.ev_lock);
  print_summary(&st, started);
  fail_unless(st.pushed[SPEECH] > 0 && st.pushed[BACKGROUND] > 0);
  fail_unless(st.played[SPEECH] > 0 && st.played[BACKGROUND] > 0);
  check_no_errors(&st, "at the end");
  stress_teardown(&st);
}
GST_END_TEST;

GST_START_TEST(test_stress_everything_never_hangs) {
  Stress st;
  gint64 started = g_get_monotonic_time();
  stress_setup(&st, false);
  g_object_set(st.e, "background-loop", TRUE, "interrupt-fade", 10 * GST_MSECOND,
               "duck-volume", 0.5, NULL);
  start_workers(&st);
  gint64 deadline = run_deadline();

  set_state(&st, GST_STATE_PLAYING, "-> PLAYING");
  while (g_get_monotonic_time() < deadline) {
    int n = g_rand_int_range(st.rand, 1, 40);
    for (int i = 0; i < n; i++)
      crank(&st);
    switch (g_rand_int_range(st.rand, 0, 4)) {
      case 0:
        set_state(&st, GST_STATE_PAUSED, "PLAYING -> PAUSED");
        set_state(&st, GST_STATE_PLAYING, "PAUSED -> PLAYING");
        st.pauses++;
        break;
      case 1:
      case 2: {
        bool null = g_rand_boolean(st.rand);
        set_state(&st, null ? GST_STATE_NULL : GST_STATE_READY,
                  null ? "PLAYING -> NULL, workers running"
                       : "PLAYING -> READY, workers running");
        drop_all_buffers(&st);
        st.state_cycles++;
        if (g_rand_int_range(st.rand, 0, 3) == 0) {
          static const guint ptimes[] = {10, 20, 30, 60};
          g_object_set(st.e, "ptime", ptimes[g_rand_int_range(st.rand, 0, 4)], NULL);
        }
        g_mutex_lock(&st.ev_lock);
        bool speaking = st.speaking;
        g_mutex_unlock(&st.ev_lock);
        if (speaking)
          record_error(&st, "still speaking after a stop");
        set_state(&st, GST_STATE_PLAYING, "-> PLAYING");
        break;
      }
      default:
        break;
    }
  }
  park_workers(&st, true);
  /* Marks placed while READY are posted at the next stop: make one. */
  set_state(&st, GST_STATE_NULL, "PLAYING -> NULL, workers ended");
  drop_all_buffers(&st);
  st.state_cycles++;

  g_mutex_lock(&st.ev_lock);
  if (st.speaking)
    add_error(&st, "still speaking in NULL");
  if (st.first_audio != st.last_audio)
    add_error(&st,
              strf("%" G_GUINT64_FORMAT " first-audio, %" G_GUINT64_FORMAT " last-audio",
                   st.first_audio, st.last_audio));
  for (const auto &m : st.marks)
    if (m.second != 1) {
      add_error(&st, strf("mark %s posted %d times", m.first.c_str(), m.second));
      break;
    }
  g_mutex_unlock(&st.ev_lock);
  print_summary(&st, started);
  check_no_errors(&st, "at the end");
  stress_teardown(&st);
}
GST_END_TEST;

static Suite *stress_suite(void) {
  Suite *s = suite_create("stress");
  TCase *tc = tcase_create("stress");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_stress_samples_and_events_add_up);
  tcase_add_test(tc, test_stress_everything_never_hangs);
  return s;
}

GST_CHECK_MAIN(stress);
