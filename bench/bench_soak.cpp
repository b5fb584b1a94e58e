/* agentaudiosrc
 * Copyright (C) 2026 agentaudiosrc authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* bench-soak: does a process running many agent sessions for a long time
 * keep its memory flat?
 *
 * N sessions (default 50), one `agentaudiosrc ! fakesink` pipeline each on
 * the system clock, each fed by a thread of its own as a voice agent feeds
 * it: utterances of speech pushed in TTS-sized pieces with a mark after
 * every sentence, one in three interrupted part-way, pauses between them,
 * and a looping background bed replaced now and then. Samples are
 * allocated by the feeding threads and freed by the streaming threads, which
 * is what per-thread malloc caches can turn into growth. Default malloc
 * settings: nothing here tunes glibc.
 *
 * VmRSS is sampled every --interval seconds for --seconds; the slope of a
 * least-squares line through the samples (MB/min) is reported over the
 * whole run after --warmup and over its second half. It measures; it never
 * judges. Output: one JSON object (stdout, and --json FILE). */

#include <gst/gst.h>
#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "benchutil.h"

namespace {

using namespace benchutil;

constexpr int kRate = 24000;

struct Options {
  int sessions = 50;
  double seconds = 600;
  double interval = 10;
  double warmup = 30;
  std::string json;
};

/* A speech-like tone (220 Hz with a slow vibrato) and a quieter bed. */
std::vector<int16_t> make_tone(int frames, double freq, double amp) {
  std::vector<int16_t> v(static_cast<std::size_t>(frames));
  for (int i = 0; i < frames; i++) {
    double t = static_cast<double>(i) / kRate;
    double f = freq * (1.0 + 0.05 * std::sin(2 * G_PI * 3 * t));
    v[static_cast<std::size_t>(i)] =
        static_cast<int16_t>(amp * std::sin(2 * G_PI * f * t));
  }
  return v;
}

std::vector<int16_t> g_speech; /* 4 s */
std::vector<int16_t> g_bed;    /* 2 s */

GstBusSyncReply drop_messages(GstBus *, GstMessage *msg, gpointer) {
  if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
    GError *err = nullptr;
    gchar *dbg = nullptr;
    gst_message_parse_error(msg, &err, &dbg);
    g_printerr("bench-soak: ERROR from %s: %s (%s)\n", GST_MESSAGE_SRC_NAME(msg),
               err->message, dbg ? dbg : "");
    std::abort();
  }
  /* A sync handler that drops a message owns it (gstbus.h): without this
   * unref every message leaks, which is most of a 3.5 MB/min "growth". */
  gst_message_unref(msg);
  return GST_BUS_DROP;
}

struct Counters {
  std::atomic<uint64_t> pushes{0}, utterances{0}, interrupts{0}, beds{0}, failures{0};
};

struct Session {
  GstElement *pipeline = nullptr;
  GstElement *src = nullptr;
  std::thread feeder;
};

/* New bytes for every push, as a TTS engine hands them over: the buffer is
 * allocated and freed on the feeding thread (the signal does not take it);
 * the element copies what it queues. */
GstFlowReturn push(GstElement *src, const char *signal, const std::vector<int16_t> &pcm,
                   std::size_t from, std::size_t frames) {
  GstBuffer *buf = gst_buffer_new_memdup(pcm.data() + from, frames * sizeof(int16_t));
  GstFlowReturn ret = GST_FLOW_ERROR;
  g_signal_emit_by_name(src, signal, buf, &ret);
  gst_buffer_unref(buf);
  return ret;
}

bool sleep_unless_stopped(const std::atomic<bool> &stop, double seconds) {
  using clock = std::chrono::steady_clock;
  const clock::time_point end =
      clock::now() +
      std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(seconds));
  while (!stop.load()) {
    const clock::time_point now = clock::now();
    if (now >= end)
      return true;
    const clock::duration step = std::chrono::milliseconds(100);
    std::this_thread::sleep_for(std::min(end - now, step));
  }
  return false;
}

void feed(Session &s, unsigned seed, const std::atomic<bool> &stop, Counters &c) {
  std::mt19937 rng(seed);
  auto uniform = [&](double a, double b) {
    return std::uniform_real_distribution<double>(a, b)(rng);
  };
  int utterance = 0;
  while (!stop.load()) {
    if (utterance++ % 10 == 0) {
      /* A new bed now and then: the old one fades out and is freed by the
       * streaming thread. */
      guint64 dropped = 0;
      g_signal_emit_by_name(s.src, "clear-background", &dropped);
      std::size_t frames = static_cast<std::size_t>(uniform(1.0, 2.0) * kRate);
      if (push(s.src, "push-background", g_bed, 0, frames) != GST_FLOW_OK)
        c.failures++;
      c.beds++;
    }
    /* An utterance of 0.5-4 s in 40-200 ms pieces, pushed faster than real
     * time (TTS runs ahead), a mark after every ~1 s sentence. */
    const std::size_t total = static_cast<std::size_t>(uniform(0.5, 4.0) * kRate);
    const bool interrupted = rng() % 3 == 0;
    std::size_t pos = 0, next_mark = kRate;
    while (pos < total && !stop.load()) {
      std::size_t piece = std::min<std::size_t>(
          total - pos, static_cast<std::size_t>(uniform(0.04, 0.2) * kRate));
      if (push(s.src, "push-speech", g_speech, pos, piece) != GST_FLOW_OK)
        c.failures++;
      c.pushes++;
      pos += piece;
      if (pos >= next_mark) {
        g_signal_emit_by_name(s.src, "mark", "sentence");
        next_mark += kRate;
      }
      sleep_unless_stopped(stop, uniform(0.005, 0.03));
    }
    c.utterances++;
    if (interrupted) {
      if (!sleep_unless_stopped(stop, uniform(0.1, 1.0)))
        break;
      guint64 dropped = 0;
      g_signal_emit_by_name(s.src, "interrupt", &dropped);
      c.interrupts++;
    }
    /* Let it play out, then a pause before the next turn. */
    for (;;) {
      guint64 queued = 0;
      g_object_get(s.src, "queued-speech-time", &queued, nullptr);
      if (queued == 0 || !sleep_unless_stopped(stop, 0.05))
        break;
    }
    sleep_unless_stopped(stop, uniform(0.2, 1.5));
  }
}

/* Slope of the least-squares line through (t s, rss KiB), in MB/min. */
double slope_mb_per_min(const std::vector<std::pair<double, long>> &pts, double from_t) {
  double n = 0, st = 0, sr = 0, stt = 0, str = 0;
  for (const auto &p : pts) {
    if (p.first < from_t)
      continue;
    const double t = p.first, r = static_cast<double>(p.second);
    n++;
    st += t;
    sr += r;
    stt += t * t;
    str += t * r;
  }
  if (n < 2)
    return NAN;
  const double kib_per_s = (n * str - st * sr) / (n * stt - st * st);
  return kib_per_s * 60.0 / 1024.0;
}

void usage(const char *argv0) {
  g_printerr(
      "usage: %s [--sessions N] [--seconds S] [--interval S] [--warmup S] [--json "
      "FILE]\n",
      argv0);
  std::exit(2);
}

}  // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  Options o;
  for (int i = 1; i < argc; i++) {
    auto arg = [&]() -> const char * {
      if (i + 1 >= argc)
        usage(argv[0]);
      return argv[++i];
    };
    if (std::strcmp(argv[i], "--sessions") == 0)
      o.sessions = std::atoi(arg());
    else if (std::strcmp(argv[i], "--seconds") == 0)
      o.seconds = std::atof(arg());
    else if (std::strcmp(argv[i], "--interval") == 0)
      o.interval = std::atof(arg());
    else if (std::strcmp(argv[i], "--warmup") == 0)
      o.warmup = std::atof(arg());
    else if (std::strcmp(argv[i], "--json") == 0)
      o.json = arg();
    else
      usage(argv[0]);
  }
  if (o.sessions < 1 || o.seconds <= 0 || o.interval <= 0 || o.warmup < 0 ||
      o.warmup >= o.seconds)
    usage(argv[0]);

  g_speech = make_tone(4 * kRate, 220, 8000);
  g_bed = make_tone(2 * kRate, 110, 2000);
  GstClock *clock = gst_system_clock_obtain();
  const long rss_baseline = read_status_kib("VmRSS");

  std::vector<std::unique_ptr<Session>> sessions;
  for (int i = 0; i < o.sessions; i++) {
    auto s = std::make_unique<Session>();
    s->pipeline = gst_pipeline_new(nullptr);
    gst_pipeline_use_clock(GST_PIPELINE(s->pipeline), clock);
    GstBus *bus = gst_element_get_bus(s->pipeline);
    gst_bus_set_sync_handler(bus, drop_messages, nullptr, nullptr);
    gst_object_unref(bus);
    s->src = gst_element_factory_make("agentaudiosrc", nullptr);
    GstElement *sink = gst_element_factory_make("fakesink", nullptr);
    if (s->src == nullptr || sink == nullptr) {
      g_printerr("bench-soak: no agentaudiosrc or fakesink (GST_PLUGIN_PATH?)\n");
      return 1;
    }
    g_object_set(s->src, "background-loop", TRUE, nullptr);
    g_object_set(sink, "async", FALSE, nullptr);
    gst_bin_add_many(GST_BIN(s->pipeline), s->src, sink, nullptr);
    gst_element_link(s->src, sink);
    if (gst_element_set_state(s->pipeline, GST_STATE_PLAYING) ==
        GST_STATE_CHANGE_FAILURE) {
      g_printerr("bench-soak: a pipeline failed to start\n");
      return 1;
    }
    sessions.push_back(std::move(s));
  }

  std::atomic<bool> stop{false};
  Counters counters;
  for (std::size_t i = 0; i < sessions.size(); i++) {
    Session *s = sessions[i].get();
    s->feeder = std::thread([s, i, &stop, &counters] {
      feed(*s, static_cast<unsigned>(1000 + i), stop, counters);
    });
  }
  g_printerr("bench-soak: %d sessions, sampling VmRSS every %.0f s for %.0f s\n",
             o.sessions, o.interval, o.seconds);

  std::vector<std::pair<double, long>> samples;
  std::vector<std::pair<long, long>> heap; /* malloc's in-use and free KiB */
  std::vector<long> queued;                /* KiB of audio queued in the elements */
  const auto t0 = std::chrono::steady_clock::now();
  for (int k = 0;; k++) {
    const double t = k * o.interval;
    if (t > o.seconds + 1e-9)
      break;
    std::this_thread::sleep_until(t0 +
                                  std::chrono::duration_cast<std::chrono::nanoseconds>(
                                      std::chrono::duration<double>(t)));
    const long rss = read_status_kib("VmRSS");
    /* mallinfo2() walks every arena: in use = what the program holds,
     * free = what malloc keeps but does not give back. */
    const struct mallinfo2 mi = mallinfo2();
    /* What the elements hold as queued audio: growth there would be the
     * feeding's, not the allocator's. */
    guint64 queued_ns = 0;
    for (auto &s : sessions) {
      guint64 speech = 0, bed = 0;
      g_object_get(s->src, "queued-speech-time", &speech, "queued-background-time", &bed,
                   nullptr);
      queued_ns += speech + bed;
    }
    const long queued_kib =
        static_cast<long>(queued_ns / 1000 * kRate * 2 / 1000000 / 1024);
    queued.push_back(queued_kib);
    samples.emplace_back(t, rss);
    heap.emplace_back(static_cast<long>(mi.uordblks / 1024),
                      static_cast<long>(mi.fordblks / 1024));
    g_printerr(
        "bench-soak: t=%4.0f s  VmRSS %ld KiB  malloc in use %ld KiB, free %ld KiB, "
        "queued audio %ld KiB\n",
        t, rss, heap.back().first, heap.back().second, queued_kib);
  }

  stop.store(true);
  for (auto &s : sessions)
    s->feeder.join();
  for (auto &s : sessions) {
    gst_element_set_state(s->pipeline, GST_STATE_NULL);
    gst_object_unref(s->pipeline);
  }
  gst_object_unref(clock);

  std::vector<std::pair<double, long>> in_use, free_kib;
  for (std::size_t i = 0; i < samples.size(); i++) {
    in_use.emplace_back(samples[i].first, heap[i].first);
    free_kib.emplace_back(samples[i].first, heap[i].second);
  }
  const double slope = slope_mb_per_min(samples, o.warmup);
  const double slope_half = slope_mb_per_min(samples, o.seconds / 2);
  std::ostringstream b;
  b << "{\"sessions\": " << o.sessions << ", \"seconds\": " << o.seconds
    << ", \"interval_s\": " << o.interval << ", \"warmup_s\": " << o.warmup
    << ", \"rss_baseline_kib\": " << rss_baseline
    << ", \"rss_start_kib\": " << samples.front().second
    << ", \"rss_end_kib\": " << samples.back().second
    << ", \"slope_mb_per_min\": " << slope
    << ", \"slope_second_half_mb_per_min\": " << slope_half
    << ", \"malloc_in_use_slope_mb_per_min\": " << slope_mb_per_min(in_use, o.warmup)
    << ", \"malloc_free_slope_mb_per_min\": " << slope_mb_per_min(free_kib, o.warmup)
    << ", \"pushes\": " << counters.pushes.load()
    << ", \"utterances\": " << counters.utterances.load()
    << ", \"interrupts\": " << counters.interrupts.load()
    << ", \"beds\": " << counters.beds.load()
    << ", \"failures\": " << counters.failures.load()
    << ", \"samples_t_rss_inuse_free_queued_kib\": [";
  for (std::size_t i = 0; i < samples.size(); i++)
    b << (i ? ", " : "") << "[" << samples[i].first << ", " << samples[i].second << ", "
      << heap[i].first << ", " << heap[i].second << ", " << queued[i] << "]";
  b << "]}\n";
  std::fputs(b.str().c_str(), stdout);
  if (!o.json.empty()) {
    FILE *f = std::fopen(o.json.c_str(), "w");
    if (f == nullptr) {
      std::perror(o.json.c_str());
      return 1;
    }
    std::fputs(b.str().c_str(), f);
    std::fclose(f);
  }
  return 0;
}
