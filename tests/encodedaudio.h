/* agentaudiosrc — encoded test audio made at run time with GStreamer's own
 * encoders (shared by tests/test_decoder.cpp and bench/bench_decoder.cpp). */
#pragma once

#include <gst/gst.h>

#include <glib/gstdio.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace encoded {

inline bool have_element(const char *name) {
  GstElementFactory *f = gst_element_factory_find(name);
  if (f == nullptr)
    return false;
  gst_object_unref(f);
  return true;
}

/* Runs a gst-launch description to EOS (the bus wait is the only wait). */
inline bool run_pipeline(const std::string &description, std::string *error) {
  GError *err = nullptr;
  GstElement *pipeline = gst_parse_launch(description.c_str(), &err);
  if (pipeline == nullptr || err != nullptr) {
    if (error != nullptr)
      *error = err != nullptr ? err->message : "cannot build " + description;
    g_clear_error(&err);
    if (pipeline != nullptr)
      gst_object_unref(pipeline);
    return false;
  }
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus(pipeline);
  GstMessage *m = gst_bus_timed_pop_filtered(
      bus, GST_CLOCK_TIME_NONE, GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  bool ok = m != nullptr && GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS;
  if (!ok && m != nullptr && error != nullptr) {
    GError *e = nullptr;
    gst_message_parse_error(m, &e, nullptr);
    *error = e->message;
    g_clear_error(&e);
  }
  if (m != nullptr)
    gst_message_unref(m);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  return ok;
}

/* `seconds` of a `freq` Hz sine at half scale, S16 at `rate` Hz (a multiple
 * of 100, so that 10 ms buffers make `seconds` to the sample) in `channels`
 * channels, through `encoder` (a gst-launch fragment, e.g. "opusenc !
 * oggmux"): the bytes of the file it writes, or empty with `error` set. A
 * file, not an appsink: muxers such as wavenc and flacenc seek back at EOS
 * to write their header's final sizes, as they would on disk. */
inline std::vector<uint8_t> encode_sine(const std::string &encoder, int rate,
                                        int channels, double seconds, double freq = 440.0,
                                        std::string *error = nullptr) {
  std::vector<uint8_t> bytes;
  gchar *path = nullptr;
  gint fd = g_file_open_tmp("agentaudio-XXXXXX.enc", &path, nullptr);
  if (fd < 0) {
    if (error != nullptr)
      *error = "cannot make a temporary file";
    return bytes;
  }
  close(fd);
  gchar *desc = g_strdup_printf(
      "audiotestsrc num-buffers=%d samplesperbuffer=%d freq=%g volume=0.5 ! "
      "audio/x-raw,format=S16LE,rate=%d,channels=%d,layout=interleaved ! "
      "audioconvert ! %s ! filesink location=\"%s\"",
      (int)std::lround(seconds * 100), rate / 100, freq, rate, channels, encoder.c_str(),
      path);
  if (run_pipeline(desc, error)) {
    gchar *contents = nullptr;
    gsize length = 0;
    if (g_file_get_contents(path, &contents, &length, nullptr))
      bytes.assign(contents, contents + length);
    g_free(contents);
  }
  g_free(desc);
  g_unlink(path);
  g_free(path);
  return bytes;
}

}  // namespace encoded
