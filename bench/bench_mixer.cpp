/* agentaudiosrc
 * Copyright (C) 2026 agentaudiosrc authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* bench-mixer: throughput of the element's sample kernels (mix_ramp,
 * scale_ramp) against memcpy of the same number of bytes, on buffers that
 * stay in cache: the figure tells whether mixing costs more than the copy
 * the element has to make anyway. The kernels pick their code by gain
 * (Q15 below unity, a plain saturating add at unity, float above, a
 * per-frame rule for a ramp that crosses unity) and by CPU (AVX2 or the
 * portable loops), so each gain the element uses is timed, and the portable
 * loops too. Output: one JSON object on stdout (and in --json FILE). */

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "mixer.h"

namespace {

using Clock = std::chrono::steady_clock;

/* Written after every timed call: the compiler has to assume that the
 * buffer is read, so it cannot drop or hoist the work. */
volatile int16_t g_sink;

/* An empty asm that "reads" the pointer and clobbers memory: a compiler
 * barrier with no cost, so each iteration's stores really happen. */
inline void clobber(void *p) {
  asm volatile("" : : "r"(p) : "memory");
}

struct Case {
  const char *name;
  std::size_t frames;
  unsigned channels;
};

struct Figure {
  double ns_per_call;
  double gbytes_per_s; /* of int16 output */
};

/* Times `fn` in batches until a batch lasts at least 50 ms, then takes the
 * best of several such batches: the best is the figure least disturbed by
 * other processes on a shared machine. */
template <typename Fn>
Figure time_it(Fn fn, std::size_t out_bytes, int repeats) {
  std::size_t iters = 1;
  for (;;) {
    auto t0 = Clock::now();
    for (std::size_t i = 0; i < iters; i++)
      fn();
    double s = std::chrono::duration<double>(Clock::now() - t0).count();
    if (s >= 0.05)
      break;
    iters *= 2;
  }
  double best = 1e30;
  for (int r = 0; r < repeats; r++) {
    auto t0 = Clock::now();
    for (std::size_t i = 0; i < iters; i++)
      fn();
    double s = std::chrono::duration<double>(Clock::now() - t0).count();
    if (s < best)
      best = s;
  }
  double per_call = best / static_cast<double>(iters);
  return Figure{per_call * 1e9, static_cast<double>(out_bytes) / per_call / 1e9};
}

}  // namespace

int main(int argc, char **argv) {
  const char *json_path = nullptr;
  int repeats = 7;
  for (int i = 1; i < argc; i++) {
    if (std::strcmp(argv[i], "--json") == 0 && i + 1 < argc) {
      json_path = argv[++i];
    } else if (std::strcmp(argv[i], "--repeats") == 0 && i + 1 < argc) {
      repeats = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: %s [--json FILE] [--repeats R]\n", argv[0]);
      return 2;
    }
  }
  if (repeats < 1)
    repeats = 1;

  const Case cases[] = {
      {"480 frames mono (20 ms at 24 kHz)", 480, 1},
      {"960 frames stereo (20 ms at 48 kHz)", 960, 2},
      {"1 MiB mono (524288 frames)", 524288, 1},
  };

  std::string out =
      "{\n  \"bench\": \"mixer\",\n  \"repeats\": " + std::to_string(repeats) +
      ",\n  \"cases\": [\n";
  bool first_case = true;
  for (const Case &c : cases) {
    const std::size_t samples = c.frames * c.channels;
    const std::size_t bytes = samples * sizeof(int16_t);
    const float frames_f = static_cast<float>(c.frames);
    std::vector<int16_t> dst(samples), src(samples), neg(samples), copy(samples);
    for (std::size_t i = 0; i < samples; i++) {
      /* Speech-level values, multiples of 16: the common case is no
       * clipping, which is what runs every buffer. */
      src[i] = static_cast<int16_t>(((i * 7919) % 1000) * 16 - 8000);
      neg[i] = static_cast<int16_t>(-src[i]);
      dst[i] = static_cast<int16_t>(((i * 104729) % 4000) * 4 - 8000);
    }

    /* The mixes work in place, millions of times over the same buffer:
     * mixing src and then -src at the same gain brings the samples back
     * (exactly, or within a rounding step for a Q15 ramp), so they stay at
     * speech level instead of drifting to the clamp, and every call takes
     * the same code. */
    bool flip = false;
    auto mix = [&](float from, float to, bool portable) {
      const float step = (to - from) / frames_f;
      return time_it(
          [&] {
            flip = !flip;
            const int16_t *s = flip ? src.data() : neg.data();
            if (portable)
              agentaudio::reference::mix_ramp(dst.data(), s, c.frames, c.channels, from,
                                              step);
            else
              agentaudio::mix_ramp(dst.data(), s, c.frames, c.channels, from, step);
            clobber(dst.data());
            g_sink = dst[samples / 2];
          },
          bytes, repeats);
    };
    struct Named {
      const char *name;
      const char *what;
      Figure fig;
    };
    std::vector<Named> figs;
    figs.push_back({"mix_unity", "bed at background-volume 1, not ducked (the default)",
                    mix(1.0f, 1.0f, false)});
    figs.push_back({"mix_steady_below_unity",
                    "bed at a steady gain of 0.5 (volume or duck)",
                    mix(0.5f, 0.5f, false)});
    figs.push_back({"mix_ramp_below_unity",
                    "bed gain ramping 0.9 -> 0.3 across the buffer",
                    mix(0.9f, 0.3f, false)});
    figs.push_back({"mix_ramp_from_unity",
                    "ducking engages: 1.0 -> 0.3 across the buffer (once per utterance)",
                    mix(1.0f, 0.3f, false)});
    figs.push_back({"mix_steady_below_unity_portable",
                    "as mix_steady_below_unity, portable loops (no AVX2)",
                    mix(0.5f, 0.5f, true)});
    figs.push_back({"mix_unity_portable", "as mix_unity, portable loops (no AVX2)",
                    mix(1.0f, 1.0f, true)});
    /* An interrupt fade over the whole buffer. In place it drives the
     * samples to 0 after a few calls; the kernels have no per-sample branch,
     * so their cost does not depend on the values. */
    figs.push_back({"scale_fade", "interrupt fade: (F-1)/F -> 0 across the buffer",
                    time_it(
                        [&] {
                          agentaudio::scale_ramp(dst.data(), c.frames, c.channels,
                                                 (frames_f - 1) / frames_f,
                                                 -1.0f / frames_f);
                          clobber(dst.data());
                          g_sink = dst[samples / 2];
                        },
                        bytes, repeats)});
    Figure cpy = time_it(
        [&] {
          clobber(src.data());
          std::memcpy(copy.data(), src.data(), bytes);
          clobber(copy.data());
          g_sink = copy[samples / 2];
        },
        bytes, repeats);

    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "%s    {\"case\": \"%s\", \"frames\": %zu, \"channels\": %u, "
                  "\"bytes\": %zu, \"memcpy_ns\": %.1f, \"memcpy_gbps\": %.2f,\n"
                  "     \"kernels\": [",
                  first_case ? "" : ",\n", c.name, c.frames, c.channels, bytes,
                  cpy.ns_per_call, cpy.gbytes_per_s);
    out += buf;
    bool first_fig = true;
    for (const Named &f : figs) {
      std::snprintf(buf, sizeof buf,
                    "%s\n       {\"kernel\": \"%s\", \"what\": \"%s\", \"ns\": %.1f, "
                    "\"gbps\": %.2f, \"vs_memcpy\": %.3f}",
                    first_fig ? "" : ",", f.name, f.what, f.fig.ns_per_call,
                    f.fig.gbytes_per_s, f.fig.gbytes_per_s / cpy.gbytes_per_s);
      out += buf;
      first_fig = false;
    }
    out += "]}";
    first_case = false;
  }
  out += "\n  ]\n}\n";

  if (json_path != nullptr) {
    FILE *f = std::fopen(json_path, "w");
    if (f == nullptr) {
      std::perror(json_path);
      return 1;
    }
    std::fputs(out.c_str(), f);
    std::fclose(f);
  }
  std::fputs(out.c_str(), stdout);
  return 0;
}
