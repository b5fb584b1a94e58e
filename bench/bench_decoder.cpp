/* agentaudiosrc
 * Copyright (C) 2026 agentaudiosrc authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* bench-decoder: CPU cost of the encoded-input decoder (StreamDecoder) per
 * second of audio, for each format a TTS service sends. Each format's
 * utterance (--seconds of 440 Hz, encoded once by GStreamer's own encoder)
 * is pushed in --chunk byte pieces and drained, --repeats times; every run
 * builds its chain afresh, as each utterance does. The time is the calling
 * thread's CPU time (all decoding runs on it), so other processes on a
 * shared machine barely move it; the best and the median run are reported.
 * A second figure times a stream of 200 ms (one FLAC block at 24 kHz: a
 * shorter one makes flacenc misorder its events): less the decoding of its 200 ms
 * at the per-second figure, that is the cost of building and tearing down a
 * chain, which every utterance pays once. --decoder NAME decodes as if that
 * were the only decoder of its formats installed (e.g. mpg123audiodec where
 * gstreamer1.0-libav's avdec_mp3 would be chosen). Last, the resident size's
 * growth over 500 more 200 ms utterances. Output: one JSON object
 * on stdout (and in --json FILE). */

#include <gst/gst.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <unistd.h>
#include <string>
#include <vector>

#include "encodedaudio.h"
#include "streamdecoder.h"

namespace {

struct Format {
  const char *name;
  const char *encoder;
  const char *caps;
  int rate;
  int channels;
  const char *needs;
};

const Format kFormats[] = {
    {"mp3-128k-44k1-mono", "lamemp3enc target=bitrate bitrate=128 cbr=true",
     "audio/mpeg,mpegversion=1,layer=3", 44100, 1, "lamemp3enc"},
    {"mp3-64k-24k-mono", "lamemp3enc target=bitrate bitrate=64 cbr=true",
     "audio/mpeg,mpegversion=1,layer=3", 24000, 1, "lamemp3enc"},
    {"ogg-opus-48k-mono", "opusenc ! oggmux", "audio/ogg", 48000, 1, "opusenc"},
    {"ogg-vorbis-44k1-mono", "vorbisenc ! oggmux", "audio/ogg", 44100, 1, "vorbisenc"},
    {"wav-s16-24k-mono", "wavenc", "audio/x-wav", 24000, 1, "wavenc"},
    {"flac-24k-mono", "flacenc", "audio/x-flac", 24000, 1, "flacenc"},
    {"aac-adts-24k-mono", "voaacenc ! audio/mpeg,stream-format=adts",
     "audio/mpeg,mpegversion=4,stream-format=adts", 24000, 1, "voaacenc"},
};

double thread_cpu_s() {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

struct Run {
  double cpu_s;
  uint64_t frames;
  bool ok;
};

Run decode_once(agentaudio::StreamDecoder &d, const std::vector<uint8_t> &bytes,
                std::size_t chunk) {
  uint64_t frames = 0;
  bool ok = true;
  agentaudio::DecodedAudioFn out = [&](const GstAudioInfo &, const uint8_t *,
                                       std::size_t n) { frames += n; };
  double t0 = thread_cpu_s();
  for (std::size_t pos = 0; pos < bytes.size(); pos += chunk)
    ok = d.push(bytes.data() + pos, std::min(chunk, bytes.size() - pos), out).ok() && ok;
  ok = d.drain(out).ok() && ok;
  return {thread_cpu_s() - t0, frames, ok};
}

/* As if `name` were the only decoder of its formats installed: every other
 * audio decoder whose sink caps meet its own gets rank none. */
bool prefer_decoder(const char *name) {
  GstElementFactory *mine = gst_element_factory_find(name);
  if (mine == nullptr)
    return false;
  auto sink_caps = [](GstElementFactory *f) {
    GstCaps *caps = gst_caps_new_empty();
    for (const GList *t = gst_element_factory_get_static_pad_templates(f); t != nullptr;
         t = t->next) {
      auto *templ = static_cast<GstStaticPadTemplate *>(t->data);
      if (templ->direction == GST_PAD_SINK)
        caps = gst_caps_merge(caps, gst_static_caps_get(&templ->static_caps));
    }
    return caps;
  };
  GstCaps *mine_caps = sink_caps(mine);
  GList *decoders = gst_element_factory_list_get_elements(
      GST_ELEMENT_FACTORY_TYPE_DECODER | GST_ELEMENT_FACTORY_TYPE_MEDIA_AUDIO,
      GST_RANK_NONE);
  for (GList *l = decoders; l != nullptr; l = l->next) {
    auto *f = GST_ELEMENT_FACTORY(l->data);
    if (f == mine)
      continue;
    GstCaps *c = sink_caps(f);
    if (gst_caps_can_intersect(c, mine_caps))
      gst_plugin_feature_set_rank(GST_PLUGIN_FEATURE(f), GST_RANK_NONE);
    gst_caps_unref(c);
  }
  gst_plugin_feature_list_free(decoders);
  if (gst_plugin_feature_get_rank(GST_PLUGIN_FEATURE(mine)) < GST_RANK_MARGINAL)
    gst_plugin_feature_set_rank(GST_PLUGIN_FEATURE(mine), GST_RANK_MARGINAL);
  gst_caps_unref(mine_caps);
  gst_object_unref(mine);
  return true;
}

/* Resident set size in KiB, from /proc/self/statm. */
long rss_kib() {
  long pages = 0, resident = 0;
  FILE *fp = fopen("/proc/self/statm", "r");
  if (fp == nullptr)
    return -1;
  if (fscanf(fp, "%ld %ld", &pages, &resident) != 2)
    resident = -1;
  fclose(fp);
  return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char **argv) {
  double seconds = 10.0;
  std::size_t chunk = 1024;
  int repeats = 15;
  const char *json_path = nullptr;
  const char *prefer = nullptr;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
      seconds = atof(argv[++i]);
    else if (!strcmp(argv[i], "--chunk") && i + 1 < argc)
      chunk = (std::size_t)atol(argv[++i]);
    else if (!strcmp(argv[i], "--repeats") && i + 1 < argc)
      repeats = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--json") && i + 1 < argc)
      json_path = argv[++i];
    else if (!strcmp(argv[i], "--decoder") && i + 1 < argc)
      prefer = argv[++i];
    else {
      fprintf(stderr,
              "usage: %s [--seconds S] [--chunk BYTES] [--repeats N] [--decoder NAME] "
              "[--json FILE]\n",
              argv[0]);
      return 2;
    }
  }
  gst_init(&argc, &argv);
  if (prefer != nullptr && !prefer_decoder(prefer)) {
    fprintf(stderr, "bench-decoder: no element %s\n", prefer);
    return 2;
  }

  std::string json = "{\n  \"gstreamer\": \"" + std::string(gst_version_string()) +
                     "\",\n  \"seconds\": " + std::to_string(seconds) +
                     ",\n  \"chunk_bytes\": " + std::to_string(chunk) +
                     ",\n  \"repeats\": " + std::to_string(repeats) +
                     ",\n  \"formats\": [";
  bool first = true;
  for (const Format &f : kFormats) {
    if (!encoded::have_element(f.needs)) {
      fprintf(stderr, "bench-decoder: %s skipped: %s not installed\n", f.name, f.needs);
      continue;
    }
    std::string err;
    std::vector<uint8_t> bytes =
        encoded::encode_sine(f.encoder, f.rate, f.channels, seconds, 440.0, &err);
    std::vector<uint8_t> short_bytes =
        encoded::encode_sine(f.encoder, f.rate, f.channels, 0.2, 440.0, &err);
    if (bytes.empty() || short_bytes.empty()) {
      fprintf(stderr, "bench-decoder: %s skipped: %s\n", f.name, err.c_str());
      continue;
    }
    GstCaps *caps = gst_caps_from_string(f.caps);
    agentaudio::StreamDecoder d("bench", caps);
    gst_caps_unref(caps);

    decode_once(d, bytes, chunk); /* warm: plugins loaded, caches filled */
    std::vector<double> cpu, setup;
    uint64_t frames = 0;
    bool ok = true;
    std::vector<std::string> chain;
    for (int r = 0; r < repeats; r++) {
      Run run = decode_once(d, bytes, chunk);
      cpu.push_back(run.cpu_s);
      frames = run.frames;
      ok = ok && run.ok;
      Run tiny = decode_once(d, short_bytes, chunk);
      setup.push_back(tiny.cpu_s);
      ok = ok && tiny.ok;
    }
    /* The chain, from one more push of the first chunk. */
    d.push(bytes.data(), std::min(chunk * 8, bytes.size()), [](auto &, auto, auto) {});
    chain = d.chain();
    d.reset();

    /* Memory: the resident size before and after 500 more utterances (a
     * chain built and taken down each time) should not grow. */
    long rss_before = rss_kib();
    for (int r = 0; r < 500; r++)
      decode_once(d, short_bytes, chunk);
    long rss_growth = rss_kib() - rss_before;

    double audio_s = (double)frames / f.rate;
    double best = *std::min_element(cpu.begin(), cpu.end());
    double med = median(cpu);
    double stream_200ms = median(setup);
    double setup_s = std::max(0.0, stream_200ms - 0.2 * med / audio_s);
    std::string chain_s;
    for (const auto &c : chain)
      chain_s += (chain_s.empty() ? "" : " ! ") + c;
    fprintf(stderr,
            "%-22s %7zu bytes  %-32s  cpu per s of audio: best %7.1f us, median %7.1f us "
            "(%.3f%% of a core); a 200 ms stream: %6.1f us, of which chain set-up and "
            "teardown %6.1f us; RSS %+ld KiB over 500 more utterances%s\n",
            f.name, bytes.size(), chain_s.c_str(), best / audio_s * 1e6,
            med / audio_s * 1e6, med / audio_s * 100, stream_200ms * 1e6, setup_s * 1e6,
            rss_growth, ok ? "" : "  (ERRORS)");
    char buf[1024];
    snprintf(buf, sizeof buf,
             "%s\n    {\"format\": \"%s\", \"caps\": \"%s\", \"chain\": \"%s\", "
             "\"bytes\": %zu, \"audio_s\": %.6f, \"cpu_us_per_audio_s_best\": %.2f, "
             "\"cpu_us_per_audio_s_median\": %.2f, \"stream_200ms_us_median\": %.2f, "
             "\"stream_setup_us\": %.2f, \"rss_growth_kib_500_utterances\": %ld, "
             "\"ok\": %s}",
             first ? "" : ",", f.name, f.caps, chain_s.c_str(), bytes.size(), audio_s,
             best / audio_s * 1e6, med / audio_s * 1e6, stream_200ms * 1e6, setup_s * 1e6,
             rss_growth, ok ? "true" : "false");
    json += buf;
    first = false;
  }
  json += "\n  ]\n}\n";
  fputs(json.c_str(), stdout);
  if (json_path != nullptr) {
    FILE *fp = fopen(json_path, "w");
    if (fp != nullptr) {
      fputs(json.c_str(), fp);
      fclose(fp);
    }
  }
  return 0;
}
