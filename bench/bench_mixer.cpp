/* agentaudiosrc
 * Copyright (C) 2026 agentaudiosrc authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* bench-mixer: throughput of the element's sample kernels (mix_ramp,
 * scale_ramp) against memcpy of the same number of bytes, on buffers that
 * stay in cache: the figure tells whether mixing costs more than the copy
 * the element has to make anyway. Output: one JSON object on stdout (or in
 * --json FILE). */

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
  bool first = true;
  for (const Case &c : cases) {
    const std::size_t samples = c.frames * c.channels;
    const std::size_t bytes = samples * sizeof(int16_t);
    std::vector<int16_t> dst(samples), src(samples), copy(samples);
    for (std::size_t i = 0; i < samples; i++) {
      /* Speech-level values: the kernels clamp, but the common case is no
       * clipping, which is what runs every buffer. */
      src[i] = static_cast<int16_t>(((i * 7919) % 1000) * 16 - 8000);
      dst[i] = static_cast<int16_t>(((i * 104729) % 4000) * 4 - 8000);
    }
    /* The kernels work in place, millions of times over the same buffer.
     * Alternating gains that undo each other exactly (+0.25 / -0.25 of a
     * multiple of 16, x2 / x0.5 of a multiple of 4) keep the values at
     * speech level instead of drifting to the clamp, and never use the
     * gains 0 or 1, which a kernel could special-case. */
    bool flip = false;
    Figure mix = time_it(
        [&] {
          flip = !flip;
          agentaudio::mix_ramp(dst.data(), src.data(), c.frames, c.channels,
                               flip ? 0.25f : -0.25f, 0.0f);
          clobber(dst.data());
          g_sink = dst[samples / 2];
        },
        bytes, repeats);
    Figure scale = time_it(
        [&] {
          flip = !flip;
          agentaudio::scale_ramp(dst.data(), c.frames, c.channels, flip ? 2.0f : 0.5f,
                                 0.0f);
          clobber(dst.data());
          g_sink = dst[samples / 2];
        },
        bytes, repeats);
    Figure cpy = time_it(
        [&] {
          clobber(src.data());
          std::memcpy(copy.data(), src.data(), bytes);
          clobber(copy.data());
          g_sink = copy[samples / 2];
        },
        bytes, repeats);

    char buf[1024];
    std::snprintf(buf, sizeof buf,
                  "%s    {\"case\": \"%s\", \"frames\": %zu, \"channels\": %u, "
                  "\"bytes\": %zu,\n"
                  "     \"mix_ramp_ns\": %.1f, \"mix_ramp_gbps\": %.2f,\n"
                  "     \"scale_ramp_ns\": %.1f, \"scale_ramp_gbps\": %.2f,\n"
                  "     \"memcpy_ns\": %.1f, \"memcpy_gbps\": %.2f,\n"
                  "     \"mix_vs_memcpy\": %.3f, \"scale_vs_memcpy\": %.3f}",
                  first ? "" : ",\n", c.name, c.frames, c.channels, bytes,
                  mix.ns_per_call, mix.gbytes_per_s, scale.ns_per_call,
                  scale.gbytes_per_s, cpy.ns_per_call, cpy.gbytes_per_s,
                  mix.gbytes_per_s / cpy.gbytes_per_s,
                  scale.gbytes_per_s / cpy.gbytes_per_s);
    out += buf;
    first = false;
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
