/* agentaudiosrc
 * Copyright (C) 2026 agentaudiosrc authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* bench-streams: the cost of N concurrent live audio sessions in one process,
 * one GstPipeline each (as a media server runs them), all on the system
 * clock, 20 ms buffers of 24 kHz mono S16LE.
 *
 *   --mode floor        audiotestsrc is-live=true wave=sine ! fakesink
 *                       (the cheapest live GstBaseSrc there is)
 *   --mode composition  what a user builds without our element (see
 *                       make_composition() for the choices)
 *   --mode agent        agentaudiosrc with speech and a looping bed queued
 *                       all the time, src and one src_%u, each to a fakesink
 *   --mode agent-latency
 *                       one agentaudiosrc: push -> first sample out,
 *                       interrupt -> silence, last-audio posting delay
 *
 * It measures; it never judges. Output: one JSON object (stdout, and
 * --json FILE). README.md in this directory defines every figure. */

#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "benchutil.h"

namespace {

using namespace benchutil;

constexpr int kRate = 24000;
constexpr int kFramesPerBuffer = 480; /* 20 ms */
constexpr GstClockTime kPtime = 20 * GST_MSECOND;
constexpr std::size_t kBytesPerBuffer = kFramesPerBuffer * sizeof(int16_t);
/* The feeder keeps every session's speech between about 100 and 250 ms:
 * it wakes every 50 ms and tops up by 100 ms whatever is below 150 ms. */
constexpr GstClockTime kFeedPeriod = 50 * GST_MSECOND;
constexpr GstClockTime kFeedLow = 150 * GST_MSECOND;
constexpr GstClockTime kFeedChunk = 100 * GST_MSECOND;
constexpr int kBuffersPerChunk = static_cast<int>(kFeedChunk / kPtime);
/* The bed the agent loops (and the composition streams): 1 s. */
constexpr int kBedFrames = kRate;

/* Lateness histogram: 10 µs bins up to 100 ms, then 1 ms bins up to 10 s
 * (an overloaded mode is that late); later samples only move the overflow
 * count and the maximum. */
constexpr int64_t kBinNs = 10000;
constexpr int kFineBins = 10000;
constexpr int64_t kCoarseBinNs = 1000000;
constexpr int kCoarseBins = 9900;
constexpr int kBins = kFineBins + kCoarseBins;
constexpr int64_t kFineEndNs = kBinNs * kFineBins;

int bin_of(int64_t late_ns) {
  if (late_ns < kFineEndNs)
    return static_cast<int>(late_ns / kBinNs);
  int64_t c = (late_ns - kFineEndNs) / kCoarseBinNs;
  return c >= kCoarseBins ? -1 : kFineBins + static_cast<int>(c);
}

/* Upper edge of a bin, in µs. */
double bin_upper_us(int b) {
  if (b < kFineBins)
    return static_cast<double>((b + 1) * kBinNs) / 1000.0;
  return static_cast<double>(kFineEndNs + (b - kFineBins + 1) * kCoarseBinNs) / 1000.0;
}

enum class Mode { kFloor, kComposition, kAgent, kAgentLatency };

const char *mode_name(Mode m) {
  switch (m) {
    case Mode::kFloor:
      return "floor";
    case Mode::kComposition:
      return "composition";
    case Mode::kAgent:
      return "agent";
    case Mode::kAgentLatency:
      return "agent-latency";
  }
  return "?";
}

/* Set while the measured window is open: the probes count only then. */
std::atomic<bool> g_measuring{false};
GstClock *g_clock = nullptr;

struct Histogram {
  std::vector<uint32_t> bins;
  uint64_t count = 0;
  uint64_t overflow = 0;
  uint64_t early = 0; /* pushed before the due time: counted in bin 0 */
  int64_t max_ns = INT64_MIN;
  int64_t min_ns = INT64_MAX;

  void add(int64_t late_ns) {
    count++;
    if (late_ns > max_ns)
      max_ns = late_ns;
    if (late_ns < min_ns)
      min_ns = late_ns;
    if (late_ns < 0) {
      early++;
      bins[0]++;
    } else if (bin_of(late_ns) < 0) {
      overflow++;
    } else {
      bins[static_cast<std::size_t>(bin_of(late_ns))]++;
    }
  }
};

struct Session {
  GstElement *pipeline = nullptr;
  /* agent: the agentaudiosrc; composition: the speech and bed appsrcs. */
  GstElement *feed[2] = {nullptr, nullptr};
  GstClockTime base_time = 0;
  /* Due time of a buffer = base_time + PTS + due_offset: 0 for the sources,
   * which wait for their PTS; the mixer's reported latency for audiomixer,
   * which waits until its output buffer's end plus latency. */
  GstClockTime due_offset = 0;
  GstElement *mixer = nullptr;
  /* composition: the running time of the next buffer each appsrc gets. */
  GstClockTime next_pts[2] = {GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE};
  uint64_t chunk_index[2] = {0, 0};
  /* Only the streaming thread of the paced pad touches it (one per session),
   * and the main thread reads it after the window is closed. */
  Histogram hist;
  /* Written by the streaming thread, read at the end while it still runs. */
  std::atomic<uint64_t> buffers_total{0};
  uint64_t pushes = 0; /* feeder pushes in the window */
};

/* Precomputed audio, shared by every session so that the app side costs
 * the same in both modes and allocates nothing per push. */
struct Audio {
  /* 1 s of speech-like signal (a 220 Hz tone with a slow vibrato, so no
   * sample run is constant), cut into 100 ms chunks for agent pushes and
   * into 20 ms GstMemory pieces for appsrc buffers. */
  std::vector<GstBuffer *> speech_chunks;
  std::vector<GstMemory *> speech_pieces;
  std::vector<GstMemory *> bed_pieces;
  GstBuffer *bed = nullptr;
};

std::vector<int16_t> make_tone(int frames, double freq, double amp) {
  std::vector<int16_t> v(static_cast<std::size_t>(frames));
  for (int i = 0; i < frames; i++) {
    double t = static_cast<double>(i) / kRate;
    double f = freq * (1.0 + 0.05 * std::sin(2 * G_PI * 3 * t));
    v[static_cast<std::size_t>(i)] =
        static_cast<int16_t>(amp * std::sin(2 * G_PI * f * t) + (i % 2 ? 1 : -1));
  }
  return v;
}

GstMemory *memory_of(const std::vector<int16_t> &v, std::size_t off_frames,
                     std::size_t frames) {
  return gst_memory_new_wrapped(
      GST_MEMORY_FLAG_READONLY, const_cast<int16_t *>(v.data() + off_frames),
      frames * sizeof(int16_t), 0, frames * sizeof(int16_t), nullptr, nullptr);
}

std::vector<int16_t> g_speech_pcm;
std::vector<int16_t> g_bed_pcm;

Audio make_audio() {
  Audio a;
  g_speech_pcm = make_tone(kRate, 220, 8000);
  g_bed_pcm = make_tone(kBedFrames, 110, 2000);
  const std::size_t chunk_frames = kFramesPerBuffer * kBuffersPerChunk;
  for (std::size_t off = 0; off + chunk_frames <= g_speech_pcm.size();
       off += chunk_frames) {
    GstBuffer *b = gst_buffer_new();
    gst_buffer_append_memory(b, memory_of(g_speech_pcm, off, chunk_frames));
    a.speech_chunks.push_back(b);
  }
  for (std::size_t off = 0; off + kFramesPerBuffer <= g_speech_pcm.size();
       off += kFramesPerBuffer) {
    a.speech_pieces.push_back(memory_of(g_speech_pcm, off, kFramesPerBuffer));
    a.bed_pieces.push_back(memory_of(g_bed_pcm, off, kFramesPerBuffer));
  }
  a.bed = gst_buffer_new();
  gst_buffer_append_memory(a.bed, memory_of(g_bed_pcm, 0, g_bed_pcm.size()));
  return a;
}

void free_audio(Audio &a) {
  for (GstBuffer *b : a.speech_chunks)
    gst_buffer_unref(b);
  for (GstMemory *m : a.speech_pieces)
    gst_memory_unref(m);
  for (GstMemory *m : a.bed_pieces)
    gst_memory_unref(m);
  gst_buffer_unref(a.bed);
}

GstCaps *audio_caps() {
  return gst_caps_new_simple("audio/x-raw", "format", G_TYPE_STRING, "S16LE", "layout",
                             G_TYPE_STRING, "interleaved", "rate", G_TYPE_INT, kRate,
                             "channels", G_TYPE_INT, 1, nullptr);
}

/* Machine and process figures (the common ones are in benchutil.h) */

/* Machine-wide CPU time from /proc/stat, in seconds: busy (everything but
 * idle and iowait) and total. With our own CPU time over the same interval
 * it shows how much of the machine something else used. */
struct MachineCpu {
  double busy = 0, total = 0;
};

MachineCpu machine_cpu() {
  std::ifstream f("/proc/stat");
  std::string cpu;
  unsigned long long v[10] = {};
  f >> cpu;
  for (auto &x : v)
    f >> x;
  const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  MachineCpu m;
  for (int i = 0; i < 10; i++)
    m.total += static_cast<double>(v[i]);
  /* guest and guest_nice (8, 9) are already counted in user and nice. */
  m.total -= static_cast<double>(v[8] + v[9]);
  m.busy = m.total - static_cast<double>(v[3] + v[4]);
  m.busy /= hz;
  m.total /= hz;
  return m;
}

std::string machine_json(const std::string &loadavg_start) {
  struct utsname u;
  uname(&u);
  gchar *gst = gst_version_string();
  std::ostringstream o;
  o << "\"machine\": {\"nproc\": " << sysconf(_SC_NPROCESSORS_ONLN)
    << ", \"cpu_model\": \"" << json_escape(cpu_model()) << "\", \"kernel\": \""
    << json_escape(u.release) << "\", \"gstreamer\": \"" << json_escape(gst)
    << "\", \"loadavg_start\": \"" << json_escape(loadavg_start)
    << "\", \"loadavg_end\": \"" << json_escape(read_first_line("/proc/loadavg"))
    << "\"}";
  g_free(gst);
  return o.str();
}

/* Buses */

/* Every message is dropped at once: 1000 buses nobody pops must not fill
 * up. An error is a broken measurement, so the run stops there, loudly. */
GstBusSyncReply drop_messages(GstBus *, GstMessage *msg, gpointer) {
  if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
    GError *err = nullptr;
    gchar *dbg = nullptr;
    gst_message_parse_error(msg, &err, &dbg);
    g_printerr("bench-streams: ERROR from %s: %s (%s)\n", GST_MESSAGE_SRC_NAME(msg),
               err->message, dbg ? dbg : "");
    std::abort();
  }
  if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_WARNING) {
    GError *err = nullptr;
    gchar *dbg = nullptr;
    gst_message_parse_warning(msg, &err, &dbg);
    g_printerr("bench-streams: warning from %s: %s\n", GST_MESSAGE_SRC_NAME(msg),
               err->message);
    g_error_free(err);
    g_free(dbg);
  }
  gst_message_unref(msg); /* a sync handler that drops a message owns it */
  return GST_BUS_DROP;
}

/* Pacing probe: lateness = clock time at the push - due time, where due =
 * base_time + PTS for every mode (see README.md for why PTS is the due time
 * of all three). */
GstPadProbeReturn on_paced_buffer(GstPad *, GstPadProbeInfo *info, gpointer data) {
  auto *s = static_cast<Session *>(data);
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
  GstClockTime now = gst_clock_get_time(g_clock);
  s->buffers_total.store(s->buffers_total.load(std::memory_order_relaxed) + 1,
                         std::memory_order_relaxed);
  if (!g_measuring.load(std::memory_order_relaxed) || !GST_BUFFER_PTS_IS_VALID(buf))
    return GST_PAD_PROBE_OK;
  s->hist.add(GST_CLOCK_DIFF(s->base_time + GST_BUFFER_PTS(buf) + s->due_offset, now));
  return GST_PAD_PROBE_OK;
}

GstElement *fakesink() {
  GstElement *e = make("fakesink");
  /* sync=false is fakesink's default: the sources pace themselves; the
   * sink only consumes. */
  g_object_set(e, "async", FALSE, nullptr);
  return e;
}

void add_probe(GstElement *el, const char *pad_name, Session *s) {
  GstPad *pad = gst_element_get_static_pad(el, pad_name);
  gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, on_paced_buffer, s, nullptr);
  gst_object_unref(pad);
}

void make_floor(Session &s) {
  GstElement *src = make("audiotestsrc");
  GstElement *sink = fakesink();
  g_object_set(src, "is-live", TRUE, "samplesperbuffer", kFramesPerBuffer, nullptr);
  gst_util_set_object_arg(G_OBJECT(src), "wave", "sine");
  gst_bin_add_many(GST_BIN(s.pipeline), src, sink, nullptr);
  GstCaps *caps = audio_caps();
  if (!gst_element_link_filtered(src, sink, caps)) {
    g_printerr("bench-streams: cannot link audiotestsrc\n");
    std::exit(1);
  }
  gst_caps_unref(caps);
  add_probe(src, "src", &s);
}

/* The composition a user builds without agentaudiosrc, kept as cheap as a
 * careful user would make it:
 *   appsrc(speech) ! clocksync ─┐
 *                               ├ audiomixer ! tee ─ queue ! fakesink
 *   appsrc(bed)    ! clocksync ─┘                └─ queue ! fakesink
 * - appsrc is-live=true format=time, fed with timestamped 20 ms buffers by
 *   the same single feeder thread (and with the same top-up policy) as the
 *   agent mode, so the app side costs the same. The buffers share
 *   precomputed memory: no copy or allocation of samples per push.
 * - appsrc does not wait for the clock, so each branch has a clocksync:
 *   without it the mixer would mix as soon as data is there, up to 250 ms
 *   ahead, and nothing would be paced (the job our element does).
 * - audiomixer: output-buffer-duration 20 ms, start-time-selection=first
 *   (output timestamps in the inputs' running time), latency 0 (default):
 *   its timeout is already the end of the output buffer (+ upstream
 *   latency), 20 ms of slack for inputs that arrive late; with both inputs
 *   on time it mixes as soon as they arrive, at base_time + PTS.
 * - tee with a queue per branch, as tee's documentation asks: the two
 *   outputs of our element (src and src_0). */
void make_composition(Session &s) {
  GstElement *mixer = make("audiomixer");
  GstElement *tee = make("tee");
  g_object_set(mixer, "output-buffer-duration", kPtime, nullptr);
  gst_util_set_object_arg(G_OBJECT(mixer), "start-time-selection", "first");
  gst_bin_add_many(GST_BIN(s.pipeline), mixer, tee, nullptr);
  GstCaps *caps = audio_caps();
  for (int i = 0; i < 2; i++) {
    GstElement *src = make("appsrc");
    GstElement *sync = make("clocksync");
    g_object_set(src, "is-live", TRUE, "format", GST_FORMAT_TIME, "caps", caps,
                 "max-bytes", static_cast<guint64>(0), nullptr);
    gst_bin_add_many(GST_BIN(s.pipeline), src, sync, nullptr);
    link_or_die(src, sync);
    link_or_die(sync, mixer);
    s.feed[i] = src;
  }
  gst_caps_unref(caps);
  link_or_die(mixer, tee);
  for (int i = 0; i < 2; i++) {
    GstElement *q = make("queue");
    GstElement *sink = fakesink();
    gst_bin_add_many(GST_BIN(s.pipeline), q, sink, nullptr);
    link_or_die(tee, q);
    link_or_die(q, sink);
  }
  s.mixer = mixer;
  add_probe(mixer, "src", &s);
}

/* agentaudiosrc ptime=20 (24 kHz mono by default), src and src_0 each to a
 * fakesink (the docs' advice to start a request-pad branch with a queue is
 * for sinks that block; fakesink sync=false never does). A 1 s bed, pushed
 * once and looped, and speech topped up by the feeder. */
void make_agent(Session &s, const Audio &audio) {
  GstElement *src = make("agentaudiosrc");
  g_object_set(src, "ptime", 20u, "background-loop", TRUE, nullptr);
  GstElement *sink0 = fakesink();
  GstElement *sink1 = fakesink();
  gst_bin_add_many(GST_BIN(s.pipeline), src, sink0, sink1, nullptr);
  link_or_die(src, sink0);
  GstPad *copy = gst_element_request_pad_simple(src, "src_%u");
  GstPad *sinkpad = gst_element_get_static_pad(sink1, "sink");
  if (copy == nullptr || gst_pad_link(copy, sinkpad) != GST_PAD_LINK_OK) {
    g_printerr("bench-streams: cannot link src_%%u\n");
    std::exit(1);
  }
  gst_object_unref(sinkpad);
  gst_object_unref(copy);
  GstFlowReturn ret = GST_FLOW_ERROR;
  g_signal_emit_by_name(src, "push-background", audio.bed, &ret);
  if (ret != GST_FLOW_OK) {
    g_printerr("bench-streams: push-background: %s\n", gst_flow_get_name(ret));
    std::exit(1);
  }
  s.feed[0] = src;
  add_probe(src, "src", &s);
}

/* The feeder: one thread for all sessions, as an application with one TTS
 * dispatcher would have. */
struct Feeder {
  std::vector<std::unique_ptr<Session>> *sessions = nullptr;
  const Audio *audio = nullptr;
  Mode mode = Mode::kAgent;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> failures{0};

  void top_up_agent(Session &s) {
    guint64 queued = 0;
    g_object_get(s.feed[0], "queued-speech-time", &queued, nullptr);
    if (queued >= kFeedLow)
      return;
    GstBuffer *chunk =
        audio->speech_chunks[s.chunk_index[0]++ % audio->speech_chunks.size()];
    GstFlowReturn ret = GST_FLOW_ERROR;
    g_signal_emit_by_name(s.feed[0], "push-speech", chunk, &ret);
    if (ret != GST_FLOW_OK)
      failures++;
    if (g_measuring.load(std::memory_order_relaxed))
      s.pushes++;
  }

  void top_up_appsrc(Session &s, int i) {
    guint64 queued = 0;
    g_object_get(s.feed[i], "current-level-time", &queued, nullptr);
    if (queued >= kFeedLow)
      return;
    const std::vector<GstMemory *> &pieces =
        i == 0 ? audio->speech_pieces : audio->bed_pieces;
    if (!GST_CLOCK_TIME_IS_VALID(s.next_pts[i])) {
      /* The first buffer is due one ptime from now: the stream starts
       * live, like a call that is answered. */
      GstClockTime now = gst_clock_get_time(g_clock);
      s.next_pts[i] = now - s.base_time + kPtime;
    }
    for (int k = 0; k < kBuffersPerChunk; k++) {
      GstBuffer *b = gst_buffer_new();
      gst_buffer_append_memory(
          b, gst_memory_ref(pieces[s.chunk_index[i]++ % pieces.size()]));
      GST_BUFFER_PTS(b) = s.next_pts[i];
      GST_BUFFER_DURATION(b) = kPtime;
      s.next_pts[i] += kPtime;
      if (gst_app_src_push_buffer(GST_APP_SRC(s.feed[i]), b) != GST_FLOW_OK)
        failures++;
    }
    if (g_measuring.load(std::memory_order_relaxed))
      s.pushes++;
  }

  void run() {
    auto next = std::chrono::steady_clock::now();
    while (!stop.load()) {
      for (auto &s : *sessions) {
        if (mode == Mode::kAgent) {
          top_up_agent(*s);
        } else {
          top_up_appsrc(*s, 0);
          top_up_appsrc(*s, 1);
        }
      }
      next += std::chrono::nanoseconds(kFeedPeriod);
      std::this_thread::sleep_until(next);
    }
  }
};

struct Options {
  Mode mode = Mode::kAgent;
  int streams = 100;
  double warmup = 3;
  double seconds = 10;
  int trials = 100;
  std::string json;
};

void write_json_file(const Options &o, const std::string &body) {
  std::string out =
      "{\"mode\": \"" + std::string(mode_name(o.mode)) + "\", " + body + "}\n";
  if (!o.json.empty()) {
    FILE *f = std::fopen(o.json.c_str(), "w");
    if (f == nullptr) {
      std::perror(o.json.c_str());
      std::exit(1);
    }
    std::fputs(out.c_str(), f);
    std::fclose(f);
  }
}

void emit_json(const Options &o, const std::string &body) {
  std::string out =
      "{\"mode\": \"" + std::string(mode_name(o.mode)) + "\", " + body + "}\n";
  std::fputs(out.c_str(), stdout);
  write_json_file(o, body);
}

int run_streams(const Options &o) {
  const std::string loadavg_start = read_first_line("/proc/loadavg");
  /* How busy the machine is before we start: other work on the two cores
   * shows here (the load average lags by minutes). */
  const MachineCpu idle0 = machine_cpu();
  const double self_idle0 = cpu_seconds();
  sleep_s(2.0);
  const MachineCpu idle1 = machine_cpu();
  const double others_before =
      ((idle1.busy - idle0.busy) - (cpu_seconds() - self_idle0)) / 2.0;
  Audio audio = make_audio();
  std::vector<std::unique_ptr<Session>> sessions;
  sessions.reserve(static_cast<std::size_t>(o.streams));
  /* The histograms are allocated and touched before the baseline, so that
   * the bench's own bookkeeping is not counted as per-stream memory. */
  for (int i = 0; i < o.streams; i++) {
    auto s = std::make_unique<Session>();
    s->hist.bins.assign(kBins, 0);
    sessions.push_back(std::move(s));
  }
  const long rss_baseline = read_status_kib("VmRSS");

  auto t_create = std::chrono::steady_clock::now();
  for (auto &s : sessions) {
    s->pipeline = gst_pipeline_new(nullptr);
    gst_pipeline_use_clock(GST_PIPELINE(s->pipeline), g_clock);
    GstBus *bus = gst_element_get_bus(s->pipeline);
    gst_bus_set_sync_handler(bus, drop_messages, nullptr, nullptr);
    gst_object_unref(bus);
    switch (o.mode) {
      case Mode::kFloor:
        make_floor(*s);
        break;
      case Mode::kComposition:
        make_composition(*s);
        break;
      default:
        make_agent(*s, audio);
        break;
    }
    if (gst_element_set_state(s->pipeline, GST_STATE_PLAYING) ==
        GST_STATE_CHANGE_FAILURE) {
      g_printerr("bench-streams: a pipeline failed to start\n");
      std::exit(1);
    }
  }
  for (auto &s : sessions) {
    gst_element_get_state(s->pipeline, nullptr, nullptr, 10 * GST_SECOND);
    s->base_time = gst_element_get_base_time(s->pipeline);
    if (s->mixer != nullptr) {
      /* GstAggregator's min latency: upstream's + its own latency property
       * + output-buffer-duration; its live deadline for the output buffer
       * starting at PTS is base_time + PTS + this. */
      GstQuery *q = gst_query_new_latency();
      GstClockTime min = 0;
      if (gst_element_query(s->mixer, q))
        gst_query_parse_latency(q, nullptr, &min, nullptr);
      gst_query_unref(q);
      s->due_offset = min;
    }
  }
  const double startup_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_create).count();
  const long threads = read_status_kib("Threads");
  /* Progress on stderr: at high N an overloaded mode can take long, and
   * the log says where. */
  g_printerr("bench-streams: %s N=%d playing after %.2f s, %ld threads\n",
             mode_name(o.mode), o.streams, startup_s, threads);

  Feeder feeder;
  feeder.sessions = &sessions;
  feeder.audio = &audio;
  feeder.mode = o.mode;
  std::thread feed_thread;
  if (o.mode != Mode::kFloor)
    feed_thread = std::thread([&] { feeder.run(); });

  sleep_s(o.warmup);
  const long rss_warm = read_status_kib("VmRSS");

  g_printerr("bench-streams: warm, measuring %.1f s\n", o.seconds);
  g_measuring.store(true);
  const MachineCpu m0 = machine_cpu();
  const double cpu0 = cpu_seconds();
  const auto wall0 = std::chrono::steady_clock::now();
  sleep_s(o.seconds);
  const double cpu1 = cpu_seconds();
  const MachineCpu m1 = machine_cpu();
  const auto wall1 = std::chrono::steady_clock::now();
  g_measuring.store(false);
  const long rss_end = read_status_kib("VmRSS");
  const long rss_hwm = read_status_kib("VmHWM");

  /* What the elements hold as queued audio at the end, per stream: the
   * speech (and, for the composition, bed) still queued, and for the agent
   * the whole 1 s bed, which a looping bed keeps. */
  double queued_bytes = 0;
  for (auto &s : sessions) {
    if (o.mode == Mode::kAgent) {
      guint64 q = 0;
      g_object_get(s->feed[0], "queued-speech-time", &q, nullptr);
      queued_bytes +=
          static_cast<double>(gst_util_uint64_scale(q, kRate, GST_SECOND)) * 2 +
          static_cast<double>(gst_buffer_get_size(audio.bed));
    } else if (o.mode == Mode::kComposition) {
      for (int i = 0; i < 2; i++) {
        guint64 b = 0;
        g_object_get(s->feed[i], "current-level-bytes", &b, nullptr);
        /* Plus the buffer each clocksync holds while it waits. */
        queued_bytes += static_cast<double>(b) + kBytesPerBuffer;
      }
    }
  }
  queued_bytes /= static_cast<double>(sessions.size());

  feeder.stop.store(true);
  if (feed_thread.joinable())
    feed_thread.join();

  /* Merge the histograms. */
  std::vector<uint64_t> bins(kBins, 0);
  uint64_t count = 0, overflow = 0, early = 0, buffers_total = 0, pushes = 0;
  int64_t max_ns = INT64_MIN, min_ns = INT64_MAX;
  uint64_t starved = 0; /* sessions with no buffer in the window */
  for (auto &s : sessions) {
    for (int b = 0; b < kBins; b++)
      bins[static_cast<std::size_t>(b)] += s->hist.bins[static_cast<std::size_t>(b)];
    count += s->hist.count;
    overflow += s->hist.overflow;
    early += s->hist.early;
    buffers_total += s->buffers_total.load(std::memory_order_relaxed);
    pushes += s->pushes;
    if (s->hist.count == 0)
      starved++;
    max_ns = std::max(max_ns, s->hist.max_ns);
    min_ns = std::min(min_ns, s->hist.min_ns);
  }
  auto percentile = [&](double p) -> double {
    if (count == 0)
      return -1;
    const uint64_t rank =
        static_cast<uint64_t>(std::ceil(p * static_cast<double>(count)));
    uint64_t acc = 0;
    for (int b = 0; b < kBins; b++) {
      acc += bins[static_cast<std::size_t>(b)];
      if (acc >= rank)
        return bin_upper_us(b);
    }
    return static_cast<double>(max_ns) / 1000.0;
  };

  const double wall = std::chrono::duration<double>(wall1 - wall0).count();
  const double cores = (cpu1 - cpu0) / wall;
  const double expected_buffers = wall * static_cast<double>(o.streams) * 1e9 / kPtime;
  std::ostringstream b;
  b.setf(std::ios::fixed);
  b.precision(3);
  b << "\"streams\": " << o.streams << ", \"warmup_s\": " << o.warmup
    << ", \"seconds\": " << o.seconds << ", \"wall_s\": " << wall
    << ", \"cpu_s\": " << (cpu1 - cpu0) << ", \"cpu_cores\": " << cores
    << ", \"other_processes_cores_before\": " << others_before
    << ", \"other_processes_cores_in_window\": "
    << ((m1.busy - m0.busy) - (cpu1 - cpu0)) / wall << ", \"delivered_fraction\": "
    << static_cast<double>(count) / (wall * static_cast<double>(o.streams) * 1e9 / kPtime)
    << ", \"cpu_per_stream_percent\": " << 100.0 * cores / o.streams
    << ", \"rss_baseline_kib\": " << rss_baseline << ", \"rss_warm_kib\": " << rss_warm
    << ", \"rss_end_kib\": " << rss_end << ", \"rss_hwm_kib\": " << rss_hwm
    << ", \"rss_per_stream_kib\": "
    << static_cast<double>(rss_end - rss_baseline) / o.streams
    << ", \"queued_audio_per_stream_kib\": " << queued_bytes / 1024.0
    << ", \"rss_per_stream_beyond_queued_kib\": "
    << static_cast<double>(rss_end - rss_baseline) / o.streams - queued_bytes / 1024.0
    << ", \"threads\": " << threads << ", \"startup_s\": " << startup_s
    << ", \"shutdown_s\": SHUTDOWN_S"
    << ", \"lateness_us\": {\"p50\": " << percentile(0.50)
    << ", \"p99\": " << percentile(0.99) << ", \"p999\": " << percentile(0.999)
    << ", \"max\": " << max_ns / 1000.0 << ", \"min\": " << min_ns / 1000.0
    << ", \"count\": " << count << ", \"early\": " << early
    << ", \"over_10s\": " << overflow << ", \"bin_us\": \"10 up to 100 ms, then 1000\""
    << ", \"due_offset_ms\": " << static_cast<double>(sessions[0]->due_offset) / 1e6
    << "}"
    << ", \"buffers_in_window\": " << count
    << ", \"buffers_expected_in_window\": " << expected_buffers
    << ", \"buffers_total\": " << buffers_total
    << ", \"streams_without_buffers\": " << starved << ", \"feeder_pushes\": " << pushes
    << ", \"feeder_failures\": " << feeder.failures.load() << ", "
    << machine_json(loadavg_start);
  /* Written before the teardown, in case an overloaded run never finishes
   * it, and again with the teardown's duration. */
  std::string body = b.str();
  const std::size_t at = body.find("SHUTDOWN_S");
  write_json_file(o, std::string(body).replace(at, 10, "null"));
  double shutdown_s = 0;
  g_printerr("bench-streams: measured, stopping\n");
  auto t_stop = std::chrono::steady_clock::now();
  /* An overloaded mode keeps thousands of streaming threads runnable, and
   * stopping 1000 pipelines one by one from a thread that gets 1/250th of
   * the CPU takes minutes. The control thread is therefore raised above
   * the streaming threads (which keep the priority they were created with),
   * and every pipeline is paused first: a paused live source stops making
   * buffers at once, so the load is gone before the slower teardown. */
  if (setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), -10) != 0)
    g_printerr("bench-streams: cannot raise the control thread (not root?)\n");
  for (auto &s : sessions)
    gst_element_set_state(s->pipeline, GST_STATE_PAUSED);
  for (auto &s : sessions)
    gst_element_set_state(s->pipeline, GST_STATE_NULL);
  for (auto &s : sessions)
    gst_object_unref(s->pipeline);
  shutdown_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_stop).count();

  char secs[32];
  std::snprintf(secs, sizeof secs, "%.3f", shutdown_s);
  emit_json(o, body.replace(at, 10, secs));
  free_audio(audio);
  return 0;
}

/* Latency of one agentaudiosrc ---------------------------------------------
 *
 * One pipeline, nothing else running in the process, speech with no bed (a
 * bed would hide where speech starts and stops in the samples). Trials are
 * spaced by random sleeps so that pushes and interrupts land at every phase
 * of the 20 ms buffer cycle. */

struct Probe {
  std::mutex lock;
  std::condition_variable cond;
  GstClockTime base_time = 0;
  /* Push trial: the first buffer with a non-zero sample after `armed`. */
  bool armed_first = false;
  GstClockTime first_out = GST_CLOCK_TIME_NONE;       /* clock time of its push */
  GstClockTime first_sample_rt = GST_CLOCK_TIME_NONE; /* running time of the sample */
  /* Interrupt trial: the first all-zero buffer pushed after `after`. */
  GstClockTime silence_after = GST_CLOCK_TIME_NONE;
  GstClockTime silence_out = GST_CLOCK_TIME_NONE;
  /* Bus messages */
  GstClockTime first_audio_rt = GST_CLOCK_TIME_NONE;
  bool have_last = false;
  GstClockTime last_post = GST_CLOCK_TIME_NONE;
  GstClockTime last_rt = GST_CLOCK_TIME_NONE;
  guint64 last_duration = 0;
  gboolean last_interrupted = FALSE;
};

GstPadProbeReturn on_latency_buffer(GstPad *, GstPadProbeInfo *info, gpointer data) {
  auto *p = static_cast<Probe *>(data);
  GstClockTime now = gst_clock_get_time(g_clock);
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
  GstMapInfo map;
  if (!gst_buffer_map(buf, &map, GST_MAP_READ))
    return GST_PAD_PROBE_OK;
  const auto *pcm = reinterpret_cast<const int16_t *>(map.data);
  const std::size_t n = map.size / 2;
  std::size_t first_nonzero = n;
  for (std::size_t i = 0; i < n; i++) {
    if (pcm[i] != 0) {
      first_nonzero = i;
      break;
    }
  }
  gst_buffer_unmap(buf, &map);
  std::lock_guard<std::mutex> l(p->lock);
  if (p->armed_first && first_nonzero < n) {
    p->armed_first = false;
    p->first_out = now;
    p->first_sample_rt =
        GST_BUFFER_PTS(buf) + gst_util_uint64_scale_int(first_nonzero, GST_SECOND, kRate);
    p->cond.notify_all();
  }
  if (GST_CLOCK_TIME_IS_VALID(p->silence_after) && now > p->silence_after &&
      first_nonzero == n) {
    p->silence_after = GST_CLOCK_TIME_NONE;
    p->silence_out = now;
    p->cond.notify_all();
  }
  return GST_PAD_PROBE_OK;
}

GstBusSyncReply on_latency_message(GstBus *, GstMessage *msg, gpointer data) {
  auto *p = static_cast<Probe *>(data);
  GstClockTime now = gst_clock_get_time(g_clock);
  if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ELEMENT) {
    const GstStructure *st = gst_message_get_structure(msg);
    guint64 rt = GST_CLOCK_TIME_NONE;
    gst_structure_get_uint64(st, "running-time", &rt);
    std::lock_guard<std::mutex> l(p->lock);
    if (gst_structure_has_name(st, "first-audio")) {
      p->first_audio_rt = rt;
    } else if (gst_structure_has_name(st, "last-audio")) {
      p->have_last = true;
      p->last_post = now;
      p->last_rt = rt;
      gst_structure_get_uint64(st, "duration", &p->last_duration);
      gst_structure_get_boolean(st, "interrupted", &p->last_interrupted);
      p->cond.notify_all();
    }
    gst_message_unref(msg);
    return GST_BUS_DROP;
  }
  return drop_messages(nullptr, msg, nullptr);
}

struct Stats {
  std::vector<double> v;
  std::string json() {
    if (v.empty())
      return "{\"count\": 0}";
    std::sort(v.begin(), v.end());
    auto pct = [&](double p) {
      std::size_t i =
          static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size())));
      return v[std::min(v.size() - 1, i == 0 ? 0 : i - 1)];
    };
    std::ostringstream o;
    o.setf(std::ios::fixed);
    o.precision(3);
    o << "{\"count\": " << v.size() << ", \"min\": " << v.front()
      << ", \"p50\": " << pct(0.5) << ", \"p99\": " << pct(0.99)
      << ", \"max\": " << v.back() << "}";
    return o.str();
  }
};

int run_latency(const Options &o) {
  const std::string loadavg_start = read_first_line("/proc/loadavg");
  Probe probe;
  GstElement *pipeline = gst_pipeline_new(nullptr);
  gst_pipeline_use_clock(GST_PIPELINE(pipeline), g_clock);
  GstElement *src = make("agentaudiosrc");
  GstElement *sink = fakesink();
  gst_bin_add_many(GST_BIN(pipeline), src, sink, nullptr);
  link_or_die(src, sink);
  GstPad *pad = gst_element_get_static_pad(src, "src");
  gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, on_latency_buffer, &probe, nullptr);
  gst_object_unref(pad);
  GstBus *bus = gst_element_get_bus(pipeline);
  gst_bus_set_sync_handler(bus, on_latency_message, &probe, nullptr);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  gst_element_get_state(pipeline, nullptr, nullptr, 5 * GST_SECOND);
  probe.base_time = gst_element_get_base_time(pipeline);
  sleep_s(0.2);

  guint64 fade_ns = 0;
  g_object_get(src, "interrupt-fade", &fade_ns, nullptr);

  /* A square wave of +-3000: every sample non-zero, so the first non-zero
   * sample out is the first speech sample. */
  /* The short utterances last 60-140 ms, whole samples but not whole
   * buffers: speech that ends inside a buffer, as real speech does, so
   * last-audio's delay after the true end covers the rest of that buffer. */
  const int max_frames = static_cast<int>(140 * GST_MSECOND * kRate / GST_SECOND);
  std::vector<int16_t> pcm(static_cast<std::size_t>(max_frames) * 3);
  for (std::size_t i = 0; i < pcm.size(); i++)
    pcm[i] = (i / 24) % 2 ? 3000 : -3000;
  GstBuffer *long_speech = gst_buffer_new_memdup(pcm.data(), pcm.size() * 2);

  std::mt19937 rng(12345);
  std::uniform_real_distribution<double> phase(0.0, 0.040);
  std::uniform_int_distribution<int> short_frames(max_frames * 3 / 7, max_frames);

  Stats push_to_first, last_delay, int_to_silent_buffer, int_to_audible_end;
  uint64_t first_audio_mismatch = 0, last_rt_mismatch = 0, last_dur_mismatch = 0,
           timeouts = 0, not_interrupted = 0;
  auto wait_for = [&](std::unique_lock<std::mutex> &l, auto pred) {
    if (!probe.cond.wait_for(l, std::chrono::seconds(3), pred)) {
      timeouts++;
      return false;
    }
    return true;
  };

  for (int t = 0; t < o.trials; t++) {
    /* push -> first sample out, and last-audio's delay after the true end */
    sleep_s(phase(rng));
    {
      std::lock_guard<std::mutex> l(probe.lock);
      probe.armed_first = true;
      probe.first_out = GST_CLOCK_TIME_NONE;
      probe.have_last = false;
      probe.first_audio_rt = GST_CLOCK_TIME_NONE;
    }
    const int speech_frames = short_frames(rng);
    const GstClockTime speech_dur =
        gst_util_uint64_scale_int(speech_frames, GST_SECOND, kRate);
    GstBuffer *short_speech =
        gst_buffer_new_memdup(pcm.data(), static_cast<gsize>(speech_frames) * 2);
    GstFlowReturn ret = GST_FLOW_ERROR;
    g_signal_emit_by_name(src, "push-speech", short_speech, &ret);
    gst_buffer_unref(short_speech);
    const GstClockTime pushed = gst_clock_get_time(g_clock);
    {
      std::unique_lock<std::mutex> l(probe.lock);
      if (wait_for(l, [&] { return GST_CLOCK_TIME_IS_VALID(probe.first_out); }))
        push_to_first.v.push_back(
            static_cast<double>(GST_CLOCK_DIFF(pushed, probe.first_out)) / 1e6);
      if (wait_for(l, [&] { return probe.have_last; })) {
        const GstClockTime true_end = probe.first_sample_rt + speech_dur;
        last_delay.v.push_back(static_cast<double>(GST_CLOCK_DIFF(
                                   probe.base_time + true_end, probe.last_post)) /
                               1e6);
        if (probe.first_audio_rt != probe.first_sample_rt)
          first_audio_mismatch++;
        /* The message's figures are whole samples: within one sample. */
        if (std::llabs(GST_CLOCK_DIFF(true_end, probe.last_rt)) > GST_SECOND / kRate)
          last_rt_mismatch++;
        if (std::llabs(static_cast<long long>(probe.last_duration) -
                       static_cast<long long>(speech_dur)) > GST_SECOND / kRate)
          last_dur_mismatch++;
      }
    }

    /* interrupt -> silence */
    sleep_s(phase(rng));
    {
      std::lock_guard<std::mutex> l(probe.lock);
      probe.armed_first = true;
      probe.first_out = GST_CLOCK_TIME_NONE;
      probe.have_last = false;
    }
    g_signal_emit_by_name(src, "push-speech", long_speech, &ret);
    {
      std::unique_lock<std::mutex> l(probe.lock);
      wait_for(l, [&] { return GST_CLOCK_TIME_IS_VALID(probe.first_out); });
    }
    sleep_s(0.02 + phase(rng));
    const GstClockTime before = gst_clock_get_time(g_clock);
    {
      std::lock_guard<std::mutex> l(probe.lock);
      probe.silence_after = before;
      probe.silence_out = GST_CLOCK_TIME_NONE;
    }
    guint64 dropped = 0;
    g_signal_emit_by_name(src, "interrupt", &dropped);
    {
      std::unique_lock<std::mutex> l(probe.lock);
      if (wait_for(l, [&] { return GST_CLOCK_TIME_IS_VALID(probe.silence_out); }))
        int_to_silent_buffer.v.push_back(
            static_cast<double>(GST_CLOCK_DIFF(before, probe.silence_out)) / 1e6);
      if (wait_for(l, [&] { return probe.have_last; })) {
        if (!probe.last_interrupted)
          not_interrupted++;
        /* Where the fade ends on the timeline (last-audio's running time),
         * as a clock time, minus the moment of the call. */
        int_to_audible_end.v.push_back(
            static_cast<double>(GST_CLOCK_DIFF(before, probe.base_time + probe.last_rt)) /
            1e6);
      }
    }
  }

  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  gst_buffer_unref(long_speech);

  std::ostringstream b;
  b << "\"trials\": " << o.trials
    << ", \"ptime_ms\": 20, \"interrupt_fade_ms\": " << static_cast<double>(fade_ns) / 1e6
    << ", \"push_to_first_sample_ms\": " << push_to_first.json()
    << ", \"last_audio_post_delay_ms\": " << last_delay.json()
    << ", \"interrupt_to_silent_buffer_ms\": " << int_to_silent_buffer.json()
    << ", \"interrupt_to_audible_end_ms\": " << int_to_audible_end.json()
    << ", \"first_audio_running_time_mismatches\": " << first_audio_mismatch
    << ", \"last_audio_running_time_mismatches\": " << last_rt_mismatch
    << ", \"last_audio_duration_mismatches\": " << last_dur_mismatch
    << ", \"interrupted_flag_missing\": " << not_interrupted
    << ", \"timeouts\": " << timeouts << ", " << machine_json(loadavg_start);
  emit_json(o, b.str());
  return 0;
}

void usage(const char *argv0) {
  g_printerr(
      "usage: %s --mode floor|composition|agent|agent-latency [--streams N]\n"
      "          [--warmup S] [--seconds S] [--trials K] [--json FILE]\n",
      argv0);
  std::exit(2);
}

}  // namespace

int main(int argc, char **argv) {
  benchutil::program() = "bench-streams";
  gst_init(&argc, &argv);
  Options o;
  for (int i = 1; i < argc; i++) {
    auto arg = [&]() -> const char * {
      if (i + 1 >= argc)
        usage(argv[0]);
      return argv[++i];
    };
    if (std::strcmp(argv[i], "--mode") == 0) {
      std::string m = arg();
      if (m == "floor")
        o.mode = Mode::kFloor;
      else if (m == "composition")
        o.mode = Mode::kComposition;
      else if (m == "agent")
        o.mode = Mode::kAgent;
      else if (m == "agent-latency")
        o.mode = Mode::kAgentLatency;
      else
        usage(argv[0]);
    } else if (std::strcmp(argv[i], "--streams") == 0) {
      o.streams = std::atoi(arg());
    } else if (std::strcmp(argv[i], "--warmup") == 0) {
      o.warmup = std::atof(arg());
    } else if (std::strcmp(argv[i], "--seconds") == 0) {
      o.seconds = std::atof(arg());
    } else if (std::strcmp(argv[i], "--trials") == 0) {
      o.trials = std::atoi(arg());
    } else if (std::strcmp(argv[i], "--json") == 0) {
      o.json = arg();
    } else {
      usage(argv[0]);
    }
  }
  if (o.streams < 1 || o.seconds <= 0 || o.warmup < 0 || o.trials < 1)
    usage(argv[0]);

  g_clock = gst_system_clock_obtain();
  int rc = o.mode == Mode::kAgentLatency ? run_latency(o) : run_streams(o);
  gst_object_unref(g_clock);
  return rc;
}
