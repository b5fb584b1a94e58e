/* agentaudiosrc
 * Copyright (C) 2026 agentaudiosrc authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "mixer.h"

#include <algorithm>
#include <cmath>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(AGENTAUDIO_NO_AVX2)
#include <immintrin.h>
#define AGENTAUDIO_AVX2 1
#endif

namespace agentaudio {

namespace {

/* How a sample is scaled depends only on its frame's gain g = from + step * i
 * (evaluated exactly so everywhere: the build turns off FMA contraction):
 *
 * - |g| below 1 (every fade, and volume and ducking below unity): g is
 *   rounded to Q15 and the product rounded half up, as SSSE3's pmulhrsw
 *   does; 16 samples take one multiply and one saturating add.
 * - |g| of 1 and above (background-volume goes up to 10): in float, rounded
 *   to nearest. Unity gain is exact.
 *
 * Both round to within half an LSB of the exact product, and choosing per
 * frame keeps a ramp split over several calls identical to one call. */
constexpr float kQ15Limit = 32767.0f / 32768.0f;

inline bool q15(float gain) {
  return std::fabs(gain) < kQ15Limit;
}

/* Rounds to nearest (even on ties) without a libm call or a branch: adding
 * 1.5 * 2^23 leaves no fraction bits, so the FPU rounds. */
inline int32_t round_even(float v) {
  constexpr float kRound = 12582912.0f;
  return static_cast<int32_t>((v + kRound) - kRound);
}

inline int16_t clamp16(int32_t v) {
  return static_cast<int16_t>(std::min(std::max(v, -32768), 32767));
}

inline float gain_at(float from, float step, int32_t frame) {
  return from + step * static_cast<float>(frame);
}

inline int32_t scale_q15(int32_t sample, float gain) {
  return (sample * round_even(gain * 32768.0f) + 16384) >> 15;
}

inline int16_t scale_sample(int16_t s, float gain, bool fixed) {
  return fixed ? clamp16(scale_q15(s, gain)) : clamp16(round_even(s * gain));
}

inline int16_t mix_sample(int16_t d, int16_t s, float gain, bool fixed) {
  return fixed
             ? clamp16(d + scale_q15(s, gain))
             : clamp16(round_even(static_cast<float>(d) + static_cast<float>(s) * gain));
}

/* The end of the run of frames from `first` whose gains all take the rule
 * `fixed` says. The gain is monotonic in the frame (float rounding keeps
 * the order), so |g| < 1 holds on one interval of frames: a buffer has at
 * most three runs, and one unless its ramp crosses |g| = 1. */
std::size_t run_end(float from, float step, std::size_t first, std::size_t frames,
                    bool &fixed) {
  const float a = gain_at(from, step, static_cast<int32_t>(first));
  const float b = gain_at(from, step, static_cast<int32_t>(frames - 1));
  fixed = q15(a);
  if (q15(b) == fixed && (fixed || (a > 0) == (b > 0)))
    return frames;
  std::size_t end = first + 1;
  while (end < frames && q15(gain_at(from, step, static_cast<int32_t>(end))) == fixed)
    end++;
  return end;
}

/* The portable kernels, from frame `first` on: flat loops over samples with
 * the rule fixed, which the compiler vectorises, for 1 and 2 channels. */
template <unsigned C, bool FIXED>
void scale_fixed(int16_t *samples, std::size_t first, std::size_t frames, float from,
                 float step) {
  const int32_t end = static_cast<int32_t>(frames * C);
  for (int32_t k = static_cast<int32_t>(first * C); k < end; k++)
    samples[k] =
        scale_sample(samples[k], gain_at(from, step, k / static_cast<int32_t>(C)), FIXED);
}

template <unsigned C, bool FIXED>
void mix_fixed(int16_t *dst, const int16_t *src, std::size_t first, std::size_t frames,
               float from, float step) {
  const int32_t end = static_cast<int32_t>(frames * C);
  for (int32_t k = static_cast<int32_t>(first * C); k < end; k++)
    dst[k] = mix_sample(dst[k], src[k], gain_at(from, step, k / static_cast<int32_t>(C)),
                        FIXED);
}

template <bool FIXED>
void scale_any(int16_t *samples, std::size_t first, std::size_t frames, unsigned channels,
               float from, float step) {
  if (channels == 1)
    return scale_fixed<1, FIXED>(samples, first, frames, from, step);
  if (channels == 2)
    return scale_fixed<2, FIXED>(samples, first, frames, from, step);
  for (std::size_t i = first; i < frames; i++)
    for (unsigned c = 0; c < channels; c++)
      samples[i * channels + c] = scale_sample(
          samples[i * channels + c], gain_at(from, step, static_cast<int32_t>(i)), FIXED);
}

template <bool FIXED>
void mix_any(int16_t *dst, const int16_t *src, std::size_t first, std::size_t frames,
             unsigned channels, float from, float step) {
  if (channels == 1)
    return mix_fixed<1, FIXED>(dst, src, first, frames, from, step);
  if (channels == 2)
    return mix_fixed<2, FIXED>(dst, src, first, frames, from, step);
  for (std::size_t i = first; i < frames; i++)
    for (unsigned c = 0; c < channels; c++) {
      const std::size_t k = i * channels + c;
      dst[k] =
          mix_sample(dst[k], src[k], gain_at(from, step, static_cast<int32_t>(i)), FIXED);
    }
}

#ifdef AGENTAUDIO_AVX2

/* 16 samples (one 256-bit register of S16) per step, for mono and stereo,
 * whose frames tile a register evenly. Lanes carry their frame index as a
 * float, so each gain is computed as the portable kernels compute it. */
struct Ramp16 {
  __m256 from, step, index_lo, index_hi, advance;

  /* Starting at frame `first`. */
  __attribute__((target("avx2")))
  Ramp16(float f, float s, unsigned channels, std::size_t first) {
    from = _mm256_set1_ps(f);
    step = _mm256_set1_ps(s);
    index_lo = _mm256_add_ps(channels == 1 ? _mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7)
                                           : _mm256_setr_ps(0, 0, 1, 1, 2, 2, 3, 3),
                             _mm256_set1_ps(static_cast<float>(first)));
    index_hi = _mm256_add_ps(index_lo, _mm256_set1_ps(8.0f / channels));
    advance = _mm256_set1_ps(16.0f / channels);
  }
  /* Gains of the next 16 samples. */
  __attribute__((target("avx2"))) void next(__m256 &lo, __m256 &hi) {
    lo = _mm256_add_ps(from, _mm256_mul_ps(step, index_lo));
    hi = _mm256_add_ps(from, _mm256_mul_ps(step, index_hi));
    index_lo = _mm256_add_ps(index_lo, advance);
    index_hi = _mm256_add_ps(index_hi, advance);
  }
  /* The next 16 gains in Q15, rounded to nearest even like round_even().
   * For a ramp made with from and step scaled by 2^15: scaling by a power
   * of two commutes with float rounding, so these are the same gains. */
  __attribute__((target("avx2"))) __m256i next_q15() {
    __m256 lo, hi;
    next(lo, hi);
    return pack16(_mm256_cvtps_epi32(lo), _mm256_cvtps_epi32(hi));
  }
  /* 2 x 8 int32 to 16 int16 with saturation, in order (packs works per
   * 128-bit lane). */
  __attribute__((target("avx2"))) static __m256i pack16(__m256i lo, __m256i hi) {
    return _mm256_permute4x64_epi64(_mm256_packs_epi32(lo, hi), _MM_SHUFFLE(3, 1, 2, 0));
  }
};

__attribute__((target("avx2"))) inline __m256i load16(const int16_t *p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i *>(p));
}

__attribute__((target("avx2"))) inline void store16(int16_t *p, __m256i v) {
  _mm256_storeu_si256(reinterpret_cast<__m256i *>(p), v);
}

__attribute__((target("avx2"))) inline __m256 load8f(const int16_t *p) {
  return _mm256_cvtepi32_ps(
      _mm256_cvtepi16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i *>(p))));
}

/* Rounds 2 x 8 floats to nearest (the default MXCSR mode, as round_even())
 * and stores them as S16 with saturation. */
__attribute__((target("avx2"))) inline void store16f(int16_t *p, __m256 lo, __m256 hi) {
  store16(p, Ramp16::pack16(_mm256_cvtps_epi32(lo), _mm256_cvtps_epi32(hi)));
}

/* Whole blocks of 16 samples; returns the frames done. */
/* Whole blocks of 16 samples of frames [first, end), which all take the
 * same rule; returns the frame where they stop. */
__attribute__((target("avx2"))) std::size_t scale_avx2(int16_t *samples,
                                                       std::size_t first, std::size_t end,
                                                       unsigned channels, float from,
                                                       float step, bool fixed) {
  const std::size_t n = (end - first) * channels / 16 * 16;
  Ramp16 ramp = fixed ? Ramp16(from * 32768.0f, step * 32768.0f, channels, first)
                      : Ramp16(from, step, channels, first);
  samples += first * channels;
  for (std::size_t k = 0; k < n; k += 16) {
    if (fixed) {
      store16(samples + k, _mm256_mulhrs_epi16(load16(samples + k), ramp.next_q15()));
    } else {
      __m256 lo, hi;
      ramp.next(lo, hi);
      store16f(samples + k, _mm256_mul_ps(load8f(samples + k), lo),
               _mm256_mul_ps(load8f(samples + k + 8), hi));
    }
  }
  return first + n / channels;
}

__attribute__((target("avx2"))) std::size_t mix_avx2(int16_t *dst, const int16_t *src,
                                                     std::size_t first, std::size_t end,
                                                     unsigned channels, float from,
                                                     float step, bool fixed) {
  const std::size_t n = (end - first) * channels / 16 * 16;
  Ramp16 ramp = fixed ? Ramp16(from * 32768.0f, step * 32768.0f, channels, first)
                      : Ramp16(from, step, channels, first);
  dst += first * channels;
  src += first * channels;
  if (fixed && step == 0.0f) {
    /* A steady gain, the usual case: one multiply and one add per 16,
     * two blocks per iteration to keep both multipliers busy. */
    const __m256i gain = ramp.next_q15();
    std::size_t k = 0;
    for (; k + 32 <= n; k += 32) {
      const __m256i a = _mm256_mulhrs_epi16(load16(src + k), gain);
      const __m256i b = _mm256_mulhrs_epi16(load16(src + k + 16), gain);
      store16(dst + k, _mm256_adds_epi16(load16(dst + k), a));
      store16(dst + k + 16, _mm256_adds_epi16(load16(dst + k + 16), b));
    }
    for (; k < n; k += 16)
      store16(dst + k, _mm256_adds_epi16(load16(dst + k),
                                         _mm256_mulhrs_epi16(load16(src + k), gain)));
  } else if (fixed) {
    for (std::size_t k = 0; k < n; k += 16)
      store16(dst + k,
              _mm256_adds_epi16(load16(dst + k),
                                _mm256_mulhrs_epi16(load16(src + k), ramp.next_q15())));
  } else if (step == 0.0f && from == 1.0f) {
    /* Unity gain (the default bed): a saturating add, two blocks at a time. */
    std::size_t k = 0;
    for (; k + 32 <= n; k += 32) {
      store16(dst + k, _mm256_adds_epi16(load16(dst + k), load16(src + k)));
      store16(dst + k + 16,
              _mm256_adds_epi16(load16(dst + k + 16), load16(src + k + 16)));
    }
    for (; k < n; k += 16)
      store16(dst + k, _mm256_adds_epi16(load16(dst + k), load16(src + k)));
  } else {
    for (std::size_t k = 0; k < n; k += 16) {
      __m256 lo, hi;
      ramp.next(lo, hi);
      store16f(
          dst + k, _mm256_add_ps(load8f(dst + k), _mm256_mul_ps(load8f(src + k), lo)),
          _mm256_add_ps(load8f(dst + k + 8), _mm256_mul_ps(load8f(src + k + 8), hi)));
    }
  }
  return first + n / channels;
}

bool have_avx2() {
  static const bool avx2 = __builtin_cpu_supports("avx2");
  return avx2;
}

#else

bool have_avx2() {
  return false;
}
std::size_t scale_avx2(int16_t *, std::size_t first, std::size_t, unsigned, float, float,
                       bool) {
  return first;
}
std::size_t mix_avx2(int16_t *, const int16_t *, std::size_t first, std::size_t, unsigned,
                     float, float, bool) {
  return first;
}

#endif

/* One run of frames [first, end), all taking one rule: the AVX2 kernel does
 * its whole blocks of 16 samples when `simd`, the portable one the rest. */
void scale_run(int16_t *samples, std::size_t first, std::size_t end, unsigned channels,
               float from, float step, bool fixed, bool simd) {
  if (simd)
    first = scale_avx2(samples, first, end, channels, from, step, fixed);
  if (fixed)
    scale_any<true>(samples, first, end, channels, from, step);
  else
    scale_any<false>(samples, first, end, channels, from, step);
}

void mix_run(int16_t *dst, const int16_t *src, std::size_t first, std::size_t end,
             unsigned channels, float from, float step, bool fixed, bool simd) {
  if (simd)
    first = mix_avx2(dst, src, first, end, channels, from, step, fixed);
  if (fixed)
    mix_any<true>(dst, src, first, end, channels, from, step);
  else
    mix_any<false>(dst, src, first, end, channels, from, step);
}

bool simd_for(unsigned channels, bool use_simd) {
  return use_simd && (channels == 1 || channels == 2) && have_avx2();
}

/* A steady gain (nearly every buffer) is one run, taken without looking for
 * others: at 480 frames that search is a third of the mix's time. */
void scale_runs(int16_t *samples, std::size_t frames, unsigned channels, float from,
                float step, bool use_simd) {
  const bool simd = simd_for(channels, use_simd);
  if (step == 0.0f) {
    scale_run(samples, 0, frames, channels, from, step, q15(from), simd);
    return;
  }
  for (std::size_t first = 0, end; first < frames; first = end) {
    bool fixed;
    end = run_end(from, step, first, frames, fixed);
    scale_run(samples, first, end, channels, from, step, fixed, simd);
  }
}

void mix_runs(int16_t *dst, const int16_t *src, std::size_t frames, unsigned channels,
              float from, float step, bool use_simd) {
  const bool simd = simd_for(channels, use_simd);
  if (step == 0.0f) {
    mix_run(dst, src, 0, frames, channels, from, step, q15(from), simd);
    return;
  }
  for (std::size_t first = 0, end; first < frames; first = end) {
    bool fixed;
    end = run_end(from, step, first, frames, fixed);
    mix_run(dst, src, first, end, channels, from, step, fixed, simd);
  }
}

}  // namespace

void scale_ramp(int16_t *samples, std::size_t frames, unsigned channels, float from,
                float step) {
  scale_runs(samples, frames, channels, from, step, true);
}

void mix_ramp(int16_t *dst, const int16_t *src, std::size_t frames, unsigned channels,
              float from, float step) {
  mix_runs(dst, src, frames, channels, from, step, true);
}

namespace reference {

void scale_ramp(int16_t *samples, std::size_t frames, unsigned channels, float from,
                float step) {
  scale_runs(samples, frames, channels, from, step, false);
}

void mix_ramp(int16_t *dst, const int16_t *src, std::size_t frames, unsigned channels,
              float from, float step) {
  mix_runs(dst, src, frames, channels, from, step, false);
}

}  // namespace reference

}  // namespace agentaudio
