// many-sessions: one process, many agentaudiosrc sessions, each fed from its own thread.
//
// A media server runs one pipeline per call. Each session here is
//
//   agentaudiosrc name=agent-N ! opusenc ! rtpopuspay ! fakesink   (to the caller)
//   agent-N.speech_0 ! queue ! fakesink                            (the voice alone)
//
// (with --out-dir, both legs are WAV files instead), and a std::thread per session plays
// the streaming TTS engine: it synthesises speech-like audio and pushes it in irregular
// bursts, puts a mark after every sentence, and pushes a looping background bed once.
// The main thread runs one GMainLoop that watches every bus, plays the caller who
// sometimes talks over the agent (barge-in: `interrupt`), and handles SIGINT/SIGTERM.
//
// Threads:
//   main         the GMainLoop: bus watches, barge-ins, signals, the watchdog, shutdown
//   feeder-N     push-speech; blocks there while max-speech-time of speech is queued
//   streaming    the element's and the tap queue's, one each per pipeline (GStreamer's)
//
// Shutdown of a session (stop_session, close_session) is, in this order:
//   1. stop its feeder's StopFlag: a feeder sleeping between bursts wakes at once;
//   2. set the pipeline to READY: a push blocked by max-speech-time returns
//      GST_FLOW_FLUSHING, and the element posts last-audio and the dropped marks for
//      whatever was cut (docs/agentaudiosrc.md: push-speech, When they are posted);
//   3. join the feeder;
//   4. read what READY posted, before NULL flushes the bus;
//   5. set the pipeline to NULL, release the request pad and drop every reference.
// Step 3 cannot hang: the feeder checks its flag before every push, so once the flag is
// set it makes at most one more push, into the queue that READY has emptied, which is
// below max-speech-time and so does not block.
//
// Run (from the repository root, after `ninja -C builddir`):
//   GST_PLUGIN_PATH=builddir/gst/agentaudio builddir/examples/many-sessions --sessions 8
// It exits 0 when every session played speech, ended each utterance it started (one
// last-audio per first-audio), posted no error and shut down.

#include <gst/gst.h>
#include <glib-unix.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using Rng = std::mt19937;

// ---- Owning references -------------------------------------------------------------

// One deleter for every GLib/GStreamer type this program owns, so a reference is
// released on every path out of a function.
struct Unref {
  void operator()(GstElement *element) const { gst_object_unref(element); }
  void operator()(GstPad *pad) const { gst_object_unref(pad); }
  void operator()(GstBus *bus) const { gst_object_unref(bus); }
  void operator()(GstBuffer *buffer) const { gst_buffer_unref(buffer); }
  void operator()(GstMessage *message) const { gst_message_unref(message); }
  void operator()(GError *error) const { g_error_free(error); }
  void operator()(gchar *string) const { g_free(string); }
  void operator()(GMainLoop *loop) const { g_main_loop_unref(loop); }
  void operator()(GOptionContext *context) const { g_option_context_free(context); }
};
template <typename T>
using Ref = std::unique_ptr<T, Unref>;

// ---- Settings ----------------------------------------------------------------------

struct Options {
  int sessions = 8;
  int seconds = 5;     // how long each feeder starts new turns; the last one is finished
  Ref<gchar> out_dir;  // WAV files instead of the RTP leg and the fakesink tap
  bool verbose = false;
};

// The speech format is the element's default speech-caps: S16LE, 24000 Hz, mono.
constexpr int kRate = 24000;

// Back-pressure: push-speech blocks while this much speech is queued. The feeder is
// thereby paced by playout however fast it synthesises, and a barge-in never has more
// than this (plus one chunk) to throw away.
constexpr guint64 kMaxSpeechTime = 200 * GST_MSECOND;

// How long after the feeders stop starting turns the sessions may take to end. Generous,
// because under valgrind everything is many times slower; nothing but the verdict on a
// session that never ends depends on it.
constexpr guint kGraceSeconds = 45;

// The caller talks over every second utterance of a session, this long after it starts.
constexpr guint kBargeInDelayMs = 600;

// ---- Stopping a thread -------------------------------------------------------------

// A stop request that a thread can also sleep on: wait_for() returns as soon as stop()
// is called, so no thread sleeps through a shutdown.
class StopFlag {
 public:
  void stop() {
    {
      // Set under the mutex so that a waiter cannot miss it between its check and
      // its wait.
      std::lock_guard<std::mutex> lock(mutex_);
      stopped_ = true;
    }
    cv_.notify_all();
  }

  // Lock-free: the feeder asks before every push.
  bool stopped() const { return stopped_; }

  // Sleeps for `duration`; true if stop() was called before or during the sleep.
  template <typename Duration>
  bool wait_for(Duration duration) {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, duration, [this] { return stopped_.load(); });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::atomic<bool> stopped_{false};
};

// ---- The session -------------------------------------------------------------------

// What the bus said about one session.
struct BusCounts {
  unsigned first_audio = 0;
  unsigned last_audio = 0;
  unsigned interrupted = 0;  // last-audio with interrupted=TRUE
  guint64 played_ns = 0;     // the durations of all last-audio messages
  unsigned marks = 0;
  unsigned marks_dropped = 0;  // mark with interrupted=TRUE
  unsigned errors = 0;
  bool eos = false;
};

struct App;

struct Session {
  Session(App &app, int index)
      : app(app), index(index), name("agent-" + std::to_string(index)) {}

  App &app;
  const int index;
  const std::string name;  // the element's name, and the session's in every report

  Ref<GstElement> pipeline;
  Ref<GstElement> agent;
  Ref<GstPad> voice_pad;  // speech_0, requested from C++
  std::thread feeder;
  StopFlag stop;

  // A barge-in cancels the turn the feeder is speaking. Bumping `turn` and emitting
  // `interrupt` under one lock makes them a single step for the feeder, which reads
  // `turn` when it starts a turn: the interrupt can never land in the next turn.
  std::mutex turn_lock;
  unsigned turn = 0;  // guarded by turn_lock

  // Speech seen on the tap (non-GAP buffers), counted on the element's streaming thread.
  std::atomic<guint64> tap_ns{0};

  // Written by the feeder thread, read after it has been joined.
  unsigned turns_spoken = 0;
  unsigned turns_cut = 0;

  // Main thread only.
  BusCounts bus;
  unsigned barge_ins = 0;
  guint barge_in_source = 0;
  bool finished = false;  // EOS or an error
};

struct App {
  Options options;
  std::vector<std::unique_ptr<Session>> sessions;  // not movable: mutex, thread
  Ref<GMainLoop> loop;
  unsigned running = 0;  // sessions not yet finished
  bool signalled = false;
  bool timed_out = false;
};

// ---- The TTS engine ----------------------------------------------------------------

// Speech-like audio: a voice with three harmonics at `pitch_hz`, in syllables of
// 120-260 ms shaped by a sine-squared envelope, with a little pitch movement per
// syllable and a fall across the sentence, the way spoken sentences fall.
std::vector<gint16> synthesize_sentence(double pitch_hz, Rng &rng) {
  std::uniform_int_distribution<int> syllable_count(3, 6);
  std::uniform_real_distribution<double> syllable_seconds(0.12, 0.26);
  std::uniform_real_distribution<double> inflection(-0.12, 0.12);

  std::vector<gint16> pcm;
  double phase = 0.0;
  const int syllables = syllable_count(rng);
  for (int k = 0; k < syllables; ++k) {
    const auto length = static_cast<size_t>(syllable_seconds(rng) * kRate);
    const double f0 = pitch_hz * (1.0 + inflection(rng)) * (1.0 - 0.15 * k / syllables);
    for (size_t i = 0; i < length; ++i) {
      const double envelope = std::sin(G_PI * static_cast<double>(i) / length);
      phase = std::fmod(phase + 2.0 * G_PI * f0 / kRate, 2.0 * G_PI);
      const double voice =
          std::sin(phase) + 0.5 * std::sin(2.0 * phase) + 0.25 * std::sin(3.0 * phase);
      pcm.push_back(static_cast<gint16>(8000.0 * envelope * envelope * voice));
    }
  }
  return pcm;
}

// Two seconds of room tone (low-passed noise) for the background bed. It loops, so its
// length only sets how often the pattern repeats.
std::vector<gint16> synthesize_room_tone(Rng &rng) {
  std::normal_distribution<double> noise(0.0, 1.0);
  std::vector<gint16> pcm(2 * kRate);
  double low = 0.0;
  for (auto &sample : pcm) {
    low += 0.05 * (noise(rng) - low);
    sample = static_cast<gint16>(std::clamp(6000.0 * low, -32768.0, 32767.0));
  }
  return pcm;
}

// Emits push-speech or push-background with `frames` samples; returns its flow return.
GstFlowReturn push(GstElement *agent, const char *signal, const gint16 *pcm,
                   size_t frames) {
  // The element copies the bytes and keeps no reference (transfer none, like appsrc's
  // push-buffer), so the buffer can wrap our memory instead of copying it.
  Ref<GstBuffer> buffer(gst_buffer_new_wrapped_full(
      GST_MEMORY_FLAG_READONLY, const_cast<gint16 *>(pcm), frames * sizeof *pcm, 0,
      frames * sizeof *pcm, nullptr, nullptr));
  GstFlowReturn ret = GST_FLOW_ERROR;
  g_signal_emit_by_name(agent, signal, buffer.get(), &ret);
  return ret;
}

enum class Turn {
  kSpoken,   // every sentence of it was queued
  kCutOff,   // a barge-in cancelled it
  kStopped,  // the session is shutting down
  kFailed,   // the element refused the audio; it posted why on the bus
};

// One turn of the agent: 1-2 sentences, each followed by a mark, streamed the way a TTS
// engine delivers audio: a large first chunk, then 20-120 ms chunks, now and then late.
Turn speak_turn(Session &s, double pitch_hz, Rng &rng) {
  unsigned turn;
  {
    std::lock_guard<std::mutex> lock(s.turn_lock);
    turn = s.turn;
  }
  auto cut_off = [&s, turn] {
    std::lock_guard<std::mutex> lock(s.turn_lock);
    return s.turn != turn;
  };

  std::uniform_int_distribution<int> sentence_count(1, 2);
  std::uniform_int_distribution<size_t> first_chunk(kRate * 150 / 1000,
                                                    kRate * 300 / 1000);
  std::uniform_int_distribution<size_t> chunk(kRate * 20 / 1000, kRate * 120 / 1000);
  std::bernoulli_distribution late(0.25);
  std::uniform_int_distribution<int> lateness_ms(10, 80);

  const int sentences = sentence_count(rng);
  for (int sentence = 1; sentence <= sentences; ++sentence) {
    const std::vector<gint16> pcm = synthesize_sentence(pitch_hz, rng);
    for (size_t done = 0; done < pcm.size();) {
      if (s.stop.stopped())
        return Turn::kStopped;
      if (cut_off())
        return Turn::kCutOff;

      const size_t frames =
          std::min(done == 0 ? first_chunk(rng) : chunk(rng), pcm.size() - done);
      switch (push(s.agent.get(), "push-speech", pcm.data() + done, frames)) {
        case GST_FLOW_OK:
          break;
        case GST_FLOW_FLUSHING:
          // An interrupt or READY woke this push (or came while it ran); none of
          // it was queued. Only a barge-in or our own shutdown does either.
          return s.stop.stopped() ? Turn::kStopped : Turn::kCutOff;
        default:
          // EOS or a refusal; for a refusal the element has posted an error.
          return Turn::kFailed;
      }
      done += frames;

      if (late(rng) && s.stop.wait_for(std::chrono::milliseconds(lateness_ms(rng))))
        return Turn::kStopped;
    }
    const std::string mark = "turn-" + std::to_string(s.turns_spoken + s.turns_cut + 1) +
                             "/sentence-" + std::to_string(sentence);
    g_signal_emit_by_name(s.agent.get(), "mark", mark.c_str());
  }
  return Turn::kSpoken;
}

// The feeder thread: the bed once, then turns until --seconds have passed (at least
// one), with the caller's turn (a pause) in between; then end-of-stream, so that the
// pipeline ends once the last turn has played.
void run_feeder(Session &s, int seconds) {
  Rng rng(0x5eed + s.index);
  const double pitch_hz = 100.0 + 20.0 * (s.index % 8);
  std::uniform_int_distribution<int> pause_ms(300, 800);

  const std::vector<gint16> bed = synthesize_room_tone(rng);
  if (push(s.agent.get(), "push-background", bed.data(), bed.size()) != GST_FLOW_OK)
    return;  // refused or shutting down: the bus says which

  const auto deadline = Clock::now() + std::chrono::seconds(seconds);
  do {
    switch (speak_turn(s, pitch_hz, rng)) {
      case Turn::kSpoken:
        ++s.turns_spoken;
        break;
      case Turn::kCutOff:
        ++s.turns_cut;
        break;
      case Turn::kStopped:
      case Turn::kFailed:
        return;
    }
    if (s.stop.wait_for(std::chrono::milliseconds(pause_ms(rng))))
      return;
  } while (Clock::now() < deadline);
  GstFlowReturn ret;
  g_signal_emit_by_name(s.agent.get(), "end-of-stream", &ret);
}

// ---- The caller ----------------------------------------------------------------------

double seconds_of(guint64 ns) {
  return static_cast<double>(ns) / GST_SECOND;
}

gboolean barge_in(gpointer data) {
  auto &s = *static_cast<Session *>(data);
  s.barge_in_source = 0;
  guint64 dropped_ns = 0;
  {
    std::lock_guard<std::mutex> lock(s.turn_lock);
    ++s.turn;
    // Drops the queued speech after a short fade, posts the marks it drops, and wakes
    // a push blocked by max-speech-time with GST_FLOW_FLUSHING.
    g_signal_emit_by_name(s.agent.get(), "interrupt", &dropped_ns);
  }
  ++s.barge_ins;
  if (s.app.options.verbose)
    g_print("%s: barge-in, %.3f s of speech dropped\n", s.name.c_str(),
            seconds_of(dropped_ns));
  return G_SOURCE_REMOVE;
}

// ---- The bus -----------------------------------------------------------------------

void on_agent_message(Session &s, const GstStructure *st) {
  const bool verbose = s.app.options.verbose;
  guint64 running_time = GST_CLOCK_TIME_NONE;
  gst_structure_get_uint64(st, "running-time", &running_time);
  gboolean interrupted = FALSE;
  gst_structure_get_boolean(st, "interrupted", &interrupted);

  if (gst_structure_has_name(st, "first-audio")) {
    ++s.bus.first_audio;
    if (verbose)
      g_print("%s: first-audio at %.3f s\n", s.name.c_str(), seconds_of(running_time));
    if (s.bus.first_audio % 2 == 0 && s.barge_in_source == 0 && !s.stop.stopped())
      s.barge_in_source = g_timeout_add(kBargeInDelayMs, barge_in, &s);
  } else if (gst_structure_has_name(st, "last-audio")) {
    guint64 duration = 0;
    gst_structure_get_uint64(st, "duration", &duration);
    ++s.bus.last_audio;
    s.bus.played_ns += duration;
    s.bus.interrupted += interrupted ? 1 : 0;
    if (verbose)
      g_print("%s: last-audio at %.3f s, %.3f s played%s\n", s.name.c_str(),
              seconds_of(running_time), seconds_of(duration),
              interrupted ? ", interrupted" : "");
  } else if (gst_structure_has_name(st, "mark")) {
    ++(interrupted ? s.bus.marks_dropped : s.bus.marks);
    if (verbose)
      g_print("%s: mark %s%s\n", s.name.c_str(), gst_structure_get_string(st, "name"),
              interrupted ? " (dropped)" : "");
  }
}

void finish(Session &s) {
  if (s.finished)
    return;
  s.finished = true;
  if (--s.app.running == 0)
    g_main_loop_quit(s.app.loop.get());
}

// Used by the bus watch while the loop runs, and by close_session for what is left.
void handle_message(Session &s, GstMessage *message) {
  switch (GST_MESSAGE_TYPE(message)) {
    case GST_MESSAGE_ELEMENT:
      if (GST_MESSAGE_SRC(message) == GST_OBJECT(s.agent.get()))
        on_agent_message(s, gst_message_get_structure(message));
      break;
    case GST_MESSAGE_ERROR:
    case GST_MESSAGE_WARNING: {
      const bool error = GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR;
      GError *raw_error = nullptr;
      gchar *raw_debug = nullptr;
      if (error)
        gst_message_parse_error(message, &raw_error, &raw_debug);
      else
        gst_message_parse_warning(message, &raw_error, &raw_debug);
      Ref<GError> err(raw_error);
      Ref<gchar> debug(raw_debug);
      g_printerr("%s: %s from %s: %s (%s)\n", s.name.c_str(), error ? "ERROR" : "warning",
                 GST_MESSAGE_SRC_NAME(message), err->message, debug ? debug.get() : "");
      if (error) {
        ++s.bus.errors;
        finish(s);
      }
      break;
    }
    case GST_MESSAGE_EOS:
      s.bus.eos = true;
      finish(s);
      break;
    default:
      break;
  }
}

gboolean on_bus_message(GstBus *, GstMessage *message, gpointer data) {
  handle_message(*static_cast<Session *>(data), message);
  return G_SOURCE_CONTINUE;
}

// ---- Starting and stopping a session -----------------------------------------------

// The voice tap's view: what an avatar or a recorder of the agent's voice gets.
GstPadProbeReturn count_voice(GstPad *, GstPadProbeInfo *info, gpointer data) {
  GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER(info);
  if (!GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_GAP) &&
      GST_BUFFER_DURATION_IS_VALID(buffer))
    static_cast<Session *>(data)->tap_ns += GST_BUFFER_DURATION(buffer);
  return GST_PAD_PROBE_OK;
}

// gst_parse_launch and gst_parse_bin_from_description return floating references.
GstElement *parse(const std::string &description, bool is_bin) {
  GError *raw_error = nullptr;
  GstElement *element =
      is_bin ? gst_parse_bin_from_description(description.c_str(), TRUE, &raw_error)
             : gst_parse_launch(description.c_str(), &raw_error);
  Ref<GError> err(raw_error);
  if (err) {
    g_printerr("cannot build \"%s\": %s\n", description.c_str(), err->message);
    if (element)
      gst_object_unref(gst_object_ref_sink(element));
    return nullptr;
  }
  return element;
}

bool start_session(Session &s) {
  const Options &options = s.app.options;
  std::string leg = "opusenc ! rtpopuspay ! fakesink";
  std::string tap = "queue ! fakesink";
  if (options.out_dir) {
    Ref<gchar> mix(
        g_build_filename(options.out_dir.get(), (s.name + ".wav").c_str(), nullptr));
    Ref<gchar> voice(g_build_filename(options.out_dir.get(),
                                      (s.name + "-voice.wav").c_str(), nullptr));
    leg = std::string("wavenc ! filesink location=\"") + mix.get() + "\"";
    tap = std::string("queue ! wavenc ! filesink location=\"") + voice.get() + "\"";
  }

  GstElement *pipeline = parse("agentaudiosrc name=" + s.name + " ! " + leg, false);
  if (!pipeline)
    return false;
  s.pipeline.reset(GST_ELEMENT(gst_object_ref_sink(pipeline)));
  s.agent.reset(gst_bin_get_by_name(GST_BIN(s.pipeline.get()), s.name.c_str()));

  // GObject varargs: each value must have exactly the property's type.
  g_object_set(s.agent.get(), "max-speech-time", kMaxSpeechTime, "background-loop", TRUE,
               "background-volume", 0.5, "duck-volume", 0.3, nullptr);

  // The tap goes on a speech_%u request pad: the speech alone, without the bed, with the
  // timestamps of src. Its branch starts with a queue so that it never holds up src.
  GstElement *tap_bin = parse(tap, true);
  if (!tap_bin)
    return false;
  gst_bin_add(GST_BIN(s.pipeline.get()), tap_bin);  // takes the floating reference
  s.voice_pad.reset(gst_element_request_pad_simple(s.agent.get(), "speech_%u"));
  Ref<GstPad> tap_sink(gst_element_get_static_pad(tap_bin, "sink"));
  if (!s.voice_pad ||
      gst_pad_link(s.voice_pad.get(), tap_sink.get()) != GST_PAD_LINK_OK) {
    g_printerr("%s: cannot link the voice tap\n", s.name.c_str());
    return false;
  }
  gst_pad_add_probe(s.voice_pad.get(), GST_PAD_PROBE_TYPE_BUFFER, count_voice, &s,
                    nullptr);

  Ref<GstBus> bus(gst_element_get_bus(s.pipeline.get()));
  gst_bus_add_watch(bus.get(), on_bus_message, &s);

  if (gst_element_set_state(s.pipeline.get(), GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE) {
    g_printerr("%s: cannot start the pipeline\n", s.name.c_str());
    return false;
  }
  s.feeder = std::thread(run_feeder, std::ref(s), options.seconds);
  return true;
}

// Steps 1 and 2 of the shutdown described at the top of the file. The program stops
// every session before it closes any, so that none goes on talking while another is
// being closed; a server ending one call calls stop_session and close_session in a row.
void stop_session(Session &s) {
  if (s.barge_in_source != 0) {
    g_source_remove(s.barge_in_source);
    s.barge_in_source = 0;
  }
  s.stop.stop();
  if (s.pipeline)
    gst_element_set_state(s.pipeline.get(), GST_STATE_READY);
}

// Steps 3 to 5. Safe on a session that never started, or only half did.
void close_session(Session &s) {
  if (s.feeder.joinable())
    s.feeder.join();

  if (s.pipeline) {
    Ref<GstBus> bus(gst_element_get_bus(s.pipeline.get()));
    gst_bus_remove_watch(bus.get());
    while (Ref<GstMessage> message{gst_bus_pop(bus.get())})
      handle_message(s, message.get());
    gst_element_set_state(s.pipeline.get(), GST_STATE_NULL);
  }
  if (s.voice_pad)
    gst_element_release_request_pad(s.agent.get(), s.voice_pad.get());
  s.voice_pad.reset();
  s.agent.reset();
  s.pipeline.reset();
}

// ---- Main --------------------------------------------------------------------------

gboolean on_signal(gpointer data) {
  auto &app = *static_cast<App *>(data);
  g_printerr("many-sessions: stopping\n");
  app.signalled = true;
  g_main_loop_quit(app.loop.get());
  return G_SOURCE_CONTINUE;
}

gboolean on_watchdog(gpointer data) {
  auto &app = *static_cast<App *>(data);
  for (const auto &s : app.sessions)
    if (!s->finished)
      g_printerr("%s: still running after %d s\n", s->name.c_str(),
                 app.options.seconds + static_cast<int>(kGraceSeconds));
  app.timed_out = true;
  g_main_loop_quit(app.loop.get());
  return G_SOURCE_REMOVE;
}

// Why a session failed, or nullptr. After a signal, ending early is not a failure.
const char *verdict(const App &app, const Session &s) {
  if (s.bus.errors > 0)
    return "error";
  if (s.bus.first_audio == 0)
    return "played no speech";
  if (s.bus.last_audio != s.bus.first_audio)
    return "utterance not ended";
  if (!s.bus.eos && !app.signalled)
    return "no EOS";
  return nullptr;
}

// turns: turns the feeder started; cancelled: turns it gave up mid-way because of a
// barge-in; barge-ins: interrupts the caller made; utterances, interrupted, played,
// marks, dropped: what the bus said; voice tap: non-GAP time on speech_0.
bool print_summary(const App &app) {
  g_print("\n%-8s %5s %10s %10s %11s %12s %8s %10s %6s %8s  %s\n", "session", "turns",
          "cancelled", "barge-ins", "utterances", "interrupted", "played", "voice tap",
          "marks", "dropped", "result");
  bool ok = true;
  for (const auto &s : app.sessions) {
    const char *failure = verdict(app, *s);
    ok = ok && failure == nullptr;
    g_print("%-8s %5u %10u %10u %11u %12u %6.2f s %8.2f s %6u %8u  %s\n", s->name.c_str(),
            s->turns_spoken + s->turns_cut, s->turns_cut, s->barge_ins,
            s->bus.first_audio, s->bus.interrupted, seconds_of(s->bus.played_ns),
            seconds_of(s->tap_ns.load()), s->bus.marks, s->bus.marks_dropped,
            failure ? failure : "ok");
  }
  g_print("many-sessions: %zu sessions, %s\n", app.sessions.size(),
          ok ? "all ok" : "FAILED");
  return ok;
}

bool parse_options(int &argc, char **&argv, Options &options) {
  gint sessions = options.sessions;
  gint seconds = options.seconds;
  gchar *out_dir = nullptr;
  gboolean verbose = FALSE;
  const GOptionEntry entries[] = {
      {"sessions", 'n', 0, G_OPTION_ARG_INT, &sessions, "Number of sessions (8)", "N"},
      {"seconds", 's', 0, G_OPTION_ARG_INT, &seconds,
       "How long the feeders start new turns (5)", "S"},
      {"out-dir", 'o', 0, G_OPTION_ARG_FILENAME, &out_dir,
       "Write each session's mix and voice tap as WAV files in DIR", "DIR"},
      {"verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose,
       "Print every first-audio, last-audio, mark and barge-in", nullptr},
      {},  // the end (G_OPTION_ENTRY_NULL does not compile as C++)
  };
  Ref<GOptionContext> context(g_option_context_new(nullptr));
  g_option_context_set_summary(
      context.get(),
      "Many agentaudiosrc sessions in one process, each fed from "
      "its own thread, shut down cleanly.");
  g_option_context_add_main_entries(context.get(), entries, nullptr);
  GError *raw_error = nullptr;
  const bool parsed = g_option_context_parse(context.get(), &argc, &argv, &raw_error);
  Ref<GError> err(raw_error);
  options.out_dir.reset(out_dir);
  if (!parsed || sessions < 1 || seconds < 0) {
    g_printerr("many-sessions: %s\n",
               err ? err->message : "--sessions must be at least 1");
    return false;
  }
  options.sessions = sessions;
  options.seconds = seconds;
  options.verbose = verbose;
  return true;
}

int run(App &app) {
  app.loop.reset(g_main_loop_new(nullptr, FALSE));
  for (int i = 0; i < app.options.sessions; ++i)
    app.sessions.push_back(std::make_unique<Session>(app, i));

  for (const auto &s : app.sessions) {
    ++app.running;
    if (!start_session(*s)) {
      ++s->bus.errors;
      finish(*s);
    }
  }

  const guint sigint = g_unix_signal_add(SIGINT, on_signal, &app);
  const guint sigterm = g_unix_signal_add(SIGTERM, on_signal, &app);
  const guint watchdog =
      g_timeout_add_seconds(app.options.seconds + kGraceSeconds, on_watchdog, &app);
  if (app.running > 0)
    g_main_loop_run(app.loop.get());
  if (!app.timed_out)
    g_source_remove(watchdog);
  g_source_remove(sigterm);
  g_source_remove(sigint);

  for (const auto &s : app.sessions)
    stop_session(*s);
  for (const auto &s : app.sessions)
    close_session(*s);
  const bool ok = print_summary(app) && !app.timed_out;
  app.sessions.clear();
  return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}

}  // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  int status = EXIT_FAILURE;
  {
    App app;
    if (parse_options(argc, argv, app.options))
      status = run(app);
  }
  // Every GStreamer object is gone with `app`; gst_deinit() lets a leak checker see
  // that nothing of ours is left.
  gst_deinit();
  return status;
}
