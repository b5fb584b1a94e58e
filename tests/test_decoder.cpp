/* agentaudiosrc — unit tests of the encoded-input decoder (StreamDecoder):
 * files made at test time by GStreamer's own encoders, pushed in random-size
 * chunks on the test's thread. */
#include <gst/check/gstcheck.h>

#include <dirent.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "encodedaudio.h"
#include "streamdecoder.h"

using agentaudio::StreamDecoder;
using Result = StreamDecoder::Result;

namespace {

/* One second of 440 Hz in a format, and what its decoded length may be:
 * `rate` samples of input, plus between `min_extra` and `max_extra` samples
 * that the codec adds or drops (`padding` says which and why). */
struct Format {
  const char *name;
  const char *encoder; /* gst-launch fragment */
  const char *caps;
  int rate;
  int channels;
  int frame; /* samples per codec frame */
  int hold; /* the most audio the chain holds back before a drain: a frame, an Ogg page */
  int min_extra;
  int max_extra;
  const char *padding;
  const char *needs[3]; /* elements the test needs: encoder, parser, decoder */
};

const Format kFormats[] = {
    /* ElevenLabs' default, mp3_44100_128. */
    {"MP3 CBR",
     "lamemp3enc target=bitrate bitrate=128 cbr=true",
     "audio/mpeg,mpegversion=1,layer=3",
     44100,
     1,
     1152,
     1152,
     576 + 529,
     576 + 529 + 1152,
     "LAME's 576-sample encoder delay and the 529 samples of decoder delay it pads "
     "for, rounded up to whole 1152-sample frames (no LAME tag to trim them)",
     {"lamemp3enc", "mpegaudioparse", nullptr}},
    {"MP3 VBR stereo",
     "lamemp3enc",
     "audio/mpeg,mpegversion=1,layer=3",
     44100,
     2,
     1152,
     1152,
     576 + 529,
     576 + 529 + 1152,
     "as MP3 CBR",
     {"lamemp3enc", "mpegaudioparse", nullptr}},
    /* OpenAI's `opus`: Ogg/Opus. */
    {"Ogg/Opus",
     "opusenc ! oggmux",
     "audio/ogg",
     48000,
     1,
     960,
     24000,
     0,
     0,
     "none: opusdec drops the 312-sample pre-skip of OpusHead and the last "
     "granule position trims the end",
     {"opusenc", "oggmux", "opusdec"}},
    /* Pages of at most 100 ms, as a streaming server flushes them (oggmux's
     * default holds up to 0.5 s per page, as the Opus file has: a page is
     * decoded only once it is complete). */
    {"Ogg/Vorbis stereo",
     "vorbisenc ! oggmux max-page-delay=100000000",
     "application/ogg",
     44100,
     2,
     2048,
     4410 + 2048,
     0,
     2048,
     "up to one long block: vorbisdec does not trim the last packet to the last "
     "granule position",
     {"vorbisenc", "oggmux", "vorbisdec"}},
    /* espeak-ng's output: WAV with a header, 22.05 kHz mono. */
    {"WAV",
     "wavenc",
     "audio/x-wav",
     16000,
     1,
     1,
     32,
     0,
     0,
     "none: PCM",
     {"wavenc", "wavparse", nullptr}},
    {"FLAC",
     "flacenc",
     "audio/x-flac",
     44100,
     1,
     4608,
     4608,
     0,
     0,
     "none: the last frame is as short as the input",
     {"flacenc", "flacparse", "flacdec"}},
    /* AAC in ADTS: voaacenc drops the last partial 1024-sample frame (448
     * samples here); decoders differ in whether they output the encoder's
     * 1024-sample priming frame (avdec_aac does, faad drops it). */
    {"AAC ADTS",
     "voaacenc ! audio/mpeg,stream-format=adts",
     "audio/mpeg,mpegversion=4,stream-format=adts",
     24000,
     1,
     1024,
     2048,
     -2048,
     1024,
     "voaacenc drops the last partial frame, the decoder may drop the priming frame",
     {"voaacenc", "aacparse", "avdec_aac|faad|fdkaacdec"}},
};
constexpr int kNumFormats = sizeof(kFormats) / sizeof(kFormats[0]);

/* `needs` entries may list alternatives: "avdec_aac|faad". */
bool format_available(const Format &f, std::string *why) {
  for (const char *e : f.needs) {
    if (e == nullptr)
      continue;
    bool any = false;
    gchar **alternatives = g_strsplit(e, "|", -1);
    for (gchar **a = alternatives; *a != nullptr; a++)
      any = any || encoded::have_element(*a);
    g_strfreev(alternatives);
    if (!any) {
      *why = std::string(e) + " is not installed";
      return false;
    }
  }
  return true;
}

/* Encoded once per process: the encoders are deterministic. */
const std::vector<uint8_t> &file_for(int i) {
  static std::vector<uint8_t> files[kNumFormats];
  if (files[i].empty()) {
    std::string err;
    files[i] = encoded::encode_sine(kFormats[i].encoder, kFormats[i].rate,
                                    kFormats[i].channels, 1.0, 440.0, &err);
    fail_if(files[i].empty(), "%s: cannot encode: %s", kFormats[i].name, err.c_str());
  }
  return files[i];
}

GstCaps *caps_of(const char *s) {
  GstCaps *c = gst_caps_from_string(s);
  fail_unless(c != nullptr);
  return c;
}

/* Everything a decoder handed out: channel 0 as doubles, every format seen,
 * and whether each piece came on the pushing thread. */
struct Collected {
  std::vector<double> ch0;
  std::vector<uint8_t> raw; /* every byte, for comparing two runs */
  std::vector<GstAudioInfo> infos;
  uint64_t frames = 0;
  GThread *thread = g_thread_self();
  bool wrong_thread = false;

  int rate() const { return infos.empty() ? 0 : GST_AUDIO_INFO_RATE(&infos.back()); }

  agentaudio::DecodedAudioFn fn() {
    return [this](const GstAudioInfo &info, const uint8_t *data, std::size_t n) {
      if (g_thread_self() != thread)
        wrong_thread = true;
      if (infos.empty() || !gst_audio_info_is_equal(&infos.back(), &info))
        infos.push_back(info);
      fail_unless(GST_AUDIO_INFO_LAYOUT(&info) == GST_AUDIO_LAYOUT_INTERLEAVED);
      const std::size_t bps = GST_AUDIO_INFO_BPF(&info) / GST_AUDIO_INFO_CHANNELS(&info);
      fail_unless((bps & (bps - 1)) != 0 || reinterpret_cast<uintptr_t>(data) % bps == 0,
                  "samples not aligned");
      const int ch = GST_AUDIO_INFO_CHANNELS(&info);
      const int bpf = GST_AUDIO_INFO_BPF(&info);
      for (std::size_t i = 0; i < n; i++) {
        const uint8_t *p = data + i * bpf;
        double v = 0;
        switch (GST_AUDIO_INFO_FORMAT(&info)) {
          case GST_AUDIO_FORMAT_S16LE:
            v = *(const int16_t *)p / 32768.0;
            break;
          case GST_AUDIO_FORMAT_S32LE:
            v = *(const int32_t *)p / 2147483648.0;
            break;
          case GST_AUDIO_FORMAT_F32LE:
            v = *(const float *)p;
            break;
          case GST_AUDIO_FORMAT_F64LE:
            v = *(const double *)p;
            break;
          default:
            fail("unexpected decoded format %s", GST_AUDIO_INFO_NAME(&info));
        }
        ch0.push_back(v);
      }
      (void)ch;
      raw.insert(raw.end(), data, data + n * bpf);
      frames += n;
    };
  }
};

/* Positive-going zero crossings per second between 10% and 90% of the
 * signal (clear of the codecs' start and end transients). */
double frequency(const std::vector<double> &v, int rate, std::size_t from = 0,
                 std::size_t to = 0) {
  if (to == 0)
    to = v.size();
  std::size_t a = from + (to - from) / 10, b = from + (to - from) * 9 / 10;
  std::size_t crossings = 0, first = 0, last = 0;
  for (std::size_t i = a + 1; i < b; i++)
    if (v[i - 1] < 0 && v[i] >= 0) {
      if (crossings == 0)
        first = i;
      last = i;
      crossings++;
    }
  return crossings < 2 ? 0.0 : (crossings - 1) * (double)rate / (last - first);
}

int thread_count() {
  int n = 0;
  DIR *d = opendir("/proc/self/task");
  if (d == nullptr)
    return -1;
  while (struct dirent *e = readdir(d))
    if (e->d_name[0] != '.')
      n++;
  closedir(d);
  return n;
}

/* Pushes `bytes` in random-size chunks (1 to 1500 bytes, seeded): the
 * statuses that were not OK are appended to `bad`. */
void push_random(StreamDecoder &d, const std::vector<uint8_t> &bytes, Collected &c,
                 unsigned seed, std::vector<StreamDecoder::Status> *bad = nullptr,
                 std::size_t from = 0, std::size_t to = SIZE_MAX) {
  std::mt19937 rng(seed);
  to = std::min(to, bytes.size());
  auto fn = c.fn();
  for (std::size_t pos = from; pos < to;) {
    std::size_t n = std::min<std::size_t>(to - pos, rng() % 1500 + 1);
    StreamDecoder::Status st = d.push(bytes.data() + pos, n, fn);
    if (!st.ok()) {
      if (bad != nullptr)
        bad->push_back(st);
      else
        fail("push at %zu: %s", pos, st.message.c_str());
    }
    pos += n;
  }
}

#define SKIP_UNLESS_AVAILABLE(f)                        \
  do {                                                  \
    std::string why_;                                   \
    if (!format_available(f, &why_)) {                  \
      g_print("SKIP %s: %s\n", (f).name, why_.c_str()); \
      return;                                           \
    }                                                   \
  } while (0)

}  // namespace

/* ---- every format ---- */

GST_START_TEST(test_decodes_random_chunks_with_pitch_and_duration) {
  const Format &f = kFormats[__i__];
  SKIP_UNLESS_AVAILABLE(f);
  const auto &file = file_for(__i__);
  GstCaps *caps = caps_of(f.caps);
  StreamDecoder d("speech", caps);
  Collected c;

  /* No element runs a thread of its own, except oggdemux's idle helper
   * (it would send upstream seeks, which a non-seekable source never gets):
   * it lives as long as the stream. */
  int threads_before = thread_count();
  push_random(d, file, c, 15);
  std::vector<std::string> chain = d.chain();
  int helpers = std::count(chain.begin(), chain.end(), "oggdemux");
  fail_unless(thread_count() <= threads_before + helpers,
              "%s: the chain started a thread (%d -> %d)", f.name, threads_before,
              thread_count());
  StreamDecoder::Status st = d.drain(c.fn());
  fail_unless(thread_count() <= threads_before);
  fail_unless(st.ok(), "%s: drain: %s", f.name, st.message.c_str());
  fail_if(c.wrong_thread, "%s: audio handed out on another thread", f.name);

  fail_unless_equals_int(c.infos.size(), 1);
    /* faad in GStreamer 1.26 (Debian 13) decodes this mono AAC as stereo: the
   * decoder's choice, which the element converts like any other. */
  const int channels = GST_AUDIO_INFO_CHANNELS(&c.infos[0]);
  fail_unless(channels == f.channels ||
                  (g_str_has_prefix(f.name, "AAC") && f.channels == 1 && channels == 2),
              "%s: %d channels decoded, %d encoded", f.name, channels, f.channels);
  fail_unless_equals_int(c.rate(), f.rate);
  long extra = (long)c.frames - f.rate;
  fail_unless(extra >= f.min_extra && extra <= f.max_extra,
              "%s: %lu frames decoded, %ld more than the input; allowed %d..%d (%s)",
              f.name, (unsigned long)c.frames, extra, f.min_extra, f.max_extra,
              f.padding);
  double hz = frequency(c.ch0, c.rate());
  fail_unless(std::fabs(hz - 440.0) < 2.0, "%s: %.2f Hz", f.name, hz);
  fail_unless(d.chain().empty());
  fail_unless_equals_uint64(d.pushed_bytes(), 0);
  gst_caps_unref(caps);
}
GST_END_TEST;

/* The output does not depend on how the bytes were cut. */
GST_START_TEST(test_chunking_does_not_change_the_samples) {
  const Format &f = kFormats[__i__];
  SKIP_UNLESS_AVAILABLE(f);
  const auto &file = file_for(__i__);
  GstCaps *caps = caps_of(f.caps);
  StreamDecoder d("speech", caps);
  Collected a, b;
  push_random(d, file, a, 1);
  d.drain(a.fn());
  /* The whole file in one push. */
  d.push(file.data(), file.size(), b.fn());
  d.drain(b.fn());
  fail_unless(a.raw.size() > 0);
  fail_unless(a.raw == b.raw, "%s: %zu vs %zu bytes decoded, or different samples",
              f.name, a.raw.size(), b.raw.size());
  gst_caps_unref(caps);
}
GST_END_TEST;

/* A stream cut at several points (mid-frame): what the chain holds back
 * comes out at drain(), and undecoded_time() had estimated it to within
 * what the format holds (a frame; an Ogg page, whose cut part never
 * decodes). Before any audio has come out there is no byte rate to
 * estimate from. */
GST_START_TEST(test_drain_outputs_the_held_tail_as_estimated) {
  const Format &f = kFormats[__i__];
  SKIP_UNLESS_AVAILABLE(f);
  const auto &file = file_for(__i__);
  GstCaps *caps = caps_of(f.caps);
  StreamDecoder d("speech", caps);
  const GstClockTimeDiff hold = gst_util_uint64_scale_int(f.hold, GST_SECOND, f.rate);
  int estimated = 0;
  for (int percent : {30, 45, 60, 75, 90, 100}) {
    Collected c;
    std::size_t cut = std::min(file.size(), file.size() * percent / 100 + 7);
    push_random(d, file, c, 7, nullptr, 0, cut);
    uint64_t before = c.frames;
    /* A WAV header that declares the data's size ends the stream at its
     * last byte: nothing is open any more. */
    if (d.stream_open())
      fail_unless_equals_uint64(d.decoded_time(),
                                gst_util_uint64_scale_int(before, GST_SECOND, f.rate));
    GstClockTime estimate = d.undecoded_time();
    StreamDecoder::Status st = d.drain(c.fn());
    /* A cut frame or page is left over: a warning that says so. */
    if (percent == 100)
      fail_unless(st.ok(), "%s: %s", f.name, st.message.c_str());
    else
      fail_unless(st.ok() || before == 0 ||
                      (st.result == Result::WARNING &&
                       st.message.find("did not decode") != std::string::npos),
                  "%s: %s", f.name, st.message.c_str());
    GstClockTimeDiff tail =
        gst_util_uint64_scale_int(c.frames - before, GST_SECOND, f.rate);
    GST_INFO("%s cut at %d%%: %" GST_STIME_FORMAT " came out at drain, %" GST_TIME_FORMAT
             " estimated",
             f.name, percent, GST_STIME_ARGS(tail), GST_TIME_ARGS(estimate));
    if (!GST_CLOCK_TIME_IS_VALID(estimate)) {
      fail_unless_equals_uint64(before, 0);
      continue;
    }
    estimated++;
    fail_unless(std::llabs((GstClockTimeDiff)estimate - tail) <= hold,
                "%s cut at %d%%: %" GST_STIME_FORMAT
                " came out at drain, %" GST_TIME_FORMAT " estimated",
                f.name, percent, GST_STIME_ARGS(tail), GST_TIME_ARGS(estimate));
  }
  fail_unless(estimated >= 3, "%s: only %d estimates", f.name, estimated);
  gst_caps_unref(caps);
}
GST_END_TEST;

/* After drain() a new stream starts: a second file (new header) decodes to
 * the same samples as the first. */
GST_START_TEST(test_second_stream_after_drain) {
  const Format &f = kFormats[__i__];
  SKIP_UNLESS_AVAILABLE(f);
  const auto &file = file_for(__i__);
  GstCaps *caps = caps_of(f.caps);
  StreamDecoder d("speech", caps);
  Collected a, b;
  push_random(d, file, a, 3);
  fail_unless(d.drain(a.fn()).ok());
  push_random(d, file, b, 4);
  fail_unless(d.drain(b.fn()).ok());
  fail_unless(a.frames > 0);
  fail_unless(a.raw == b.raw, "%s: the second stream decoded to %lu frames, not %lu",
              f.name, (unsigned long)b.frames, (unsigned long)a.frames);
  gst_caps_unref(caps);
}
GST_END_TEST;

/* Bytes of garbage in the middle: whatever the chain makes of them (a
 * parser resynchronises, a decoder warns, or the stream fails and
 * restarts), the decoder does not crash or hang, audio from before the
 * garbage was handed out, and the next stream decodes as if nothing had
 * happened. */
GST_START_TEST(test_garbage_in_the_middle_recovers) {
  const Format &f = kFormats[__i__];
  SKIP_UNLESS_AVAILABLE(f);
  const auto &file = file_for(__i__);
  GstCaps *caps = caps_of(f.caps);
  StreamDecoder d("speech", caps);

  /* At 70% of the bytes: past the headers (Vorbis' take half its file). */
  const std::size_t at = file.size() * 7 / 10;
  std::vector<uint8_t> bad(file.begin(), file.begin() + at);
  std::mt19937 rng(99);
  for (int i = 0; i < 3000; i++)
    bad.push_back((uint8_t)rng());
  bad.insert(bad.end(), file.begin() + at, file.end());

  Collected c;
  std::vector<StreamDecoder::Status> statuses;
  push_random(d, bad, c, 5, &statuses);
  StreamDecoder::Status st = d.drain(c.fn());
  if (!st.ok())
    statuses.push_back(st);
  /* Every format says something: a parser's skipped bytes, a lost page,
   * or (WAV, whose declared size now ends early) the rest failing. */
  fail_if(statuses.empty(), "%s: garbage went unreported", f.name);
  for (const auto &s : statuses) {
    GST_INFO("%s: %s", f.name, s.message.c_str());
    fail_unless(s.message.rfind("speech", 0) == 0,
                "%s: message does not name the stream: %s", f.name, s.message.c_str());
  }
  /* What came before the garbage was decoded (Ogg: but the page it cut). */
  fail_unless(c.frames >= (uint64_t)f.rate * 3 / 10, "%s: only %lu frames", f.name,
              (unsigned long)c.frames);

  Collected clean, again;
  {
    StreamDecoder ref("speech", caps);
    push_random(ref, file, clean, 8);
    ref.drain(clean.fn());
  }
  push_random(d, file, again, 8);
  fail_unless(d.drain(again.fn()).ok());
  fail_unless(again.raw == clean.raw, "%s: after garbage the next stream differs",
              f.name);
  gst_caps_unref(caps);
}
GST_END_TEST;

/* A stream cut short (mid-frame, at 70% of its bytes): drain() outputs what
 * can be decoded, and the next stream decodes in full. */
GST_START_TEST(test_truncated_stream_drains_and_recovers) {
  const Format &f = kFormats[__i__];
  SKIP_UNLESS_AVAILABLE(f);
  const auto &file = file_for(__i__);
  GstCaps *caps = caps_of(f.caps);
  StreamDecoder d("speech", caps);
  Collected cut;
  std::vector<StreamDecoder::Status> statuses;
  push_random(d, file, cut, 6, &statuses, 0, file.size() * 7 / 10 + 3);
  StreamDecoder::Status st = d.drain(cut.fn());
  GST_INFO("%s truncated: %lu frames, drain: %s", f.name, (unsigned long)cut.frames,
           st.message.c_str());
  fail_unless(statuses.empty(), "%s: %s", f.name, statuses[0].message.c_str());
  fail_if(st.failed() && cut.frames > 0, "%s: %s", f.name, st.message.c_str());
  /* At least a tenth of the second (Vorbis' headers take half its bytes;
   * Ogg pages are decoded whole, a cut page is lost), and no more than
   * the bytes held. */
  fail_unless(cut.frames >= (uint64_t)f.rate / 10, "%s: only %lu frames", f.name,
              (unsigned long)cut.frames);
  fail_unless(cut.frames <= (uint64_t)f.rate * 8 / 10 + f.max_extra + f.frame);

  Collected full;
  push_random(d, file, full, 6);
  fail_unless(d.drain(full.fn()).ok());
  long extra = (long)full.frames - f.rate;
  fail_unless(extra >= f.min_extra && extra <= f.max_extra, "%s: %ld", f.name, extra);
  /* What the cut stream gave is the start of the whole one, to the sample,
   * but for its last frame (which a decoder may finish differently at
   * EOS). */
  std::size_t bpf = GST_AUDIO_INFO_BPF(&full.infos[0]);
  std::size_t same = (cut.frames > (uint64_t)f.frame ? cut.frames - f.frame : 0) * bpf;
  fail_unless(same <= full.raw.size() &&
                  std::equal(cut.raw.begin(), cut.raw.begin() + same, full.raw.begin()),
              "%s: the cut stream's audio is not the start of the whole one", f.name);
  gst_caps_unref(caps);
}
GST_END_TEST;

/* reset() drops what the chain holds, hands nothing out, and the next push
 * starts a new stream. */
GST_START_TEST(test_reset_drops_and_restarts) {
  const Format &f = kFormats[__i__];
  SKIP_UNLESS_AVAILABLE(f);
  const auto &file = file_for(__i__);
  GstCaps *caps = caps_of(f.caps);
  StreamDecoder d("speech", caps);
  Collected half;
  push_random(d, file, half, 2, nullptr, 0, file.size() / 2);
  fail_unless(d.stream_open());
  uint64_t frames = half.frames;
  d.reset();
  fail_unless_equals_uint64(half.frames, frames);
  fail_unless(!d.stream_open());
  fail_unless(d.chain().empty());
  fail_unless_equals_uint64(d.undecoded_bytes(), 0);

  Collected full, ref;
  push_random(d, file, full, 2);
  fail_unless(d.drain(full.fn()).ok());
  StreamDecoder r("speech", caps);
  push_random(r, file, ref, 2);
  r.drain(ref.fn());
  fail_unless(full.raw == ref.raw);
  gst_caps_unref(caps);
}
GST_END_TEST;

/* ---- single behaviours ---- */

/* Each installed AAC decoder in turn (the others' rank set to none for the
 * test): on Debian faad comes with gstreamer1.0-plugins-bad, avdec_aac with
 * gstreamer1.0-libav. */
GST_START_TEST(test_every_installed_aac_decoder) {
  const int aac = kNumFormats - 1;
  const Format &f = kFormats[aac];
  if (!encoded::have_element("voaacenc") && !encoded::have_element("avenc_aac")) {
    g_print("SKIP AAC: no AAC encoder installed (voaacenc: gstreamer1.0-plugins-bad)\n");
    return;
  }
  SKIP_UNLESS_AVAILABLE(f);
  const auto &file = file_for(aac);
  const char *decoders[] = {"avdec_aac", "faad", "fdkaacdec"};
  int tried = 0;
  for (const char *name : decoders) {
    GstElementFactory *mine = gst_element_factory_find(name);
    if (mine == nullptr)
      continue;
    std::vector<std::pair<GstPluginFeature *, guint>> saved;
    for (const char *other : decoders) {
      GstPluginFeature *o = GST_PLUGIN_FEATURE(gst_element_factory_find(other));
      if (o == nullptr)
        continue;
      saved.emplace_back(o, gst_plugin_feature_get_rank(o));
      gst_plugin_feature_set_rank(
          o, o == GST_PLUGIN_FEATURE(mine) ? GST_RANK_PRIMARY + 1 : GST_RANK_NONE);
    }
    GstCaps *caps = caps_of(f.caps);
    StreamDecoder d("speech", caps);
    Collected c;
    push_random(d, file, c, 11);
    std::vector<std::string> chain = d.chain();
    StreamDecoder::Status st = d.drain(c.fn());
    for (auto &[o, rank] : saved) {
      gst_plugin_feature_set_rank(o, rank);
      gst_object_unref(o);
    }
    fail_unless(st.ok(), "%s: %s", name, st.message.c_str());
    fail_unless(std::find(chain.begin(), chain.end(), name) != chain.end(),
                "%s was not used", name);
    long extra = (long)c.frames - f.rate;
    fail_unless(extra >= f.min_extra && extra <= f.max_extra, "%s: %ld extra frames",
                name, extra);
    double hz = frequency(c.ch0, c.rate());
    fail_unless(std::fabs(hz - 440.0) < 2.0, "%s: %.2f Hz", name, hz);
    g_print("AAC with %s: %lu frames for %d input samples\n", name,
            (unsigned long)c.frames, f.rate);
    gst_caps_unref(caps);
    gst_object_unref(mine);
    tried++;
  }
  if (tried == 0)
    g_print(
        "SKIP AAC decoding: no AAC decoder installed (install gstreamer1.0-libav or "
        "gstreamer1.0-plugins-bad)\n");
}
GST_END_TEST;

/* Opus packets with no container, one per push (as an application with
 * packets from RTP or a WebSocket pushes them): the caps must say the
 * channel mapping, as opusenc's do. */
GST_START_TEST(test_opus_packets_one_per_push) {
  if (!encoded::have_element("opusenc") || !encoded::have_element("opusdec")) {
    g_print("SKIP Opus packets: opusenc/opusdec not installed\n");
    return;
  }
  /* multifilesink writes each packet opusenc makes to a file of its own. */
  std::vector<std::vector<uint8_t>> packets;
  std::string err;
  gchar *path = nullptr;
  gint fd = g_file_open_tmp("agentaudio-XXXXXX.opus", &path, nullptr);
  fail_unless(fd >= 0);
  close(fd);
  std::string desc = std::string(
                         "audiotestsrc num-buffers=100 samplesperbuffer=480 "
                         "freq=440 volume=0.5 ! audio/x-raw,rate=48000,channels=1 ! "
                         "opusenc ! multifilesink next-file=buffer location=") +
                     path + ".%d";
  fail_unless(encoded::run_pipeline(desc, &err), "%s", err.c_str());
  for (int i = 0;; i++) {
    gchar *name = g_strdup_printf("%s.%d", path, i);
    gchar *contents = nullptr;
    gsize len = 0;
    bool ok = g_file_get_contents(name, &contents, &len, nullptr);
    if (ok) {
      packets.emplace_back(contents, contents + len);
      g_unlink(name);
    }
    g_free(contents);
    g_free(name);
    if (!ok)
      break;
  }
  g_unlink(path);
  g_free(path);
  fail_unless(packets.size() >= 50, "%zu packets", packets.size());

  GstCaps *caps = caps_of("audio/x-opus,channel-mapping-family=0,channels=1,rate=48000");
  StreamDecoder d("speech", caps);
  Collected c;
  for (const auto &p : packets) {
    StreamDecoder::Status st = d.push(p.data(), p.size(), c.fn());
    fail_unless(st.ok(), "%s", st.message.c_str());
  }
  fail_unless(d.drain(c.fn()).ok());
  /* No OpusHead, so no pre-skip is dropped: the 312 samples of encoder
   * look-ahead stay, rounded up to whole 20 ms packets. */
  long extra = (long)c.frames - 48000;
  fail_unless(extra >= 312 && extra <= 312 + 960, "%ld", extra);
  double hz = frequency(c.ch0, c.rate());
  fail_unless(std::fabs(hz - 440.0) < 2.0, "%.2f Hz", hz);
  gst_caps_unref(caps);

  /* Without the channel mapping opusdec cannot start: a clear error. */
  caps = caps_of("audio/x-opus");
  StreamDecoder bare("speech", caps);
  StreamDecoder::Status st = bare.push(packets[0].data(), packets[0].size(), c.fn());
  fail_unless(st.failed());
  fail_unless(st.message.find("not-negotiated") != std::string::npos, "%s",
              st.message.c_str());
  gst_caps_unref(caps);
}
GST_END_TEST;

GST_START_TEST(test_raw_caps_are_not_encoded) {
  GstCaps *raw =
      caps_of("audio/x-raw,format=S16LE,rate=16000,channels=1,layout=interleaved");
  fail_if(StreamDecoder::is_encoded(raw));
  std::string why;
  fail_if(StreamDecoder::can_decode(raw, &why));
  fail_unless(why.find("not an encoded") != std::string::npos, "%s", why.c_str());
  GstCaps *mp3 = caps_of("audio/mpeg,mpegversion=1,layer=3");
  fail_unless(StreamDecoder::is_encoded(mp3));
  GstCaps *video = caps_of("video/x-h264");
  fail_if(StreamDecoder::is_encoded(video));
  gst_caps_unref(raw);
  gst_caps_unref(mp3);
  gst_caps_unref(video);
}
GST_END_TEST;

GST_START_TEST(test_installed_formats_can_be_decoded) {
  const char *formats[] = {"audio/mpeg,mpegversion=1,layer=3", "audio/ogg",
                           "application/ogg", "audio/x-wav", "audio/x-flac"};
  for (const char *s : formats) {
    GstCaps *caps = caps_of(s);
    std::string why;
    fail_unless(StreamDecoder::can_decode(caps, &why), "%s: %s", s, why.c_str());
    gst_caps_unref(caps);
  }
}
GST_END_TEST;

GST_START_TEST(test_unknown_format_names_what_is_missing) {
  GstCaps *caps = caps_of("audio/x-nonexistent");
  std::string why, missing;
  fail_if(StreamDecoder::can_decode(caps, &why, &missing));
  fail_unless(why.find("audio/x-nonexistent") != std::string::npos, "%s", why.c_str());
  fail_unless(missing == "audio/x-nonexistent", "%s", missing.c_str());

  StreamDecoder d("background", caps);
  Collected c;
  const uint8_t bytes[64] = {0};
  StreamDecoder::Status st = d.push(bytes, sizeof bytes, c.fn());
  fail_unless(st.failed());
  fail_unless(st.message.rfind("background: cannot decode", 0) == 0, "%s",
              st.message.c_str());
  fail_unless(st.missing_caps == "audio/x-nonexistent");
  fail_if(st.repeated);
  /* The same failure on the next push is marked as a repeat. */
  st = d.push(bytes, sizeof bytes, c.fn());
  fail_unless(st.failed() && st.repeated);
  gst_caps_unref(caps);
}
GST_END_TEST;

namespace {
/* Sets the rank of every installed element factory in `names` to none for
 * the scope, as if the plugin were not installed. */
struct Uninstall {
  std::vector<std::pair<GstPluginFeature *, guint>> saved;
  explicit Uninstall(std::initializer_list<const char *> names) {
    for (const char *n : names) {
      GstElementFactory *f = gst_element_factory_find(n);
      if (f == nullptr)
        continue;
      saved.emplace_back(GST_PLUGIN_FEATURE(f),
                         gst_plugin_feature_get_rank(GST_PLUGIN_FEATURE(f)));
      gst_plugin_feature_set_rank(GST_PLUGIN_FEATURE(f), GST_RANK_NONE);
    }
  }
  ~Uninstall() {
    for (auto &[f, rank] : saved) {
      gst_plugin_feature_set_rank(f, rank);
      gst_object_unref(f);
    }
  }
};
}  // namespace

/* A real codec whose decoder is missing: the message names the codec and
 * the Debian package. */
GST_START_TEST(test_missing_mp3_decoder_names_the_package) {
  Uninstall gone({"mpg123audiodec", "avdec_mp3", "avdec_mp3float", "flump3dec", "mad"});
  GstCaps *caps = caps_of("audio/mpeg,mpegversion=1,layer=3");
  std::string why, missing;
  fail_if(StreamDecoder::can_decode(caps, &why, &missing));
  GST_INFO("%s", why.c_str());
  fail_unless(why.find("MP3") != std::string::npos, "%s", why.c_str());
  fail_unless(why.find("install gstreamer1.0-plugins-good") != std::string::npos, "%s",
              why.c_str());
  fail_unless(missing.rfind("audio/mpeg", 0) == 0, "%s", missing.c_str());

  /* Pushed anyway: the parser is plugged, then nothing takes its frames. */
  if (encoded::have_element("lamemp3enc")) {
    StreamDecoder d("speech", caps);
    Collected c;
    std::vector<StreamDecoder::Status> bad;
    push_random(d, file_for(0), c, 3, &bad);
    fail_unless(!bad.empty() && bad[0].failed());
    GST_INFO("%s", bad[0].message.c_str());
    fail_unless(bad[0].message.rfind("speech (MPEG-1 Layer 3 (MP3)): no ", 0) == 0, "%s",
                bad[0].message.c_str());
    fail_unless(
        bad[0].message.find("install gstreamer1.0-plugins-good") != std::string::npos,
        "%s", bad[0].message.c_str());
    fail_unless(bad[0].missing_caps.rfind("audio/mpeg", 0) == 0, "%s",
                bad[0].missing_caps.c_str());
    fail_unless_equals_uint64(c.frames, 0);
  }
  gst_caps_unref(caps);
}
GST_END_TEST;

/* A decoder missing for what is inside a container is found only when the
 * stream's header arrives: the push fails naming the codec inside. */
GST_START_TEST(test_missing_decoder_inside_ogg) {
  const Format &f = kFormats[3]; /* Ogg/Vorbis */
  SKIP_UNLESS_AVAILABLE(f);
  const auto &file = file_for(3);
  Uninstall gone({"vorbisdec", "avdec_vorbis", "ivorbisdec"});
  GstCaps *caps = caps_of(f.caps);
  fail_unless(StreamDecoder::can_decode(caps)); /* the container is known */
  StreamDecoder d("speech", caps);
  Collected c;
  std::vector<StreamDecoder::Status> bad;
  push_random(d, file, c, 1, &bad);
  StreamDecoder::Status st = d.drain(c.fn());
  if (!st.ok())
    bad.push_back(st);
  fail_unless(!bad.empty());
  fail_unless(bad[0].failed());
  GST_INFO("%s", bad[0].message.c_str());
  fail_unless(bad[0].message.find("Vorbis") != std::string::npos, "%s",
              bad[0].message.c_str());
  fail_unless(bad[0].missing_caps.rfind("audio/x-vorbis", 0) == 0, "%s",
              bad[0].missing_caps.c_str());
  fail_unless_equals_uint64(c.frames, 0);
  gst_caps_unref(caps);
}
GST_END_TEST;

/* A WAV stream whose header is garbage fails with wavparse's error; the
 * following pushes of that input fail as repeats, and after drain() a good
 * stream decodes. */
GST_START_TEST(test_wav_garbage_header_fails_then_recovers) {
  const Format &f = kFormats[4];
  SKIP_UNLESS_AVAILABLE(f);
  const auto &file = file_for(4);
  GstCaps *caps = caps_of(f.caps);
  StreamDecoder d("speech", caps);
  std::vector<uint8_t> junk(4096);
  std::mt19937 rng(4);
  for (auto &b : junk)
    b = (uint8_t)rng();
  Collected c;
  std::vector<StreamDecoder::Status> bad;
  push_random(d, junk, c, 9, &bad);
  StreamDecoder::Status st = d.drain(c.fn());
  if (!st.ok())
    bad.push_back(st);
  fail_unless(!bad.empty());
  fail_unless(bad[0].failed() && !bad[0].repeated);
  GST_INFO("%s (%s)", bad[0].message.c_str(), bad[0].debug.c_str());
  fail_unless(bad[0].message.rfind("speech (WAV", 0) == 0, "%s", bad[0].message.c_str());
  /* The rest of that input fails the same way: repeats. */
  for (std::size_t i = 1; i < bad.size(); i++)
    fail_unless(bad[i].repeated == (bad[i].message == bad[0].message), "%s",
                bad[i].message.c_str());
  fail_unless_equals_uint64(c.frames, 0);

  Collected good;
  push_random(d, file, good, 9);
  fail_unless(d.drain(good.fn()).ok());
  fail_unless_equals_uint64(good.frames, (uint64_t)f.rate);
  gst_caps_unref(caps);
}
GST_END_TEST;

/* Bytes that hold no MP3 frame at all: drain() says so (mpegaudioparse's
 * own error, or ours when an element says nothing). */
GST_START_TEST(test_no_audio_in_stream_is_an_error_at_drain) {
  const Format &f = kFormats[0];
  SKIP_UNLESS_AVAILABLE(f);
  GstCaps *caps = caps_of(f.caps);
  StreamDecoder d("speech", caps);
  std::vector<uint8_t> text(3000, 'x');
  Collected c;
  fail_unless(d.push(text.data(), text.size(), c.fn()).ok());
  StreamDecoder::Status st = d.drain(c.fn());
  fail_unless(st.failed());
  GST_INFO("%s", st.message.c_str());
  fail_unless(st.message.rfind("speech (MPEG-1 Layer 3 (MP3)): ", 0) == 0, "%s",
              st.message.c_str());
  fail_unless_equals_uint64(c.frames, 0);
  fail_unless(d.drain(c.fn()).ok()); /* nothing open any more */
  gst_caps_unref(caps);
}
GST_END_TEST;

/* MP3 whose sample rate changes mid-stream (two files back to back, no
 * drain): each piece comes with its own format. */
GST_START_TEST(test_format_change_mid_stream_is_reported) {
  const Format &f = kFormats[0];
  SKIP_UNLESS_AVAILABLE(f);
  std::vector<uint8_t> a = file_for(0);
  std::vector<uint8_t> b = encoded::encode_sine(
      "lamemp3enc target=bitrate bitrate=64 cbr=true", 24000, 2, 1.0);
  fail_unless(!b.empty());
  std::vector<uint8_t> both = a;
  both.insert(both.end(), b.begin(), b.end());
  GstCaps *caps = caps_of(f.caps);
  StreamDecoder d("speech", caps);
  Collected c;
  push_random(d, both, c, 12);
  fail_unless(d.drain(c.fn()).ok());
  fail_unless_equals_int(c.infos.size(), 2);
  fail_unless_equals_int(GST_AUDIO_INFO_RATE(&c.infos[0]), 44100);
  fail_unless_equals_int(GST_AUDIO_INFO_RATE(&c.infos[1]), 24000);
  fail_unless_equals_int(GST_AUDIO_INFO_CHANNELS(&c.infos[1]), 2);
  gst_caps_unref(caps);
}
GST_END_TEST;

/* Two Ogg/Opus streams back to back without drain() (a chained Ogg file):
 * oggdemux switches streams and the decoder follows. */
GST_START_TEST(test_chained_ogg_streams) {
  const Format &f = kFormats[2];
  SKIP_UNLESS_AVAILABLE(f);
  std::vector<uint8_t> both = file_for(2);
  both.insert(both.end(), file_for(2).begin(), file_for(2).end());
  GstCaps *caps = caps_of(f.caps);
  StreamDecoder d("speech", caps);
  Collected c;
  push_random(d, both, c, 13);
  fail_unless(d.drain(c.fn()).ok());
  fail_unless(c.frames >= 2 * 48000 - 960 && c.frames <= 2 * 48000 + 960, "%lu",
              (unsigned long)c.frames);
  gst_caps_unref(caps);
}
GST_END_TEST;

/* push() from inside the output is refused, not re-entered. */
GST_START_TEST(test_push_from_the_output_is_refused) {
  const Format &f = kFormats[4];
  SKIP_UNLESS_AVAILABLE(f);
  const auto &file = file_for(4);
  GstCaps *caps = caps_of(f.caps);
  StreamDecoder d("speech", caps);
  bool refused = false;
  agentaudio::DecodedAudioFn out = [&](const GstAudioInfo &, const uint8_t *,
                                       std::size_t) {
    StreamDecoder::Status st = d.push(file.data(), 10, out);
    refused = refused || st.failed();
  };
  d.push(file.data(), file.size(), out);
  d.drain(out);
  fail_unless(refused);
  gst_caps_unref(caps);
}
GST_END_TEST;

/* Pushing all of a WAV file decodes all of it before push() returns (no
 * thread does it later), and the undecoded bytes are then only the header. */
GST_START_TEST(test_output_is_synchronous) {
  const Format &f = kFormats[4];
  SKIP_UNLESS_AVAILABLE(f);
  const auto &file = file_for(4);
  GstCaps *caps = caps_of(f.caps);
  StreamDecoder d("speech", caps);
  Collected c;
  fail_unless(d.push(file.data(), file.size(), c.fn()).ok());
  fail_unless_equals_uint64(c.frames, (uint64_t)f.rate);
  gst_caps_unref(caps);
}
GST_END_TEST;

/* A parser that moves data to a thread of its own (as a queue would): it
 * starts a task on its source pad at its first buffer. Registered for a
 * made-up format only. */
struct ThreadedParse {
  GstElement parent;
  GstPad *sink;
  GstPad *src;
};
struct ThreadedParseClass {
  GstElementClass parent;
};
G_DEFINE_TYPE(ThreadedParse, threaded_parse, GST_TYPE_ELEMENT)

static GstStaticPadTemplate threaded_sink = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS("audio/x-agentaudio-threaded"));
static GstStaticPadTemplate threaded_src = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS("audio/x-raw,format=S16LE,rate=8000,channels=1,layout=interleaved"));

static void threaded_loop(gpointer pad) {
  gst_pad_pause_task(GST_PAD(pad));
}

static GstFlowReturn threaded_chain(GstPad *, GstObject *parent, GstBuffer *buf) {
  auto *self = reinterpret_cast<ThreadedParse *>(parent);
  gst_buffer_unref(buf);
  if (gst_pad_get_task_state(self->src) == GST_TASK_STOPPED)
    gst_pad_start_task(self->src, threaded_loop, self->src, nullptr);
  return GST_FLOW_OK;
}

static gboolean threaded_src_activate(GstPad *pad, GstObject *, GstPadMode,
                                      gboolean active) {
  return active ? TRUE : gst_pad_stop_task(pad);
}

static void threaded_parse_init(ThreadedParse *self) {
  self->sink = gst_pad_new_from_static_template(&threaded_sink, "sink");
  gst_pad_set_chain_function(self->sink, threaded_chain);
  gst_element_add_pad(GST_ELEMENT(self), self->sink);
  self->src = gst_pad_new_from_static_template(&threaded_src, "src");
  gst_pad_set_activatemode_function(self->src, threaded_src_activate);
  gst_element_add_pad(GST_ELEMENT(self), self->src);
}

static void threaded_parse_class_init(ThreadedParseClass *klass) {
  GstElementClass *e = GST_ELEMENT_CLASS(klass);
  gst_element_class_add_static_pad_template(e, &threaded_sink);
  gst_element_class_add_static_pad_template(e, &threaded_src);
  gst_element_class_set_static_metadata(e, "Threaded test parser", "Codec/Parser/Audio",
                                        "Starts a task (test only)", "agentaudiosrc");
}

/* An element that starts a thread of its own fails the stream: decoding
 * must stay on the pushing thread. */
GST_START_TEST(test_element_with_a_thread_fails_the_stream) {
  fail_unless(gst_element_register(nullptr, "agentaudiothreadedparse", GST_RANK_PRIMARY,
                                   threaded_parse_get_type()));
  GstCaps *caps = caps_of("audio/x-agentaudio-threaded");
  fail_unless(StreamDecoder::can_decode(caps));
  StreamDecoder d("speech", caps);
  Collected c;
  const uint8_t bytes[100] = {0};
  StreamDecoder::Status st = d.push(bytes, sizeof bytes, c.fn());
  fail_unless(st.failed());
  fail_unless(st.message.find("agentaudiothreadedparse starts a streaming thread") !=
                  std::string::npos,
              "%s", st.message.c_str());
  fail_unless(d.chain().empty());
  fail_if(d.stream_open());
  gst_caps_unref(caps);
}
GST_END_TEST;

/* MP3 that starts with an ID3v2 tag (some services and every file on disk):
 * mpegaudioparse skips the tag as `audio/mpeg`; as `application/x-id3`
 * id3demux takes it off. Either way all the frames decode, with no
 * warning: the tag owes no audio. */
GST_START_TEST(test_mp3_with_id3_tag) {
  if (!encoded::have_element("id3v2mux") || !encoded::have_element("lamemp3enc")) {
    g_print("SKIP ID3: id3v2mux or lamemp3enc not installed\n");
    return;
  }
  std::vector<uint8_t> file = encoded::encode_sine(
      "lamemp3enc ! taginject tags=\"title=hello,artist=agent\" ! id3v2mux", 44100, 1,
      1.0);
  fail_unless(file.size() > 3 && memcmp(file.data(), "ID3", 3) == 0);
  for (const char *c : {"audio/mpeg,mpegversion=1,layer=3", "application/x-id3"}) {
    GstCaps *caps = caps_of(c);
    StreamDecoder d("speech", caps);
    Collected out;
    push_random(d, file, out, 21);
    StreamDecoder::Status st = d.drain(out.fn());
    fail_unless(st.ok(), "%s: %s", c, st.message.c_str());
    long extra = (long)out.frames - 44100;
    fail_unless(extra >= 576 + 529 && extra <= 576 + 529 + 1152, "%s: %ld", c, extra);
    gst_caps_unref(caps);
  }
}
GST_END_TEST;

/* Equal caps keep the stream; other caps drop it, as reset() does. */
GST_START_TEST(test_set_caps_resets_only_on_a_change) {
  const Format &f = kFormats[0];
  SKIP_UNLESS_AVAILABLE(f);
  const auto &file = file_for(0);
  GstCaps *caps = caps_of(f.caps);
  StreamDecoder d("speech", caps);
  Collected c;
  push_random(d, file, c, 1, nullptr, 0, file.size() / 2);
  GstCaps *same = caps_of(f.caps);
  fail_if(d.set_caps(same));
  fail_unless(d.stream_open());
  GstCaps *other = caps_of("audio/x-wav");
  fail_unless(d.set_caps(other));
  fail_if(d.stream_open());
  GstCaps *now = d.caps();
  fail_unless(gst_caps_is_equal(now, other));
  gst_caps_unref(now);
  gst_caps_unref(other);
  gst_caps_unref(same);
  gst_caps_unref(caps);
}
GST_END_TEST;

static Suite *decoder_suite(void) {
  Suite *s = suite_create("decoder");
  TCase *formats = tcase_create("formats");
  suite_add_tcase(s, formats);
  tcase_add_loop_test(formats, test_decodes_random_chunks_with_pitch_and_duration, 0,
                      kNumFormats);
  tcase_add_loop_test(formats, test_chunking_does_not_change_the_samples, 0, kNumFormats);
  tcase_add_loop_test(formats, test_drain_outputs_the_held_tail_as_estimated, 0,
                      kNumFormats);
  tcase_add_loop_test(formats, test_second_stream_after_drain, 0, kNumFormats);
  tcase_add_loop_test(formats, test_garbage_in_the_middle_recovers, 0, kNumFormats);
  tcase_add_loop_test(formats, test_truncated_stream_drains_and_recovers, 0, kNumFormats);
  tcase_add_loop_test(formats, test_reset_drops_and_restarts, 0, kNumFormats);
  TCase *tc = tcase_create("general");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_every_installed_aac_decoder);
  tcase_add_test(tc, test_opus_packets_one_per_push);
  tcase_add_test(tc, test_raw_caps_are_not_encoded);
  tcase_add_test(tc, test_installed_formats_can_be_decoded);
  tcase_add_test(tc, test_unknown_format_names_what_is_missing);
  tcase_add_test(tc, test_missing_mp3_decoder_names_the_package);
  tcase_add_test(tc, test_missing_decoder_inside_ogg);
  tcase_add_test(tc, test_wav_garbage_header_fails_then_recovers);
  tcase_add_test(tc, test_no_audio_in_stream_is_an_error_at_drain);
  tcase_add_test(tc, test_format_change_mid_stream_is_reported);
  tcase_add_test(tc, test_chained_ogg_streams);
  tcase_add_test(tc, test_push_from_the_output_is_refused);
  tcase_add_test(tc, test_output_is_synchronous);
  tcase_add_test(tc, test_set_caps_resets_only_on_a_change);
  tcase_add_test(tc, test_mp3_with_id3_tag);
  tcase_add_test(tc, test_element_with_a_thread_fails_the_stream);
  return s;
}

GST_CHECK_MAIN(decoder);
