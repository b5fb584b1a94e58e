/* agentaudiosrc — integration test: speech over a real WebRTC session.
 *
 * One pipeline, two webrtcbins talking over loopback:
 *
 *   agentaudiosrc ! audioconvert ! audioresample ! opusenc ! rtpopuspay ! webrtcbin
 *   webrtcbin ! rtpopusdepay ! opusdec ! audioconvert ! audioresample ! appsink
 *
 * The session descriptions and ICE candidates are handed from one webrtcbin to
 * the other in this process, one step at a time on the main loop: each step
 * starts when the promise of the one before has been answered, and candidates
 * are held back until the webrtcbin they are for has both descriptions, so the
 * outcome never depends on which thread wins.
 *
 * Unlike the element tests this runs on the system clock: libnice, DTLS and the
 * jitterbuffer work in real time. So it asserts only what real time cannot
 * change — the frequency and length of the tone that comes out of the decoder,
 * that only silence came out before it, the element's last-audio message — and
 * generous bounds on delay. Nothing sleeps; a watchdog on the main loop fails
 * the test if the session does not complete.
 */
#define GST_USE_UNSTABLE_API
#include <gst/check/gstcheck.h>
#include <gst/app/gstappsink.h>
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>
#include <openssl/crypto.h>

#include <cmath>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#define SPEECH_RATE 24000
#define TONE_FREQUENCY 440.0
#define TONE_AMPLITUDE 12000
#define TONE_FRAMES SPEECH_RATE /* 1 s */

#define RECEIVE_RATE 48000
/* Decoded audio received before the tone is pushed: the session is up and
 * the element's silence has made it through the codec. */
#define LEAD_IN_FRAMES (RECEIVE_RATE / 5)
/* A decoded sample louder than this is tone. Opus-coded digital silence
 * decodes to (near) zero; the tone peaks at TONE_AMPLITUDE every cycle, so the
 * first and last loud samples are within one cycle of its true edges. */
#define LOUD_THRESHOLD (TONE_AMPLITUDE / 4)
/* Silence after the last loud sample that closes the capture. */
#define TAIL_FRAMES (RECEIVE_RATE * 3 / 10)

#define WATCHDOG_SECONDS 30
#define MAX_ARRIVAL_DELAY (3 * G_USEC_PER_SEC)
#define FREQUENCY_TOLERANCE 10.0

/* ---- the session ---------------------------------------------------------- */

struct Candidate {
  guint mline;
  std::string sdp;
};

/* One end's view of the signalling, owned by the main thread. */
struct Peer {
  GstElement *webrtc = nullptr;
  const gchar *name = nullptr;
  bool has_local = false;
  bool has_remote = false;
  std::vector<Candidate> held; /* from the other end, until both are set */
};

struct Session {
  GMainContext *context = nullptr;
  GMainLoop *loop = nullptr;
  GstElement *pipeline = nullptr;
  GstElement *src = nullptr;
  GstElement *depay = nullptr;
  GstElement *appsink = nullptr;
  guint bus_watch = 0;
  guint watchdog = 0;

  /* main thread only */
  bool finished = false; /* the loop has quit: late callbacks do nothing */
  bool negotiation_started = false;
  Peer sender, receiver;
  GstMessage *first_audio = nullptr;
  GstMessage *last_audio = nullptr;
  bool tone_received = false;
  std::string failure;

  /* written by the appsink's streaming thread, guarded by lock */
  std::mutex lock;
  std::vector<gint16> received;
  gint64 push_time = 0; /* monotonic µs of the push, 0 before it */
  gsize loud_before_push = 0;
  gssize tone_start = -1;  /* index of the first loud sample after the push */
  gssize tone_end = -1;    /* index after the last loud sample */
  gint64 tone_arrival = 0; /* monotonic µs at which tone_start came out */
  bool lead_in_reported = false;
  bool tone_end_reported = false;
};

static void session_fail(Session *s, const std::string &why) {
  if (s->failure.empty())
    s->failure = why;
  g_main_loop_quit(s->loop);
}

/* Runs fn on the main loop, unless the session has finished by then. The
 * webrtcbins and the appsink call back from their own threads; doing all the
 * signalling on one thread keeps its order the order of the steps below. */
static void run_on_main(Session *s, std::function<void()> fn) {
  struct Call {
    Session *s;
    std::function<void()> fn;
  };
  GSource *source = g_idle_source_new();
  g_source_set_callback(
      source,
      [](gpointer data) -> gboolean {
        Call *call = static_cast<Call *>(data);
        if (!call->s->finished)
          call->fn();
        return G_SOURCE_REMOVE;
      },
      new Call{s, std::move(fn)},
      [](gpointer data) { delete static_cast<Call *>(data); });
  g_source_attach(source, s->context);
  g_source_unref(source);
}

/* A promise whose reply is given to then() on the main loop; an error reply,
 * or none, fails the session instead. */
static GstPromise *promise_on_main(Session *s, const gchar *what,
                                   std::function<void(const GstStructure *)> then) {
  struct Step {
    Session *s;
    std::string what;
    std::function<void(const GstStructure *)> then;
  };
  return gst_promise_new_with_change_func(
      [](GstPromise *promise, gpointer data) {
        Step *step = static_cast<Step *>(data);
        /* The ref held by the closure keeps step alive until it has run. */
        std::shared_ptr<GstPromise> ref(gst_promise_ref(promise), gst_promise_unref);
        run_on_main(step->s, [step, ref]() {
          if (gst_promise_wait(ref.get()) != GST_PROMISE_RESULT_REPLIED) {
            session_fail(step->s, step->what + ": promise not answered");
            return;
          }
          const GstStructure *reply = gst_promise_get_reply(ref.get());
          GError *error = nullptr;
          if (reply != nullptr && gst_structure_has_field(reply, "error")) {
            gst_structure_get(reply, "error", G_TYPE_ERROR, &error, NULL);
            session_fail(step->s, step->what + " failed: " +
                                      (error != nullptr ? error->message : "?"));
            g_clear_error(&error);
            return;
          }
          step->then(reply);
        });
      },
      new Step{s, what, std::move(then)},
      [](gpointer data) { delete static_cast<Step *>(data); });
}

/* ---- signalling -------------------------------------------------------------- */

static void deliver_held_candidates(Peer &peer) {
  if (!peer.has_local || !peer.has_remote)
    return;
  for (const Candidate &c : peer.held)
    g_signal_emit_by_name(peer.webrtc, "add-ice-candidate", c.mline, c.sdp.c_str());
  peer.held.clear();
}

static void on_ice_candidate(GstElement *webrtc, guint mline, gchar *sdp, Session *s) {
  Candidate c{mline, sdp};
  bool from_sender = webrtc == s->sender.webrtc;
  run_on_main(s, [s, c, from_sender]() {
    Peer &to = from_sender ? s->receiver : s->sender;
    to.held.push_back(c);
    deliver_held_candidates(to);
  });
}

static void set_description(Session *s, Peer &peer, bool local,
                            GstWebRTCSessionDescription *desc,
                            std::function<void()> then) {
  std::string what = std::string(peer.name) +
                     (local ? " set-local-description" : " set-remote-description");
  Peer *p = &peer;
  GstPromise *promise =
      promise_on_main(s, what.c_str(), [p, local, then](const GstStructure *) {
        (local ? p->has_local : p->has_remote) = true;
        deliver_held_candidates(*p);
        then();
      });
  g_signal_emit_by_name(peer.webrtc,
                        local ? "set-local-description" : "set-remote-description", desc,
                        promise);
  gst_promise_unref(promise);
}

using SharedDescription = std::shared_ptr<GstWebRTCSessionDescription>;

static SharedDescription take_description(Session *s, const GstStructure *reply,
                                          const gchar *field) {
  GstWebRTCSessionDescription *desc = nullptr;
  if (reply != nullptr)
    gst_structure_get(reply, field, GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &desc, NULL);
  if (desc == nullptr)
    session_fail(s, std::string("no ") + field + " in the reply");
  return SharedDescription(desc, [](GstWebRTCSessionDescription *d) {
    if (d != nullptr)
      gst_webrtc_session_description_free(d);
  });
}

/* offer → sender local → receiver remote → answer → receiver local → sender
 * remote, each step after the previous one has been applied. */
static void negotiate(Session *s) {
  GstPromise *promise = promise_on_main(s, "create-offer", [s](const GstStructure *r) {
    SharedDescription offer = take_description(s, r, "offer");
    if (!offer)
      return;
    set_description(s, s->sender, true, offer.get(), [s, offer]() {
      set_description(s, s->receiver, false, offer.get(), [s]() {
        GstPromise *p =
            promise_on_main(s, "create-answer", [s](const GstStructure *reply) {
              SharedDescription answer = take_description(s, reply, "answer");
              if (!answer)
                return;
              set_description(s, s->receiver, true, answer.get(), [s, answer]() {
                set_description(s, s->sender, false, answer.get(), []() {});
              });
            });
        g_signal_emit_by_name(s->receiver.webrtc, "create-answer", NULL, p);
        gst_promise_unref(p);
      });
    });
  });
  g_signal_emit_by_name(s->sender.webrtc, "create-offer", NULL, promise);
  gst_promise_unref(promise);
}

/* The offer describes what the sender sends, so it is made once the
 * payloader's caps have reached the sender's webrtcbin. */
static void on_sender_caps(GstPad *pad, GParamSpec *, Session *s) {
  GstCaps *caps = gst_pad_get_current_caps(pad);
  if (caps == nullptr)
    return;
  gst_caps_unref(caps);
  run_on_main(s, [s]() {
    if (s->negotiation_started)
      return;
    s->negotiation_started = true;
    negotiate(s);
  });
}

static void on_receiver_pad_added(GstElement *, GstPad *pad, Session *s) {
  if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC)
    return;
  GstPad *sink = gst_element_get_static_pad(s->depay, "sink");
  GstPadLinkReturn ret = gst_pad_link(pad, sink);
  gst_object_unref(sink);
  if (ret != GST_PAD_LINK_OK) {
    std::string why = std::string("linking ") + GST_PAD_NAME(pad) +
                      " to rtpopusdepay: " + gst_pad_link_get_name(ret);
    run_on_main(s, [s, why]() { session_fail(s, why); });
  }
}

/* ---- speech ------------------------------------------------------------------- */

static GstBuffer *tone_buffer(void) {
  std::vector<gint16> v(TONE_FRAMES);
  for (gsize i = 0; i < v.size(); i++)
    v[i] = (gint16)std::lround(TONE_AMPLITUDE *
                               std::sin(2.0 * G_PI * TONE_FREQUENCY * i / SPEECH_RATE));
  return gst_buffer_new_memdup(v.data(), v.size() * sizeof(gint16));
}

static void push_tone(Session *s) {
  {
    std::lock_guard<std::mutex> guard(s->lock);
    s->push_time = g_get_monotonic_time();
  }
  GstBuffer *buf = tone_buffer();
  GstFlowReturn ret = GST_FLOW_ERROR;
  g_signal_emit_by_name(s->src, "push-speech", buf, &ret);
  gst_buffer_unref(buf);
  if (ret != GST_FLOW_OK)
    session_fail(s, std::string("push-speech returned ") + gst_flow_get_name(ret));
}

static void maybe_finish(Session *s) {
  if (s->tone_received && s->last_audio != nullptr)
    g_main_loop_quit(s->loop);
}

/* ---- the receiving end -------------------------------------------------------- */

static GstFlowReturn on_new_sample(GstAppSink *sink, gpointer data) {
  Session *s = static_cast<Session *>(data);
  GstSample *sample = gst_app_sink_pull_sample(sink);
  if (sample == nullptr)
    return GST_FLOW_EOS;

  GstMapInfo map;
  GstBuffer *buf = gst_sample_get_buffer(sample);
  if (!gst_buffer_map(buf, &map, GST_MAP_READ)) {
    gst_sample_unref(sample);
    return GST_FLOW_ERROR;
  }
  const gint16 *samples = reinterpret_cast<const gint16 *>(map.data);
  gsize n = map.size / sizeof(gint16);
  gint64 now = g_get_monotonic_time();
  bool lead_in_done = false, tone_done = false;
  {
    std::lock_guard<std::mutex> guard(s->lock);
    gsize base = s->received.size();
    s->received.insert(s->received.end(), samples, samples + n);
    for (gsize i = 0; i < n; i++) {
      if (std::abs(samples[i]) <= LOUD_THRESHOLD)
        continue;
      if (s->push_time == 0) {
        s->loud_before_push++;
        continue;
      }
      if (s->tone_start < 0) {
        s->tone_start = base + i;
        s->tone_arrival = now;
      }
      s->tone_end = base + i + 1;
    }
    if (!s->lead_in_reported && s->received.size() >= LEAD_IN_FRAMES)
      lead_in_done = s->lead_in_reported = true;
    if (s->tone_start >= 0 && !s->tone_end_reported &&
        s->received.size() >= (gsize)s->tone_end + TAIL_FRAMES)
      tone_done = s->tone_end_reported = true;
  }
  gst_buffer_unmap(buf, &map);
  gst_sample_unref(sample);

  if (lead_in_done)
    run_on_main(s, [s]() { push_tone(s); });
  if (tone_done)
    run_on_main(s, [s]() {
      s->tone_received = true;
      maybe_finish(s);
    });
  return GST_FLOW_OK;
}

/* ---- bus and watchdog ----------------------------------------------------------- */

static gboolean on_bus_message(GstBus *, GstMessage *msg, gpointer data) {
  Session *s = static_cast<Session *>(data);
  if (s->finished)
    return G_SOURCE_CONTINUE;
  switch (GST_MESSAGE_TYPE(msg)) {
    case GST_MESSAGE_ERROR: {
      GError *error = nullptr;
      gchar *debug = nullptr;
      gst_message_parse_error(msg, &error, &debug);
      session_fail(s, std::string("error from ") + GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)) +
                          ": " + error->message + " (" + (debug ? debug : "") + ")");
      g_clear_error(&error);
      g_free(debug);
      break;
    }
    case GST_MESSAGE_LATENCY:
      gst_bin_recalculate_latency(GST_BIN(s->pipeline));
      break;
    case GST_MESSAGE_ELEMENT:
      if (GST_MESSAGE_SRC(msg) != GST_OBJECT(s->src))
        break;
      if (gst_message_has_name(msg, "first-audio") && s->first_audio == nullptr) {
        s->first_audio = gst_message_ref(msg);
      } else if (gst_message_has_name(msg, "last-audio") && s->last_audio == nullptr) {
        s->last_audio = gst_message_ref(msg);
        maybe_finish(s);
      }
      break;
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

static gboolean on_watchdog(gpointer data) {
  Session *s = static_cast<Session *>(data);
  s->watchdog = 0;
  gsize received;
  gint64 push_time;
  gssize tone_start;
  {
    std::lock_guard<std::mutex> guard(s->lock);
    received = s->received.size();
    push_time = s->push_time;
    tone_start = s->tone_start;
  }
  gchar *why = g_strdup_printf(
      "no complete session after %d s: negotiation started %d, sender local/remote "
      "%d/%d, receiver local/remote %d/%d, %" G_GSIZE_FORMAT
      " frames decoded, tone pushed %d, tone heard %d, tone complete %d, last-audio %d",
      WATCHDOG_SECONDS, s->negotiation_started, s->sender.has_local, s->sender.has_remote,
      s->receiver.has_local, s->receiver.has_remote, received, push_time != 0,
      tone_start >= 0, s->tone_received, s->last_audio != nullptr);
  session_fail(s, why);
  g_free(why);
  return G_SOURCE_REMOVE;
}

/* ---- analysis ------------------------------------------------------------------- */

/* Power of x at freq (generalised Goertzel: freq need not be a bin). */
static double goertzel_power(const gint16 *x, gsize n, double freq, int rate) {
  double coeff = 2.0 * std::cos(2.0 * G_PI * freq / rate);
  double s1 = 0.0, s2 = 0.0;
  for (gsize i = 0; i < n; i++) {
    double s0 = x[i] + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - coeff * s1 * s2;
}

/* The strongest frequency between lo and hi, to 1 Hz. */
static double dominant_frequency(const gint16 *x, gsize n, int rate, int lo, int hi) {
  double best = lo, best_power = -1.0;
  for (int f = lo; f <= hi; f++) {
    double p = goertzel_power(x, n, f, rate);
    if (p > best_power) {
      best_power = p;
      best = f;
    }
  }
  return best;
}

/* Share of x's energy at freq: 1 for a pure sine of that frequency. */
static double energy_share(const gint16 *x, gsize n, double freq, int rate) {
  double energy = 0.0;
  for (gsize i = 0; i < n; i++)
    energy += (double)x[i] * x[i];
  if (energy == 0.0)
    return 0.0;
  return 2.0 * goertzel_power(x, n, freq, rate) / (n * energy);
}

/* ---- the test ------------------------------------------------------------------- */

static GstElement *make(const gchar *factory, const gchar *name) {
  GstElement *e = gst_element_factory_make(factory, name);
  fail_unless(e != nullptr, "element %s is missing", factory);
  return e;
}

static void build_pipeline(Session *s) {
  s->pipeline = gst_pipeline_new("webrtc-loopback");
  GstBin *bin = GST_BIN(s->pipeline);

  s->src = make("agentaudiosrc", "src");
  GstElement *convert = make("audioconvert", nullptr);
  GstElement *resample = make("audioresample", nullptr);
  GstElement *enc = make("opusenc", nullptr);
  GstElement *pay = make("rtpopuspay", nullptr);
  s->sender.webrtc = make("webrtcbin", "sender");
  s->sender.name = "sender";
  gst_bin_add_many(bin, s->src, convert, resample, enc, pay, s->sender.webrtc, NULL);
  fail_unless(gst_element_link_many(s->src, convert, resample, enc, pay, NULL));
  g_object_set(pay, "pt", 96, NULL);

  GstPad *pay_src = gst_element_get_static_pad(pay, "src");
  GstPad *send_sink = gst_element_request_pad_simple(s->sender.webrtc, "sink_%u");
  fail_unless(send_sink != nullptr);
  fail_unless_equals_int(gst_pad_link(pay_src, send_sink), GST_PAD_LINK_OK);
  GstWebRTCRTPTransceiver *send_trans = nullptr;
  g_object_get(send_sink, "transceiver", &send_trans, NULL);
  fail_unless(send_trans != nullptr);
  g_object_set(send_trans, "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY,
               NULL);
  gst_object_unref(send_trans);
  g_signal_connect(send_sink, "notify::caps", G_CALLBACK(on_sender_caps), s);
  gst_object_unref(send_sink);
  gst_object_unref(pay_src);

  s->receiver.webrtc = make("webrtcbin", "receiver");
  s->receiver.name = "receiver";
  s->depay = make("rtpopusdepay", nullptr);
  GstElement *dec = make("opusdec", nullptr);
  GstElement *convert2 = make("audioconvert", nullptr);
  GstElement *resample2 = make("audioresample", nullptr);
  s->appsink = make("appsink", "sink");
  gst_bin_add_many(bin, s->receiver.webrtc, s->depay, dec, convert2, resample2,
                   s->appsink, NULL);
  fail_unless(
      gst_element_link_many(s->depay, dec, convert2, resample2, s->appsink, NULL));

  GstCaps *rtp_caps = gst_caps_from_string(
      "application/x-rtp, media=audio, encoding-name=OPUS, clock-rate=48000, payload=96");
  GstWebRTCRTPTransceiver *recv_trans = nullptr;
  g_signal_emit_by_name(s->receiver.webrtc, "add-transceiver",
                        GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY, rtp_caps,
                        &recv_trans);
  fail_unless(recv_trans != nullptr);
  gst_object_unref(recv_trans);
  gst_caps_unref(rtp_caps);
  g_signal_connect(s->receiver.webrtc, "pad-added", G_CALLBACK(on_receiver_pad_added), s);

  GstCaps *pcm = gst_caps_new_simple(
      "audio/x-raw", "format", G_TYPE_STRING, "S16LE", "layout", G_TYPE_STRING,
      "interleaved", "rate", G_TYPE_INT, RECEIVE_RATE, "channels", G_TYPE_INT, 1, NULL);
  /* Every decoded sample is looked at as it comes; playing it in time adds
   * nothing, and the sink must not hold the live pipeline's state back. */
  g_object_set(s->appsink, "caps", pcm, "sync", FALSE, "async", FALSE, NULL);
  gst_caps_unref(pcm);
  GstAppSinkCallbacks callbacks = {};
  callbacks.new_sample = on_new_sample;
  gst_app_sink_set_callbacks(GST_APP_SINK(s->appsink), &callbacks, s, nullptr);

  for (Peer *peer : {&s->sender, &s->receiver})
    g_signal_connect(peer->webrtc, "on-ice-candidate", G_CALLBACK(on_ice_candidate), s);
}

/* webrtcbin's DTLS runs OpenSSL on pooled threads. When the test process
 * exits, libcheck wakes the idle pool threads, and their OpenSSL thread-state
 * destructors then race OpenSSL's own atexit cleanup (a double free or a
 * SIGSEGV after the test has passed, in about 3% of runs). Without that
 * cleanup the race is gone; the process is ending anyway. Must run before
 * anything initialises OpenSSL, so first thing in the test. */
static void keep_openssl_until_exit(void) {
  fail_unless_equals_int(OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL), 1);
}

static void session_free(Session *s) {
  gst_element_set_state(s->pipeline, GST_STATE_NULL);
  if (s->bus_watch != 0)
    g_source_remove(s->bus_watch);
  if (s->watchdog != 0)
    g_source_remove(s->watchdog);
  gst_object_unref(s->pipeline);
  /* Callbacks queued by threads that have now stopped see finished and do
   * nothing; run them so that what they hold is released. */
  while (g_main_context_iteration(s->context, FALSE))
    ;
  if (s->first_audio != nullptr)
    gst_message_unref(s->first_audio);
  if (s->last_audio != nullptr)
    gst_message_unref(s->last_audio);
  g_main_loop_unref(s->loop);
  delete s;
}

GST_START_TEST(test_tone_crosses_webrtc_session) {
  keep_openssl_until_exit();
  Session *s = new Session;
  s->context = g_main_context_default();
  s->loop = g_main_loop_new(s->context, FALSE);
  build_pipeline(s);

  GstBus *bus = gst_element_get_bus(s->pipeline);
  s->bus_watch = gst_bus_add_watch(bus, on_bus_message, s);
  gst_object_unref(bus);
  s->watchdog = g_timeout_add_seconds(WATCHDOG_SECONDS, on_watchdog, s);

  gint64 start = g_get_monotonic_time();
  fail_if(gst_element_set_state(s->pipeline, GST_STATE_PLAYING) ==
          GST_STATE_CHANGE_FAILURE);
  g_main_loop_run(s->loop);
  s->finished = true;
  gint64 elapsed = g_get_monotonic_time() - start;

  /* The appsink thread is still running: copy what it measured. */
  std::vector<gint16> received;
  gsize loud_before_push;
  gssize tone_start, tone_end;
  gint64 push_time, tone_arrival;
  {
    std::lock_guard<std::mutex> guard(s->lock);
    received = s->received;
    loud_before_push = s->loud_before_push;
    tone_start = s->tone_start;
    tone_end = s->tone_end;
    push_time = s->push_time;
    tone_arrival = s->tone_arrival;
  }
  std::string failure = s->failure;
  bool had_first_audio = s->first_audio != nullptr;
  guint64 duration = 0, dropped = G_MAXUINT64;
  gboolean interrupted = TRUE;
  bool has_fields = false;
  if (s->last_audio != nullptr) {
    const GstStructure *st = gst_message_get_structure(s->last_audio);
    has_fields = gst_structure_get_uint64(st, "duration", &duration) &&
                 gst_structure_get_boolean(st, "interrupted", &interrupted) &&
                 gst_structure_get_uint64(st, "dropped", &dropped);
  }
  session_free(s);

  fail_unless(failure.empty(), "%s", failure.c_str());
  GST_INFO("session complete after %.3f s", elapsed / 1e6);

  /* (a) silence, then the tone, at its frequency */
  fail_unless_equals_uint64(loud_before_push, 0);
  fail_unless(tone_start >= 0 && tone_end > tone_start);
  const gint16 *tone = received.data() + tone_start;
  gsize tone_frames = tone_end - tone_start;
  /* Leave out the codec's onset and release. */
  gsize edge = RECEIVE_RATE / 20;
  fail_unless(tone_frames > 4 * edge, "tone only %" G_GSIZE_FORMAT " frames",
              tone_frames);
  double frequency =
      dominant_frequency(tone + edge, tone_frames - 2 * edge, RECEIVE_RATE, 50, 4000);
  double share =
      energy_share(tone + edge, tone_frames - 2 * edge, frequency, RECEIVE_RATE);
  GST_INFO("tone: %" G_GSIZE_FORMAT
           " frames at %.0f Hz (%.3f of its energy), "
           "heard %.3f s after the push",
           tone_frames, frequency, share, (tone_arrival - push_time) / 1e6);
  fail_unless(std::fabs(frequency - TONE_FREQUENCY) <= FREQUENCY_TOLERANCE,
              "dominant frequency %.1f Hz", frequency);
  fail_unless(share > 0.9, "only %.3f of the energy at %.0f Hz", share, frequency);

  /* (b) as long as it was, and not late */
  double seconds = (double)tone_frames / RECEIVE_RATE;
  fail_unless(seconds >= 0.8 && seconds <= 1.2, "tone lasted %.3f s", seconds);
  fail_unless(tone_arrival > push_time);
  fail_unless(tone_arrival - push_time < MAX_ARRIVAL_DELAY,
              "tone heard %.3f s after push", (tone_arrival - push_time) / 1e6);

  /* (c) the element's account of the utterance */
  fail_unless(had_first_audio, "no first-audio before last-audio");
  fail_unless(has_fields, "last-audio lacks duration, interrupted or dropped");
  fail_unless_equals_uint64(
      duration, gst_util_uint64_scale_int(TONE_FRAMES, GST_SECOND, SPEECH_RATE));
  fail_if(interrupted);
  fail_unless_equals_uint64(dropped, 0);
}
GST_END_TEST;

static Suite *webrtc_suite(void) {
  Suite *s = suite_create("webrtc");
  TCase *tc = tcase_create("loopback");
  /* Well past the watchdog, so that a stuck session reports what it lacked. */
  tcase_set_timeout(tc, 3 * WATCHDOG_SECONDS);
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_tone_crosses_webrtc_session);
  return s;
}

GST_CHECK_MAIN(webrtc);
