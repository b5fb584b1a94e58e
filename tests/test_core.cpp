/* agentaudiosrc — unit tests of the parts the element is built from: the
 * sample queue and its lazy conversion, the frame assembler, the gain
 * kernels, the speech layer's bookkeeping and the background layer. */
#include <gst/check/gstcheck.h>

#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <vector>

#include "backgroundlayer.h"
#include "frameassembler.h"
#include "mixer.h"
#include "samplequeue.h"
#include "speechlayer.h"

using namespace agentaudio;

static std::vector<int16_t> counting(std::size_t n, int16_t from = 1) {
  std::vector<int16_t> v(n);
  std::iota(v.begin(), v.end(), from);
  return v;
}

GST_START_TEST(test_queue_pops_across_chunks_in_order) {
  SampleQueue q(2);
  q.push(counting(6, 1));  /* 3 frames */
  q.push(counting(10, 7)); /* 5 frames */
  fail_unless_equals_int(q.queued_frames(), 8);

  int16_t out[16] = {0};
  fail_unless_equals_int(q.pop(out, 4), 4);
  for (int i = 0; i < 8; i++)
    fail_unless_equals_int(out[i], i + 1);
  fail_unless_equals_int(q.pop(out, 10), 4);
  for (int i = 0; i < 8; i++)
    fail_unless_equals_int(out[i], i + 9);
  fail_unless(q.empty());
  fail_unless_equals_int(q.read_pos(), 8);
  fail_unless_equals_int(q.write_pos(), 8);
}
GST_END_TEST;

GST_START_TEST(test_queue_truncate_keeps_head) {
  SampleQueue q(1);
  q.push(counting(5, 1));
  q.push(counting(5, 6));
  q.push(counting(5, 11));
  int16_t out[16];
  q.pop(out, 2);
  fail_unless_equals_int(q.truncate(6), 7);
  fail_unless_equals_int(q.queued_frames(), 6);
  fail_unless_equals_int(q.write_pos(), 8);
  fail_unless_equals_int(q.pop(out, 16), 6);
  for (int i = 0; i < 6; i++)
    fail_unless_equals_int(out[i], i + 3);

  q.push(counting(4, 100));
  fail_unless_equals_int(q.truncate(10), 0); /* keeping more than queued */
  fail_unless_equals_int(q.clear(), 4);
  fail_unless(q.empty());
  q.push(counting(3, 50));
  fail_unless_equals_int(q.pop(out, 16), 3);
  fail_unless_equals_int(out[0], 50);
}
GST_END_TEST;

GST_START_TEST(test_assembler_joins_partial_frames) {
  FrameAssembler a;
  a.reset(4); /* stereo S16 */
  const uint8_t data[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  std::vector<uint8_t> out;

  fail_unless_equals_int(a.whole_bytes(3), 0);
  uint8_t none[1];
  a.assemble(data, 3, none);
  fail_unless_equals_int(a.pending_bytes(), 3);

  fail_unless_equals_int(a.whole_bytes(7), 8);
  out.resize(8);
  a.assemble(data + 3, 7, out.data());
  for (int i = 0; i < 8; i++)
    fail_unless_equals_int(out[i], i + 1);
  fail_unless_equals_int(a.pending_bytes(), 2);

  out.resize(a.whole_bytes(2));
  fail_unless_equals_int(out.size(), 4);
  const uint8_t more[] = {11, 12};
  a.assemble(more, 2, out.data());
  fail_unless_equals_int(out[0], 9);
  fail_unless_equals_int(out[3], 12);
  fail_unless_equals_int(a.pending_bytes(), 0);

  a.assemble(data, 1, none);
  a.reset(2);
  fail_unless_equals_int(a.pending_bytes(), 0);
}
GST_END_TEST;

GST_START_TEST(test_fade_out_ramp_reaches_zero) {
  std::vector<int16_t> v(100, 10000);
  scale_ramp(v.data(), 100, 1, fade_out_gain(0, 100), -1.0f / 100);
  fail_unless_equals_int(v[0], 9900);
  fail_unless_equals_int(v[50], 4900);
  fail_unless_equals_int(v[99], 0);
  for (int i = 1; i < 100; i++)
    fail_unless(v[i] < v[i - 1]);

  /* Split in two calls: the same samples. */
  std::vector<int16_t> w(100, 10000);
  scale_ramp(w.data(), 30, 1, fade_out_gain(0, 100), -1.0f / 100);
  scale_ramp(w.data() + 30, 70, 1, fade_out_gain(30, 100), -1.0f / 100);
  fail_unless(v == w);

  /* Every channel of a frame gets the frame's gain. */
  std::vector<int16_t> st = {1000, -1000, 1000, -1000};
  scale_ramp(st.data(), 2, 2, 0.5f, -0.5f);
  fail_unless_equals_int(st[0], 500);
  fail_unless_equals_int(st[1], -500);
  fail_unless_equals_int(st[2], 0);
  fail_unless_equals_int(st[3], 0);
}
GST_END_TEST;

GST_START_TEST(test_layer_events_positions) {
  SpeechLayer layer(1);
  std::vector<int16_t> out(10);
  RenderResult r;

  layer.render(out.data(), 10, 0, r);
  fail_if(r.started || r.ended);
  fail_unless_equals_int(r.speech_frames, 0);

  layer.push(counting(15));
  layer.mark("m");
  r = RenderResult();
  layer.render(out.data(), 10, 10, r);
  fail_unless(r.started);
  fail_unless_equals_int(r.start, 10);
  fail_unless(layer.speaking());

  r = RenderResult();
  layer.render(out.data(), 10, 20, r);
  fail_unless_equals_int(r.speech_frames, 5);
  fail_unless_equals_int(r.marks.size(), 1);
  fail_unless_equals_int(r.marks[0].position, 25);
  fail_if(r.ended);

  r = RenderResult();
  layer.render(out.data(), 10, 30, r);
  fail_unless(r.ended);
  fail_unless_equals_int(r.end.position, 25);
  fail_unless_equals_int(r.end.played, 15);
  fail_if(r.end.interrupted);
}
GST_END_TEST;

GST_START_TEST(test_layer_interrupt_keeps_fade_and_reports) {
  SpeechLayer layer(1);
  std::vector<int16_t> out(10);
  RenderResult r;
  layer.push(std::vector<int16_t>(100, 1000));
  layer.mark("x");
  layer.render(out.data(), 10, 0, r);

  CutResult cut = layer.interrupt(4);
  fail_unless_equals_int(cut.dropped, 86);
  fail_unless_equals_int(cut.marks.size(), 1);
  fail_unless(cut.marks[0].interrupted);
  fail_unless_equals_int(cut.marks[0].position, 14);
  fail_unless(layer.fading());

  /* A second interrupt during the fade lets it finish and drops nothing. */
  fail_unless_equals_int(layer.interrupt(4).dropped, 0);

  r = RenderResult();
  layer.render(out.data(), 10, 10, r);
  fail_unless_equals_int(r.speech_frames, 4);
  fail_unless_equals_int(out[0], 750);
  fail_unless_equals_int(out[3], 0);
  fail_unless_equals_int(out[4], 0);

  r = RenderResult();
  layer.render(out.data(), 10, 20, r);
  fail_unless(r.ended);
  fail_unless(r.end.interrupted);
  fail_unless_equals_int(r.end.dropped, 86);
  fail_unless_equals_int(r.end.played, 14);
  fail_unless_equals_int(r.end.position, 14);
}
GST_END_TEST;

GST_START_TEST(test_layer_discard_closes_utterance) {
  SpeechLayer layer(1);
  std::vector<int16_t> out(10);
  RenderResult r;
  layer.push(counting(30));
  layer.render(out.data(), 10, 0, r);
  layer.mark("y");
  CutResult cut = layer.discard();
  fail_unless_equals_int(cut.dropped, 20);
  fail_unless(cut.ended);
  fail_unless(cut.end.interrupted);
  fail_unless_equals_int(cut.end.played, 10);
  fail_unless_equals_int(cut.end.dropped, 20);
  fail_unless_equals_int(cut.marks.size(), 1);
  fail_if(layer.speaking());
  fail_unless_equals_int(layer.queued_frames(), 0);
}
GST_END_TEST;

GST_START_TEST(test_mix_saturates_and_ramps) {
  std::vector<int16_t> dst = {30000, -30000, 100, 0};
  std::vector<int16_t> src = {30000, -30000, 100, 32767};
  mix_ramp(dst.data(), src.data(), 4, 1, 1.0f, 0.0f);
  fail_unless_equals_int(dst[0], 32767);
  fail_unless_equals_int(dst[1], -32768);
  fail_unless_equals_int(dst[2], 200);
  fail_unless_equals_int(dst[3], 32767);

  /* Gain up to 10 with loud input still clips, never wraps. */
  std::vector<int16_t> d2(64, 0), s2(64, -32768);
  mix_ramp(d2.data(), s2.data(), 64, 1, 10.0f, 0.0f);
  for (int16_t x : d2)
    fail_unless_equals_int(x, -32768);

  /* Stereo ramp: both channels of a frame share its gain. */
  std::vector<int16_t> d3(8, 0), s3(8, 1000);
  mix_ramp(d3.data(), s3.data(), 4, 2, 0.25f, 0.25f);
  const int16_t expected[] = {250, 250, 500, 500, 750, 750, 1000, 1000};
  for (int i = 0; i < 8; i++)
    fail_unless_equals_int(d3[i], expected[i]);
}
GST_END_TEST;

/* Whatever kernel the CPU gets (AVX2 or the portable loops), it gives
 * exactly the portable kernel's samples: every size around the vector
 * width, mono, stereo and 3 channels, flat gains, ramps and clipping. */
GST_START_TEST(test_kernels_match_the_reference) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> sample(-32768, 32767);
  const float gains[][2] = {{1.0f, 0.0f},   {0.3f, 0.0f},    {0.25f, -0.0005f},
                            {10.0f, 0.0f},  {0.0f, 0.0013f}, {1.7f, -0.003f},
                            {2.0f, 0.0005f}};
  for (unsigned channels = 1; channels <= 3; channels++)
    for (std::size_t frames : {0, 1, 7, 8, 15, 16, 17, 31, 33, 100, 480, 961})
      for (const auto &g : gains) {
        std::vector<int16_t> src(frames * channels), dst(frames * channels);
        for (int16_t &x : src)
          x = static_cast<int16_t>(sample(rng));
        for (int16_t &x : dst)
          x = static_cast<int16_t>(sample(rng));
        std::vector<int16_t> mixed = dst, expected_mix = dst;
        mix_ramp(mixed.data(), src.data(), frames, channels, g[0], g[1]);
        reference::mix_ramp(expected_mix.data(), src.data(), frames, channels, g[0],
                            g[1]);
        fail_unless(mixed == expected_mix,
                    "mix_ramp differs: %u ch, %zu frames, gain %f%+f", channels, frames,
                    g[0], g[1]);
        std::vector<int16_t> scaled = src, expected_scale = src;
        scale_ramp(scaled.data(), frames, channels, g[0], g[1]);
        reference::scale_ramp(expected_scale.data(), frames, channels, g[0], g[1]);
        fail_unless(scaled == expected_scale,
                    "scale_ramp differs: %u ch, %zu frames, gain %f%+f", channels, frames,
                    g[0], g[1]);
      }
}
GST_END_TEST;

GST_START_TEST(test_bed_plays_once_then_frees) {
  BackgroundLayer bed(1);
  bed.push(counting(5, 1));
  bed.push(counting(5, 6));
  fail_unless_equals_int(bed.pending_frames(), 10);
  std::vector<int16_t> out(8);
  fail_unless_equals_int(bed.read(out.data(), 8), 8);
  fail_unless_equals_int(out[7], 8);
  fail_unless_equals_int(bed.read(out.data(), 8), 2);
  fail_unless_equals_int(out[0], 9);
  fail_unless_equals_int(out[1], 10);
  fail_unless_equals_int(out[2], 0);
  fail_unless(bed.empty());
}
GST_END_TEST;

GST_START_TEST(test_bed_loops_across_chunks) {
  BackgroundLayer bed(1);
  bed.set_loop(true);
  bed.push(counting(3, 1));
  bed.push(counting(4, 4)); /* bed = 1..7 */
  std::vector<int16_t> out(20);
  fail_unless_equals_int(bed.read(out.data(), 20), 20);
  for (int i = 0; i < 20; i++)
    fail_unless_equals_int(out[i], i % 7 + 1);
  fail_unless_equals_int(bed.pending_frames(), 1); /* 20 = 2 * 7 + 6 */

  /* Turning the loop off plays out to the end of the bed once. */
  bed.set_loop(false);
  fail_unless_equals_int(bed.read(out.data(), 20), 1);
  fail_unless_equals_int(out[0], 7);
  fail_unless(bed.empty());
}
GST_END_TEST;

GST_START_TEST(test_bed_clear_fades_through_the_loop) {
  BackgroundLayer bed(1);
  bed.set_loop(true);
  bed.push(std::vector<int16_t>(3, 1000));
  std::vector<int16_t> out(10);
  bed.read(out.data(), 2);
  /* A 6-frame fade over a 3-frame bed wraps around it twice and ends one
   * frame before the end of a pass: that frame is what is dropped. */
  fail_unless_equals_int(bed.clear(6), 1);
  fail_unless(bed.fading());
  /* Pushed after the clear: a new bed, which loops too (the property is
   * still set), starting once the fade has played. */
  bed.push(std::vector<int16_t>(2, 7));
  fail_unless_equals_int(bed.read(out.data(), 10), 10);
  const int16_t expected[] = {833, 667, 500, 333, 167, 0, 7, 7, 7, 7};
  for (int i = 0; i < 10; i++)
    fail_unless(std::abs(out[i] - expected[i]) <= 1, "frame %d is %d", i, out[i]);
  fail_if(bed.fading());
}
GST_END_TEST;

static std::vector<int16_t> sine24k(std::size_t frames, std::size_t from = 0) {
  std::vector<int16_t> v(frames);
  for (std::size_t i = 0; i < frames; i++)
    v[i] = static_cast<int16_t>(
        std::lrint(8000 * std::sin(2 * M_PI * 440.0 * (i + from) / 24000)));
  return v;
}

static std::vector<int16_t> pop_all(SampleQueue &q) {
  std::vector<int16_t> all, buf(1000 * q.channels());
  while (std::size_t n = q.pop(buf.data(), 1000))
    all.insert(all.end(), buf.begin(),
               buf.begin() + static_cast<std::ptrdiff_t>(n * q.channels()));
  return all;
}

/* A run of N frames queued at r_old promises round(N * r_new / r_old) at
 * r_new and delivers exactly that, through several changes in a row. */
GST_START_TEST(test_queue_set_format_keeps_lengths) {
  SampleQueue q(1, 24000);
  q.push(sine24k(1000));
  q.set_format(PcmFormat{44100, 1});
  fail_unless_equals_int(q.frames_converted(), 0);
  fail_unless_equals_int(q.queued_frames(), 1838); /* 1837.5 */
  fail_unless_equals_int(pop_all(q).size(), 1838);
  fail_unless(q.empty());

  /* Runs of three formats: 24 kHz, 48 kHz, then all played at 16 kHz. */
  const uint64_t converted = q.frames_converted();
  q.set_format(PcmFormat{24000, 1});
  q.push(sine24k(1000));
  q.set_format(PcmFormat{48000, 1});
  q.push(std::vector<int16_t>(500, 1000));
  q.set_format(PcmFormat{16000, 1});
  fail_unless_equals_int(q.frames_converted(), converted);
  fail_unless_equals_int(q.queued_frames(), 667 + 167);
  const uint64_t before = q.read_pos();
  fail_unless_equals_int(pop_all(q).size(), 667 + 167);
  fail_unless_equals_int(q.read_pos() - before, 834);

  /* Channels too: mono queued, stereo out, both channels alike. */
  SampleQueue s(1, 24000);
  s.push(std::vector<int16_t>(100, 1000));
  s.set_format(PcmFormat{24000, 2});
  std::vector<int16_t> st = pop_all(s);
  fail_unless_equals_int(st.size(), 200);
  for (std::size_t f = 0; f < 100; f++)
    fail_unless_equals_int(st[2 * f], st[2 * f + 1]);
}
GST_END_TEST;

/* Played partly at 24 kHz, then at 48 kHz: the 48 kHz part is sample for
 * sample what a steady conversion of the whole run gives from there on
 * (the resampler is primed with what was played). */
GST_START_TEST(test_queue_rate_change_continues_the_waveform) {
  for (unsigned rate : {48000u, 16000u, 44100u, 8000u}) {
    SampleQueue played(1, 24000), steady(1, 24000);
    played.push(sine24k(24000));
    steady.push(sine24k(24000));
    steady.set_format(PcmFormat{rate, 1});
    std::vector<int16_t> head(4800);
    played.pop(head.data(), 4800); /* 200 ms at 24 kHz */
    played.set_format(PcmFormat{rate, 1});
    std::vector<int16_t> a = pop_all(played), b = pop_all(steady);
    const std::size_t skip = rate / 5; /* the same 200 ms at the new rate */
    fail_unless_equals_int(a.size() + skip, b.size());
    fail_unless(
        std::equal(a.begin(), a.end(), b.begin() + static_cast<std::ptrdiff_t>(skip)),
        "at %u Hz the waveform does not continue", rate);
  }
}
GST_END_TEST;

GST_START_TEST(test_positions_map_in_proportion) {
  SpeechLayer layer(1, 24000);
  std::vector<int16_t> out(1000);
  RenderResult r;
  layer.push(std::vector<int16_t>(100, 1000));
  layer.mark("a");
  layer.push(std::vector<int16_t>(100, 1000));
  layer.mark("b");
  layer.set_format(48000, 1);
  fail_unless_equals_int(layer.queued_frames(), 400);
  layer.render(out.data(), 1000, 0, r);
  fail_unless_equals_int(r.speech_frames, 400);
  fail_unless_equals_int(r.marks.size(), 2);
  fail_unless_equals_int(r.marks[0].position, 200);
  fail_unless_equals_int(r.marks[1].position, 400);

  /* A fade under way keeps its place and still reaches zero. */
  SpeechLayer fading(1, 24000);
  std::vector<int16_t> buf(10);
  fading.push(std::vector<int16_t>(1000, 1000));
  r = RenderResult();
  fading.render(buf.data(), 10, 0, r);
  fading.interrupt(40);
  fading.set_format(48000, 1);
  fail_unless_equals_int(fading.queued_frames(), 80);
  std::vector<int16_t> tail(100);
  r = RenderResult();
  fading.render(tail.data(), 100, 10, r);
  fail_unless_equals_int(r.speech_frames, 80);
  for (int i = 1; i < 80; i++)
    fail_unless(tail[i] <= tail[i - 1] + 2, "frame %d rises: %d", i, tail[i]);
  fail_unless(std::abs(tail[79]) <= 20, "fade ends at %d", tail[79]);
  /* Played counts keep their duration: 10 frames at 24 kHz are 20. */
  r = RenderResult();
  fading.render(tail.data(), 100, 110, r);
  fail_unless(r.ended);
  fail_unless_equals_int(r.end.played, 20 + 80);
}
GST_END_TEST;

/* Issue 12.4: a renegotiation with 60 s queued converts nothing, each
 * later buffer about one buffer's worth plus the resampler's history, and an
 * interrupt converts nothing either. */
GST_START_TEST(test_renegotiation_work_is_bounded) {
  SpeechLayer layer(1, 24000);
  for (int i = 0; i < 600; i++) /* 60 s in 100 ms pushes */
    layer.push(sine24k(2400, 2400 * i));
  std::vector<int16_t> out(960);
  RenderResult r;
  layer.render(out.data(), 480, 0, r);
  fail_unless_equals_int(layer.frames_converted(), 0); /* passthrough */

  layer.set_format(48000, 1);
  fail_unless_equals_int(layer.frames_converted(), 0);
  fail_unless_equals_int(layer.queued_frames(), 2 * (60 * 24000 - 480));

  uint64_t converted = 0;
  for (int k = 0; k < 50; k++) {
    r = RenderResult();
    layer.render(out.data(), 960, 480 + 960 * k, r);
    const uint64_t now = layer.frames_converted();
    /* 480 source frames per buffer; the first also primes the resampler
     * (its history, 32 frames here) and fills its look-ahead. */
    const uint64_t bound = k == 0 ? 480 + 256 : 480 + 64;
    fail_unless(now - converted <= bound, "buffer %d converted %" G_GUINT64_FORMAT, k,
                now - converted);
    converted = now;
  }
  fail_unless(converted >= 50 * 480);
  layer.interrupt(480);
  fail_unless_equals_int(layer.frames_converted(), converted);
}
GST_END_TEST;

/* Issue 18.4: no scratch sized to the queue, and after an interrupt and a
 * stop at most a few buffers' worth. */
GST_START_TEST(test_scratch_stays_small) {
  SpeechLayer layer(2, 24000);
  layer.push(std::vector<int16_t>(2 * 60 * 24000, 100)); /* one 60 s push */
  std::vector<int16_t> out(2 * 960);
  RenderResult r;
  layer.render(out.data(), 480, 0, r);
  layer.set_format(44100, 2);
  for (int k = 0; k < 10; k++) {
    r = RenderResult();
    layer.render(out.data(), 882, 480 + 882 * k, r);
  }
  const std::size_t few_buffers = 4 * RunReader::kMaxSlice * 2 * sizeof(int16_t);
  fail_unless(layer.scratch_bytes() <= few_buffers, "%zu bytes", layer.scratch_bytes());
  layer.interrupt(441);
  fail_unless(layer.scratch_bytes() <= few_buffers + ChunkPool::kMaxBytes, "%zu bytes",
              layer.scratch_bytes());
  layer.discard();
  fail_unless_equals_int(layer.scratch_bytes(), 0);
}
GST_END_TEST;

/* Chunks the streaming thread consumed go back to the pushers. */
GST_START_TEST(test_consumed_chunks_are_reused) {
  SampleQueue q(1, 24000);
  std::vector<int16_t> first(480, 5);
  q.push(std::move(first));
  std::vector<int16_t> out(480);
  q.pop(out.data(), 480);
  q.push(std::vector<int16_t>(480, 6)); /* the history keeps the first chunk */
  for (int i = 0; i < 20; i++) {
    std::vector<int16_t> more = q.spare(480);
    more.assign(480, 7);
    q.push(std::move(more));
    q.pop(out.data(), 480);
  }
  std::vector<int16_t> again = q.spare(480);
  fail_unless(again.capacity() >= 480 && again.empty());
  fail_unless(q.scratch_bytes() <= ChunkPool::kMaxBytes + 480 * sizeof(int16_t) * 4);
  /* Huge chunks are not kept. */
  q.push(std::vector<int16_t>(ChunkPool::kMaxBytes, 1));
  q.clear();
  fail_unless(q.spare(ChunkPool::kMaxBytes).capacity() < ChunkPool::kMaxBytes);
}
GST_END_TEST;

/* A looping bed is converted once, not on every loop. */
GST_START_TEST(test_looping_bed_converts_once) {
  BackgroundLayer bed(1, 24000);
  bed.set_loop(true);
  bed.push(sine24k(24000));
  std::vector<int16_t> out(960);
  bed.read(out.data(), 480);
  bed.set_format(48000, 1);
  fail_unless_equals_int(bed.frames_converted(), 0);
  for (int k = 0; k < 100; k++) /* 2 s: the rest of this pass and the next */
    bed.read(out.data(), 960);
  const uint64_t after_two_passes = bed.frames_converted();
  fail_unless(after_two_passes < 2 * 24000 + 2 * RunReader::kMaxHistory);
  for (int k = 0; k < 150; k++) /* 3 s more */
    fail_unless_equals_int(bed.read(out.data(), 960), 960);
  fail_unless_equals_int(bed.frames_converted(), after_two_passes);
  /* The copy is the bed at 48 kHz: a pass is 48000 frames. */
  fail_unless_equals_int(bed.pending_frames() % 960, 0);
}
GST_END_TEST;

/* Played once, a bed converted part-way delivers what it promised. */
GST_START_TEST(test_bed_set_format_keeps_lengths) {
  BackgroundLayer bed(1, 24000);
  bed.push(sine24k(1000));
  std::vector<int16_t> out(4000);
  bed.read(out.data(), 100);
  bed.set_format(16000, 1);
  fail_unless_equals_int(bed.pending_frames(), 600);
  fail_unless_equals_int(bed.read(out.data(), 4000), 600);
  fail_unless(bed.empty());
}
GST_END_TEST;

/* A bed being converted: turning the loop off plays out what pending said;
 * a clear fades over converted frames; a format change during the fade
 * keeps it fading to zero. */
GST_START_TEST(test_bed_conversion_meets_loop_and_clear) {
  BackgroundLayer bed(1, 24000);
  bed.set_loop(true);
  bed.push(sine24k(24000));
  std::vector<int16_t> out(960);
  bed.read(out.data(), 480);
  bed.set_format(48000, 1);
  for (int k = 0; k < 25; k++)
    bed.read(out.data(), 960);
  bed.set_loop(false);
  const uint64_t pending = bed.pending_frames();
  fail_unless_equals_int(pending, 2 * (24000 - 480) - 25 * 960);
  uint64_t played = 0;
  while (std::size_t n = bed.read(out.data(), 960))
    played += n;
  fail_unless_equals_int(played, pending);
  fail_unless(bed.empty());

  BackgroundLayer faded(1, 24000);
  faded.set_loop(true);
  faded.push(std::vector<int16_t>(24000, 8000));
  faded.read(out.data(), 480);
  faded.set_format(16000, 1);
  faded.read(out.data(), 320);
  fail_unless_equals_int(faded.clear(160), 16000 - 320 - 320 - 160);
  faded.read(out.data(), 80);
  faded.set_format(48000, 1);
  fail_unless_equals_int(faded.pending_frames(), 240);
  fail_unless_equals_int(faded.read(out.data(), 960), 240);
  for (int i = 1; i < 240; i++)
    fail_unless(out[i] <= out[i - 1] + 2, "frame %d rises: %d", i, out[i]);
  fail_unless(std::abs(out[239]) <= 100, "fade ends at %d", out[239]);
  fail_unless(faded.empty());
}
GST_END_TEST;

static Suite *core_suite(void) {
  Suite *s = suite_create("core");
  TCase *tc = tcase_create("general");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_queue_pops_across_chunks_in_order);
  tcase_add_test(tc, test_queue_truncate_keeps_head);
  tcase_add_test(tc, test_assembler_joins_partial_frames);
  tcase_add_test(tc, test_fade_out_ramp_reaches_zero);
  tcase_add_test(tc, test_layer_events_positions);
  tcase_add_test(tc, test_layer_interrupt_keeps_fade_and_reports);
  tcase_add_test(tc, test_layer_discard_closes_utterance);
  tcase_add_test(tc, test_mix_saturates_and_ramps);
  tcase_add_test(tc, test_kernels_match_the_reference);
  tcase_add_test(tc, test_bed_plays_once_then_frees);
  tcase_add_test(tc, test_bed_loops_across_chunks);
  tcase_add_test(tc, test_bed_clear_fades_through_the_loop);
  tcase_add_test(tc, test_queue_set_format_keeps_lengths);
  tcase_add_test(tc, test_queue_rate_change_continues_the_waveform);
  tcase_add_test(tc, test_positions_map_in_proportion);
  tcase_add_test(tc, test_renegotiation_work_is_bounded);
  tcase_add_test(tc, test_scratch_stays_small);
  tcase_add_test(tc, test_consumed_chunks_are_reused);
  tcase_add_test(tc, test_looping_bed_converts_once);
  tcase_add_test(tc, test_bed_set_format_keeps_lengths);
  tcase_add_test(tc, test_bed_conversion_meets_loop_and_clear);
  return s;
}

GST_CHECK_MAIN(core);
