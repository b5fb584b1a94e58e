/* agentaudiosrc — unit tests of the GStreamer-free parts: the sample queue,
 * the frame assembler, the gain kernels and the speech layer's bookkeeping. */
#include <gst/check/gstcheck.h>

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
  return s;
}

GST_CHECK_MAIN(core);
