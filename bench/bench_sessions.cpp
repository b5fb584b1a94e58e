/* agentaudiosrc
 * Copyright (C) 2026 agentaudiosrc authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* bench-sessions: whole outgoing voice sessions as users run them (issue
 * 17), N in one process, one GstPipeline each, on the system clock:
 *
 *   --mode udp     agentaudiosrc ! audio/x-raw,rate=48000,channels=1
 *                  ! opusenc ! rtpopuspay ! udpsink host=127.0.0.1 port=P
 *   --mode webrtc  the same up to rtpopuspay, then ! webrtcbin (ICE, DTLS,
 *                  SRTP) to a receiving webrtcbin in another process
 *
 * The receiver is a child process forked before gst_init(), so that the
 * sender's CPU (getrusage of this process) holds nothing of it:
 *   udp     plain sockets on 127.0.0.1, epoll + recvmmsg, arrival times
 *           from the kernel (SO_TIMESTAMPNS), no GStreamer;
 *   webrtc  one receiving webrtcbin per session; arrival times taken by a
 *           probe on its nicesrc (SRTP still encrypted there, but the RTP
 *           header is clear), before the jitter buffer.
 * Offers, answers and ICE candidates cross a socketpair between the two.
 *
 * Speech is kept queued by one feeder thread for all sessions, as in
 * bench-streams, over a 1 s bed the element loops. It measures; it never
 * judges beyond the "real-time" definition in bench/README.md. Output: one
 * JSON object (stdout, and --json FILE). */

#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

/* Under valgrind --tool=callgrind the counters are zeroed when the window
 * opens and dumped when it closes (bench/cpu_split.py reads that dump);
 * elsewhere these macros do nothing. */
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_ZERO_STATS
#define CALLGRIND_DUMP_STATS_AT(x)
#endif

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
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "benchutil.h"

namespace {

using namespace benchutil;

/* RTP clock of Opus (RFC 7587): always 48 kHz, whatever the input rate. */
constexpr int kRtpClock = 48000;
/* The speech and bed pushed, as a TTS engine gives them: by default 24 kHz
 * mono S16LE (the element's default speech-caps), which the element
 * converts to the output rate; --speech-rate changes it. */
int g_in_rate = 24000;
constexpr GstClockTime kFeedPeriod = 50 * GST_MSECOND;
constexpr GstClockTime kFeedLow = 150 * GST_MSECOND;
constexpr GstClockTime kFeedChunk = 100 * GST_MSECOND;

/* Per-session deviation histogram: 100 µs bins up to 200 ms, one overflow
 * bin after. */
constexpr int64_t kDevBinNs = 100000;
constexpr int kDevBins = 2000;

struct Options {
  std::string mode = "udp";
  int sessions = 10;
  double warmup = 3;
  double seconds = 10;
  std::string json;
  int complexity = -1; /* opusenc's default (10) */
  int frame_ms = 20;
  bool dtx = false;
  int ptime = 20;
  int rate = 48000;
  int bitrate = 0; /* opusenc's default */
  bool bed = true;
  double duty = 1.0; /* share of time speaking: 1 = always */
  int base_port = 40000;
  int speech_rate = 24000;
};

/* Machine and process figures (the common ones are in benchutil.h) -------- */

/* The kernel's part (system time): sends, futex waits, context switches;
 * callgrind does not see it. */
double system_cpu_seconds() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_stime.tv_sec) + static_cast<double>(ru.ru_stime.tv_usec) / 1e6;
}

/* Machine-wide busy seconds from /proc/stat (everything but idle, iowait). */
double machine_busy_s() {
  std::ifstream f("/proc/stat");
  std::string cpu;
  unsigned long long v[10] = {};
  f >> cpu;
  for (auto &x : v)
    f >> x;
  double total = 0;
  for (int i = 0; i < 8; i++)
    total += static_cast<double>(v[i]);
  return (total - static_cast<double>(v[3] + v[4])) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

int64_t mono_ns() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

/* The control channel between sender and receiver ------------------------- *
 * Frames of: type (1 byte), session (int32), mline (int32), length (uint32),
 * then length bytes. Types: 'o' offer, 'a' answer, 'c' ICE candidate, 'r'
 * receiver ready, 'f' every session has packets, 'm' open the window, 'e'
 * close it, 'R' the receiver's results (JSON), 'q' quit. */

struct Channel {
  int fd = -1;
  std::mutex write_lock;

  void send(char type, int session, int mline, const std::string &payload) {
    std::lock_guard<std::mutex> l(write_lock);
    char head[13];
    head[0] = type;
    int32_t s = session, m = mline;
    uint32_t n = static_cast<uint32_t>(payload.size());
    std::memcpy(head + 1, &s, 4);
    std::memcpy(head + 5, &m, 4);
    std::memcpy(head + 9, &n, 4);
    write_all(head, sizeof head);
    write_all(payload.data(), payload.size());
  }

  void write_all(const char *p, std::size_t n) {
    while (n > 0) {
      ssize_t w = ::write(fd, p, n);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0) {
        std::perror("bench-sessions: control write");
        std::exit(1);
      }
      p += w;
      n -= static_cast<std::size_t>(w);
    }
  }

  bool read_all(char *p, std::size_t n) {
    while (n > 0) {
      ssize_t r = ::read(fd, p, n);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        return false;
      p += r;
      n -= static_cast<std::size_t>(r);
    }
    return true;
  }

  /* Blocking; false when the other side is gone. */
  bool recv(char &type, int &session, int &mline, std::string &payload) {
    char head[13];
    if (!read_all(head, sizeof head))
      return false;
    type = head[0];
    int32_t s, m;
    uint32_t n;
    std::memcpy(&s, head + 1, 4);
    std::memcpy(&m, head + 5, 4);
    std::memcpy(&n, head + 9, 4);
    session = s;
    mline = m;
    payload.resize(n);
    return n == 0 || read_all(&payload[0], n);
  }
};

/* Receiver statistics, shared by both receivers ---------------------------- */

/* One session's packets in the window. The deviation of a packet is
 * |arrival − previous arrival − (RTP timestamp − previous RTP timestamp)|:
 * the inter-arrival time against the media time between the two packets,
 * which is the nominal interval (20 ms) for a steady stream and stays right
 * when a DTX sender skips packets or the frame size changes. */
struct RxSession {
  std::vector<uint32_t> dev_bins;
  uint64_t packets = 0;
  uint64_t lost = 0; /* sequence numbers skipped */
  uint64_t packets_total = 0;
  bool have_prev = false;
  uint16_t prev_seq = 0;
  uint32_t prev_ts = 0;
  int64_t prev_ns = 0;
  uint64_t ts_span = 0; /* RTP ticks from first to last packet in the window */
  uint32_t last_step = 0;
  int64_t max_dev_ns = 0;
  uint64_t pairs = 0;

  RxSession() : dev_bins(kDevBins + 1, 0) {}

  void reset_window() {
    std::fill(dev_bins.begin(), dev_bins.end(), 0);
    packets = lost = ts_span = pairs = 0;
    last_step = 0;
    max_dev_ns = 0;
    have_prev = false;
  }

  void add(const uint8_t *p, std::size_t n, int64_t ns, bool measuring) {
    /* RTP only (RFC 7983: first byte 128-191), not RTCP (PT 200-204 with
     * the marker bit: second byte 192-223). */
    if (n < 12 || p[0] < 128 || p[0] > 191 || (p[1] >= 192 && p[1] <= 223))
      return;
    packets_total++;
    if (!measuring)
      return;
    const uint16_t seq = static_cast<uint16_t>(p[2] << 8 | p[3]);
    const uint32_t ts = static_cast<uint32_t>(p[4]) << 24 | static_cast<uint32_t>(p[5]) << 16 |
                        static_cast<uint32_t>(p[6]) << 8 | p[7];
    packets++;
    if (have_prev) {
      const uint16_t dseq = static_cast<uint16_t>(seq - prev_seq);
      if (dseq == 0 || dseq > 0x8000)
        return; /* duplicate or reordered: not counted */
      lost += dseq - 1u;
      const uint32_t dts = ts - prev_ts;
      ts_span += dts;
      last_step = dts / dseq;
      const int64_t media_ns = static_cast<int64_t>(dts) * 1000000000 / kRtpClock;
      const int64_t dev = std::llabs((ns - prev_ns) - media_ns);
      max_dev_ns = std::max(max_dev_ns, dev);
      const int64_t b = dev / kDevBinNs;
      dev_bins[static_cast<std::size_t>(std::min<int64_t>(b, kDevBins))]++;
      pairs++;
    }
    have_prev = true;
    prev_seq = seq;
    prev_ts = ts;
    prev_ns = ns;
  }

  double p99_us() const { return percentile_us(dev_bins, pairs, 0.99); }

  static double percentile_us(const std::vector<uint32_t> &bins, uint64_t count, double p) {
    if (count == 0)
      return -1;
    const uint64_t rank = static_cast<uint64_t>(std::ceil(p * static_cast<double>(count)));
    uint64_t acc = 0;
    for (std::size_t b = 0; b < bins.size(); b++) {
      acc += bins[b];
      if (acc >= rank)
        return static_cast<double>((static_cast<int64_t>(b) + 1) * kDevBinNs) / 1000.0;
    }
    return -1;
  }
};

/* The "real-time" definition (README.md): over the window the session's
 * media time advanced by at least 99.5 % of the wall time (the sender kept
 * up), at most 0.5 % of its packets were lost, the p99 of its deviations is
 * at most 10 ms and no deviation exceeds 60 ms. */
constexpr double kRtMediaFraction = 0.995;
constexpr double kRtMaxLoss = 0.005;
constexpr double kRtP99Us = 10000;
constexpr int64_t kRtMaxDevNs = 60 * 1000000LL;

std::string rx_results_json(std::vector<RxSession> &rx, double window_s, double rx_cpu_s) {
  std::vector<uint32_t> all(kDevBins + 1, 0);
  uint64_t pairs = 0, packets = 0, lost = 0, realtime = 0, silent = 0;
  /* Without the media-time criterion: with DTX a session that ends the
   * window in silence sends nothing then, which is not falling behind. */
  uint64_t steady_only = 0;
  int64_t max_dev = 0;
  std::vector<double> media_fraction;
  double worst_session_p99 = 0;
  for (auto &s : rx) {
    for (std::size_t b = 0; b < all.size(); b++)
      all[b] += s.dev_bins[b];
    pairs += s.pairs;
    packets += s.packets;
    lost += s.lost;
    max_dev = std::max(max_dev, s.max_dev_ns);
    if (s.packets == 0)
      silent++;
    /* The span between the first and last packet misses the last packet's
     * own duration: add one step. */
    const double mf =
        static_cast<double>(s.ts_span + s.last_step) / kRtpClock / window_s;
    media_fraction.push_back(mf);
    const double loss =
        s.packets + s.lost == 0 ? 1.0 : static_cast<double>(s.lost) / (s.packets + s.lost);
    const double p99 = s.p99_us();
    worst_session_p99 = std::max(worst_session_p99, p99);
    const bool steady = s.packets > 0 && loss <= kRtMaxLoss && p99 >= 0 && p99 <= kRtP99Us &&
                        s.max_dev_ns <= kRtMaxDevNs;
    if (steady)
      steady_only++;
    if (steady && mf >= kRtMediaFraction)
      realtime++;
  }
  std::sort(media_fraction.begin(), media_fraction.end());
  std::ostringstream o;
  o.setf(std::ios::fixed);
  o.precision(3);
  o << "{\"window_s\": " << window_s << ", \"sessions_realtime\": " << realtime
    << ", \"sessions_steady_ignoring_media_time\": " << steady_only
    << ", \"sessions_without_packets\": " << silent << ", \"packets\": " << packets
    << ", \"lost\": " << lost << ", \"intervals\": " << pairs
    << ", \"deviation_us\": {\"p50\": " << RxSession::percentile_us(all, pairs, 0.5)
    << ", \"p99\": " << RxSession::percentile_us(all, pairs, 0.99)
    << ", \"p999\": " << RxSession::percentile_us(all, pairs, 0.999)
    << ", \"max\": " << static_cast<double>(max_dev) / 1000.0
    << ", \"worst_session_p99\": " << worst_session_p99
    << ", \"bin_us\": 100, \"over_200ms_counted_in_last_bin\": true}"
    << ", \"media_fraction_min\": " << (media_fraction.empty() ? 0 : media_fraction.front())
    << ", \"media_fraction_median\": "
    << (media_fraction.empty() ? 0 : media_fraction[media_fraction.size() / 2])
    << ", \"receiver_cpu_s\": " << rx_cpu_s
    << ", \"receiver_cpu_cores\": " << rx_cpu_s / window_s << "}";
  return o.str();
}

/* Receiver process, udp --------------------------------------------------- */

int run_udp_receiver(const Options &o, int ctl_fd) {
  Channel ch;
  ch.fd = ctl_fd;
  std::vector<RxSession> rx(static_cast<std::size_t>(o.sessions));
  std::vector<int> fds;
  int ep = epoll_create1(0);
  for (int i = 0; i < o.sessions; i++) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
    int rcvbuf = 256 * 1024;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(o.base_port + i));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0) {
      std::perror("bench-sessions: receiver bind");
      return 1;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<uint32_t>(i);
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    fds.push_back(fd);
  }
  {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = UINT32_MAX;
    epoll_ctl(ep, EPOLL_CTL_ADD, ctl_fd, &ev);
  }
  ch.send('r', 0, 0, "");

  constexpr int kBatch = 16;
  uint8_t data[kBatch][1500];
  char ctrl[kBatch][64];
  iovec iov[kBatch];
  mmsghdr msgs[kBatch];
  bool measuring = false, told_flowing = false;
  double cpu0 = 0;
  int64_t win0 = 0;
  epoll_event evs[64];
  for (;;) {
    int n = epoll_wait(ep, evs, 64, 200);
    if (!told_flowing) {
      bool all = true;
      for (auto &s : rx)
        all = all && s.packets_total > 0;
      if (all) {
        told_flowing = true;
        ch.send('f', 0, 0, "");
      }
    }
    for (int k = 0; k < n; k++) {
      const uint32_t id = evs[k].data.u32;
      if (id == UINT32_MAX) {
        char type;
        int s, m;
        std::string payload;
        if (!ch.recv(type, s, m, payload) || type == 'q')
          return 0;
        if (type == 'm') {
          for (auto &r : rx)
            r.reset_window();
          measuring = true;
          cpu0 = cpu_seconds();
          win0 = mono_ns();
        } else if (type == 'e') {
          measuring = false;
          const double w = static_cast<double>(mono_ns() - win0) / 1e9;
          ch.send('R', 0, 0, rx_results_json(rx, w, cpu_seconds() - cpu0));
        }
        continue;
      }
      for (;;) {
        for (int b = 0; b < kBatch; b++) {
          iov[b] = {data[b], sizeof data[b]};
          std::memset(&msgs[b], 0, sizeof msgs[b]);
          msgs[b].msg_hdr.msg_iov = &iov[b];
          msgs[b].msg_hdr.msg_iovlen = 1;
          msgs[b].msg_hdr.msg_control = ctrl[b];
          msgs[b].msg_hdr.msg_controllen = sizeof ctrl[b];
        }
        int got = recvmmsg(fds[id], msgs, kBatch, MSG_DONTWAIT, nullptr);
        if (got <= 0)
          break;
        const int64_t fallback = mono_ns();
        for (int b = 0; b < got; b++) {
          /* The kernel's arrival time (CLOCK_REALTIME; only differences are
           * used): the receiver's own scheduling does not count. */
          int64_t ns = fallback;
          for (cmsghdr *c = CMSG_FIRSTHDR(&msgs[b].msg_hdr); c != nullptr;
               c = CMSG_NXTHDR(&msgs[b].msg_hdr, c)) {
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
              timespec ts;
              std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
              ns = static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
            }
          }
          rx[id].add(data[b], msgs[b].msg_len, ns, measuring);
        }
        if (got < kBatch)
          break;
      }
    }
  }
}

/* GStreamer helpers --------------------------------------------------------- */

GstBusSyncReply drop_messages(GstBus *, GstMessage *msg, gpointer) {
  if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
    GError *err = nullptr;
    gchar *dbg = nullptr;
    gst_message_parse_error(msg, &err, &dbg);
    g_printerr("bench-sessions: ERROR from %s: %s (%s)\n", GST_MESSAGE_SRC_NAME(msg),
               err->message, dbg ? dbg : "");
    std::abort();
  }
  gst_message_unref(msg); /* a sync handler that drops a message owns it */
  return GST_BUS_DROP;
}

GstPipeline *new_pipeline(GstClock *clock) {
  GstElement *p = gst_pipeline_new(nullptr);
  gst_pipeline_use_clock(GST_PIPELINE(p), clock);
  GstBus *bus = gst_element_get_bus(p);
  gst_bus_set_sync_handler(bus, drop_messages, nullptr, nullptr);
  gst_object_unref(bus);
  return GST_PIPELINE(p);
}

/* webrtcbin's ICE: host UDP candidates only (no TCP, no STUN/TURN server is
 * set), so the sessions stay on this machine. */
bool wanted_candidate(const std::string &c) {
  return c.find(" UDP ") != std::string::npos || c.find(" udp ") != std::string::npos;
}

/* Receiver process, webrtc ------------------------------------------------- */

struct WebrtcRx {
  std::vector<RxSession> rx;
  std::vector<GstElement *> bins;
  std::atomic<bool> measuring{false};
  std::mutex lock; /* rx: probes of all sessions run on different threads */
  Channel *ch = nullptr;
};

WebrtcRx *g_wrx = nullptr;

struct RxProbeData {
  int session;
};

GstPadProbeReturn on_rx_packet(GstPad *, GstPadProbeInfo *info, gpointer data) {
  const int64_t ns = g_get_monotonic_time() * 1000;
  const int i = static_cast<RxProbeData *>(data)->session;
  auto add = [&](GstBuffer *b) {
    GstMapInfo map;
    if (!gst_buffer_map(b, &map, GST_MAP_READ))
      return;
    std::lock_guard<std::mutex> l(g_wrx->lock);
    g_wrx->rx[static_cast<std::size_t>(i)].add(map.data, map.size, ns,
                                               g_wrx->measuring.load());
    gst_buffer_unmap(b, &map);
  };
  if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
    GstBufferList *l = GST_PAD_PROBE_INFO_BUFFER_LIST(info);
    for (guint k = 0; k < gst_buffer_list_length(l); k++)
      add(gst_buffer_list_get(l, k));
  } else {
    add(GST_PAD_PROBE_INFO_BUFFER(info));
  }
  return GST_PAD_PROBE_OK;
}

/* The arrival probe goes on the session's nicesrc, found once the first
 * media pad appears (the transport exists by then). */
void probe_nicesrc(GstElement *webrtc, int session) {
  GstIterator *it = gst_bin_iterate_recurse(GST_BIN(webrtc));
  GValue v = G_VALUE_INIT;
  while (gst_iterator_next(it, &v) == GST_ITERATOR_OK) {
    GstElement *e = GST_ELEMENT(g_value_get_object(&v));
    GstElementFactory *f = gst_element_get_factory(e);
    if (f != nullptr && std::strcmp(GST_OBJECT_NAME(f), "nicesrc") == 0) {
      GstPad *pad = gst_element_get_static_pad(e, "src");
      gst_pad_add_probe(pad,
                        static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER |
                                                     GST_PAD_PROBE_TYPE_BUFFER_LIST),
                        on_rx_packet, new RxProbeData{session}, nullptr);
      gst_object_unref(pad);
    }
    g_value_reset(&v);
  }
  g_value_unset(&v);
  gst_iterator_free(it);
}

void on_rx_pad_added(GstElement *webrtc, GstPad *pad, gpointer data) {
  if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC)
    return;
  const int session = GPOINTER_TO_INT(data);
  GstElement *sink = make("fakesink");
  g_object_set(sink, "async", FALSE, "sync", FALSE, nullptr);
  GstElement *pipe = GST_ELEMENT(gst_element_get_parent(webrtc));
  gst_bin_add(GST_BIN(pipe), sink);
  gst_element_sync_state_with_parent(sink);
  GstPad *sinkpad = gst_element_get_static_pad(sink, "sink");
  gst_pad_link(pad, sinkpad);
  gst_object_unref(sinkpad);
  gst_object_unref(pipe);
  probe_nicesrc(webrtc, session);
}

void on_ice_candidate(GstElement *, guint mline, gchar *cand, gpointer data);

struct AnswerCtx {
  GstElement *webrtc;
  int session;
};

void on_answer_created(GstPromise *promise, gpointer data) {
  auto *ctx = static_cast<AnswerCtx *>(data);
  const GstStructure *reply = gst_promise_get_reply(promise);
  GstWebRTCSessionDescription *answer = nullptr;
  gst_structure_get(reply, "answer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &answer, nullptr);
  gst_promise_unref(promise);
  g_signal_emit_by_name(ctx->webrtc, "set-local-description", answer, nullptr);
  gchar *text = gst_sdp_message_as_text(answer->sdp);
  g_wrx->ch->send('a', ctx->session, 0, text);
  g_free(text);
  gst_webrtc_session_description_free(answer);
  delete ctx;
}

GstWebRTCSessionDescription *parse_sdp(const std::string &text, GstWebRTCSDPType type) {
  GstSDPMessage *sdp = nullptr;
  gst_sdp_message_new(&sdp);
  gst_sdp_message_parse_buffer(reinterpret_cast<const guint8 *>(text.data()),
                               static_cast<guint>(text.size()), sdp);
  return gst_webrtc_session_description_new(type, sdp);
}

/* ICE candidates are sent to the other side as they come. */
struct Signal {
  Channel *ch;
  int session;
};

void on_ice_candidate(GstElement *, guint mline, gchar *cand, gpointer data) {
  auto *sig = static_cast<Signal *>(data);
  if (wanted_candidate(cand))
    sig->ch->send('c', sig->session, static_cast<int>(mline), cand);
}

int run_webrtc_receiver(const Options &o, int ctl_fd) {
  gst_init(nullptr, nullptr);
  GstClock *clock = gst_system_clock_obtain();
  Channel ch;
  ch.fd = ctl_fd;
  WebrtcRx wrx;
  g_wrx = &wrx;
  wrx.ch = &ch;
  wrx.rx.resize(static_cast<std::size_t>(o.sessions));
  for (int i = 0; i < o.sessions; i++) {
    GstPipeline *p = new_pipeline(clock);
    GstElement *webrtc = make("webrtcbin");
    g_object_set(webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, nullptr);
    gst_bin_add(GST_BIN(p), webrtc);
    g_signal_connect(webrtc, "pad-added", G_CALLBACK(on_rx_pad_added), GINT_TO_POINTER(i));
    g_signal_connect(webrtc, "on-ice-candidate", G_CALLBACK(on_ice_candidate),
                     (new Signal{&ch, i}));
    gst_element_set_state(GST_ELEMENT(p), GST_STATE_PLAYING);
    wrx.bins.push_back(webrtc);
  }
  ch.send('r', 0, 0, "");
  /* Everything else happens on this thread, driven by the sender. */
  std::atomic<bool> stop{false};
  std::thread flowing([&] {
    while (!stop.load()) {
      sleep_s(0.2);
      bool all = true;
      {
        std::lock_guard<std::mutex> l(wrx.lock);
        for (auto &s : wrx.rx)
          all = all && s.packets_total > 0;
      }
      if (all) {
        ch.send('f', 0, 0, "");
        return;
      }
    }
  });
  double cpu0 = 0;
  int64_t win0 = 0;
  char type;
  int s, m;
  std::string payload;
  while (ch.recv(type, s, m, payload) && type != 'q') {
    if (type == 'o') {
      GstElement *webrtc = wrx.bins[static_cast<std::size_t>(s)];
      GstWebRTCSessionDescription *offer = parse_sdp(payload, GST_WEBRTC_SDP_TYPE_OFFER);
      g_signal_emit_by_name(webrtc, "set-remote-description", offer, nullptr);
      gst_webrtc_session_description_free(offer);
      GstPromise *pr = gst_promise_new_with_change_func(on_answer_created,
                                                        new AnswerCtx{webrtc, s}, nullptr);
      g_signal_emit_by_name(webrtc, "create-answer", nullptr, pr);
    } else if (type == 'c') {
      g_signal_emit_by_name(wrx.bins[static_cast<std::size_t>(s)], "add-ice-candidate",
                            static_cast<guint>(m), payload.c_str());
    } else if (type == 'm') {
      std::lock_guard<std::mutex> l(wrx.lock);
      for (auto &r : wrx.rx)
        r.reset_window();
      wrx.measuring.store(true);
      cpu0 = cpu_seconds();
      win0 = mono_ns();
    } else if (type == 'e') {
      std::string res;
      {
        std::lock_guard<std::mutex> l(wrx.lock);
        wrx.measuring.store(false);
        const double w = static_cast<double>(mono_ns() - win0) / 1e9;
        res = rx_results_json(wrx.rx, w, cpu_seconds() - cpu0);
      }
      ch.send('R', 0, 0, res);
    }
  }
  stop.store(true);
  flowing.join();
  /* The process ends here: the OS reclaims the pipelines faster than a
   * teardown of N webrtcbins would. */
  std::_Exit(0);
}

/* Sender ------------------------------------------------------------------- */

struct Session {
  GstElement *pipeline = nullptr;
  GstElement *src = nullptr;
  GstElement *webrtc = nullptr;
  uint64_t chunk_index = 0;
  /* duty < 1: where in its speak/pause cycle this session starts, so that
   * the sessions do not all speak at once. */
  double phase_s = 0;
};

struct Audio {
  std::vector<GstBuffer *> speech_chunks;
  GstBuffer *bed = nullptr;
  std::vector<int16_t> speech_pcm, bed_pcm;
};

std::vector<int16_t> make_tone(int frames, double freq, double amp) {
  std::vector<int16_t> v(static_cast<std::size_t>(frames));
  for (int i = 0; i < frames; i++) {
    double t = static_cast<double>(i) / g_in_rate;
    double f = freq * (1.0 + 0.05 * std::sin(2 * G_PI * 3 * t));
    /* A tone with a little noise, so the encoder sees a signal that is not
     * trivially predictable (a pure tone would flatter it). */
    v[static_cast<std::size_t>(i)] = static_cast<int16_t>(
        amp * std::sin(2 * G_PI * f * t) + amp * 0.05 * std::sin(i * 12.9898) +
        (i % 2 ? 1 : -1));
  }
  return v;
}

GstMemory *memory_of(const std::vector<int16_t> &v, std::size_t off, std::size_t frames) {
  return gst_memory_new_wrapped(GST_MEMORY_FLAG_READONLY,
                                const_cast<int16_t *>(v.data() + off),
                                frames * sizeof(int16_t), 0, frames * sizeof(int16_t),
                                nullptr, nullptr);
}

void make_audio(Audio &a) {
  a.speech_pcm = make_tone(g_in_rate, 220, 8000);
  a.bed_pcm = make_tone(g_in_rate, 110, 2000);
  const std::size_t chunk = static_cast<std::size_t>(g_in_rate * kFeedChunk / GST_SECOND);
  for (std::size_t off = 0; off + chunk <= a.speech_pcm.size(); off += chunk) {
    GstBuffer *b = gst_buffer_new();
    gst_buffer_append_memory(b, memory_of(a.speech_pcm, off, chunk));
    a.speech_chunks.push_back(b);
  }
  a.bed = gst_buffer_new();
  gst_buffer_append_memory(a.bed, memory_of(a.bed_pcm, 0, a.bed_pcm.size()));
}

/* agentaudiosrc ! caps ! opusenc ! rtpopuspay: what both modes share. */
GstElement *make_chain(const Options &o, Session &s, const Audio &audio) {
  GstElement *src = make("agentaudiosrc");
  g_object_set(src, "ptime", static_cast<guint>(o.ptime), "background-loop", TRUE, nullptr);
  if (o.speech_rate != 24000) {
    GstCaps *in = gst_caps_new_simple("audio/x-raw", "format", G_TYPE_STRING, "S16LE",
                                      "layout", G_TYPE_STRING, "interleaved", "rate",
                                      G_TYPE_INT, o.speech_rate, "channels", G_TYPE_INT, 1,
                                      nullptr);
    g_object_set(src, "speech-caps", in, "background-caps", in, nullptr);
    gst_caps_unref(in);
  }
  GstElement *caps = make("capsfilter");
  GstCaps *c = gst_caps_new_simple("audio/x-raw", "rate", G_TYPE_INT, o.rate, "channels",
                                   G_TYPE_INT, 1, nullptr);
  g_object_set(caps, "caps", c, nullptr);
  gst_caps_unref(c);
  GstElement *enc = make("opusenc");
  if (o.complexity >= 0)
    g_object_set(enc, "complexity", o.complexity, nullptr);
  if (o.bitrate > 0)
    g_object_set(enc, "bitrate", o.bitrate, nullptr);
  gst_util_set_object_arg(G_OBJECT(enc), "frame-size", std::to_string(o.frame_ms).c_str());
  g_object_set(enc, "dtx", o.dtx, nullptr);
  GstElement *pay = make("rtpopuspay");
  g_object_set(pay, "pt", 96u, "dtx", o.dtx, nullptr);
  gst_bin_add_many(GST_BIN(s.pipeline), src, caps, enc, pay, nullptr);
  link_or_die(src, caps);
  link_or_die(caps, enc);
  link_or_die(enc, pay);
  if (o.bed) {
    GstFlowReturn ret = GST_FLOW_ERROR;
    g_signal_emit_by_name(src, "push-background", audio.bed, &ret);
    if (ret != GST_FLOW_OK) {
      g_printerr("bench-sessions: push-background: %s\n", gst_flow_get_name(ret));
      std::exit(1);
    }
  }
  s.src = src;
  return pay;
}

void make_udp(const Options &o, Session &s, int index, const Audio &audio) {
  GstElement *pay = make_chain(o, s, audio);
  GstElement *sink = make("udpsink");
  /* sync=false: the source already paces every buffer to the clock; a
   * syncing sink would wait a second time per packet for nothing. */
  g_object_set(sink, "host", "127.0.0.1", "port", o.base_port + index, "sync", FALSE,
               "async", FALSE, nullptr);
  gst_bin_add(GST_BIN(s.pipeline), sink);
  link_or_die(pay, sink);
}

Channel *g_ch = nullptr;

struct OfferCtx {
  GstElement *webrtc;
  int session;
};

void offer_created(GstPromise *promise, gpointer data) {
  auto *ctx = static_cast<OfferCtx *>(data);
  const GstStructure *reply = gst_promise_get_reply(promise);
  GstWebRTCSessionDescription *offer = nullptr;
  gst_structure_get(reply, "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &offer, nullptr);
  gst_promise_unref(promise);
  g_signal_emit_by_name(ctx->webrtc, "set-local-description", offer, nullptr);
  gchar *text = gst_sdp_message_as_text(offer->sdp);
  g_ch->send('o', ctx->session, 0, text);
  g_free(text);
  gst_webrtc_session_description_free(offer);
  delete ctx;
}

void on_negotiation_needed(GstElement *webrtc, gpointer data) {
  GstPromise *pr = gst_promise_new_with_change_func(
      offer_created, new OfferCtx{webrtc, GPOINTER_TO_INT(data)}, nullptr);
  g_signal_emit_by_name(webrtc, "create-offer", nullptr, pr);
}

void make_webrtc(const Options &o, Session &s, int index, const Audio &audio) {
  GstElement *pay = make_chain(o, s, audio);
  GstElement *caps = make("capsfilter");
  GstCaps *c = gst_caps_from_string(
      "application/x-rtp,media=audio,encoding-name=OPUS,payload=96,clock-rate=48000");
  g_object_set(caps, "caps", c, nullptr);
  gst_caps_unref(c);
  GstElement *webrtc = make("webrtcbin");
  g_object_set(webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, nullptr);
  gst_bin_add_many(GST_BIN(s.pipeline), caps, webrtc, nullptr);
  link_or_die(pay, caps);
  link_or_die(caps, webrtc);
  g_signal_connect(webrtc, "on-negotiation-needed", G_CALLBACK(on_negotiation_needed),
                   GINT_TO_POINTER(index));
  g_signal_connect(webrtc, "on-ice-candidate", G_CALLBACK(on_ice_candidate),
                   (new Signal{g_ch, index}));
  s.webrtc = webrtc;
}

struct Feeder {
  std::vector<std::unique_ptr<Session>> *sessions = nullptr;
  const Audio *audio = nullptr;
  double duty = 1.0;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> failures{0};
  std::atomic<uint64_t> pushes{0};

  /* duty < 1: each session speaks duty × 4 s out of every 4 s, then is
   * silent (speech runs out, the element sends GAP silence or the bed). */
  bool speaking(const Session &s, double t) const {
    if (duty >= 1.0)
      return true;
    const double cycle = 4.0;
    const double x = std::fmod(t + s.phase_s, cycle);
    return x < duty * cycle;
  }

  void run() {
    auto start = std::chrono::steady_clock::now();
    auto next = start;
    while (!stop.load()) {
      const double t = std::chrono::duration<double>(next - start).count();
      for (auto &s : *sessions) {
        if (!speaking(*s, t))
          continue;
        guint64 queued = 0;
        g_object_get(s->src, "queued-speech-time", &queued, nullptr);
        if (queued >= kFeedLow)
          continue;
        GstBuffer *chunk = audio->speech_chunks[s->chunk_index++ % audio->speech_chunks.size()];
        GstFlowReturn ret = GST_FLOW_ERROR;
        g_signal_emit_by_name(s->src, "push-speech", chunk, &ret);
        if (ret != GST_FLOW_OK)
          failures++;
        pushes++;
      }
      next += std::chrono::nanoseconds(kFeedPeriod);
      std::this_thread::sleep_until(next);
    }
  }
};

std::string machine_json(const std::string &loadavg_start) {
  struct utsname u;
  uname(&u);
  gchar *gst = gst_version_string();
  std::ostringstream o;
  o << "\"machine\": {\"nproc\": " << sysconf(_SC_NPROCESSORS_ONLN) << ", \"cpu_model\": \""
    << json_escape(cpu_model()) << "\", \"kernel\": \"" << json_escape(u.release)
    << "\", \"gstreamer\": \"" << json_escape(gst) << "\", \"loadavg_start\": \""
    << json_escape(loadavg_start) << "\", \"loadavg_end\": \""
    << json_escape(read_first_line("/proc/loadavg")) << "\"}";
  g_free(gst);
  return o.str();
}

int run_sender(const Options &o, int ctl_fd, pid_t child) {
  const std::string loadavg_start = read_first_line("/proc/loadavg");
  GstClock *clock = gst_system_clock_obtain();
  Channel ch;
  ch.fd = ctl_fd;
  g_ch = &ch;
  char type;
  int si, mi;
  std::string payload;
  if (!ch.recv(type, si, mi, payload) || type != 'r') {
    g_printerr("bench-sessions: the receiver did not start\n");
    return 1;
  }
  Audio audio;
  make_audio(audio);
  std::vector<std::unique_ptr<Session>> sessions;
  for (int i = 0; i < o.sessions; i++) {
    auto s = std::make_unique<Session>();
    s->phase_s = 4.0 * i / o.sessions;
    sessions.push_back(std::move(s));
  }
  /* Load every plugin a session uses before the baseline, so that their
   * code and one-time state are not counted as per-session memory. */
  for (const char *f : {"agentaudiosrc", "capsfilter", "opusenc", "rtpopuspay",
                        o.mode == "udp" ? "udpsink" : "webrtcbin"})
    gst_object_unref(gst_object_ref_sink(make(f)));
  const long rss_baseline = read_status_kib("VmRSS");
  auto t_create = std::chrono::steady_clock::now();
  for (int i = 0; i < o.sessions; i++) {
    Session &s = *sessions[static_cast<std::size_t>(i)];
    s.pipeline = GST_ELEMENT(new_pipeline(clock));
    if (o.mode == "udp")
      make_udp(o, s, i, audio);
    else
      make_webrtc(o, s, i, audio);
    if (gst_element_set_state(s.pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
      g_printerr("bench-sessions: a pipeline failed to start\n");
      return 1;
    }
  }

  /* Answers and candidates from the receiver, and its other messages. */
  std::mutex msg_lock;
  std::condition_variable msg_cond;
  bool flowing = false;
  std::string results;
  std::thread reader([&] {
    char t;
    int s, m;
    std::string p;
    while (ch.recv(t, s, m, p)) {
      if (t == 'a') {
        GstWebRTCSessionDescription *answer = parse_sdp(p, GST_WEBRTC_SDP_TYPE_ANSWER);
        g_signal_emit_by_name(sessions[static_cast<std::size_t>(s)]->webrtc,
                              "set-remote-description", answer, nullptr);
        gst_webrtc_session_description_free(answer);
      } else if (t == 'c') {
        g_signal_emit_by_name(sessions[static_cast<std::size_t>(s)]->webrtc,
                              "add-ice-candidate", static_cast<guint>(m), p.c_str());
      } else {
        std::lock_guard<std::mutex> l(msg_lock);
        if (t == 'f')
          flowing = true;
        if (t == 'R')
          results = p;
        msg_cond.notify_all();
        if (t == 'R')
          return;
      }
    }
  });

  Feeder feeder;
  feeder.sessions = &sessions;
  feeder.audio = &audio;
  feeder.duty = o.duty;
  std::thread feed_thread([&] { feeder.run(); });

  /* Every session must be delivering before the warm-up starts (webrtc:
   * ICE and DTLS first); a session that never does is counted by the
   * receiver as without packets. */
  {
    std::unique_lock<std::mutex> l(msg_lock);
    msg_cond.wait_for(l, std::chrono::seconds(60), [&] { return flowing; });
  }
  const double startup_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_create).count();
  const long threads = read_status_kib("Threads");
  g_printerr("bench-sessions: %s N=%d flowing=%d after %.2f s, %ld threads\n", o.mode.c_str(),
             o.sessions, flowing, startup_s, threads);
  sleep_s(o.warmup);
  const long rss_warm = read_status_kib("VmRSS");
  ch.send('m', 0, 0, "");
  CALLGRIND_ZERO_STATS;
  const double busy0 = machine_busy_s();
  const double cpu0 = cpu_seconds();
  const double sys0 = system_cpu_seconds();
  const auto wall0 = std::chrono::steady_clock::now();
  sleep_s(o.seconds);
  const double cpu1 = cpu_seconds();
  const double sys1 = system_cpu_seconds();
  const double busy1 = machine_busy_s();
  const auto wall1 = std::chrono::steady_clock::now();
  CALLGRIND_DUMP_STATS_AT("window");
  ch.send('e', 0, 0, "");
  const long rss_end = read_status_kib("VmRSS");
  {
    std::unique_lock<std::mutex> l(msg_lock);
    msg_cond.wait_for(l, std::chrono::seconds(30), [&] { return !results.empty(); });
  }
  feeder.stop.store(true);
  feed_thread.join();

  const double wall = std::chrono::duration<double>(wall1 - wall0).count();
  const double cores = (cpu1 - cpu0) / wall;
  std::ostringstream b;
  b.setf(std::ios::fixed);
  b.precision(3);
  b << "{\"mode\": \"" << o.mode << "\", \"sessions\": " << o.sessions
    << ", \"warmup_s\": " << o.warmup << ", \"seconds\": " << o.seconds
    << ", \"config\": {\"ptime_ms\": " << o.ptime << ", \"rate\": " << o.rate
    << ", \"opus_complexity\": " << o.complexity << ", \"opus_frame_ms\": " << o.frame_ms
    << ", \"opus_bitrate\": " << o.bitrate << ", \"dtx\": " << (o.dtx ? "true" : "false")
    << ", \"bed\": " << (o.bed ? "true" : "false") << ", \"duty\": " << o.duty
    << ", \"speech_rate\": " << o.speech_rate << "}"
    << ", \"all_flowing_before_warmup\": " << (flowing ? "true" : "false")
    << ", \"startup_s\": " << startup_s << ", \"wall_s\": " << wall
    << ", \"sender_cpu_s\": " << (cpu1 - cpu0) << ", \"sender_cpu_cores\": " << cores
    << ", \"sender_cpu_per_session_percent\": " << 100.0 * cores / o.sessions
    << ", \"sender_system_cpu_share\": " << (cpu1 > cpu0 ? (sys1 - sys0) / (cpu1 - cpu0) : 0)
    << ", \"machine_busy_cores\": " << (busy1 - busy0) / wall
    << ", \"rss_baseline_kib\": " << rss_baseline << ", \"rss_warm_kib\": " << rss_warm
    << ", \"rss_end_kib\": " << rss_end << ", \"rss_per_session_kib\": "
    << static_cast<double>(rss_end - rss_baseline) / o.sessions << ", \"threads\": " << threads
    << ", \"feeder_pushes\": " << feeder.pushes.load()
    << ", \"feeder_failures\": " << feeder.failures.load()
    << ", \"receiver\": " << (results.empty() ? "null" : results) << ", "
    << machine_json(loadavg_start) << "}\n";
  const std::string out = b.str();
  std::fputs(out.c_str(), stdout);
  if (!o.json.empty()) {
    FILE *f = std::fopen(o.json.c_str(), "w");
    if (f == nullptr) {
      std::perror(o.json.c_str());
      return 1;
    }
    std::fputs(out.c_str(), f);
    std::fclose(f);
  }
  std::fflush(stdout);
  ch.send('q', 0, 0, "");
  reader.join();
  int status = 0;
  waitpid(child, &status, 0);
  /* Stopping: PAUSED first, so that the load is gone before the slower
   * teardown (as bench-streams). */
  for (auto &s : sessions)
    gst_element_set_state(s->pipeline, GST_STATE_PAUSED);
  for (auto &s : sessions)
    gst_element_set_state(s->pipeline, GST_STATE_NULL);
  for (auto &s : sessions)
    gst_object_unref(s->pipeline);
  return 0;
}

void usage(const char *argv0) {
  g_printerr(
      "usage: %s --mode udp|webrtc [--sessions N] [--warmup S] [--seconds S] [--json FILE]\n"
      "          [--opus-complexity 0-10] [--opus-frame-ms 10|20|40|60] [--dtx]\n"
      "          [--opus-bitrate BPS] [--ptime MS] [--rate HZ] [--no-bed] [--duty F]\n"
      "          [--speech-rate HZ] [--base-port P]\n",
      argv0);
  std::exit(2);
}

}  // namespace

int main(int argc, char **argv) {
  benchutil::program() = "bench-sessions";
  Options o;
  for (int i = 1; i < argc; i++) {
    auto arg = [&]() -> const char * {
      if (i + 1 >= argc)
        usage(argv[0]);
      return argv[++i];
    };
    const std::string a = argv[i];
    if (a == "--mode")
      o.mode = arg();
    else if (a == "--sessions")
      o.sessions = std::atoi(arg());
    else if (a == "--warmup")
      o.warmup = std::atof(arg());
    else if (a == "--seconds")
      o.seconds = std::atof(arg());
    else if (a == "--json")
      o.json = arg();
    else if (a == "--opus-complexity")
      o.complexity = std::atoi(arg());
    else if (a == "--opus-frame-ms")
      o.frame_ms = std::atoi(arg());
    else if (a == "--opus-bitrate")
      o.bitrate = std::atoi(arg());
    else if (a == "--dtx")
      o.dtx = true;
    else if (a == "--ptime")
      o.ptime = std::atoi(arg());
    else if (a == "--rate")
      o.rate = std::atoi(arg());
    else if (a == "--no-bed")
      o.bed = false;
    else if (a == "--duty")
      o.duty = std::atof(arg());
    else if (a == "--speech-rate")
      o.speech_rate = std::atoi(arg());
    else if (a == "--base-port")
      o.base_port = std::atoi(arg());
    else
      usage(argv[0]);
  }
  if ((o.mode != "udp" && o.mode != "webrtc") || o.sessions < 1 || o.seconds <= 0)
    usage(argv[0]);
  g_in_rate = o.speech_rate;

  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
    std::perror("socketpair");
    return 1;
  }
  /* The receiver is forked before gst_init(): no GStreamer state (threads,
   * registry) is shared, and its CPU is its own. */
  pid_t child = fork();
  if (child == 0) {
    close(sv[0]);
    return o.mode == "udp" ? run_udp_receiver(o, sv[1]) : run_webrtc_receiver(o, sv[1]);
  }
  close(sv[1]);
  gst_init(&argc, &argv);
  return run_sender(o, sv[0], child);
}
