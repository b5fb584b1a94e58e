/* agentaudiosrc
 * Copyright (C) 2026 agentaudiosrc authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "streamdecoder.h"

#include <gst/pbutils/pbutils.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

GST_DEBUG_CATEGORY_STATIC(stream_decoder_debug);
#define GST_CAT_DEFAULT stream_decoder_debug

namespace agentaudio {

/* One element of the chain, with the bytes that went into it. */
struct StreamDecoder::Stage {
  StreamDecoder *self;
  GstElement *element; /* owned by bin_ */
  std::string factory;
  bool decodes = false; /* a decoder, not a parser or demuxer */
  bool demuxes = false;
  uint64_t bytes_in = 0;     /* every buffer that came in */
  uint64_t header_bytes = 0; /* of those flagged HEADER (codec set-up, no audio) */
  uint64_t pushed_at_last_input = 0; /* pushed_bytes_ when the last buffer came */
  /* Whether the buffers coming in carry their byte offset in the input
   * (after parsers only, and only while each buffer starts where the last
   * ended), and where the next should be. */
  bool offsets_are_bytes = false;
  uint64_t frames_in = 0; /* buffers that were not headers */
  guint64 next_offset = GST_BUFFER_OFFSET_NONE;
  /* Discontinuities since finish() last looked, and the bytes they skipped
   * where known. */
  unsigned gaps = 0;
  uint64_t skipped = 0;
  uint64_t skipped_total = 0; /* since the stream started: they owe no audio */
  /* The input offset of the first frame: what came before it (an ID3 tag
   * mpegaudioparse skips) owes no audio either. */
  guint64 first_offset = GST_BUFFER_OFFSET_NONE;
};

namespace {

void init_once() {
  static gsize done = 0;
  if (g_once_init_enter(&done)) {
    GST_DEBUG_CATEGORY_INIT(stream_decoder_debug, "agentaudiodecoder", 0,
                            "agentaudiosrc encoded-input decoder");
    gst_pb_utils_init();
    g_once_init_leave(&done, 1);
  }
}

bool has_name(const GstCaps *caps, const char *name) {
  return caps != nullptr && gst_caps_get_size(caps) > 0 &&
         gst_structure_has_name(gst_caps_get_structure(caps, 0), name);
}

std::string caps_string(const GstCaps *caps) {
  if (caps == nullptr)
    return "(none)";
  gchar *s = gst_caps_to_string(caps);
  std::string r(s);
  g_free(s);
  return r;
}

/* Caps for a message: without the codec set-up buffers (streamheader,
 * codec_data), which say nothing to a reader and run to kilobytes. */
std::string short_caps_string(const GstCaps *caps) {
  if (caps == nullptr)
    return "(none)";
  GstCaps *c = gst_caps_copy(caps);
  for (guint i = 0; i < gst_caps_get_size(c); i++)
    gst_structure_filter_and_map_in_place(
        gst_caps_get_structure(c, i),
        [](GQuark, GValue *v, gpointer) -> gboolean {
          return G_VALUE_TYPE(v) != GST_TYPE_BUFFER && G_VALUE_TYPE(v) != GST_TYPE_ARRAY;
        },
        nullptr);
  std::string r = caps_string(c);
  gst_caps_unref(c);
  return r;
}

/* Caps of a demuxer's output that are not ours to decode: leaving such a pad
 * unlinked is what a player does with a stream it does not play. */
bool is_other_media(const GstCaps *caps) {
  if (caps == nullptr || gst_caps_get_size(caps) == 0)
    return false;
  const char *n = gst_structure_get_name(gst_caps_get_structure(caps, 0));
  static const char *const prefixes[] = {"video/",      "image/",    "text/",
                                         "subpicture/", "subtitle/", "closedcaption/"};
  for (const char *p : prefixes)
    if (g_str_has_prefix(n, p))
      return true;
  static const char *const names[] = {"application/x-ogg-skeleton", "application/x-kate",
                                      "application/x-ssa", "application/x-ass",
                                      "application/x-subtitle"};
  for (const char *p : names)
    if (strcmp(n, p) == 0)
      return true;
  return false;
}

bool is_raw_audio(const GstCaps *caps) {
  return has_name(caps, "audio/x-raw");
}

bool usable_factory(GstElementFactory *f) {
  const char *klass = gst_element_factory_get_metadata(f, GST_ELEMENT_METADATA_KLASS);
  if (klass == nullptr)
    return false;
  if (strstr(klass, "Depayloader") != nullptr || strstr(klass, "Decryptor") != nullptr)
    return false;
  /* Video, image and subtitle decoders can accept caps an audio stream does
   * not have, but never produce audio. */
  if (strstr(klass, "Decoder") != nullptr && strstr(klass, "Audio") == nullptr)
    return false;
  return true;
}

bool is_demuxer(GstElementFactory *f) {
  const char *klass = gst_element_factory_get_metadata(f, GST_ELEMENT_METADATA_KLASS);
  return klass != nullptr && strstr(klass, "Demux") != nullptr;
}

/* The registry's parsers, demuxers and decoders of any rank that could
 * decode audio (a new reference to each; free with
 * gst_plugin_feature_list_free). Sorting them out of the whole registry
 * costs about 0.2 ms, so the list is kept until the registry changes. */
GList *decodable_factories() {
  static std::mutex lock;
  static GList *cached = nullptr;
  static guint32 cookie = 0;
  std::lock_guard<std::mutex> guard(lock);
  guint32 now = gst_registry_get_feature_list_cookie(gst_registry_get());
  if (cached == nullptr || now != cookie) {
    gst_plugin_feature_list_free(cached);
    GList *all = gst_element_factory_list_get_elements(GST_ELEMENT_FACTORY_TYPE_DECODABLE,
                                                       GST_RANK_NONE);
    cached = nullptr;
    for (GList *l = all; l != nullptr; l = l->next)
      if (usable_factory(GST_ELEMENT_FACTORY(l->data)))
        cached = g_list_prepend(cached, gst_object_ref(l->data));
    gst_plugin_feature_list_free(all);
    cookie = now;
  }
  return gst_plugin_feature_list_copy(cached);
}

/* The parsers, demuxers and decoders that take `caps`, best rank first (the
 * order decodebin tries them in). Bytes straight from the application are
 * neither framed nor parsed: marking them so keeps a decoder that needs
 * framed input (flacdec, mpg123audiodec) from being plugged onto them when
 * the parser is missing. Free with gst_plugin_feature_list_free. */
GList *candidates(const GstCaps *caps, bool unframed) {
  GstCaps *filter = gst_caps_copy(caps);
  if (unframed) {
    for (guint i = 0; i < gst_caps_get_size(filter); i++) {
      GstStructure *s = gst_caps_get_structure(filter, i);
      if (!gst_structure_has_field(s, "framed"))
        gst_structure_set(s, "framed", G_TYPE_BOOLEAN, FALSE, NULL);
      if (!gst_structure_has_field(s, "parsed"))
        gst_structure_set(s, "parsed", G_TYPE_BOOLEAN, FALSE, NULL);
    }
  }
  GList *all = decodable_factories();
  GList *fit = gst_element_factory_list_filter(all, filter, GST_PAD_SINK, FALSE);
  gst_plugin_feature_list_free(all);
  gst_caps_unref(filter);

  /* The rank is read now, not when the list was made: it can be changed at
   * run time (gst_plugin_feature_set_rank, GST_PLUGIN_FEATURE_RANK). */
  GList *usable = nullptr;
  for (GList *l = fit; l != nullptr; l = l->next) {
    auto *f = GST_ELEMENT_FACTORY(l->data);
    if (gst_plugin_feature_get_rank(GST_PLUGIN_FEATURE(f)) >= GST_RANK_MARGINAL)
      usable = g_list_prepend(usable, gst_object_ref(f));
  }
  gst_plugin_feature_list_free(fit);
  return g_list_sort(usable, gst_plugin_feature_rank_compare_func);
}

/* The Debian package that has a parser or decoder for `caps`, where known. */
std::string package_hint(const GstCaps *caps) {
  if (caps == nullptr || gst_caps_get_size(caps) == 0)
    return "";
  const GstStructure *s = gst_caps_get_structure(caps, 0);
  const char *n = gst_structure_get_name(s);
  if (strcmp(n, "audio/mpeg") == 0) {
    gint version = 1;
    gst_structure_get_int(s, "mpegversion", &version);
    if (version == 1)
      return "gstreamer1.0-plugins-good";
    gboolean framed = FALSE;
    if (!gst_structure_get_boolean(s, "framed", &framed) || !framed)
      return "gstreamer1.0-plugins-good"; /* aacparse */
    return "gstreamer1.0-libav (avdec_aac) or gstreamer1.0-plugins-bad (faad)";
  }
  static const char *const good[] = {
      "audio/x-wav",       "audio/x-flac",         "audio/x-speex",
      "audio/x-wavpack",   "audio/x-alaw",         "audio/x-mulaw",
      "application/x-id3", "application/x-apetag", "audio/x-au"};
  for (const char *g : good)
    if (strcmp(n, g) == 0)
      return "gstreamer1.0-plugins-good";
  static const char *const base[] = {"application/ogg", "audio/ogg", "audio/x-opus",
                                     "audio/x-vorbis"};
  for (const char *b : base)
    if (strcmp(n, b) == 0)
      return "gstreamer1.0-plugins-base";
  if (strcmp(n, "audio/x-ac3") == 0 || strcmp(n, "audio/x-eac3") == 0)
    return "gstreamer1.0-libav (avdec_ac3) or gstreamer1.0-plugins-ugly (a52dec)";
  if (strcmp(n, "audio/AMR") == 0 || strcmp(n, "audio/AMR-WB") == 0)
    return "gstreamer1.0-plugins-ugly";
  return "";
}

/* pbutils describes fixed caps only: the first structure, without the
 * fields that are ranges or lists (a pad template's). */
GstCaps *describable(const GstCaps *caps) {
  GstCaps *c = gst_caps_new_empty();
  if (caps != nullptr && gst_caps_get_size(caps) > 0) {
    GstStructure *s = gst_structure_copy(gst_caps_get_structure(caps, 0));
    gst_structure_filter_and_map_in_place(
        s, [](GQuark, GValue *v, gpointer) -> gboolean { return gst_value_is_fixed(v); },
        nullptr);
    gst_caps_append_structure(c, s);
  }
  return c;
}

std::string codec_description(const GstCaps *caps) {
  GstCaps *fixed = describable(caps);
  gchar *d =
      gst_caps_is_empty(fixed) ? nullptr : gst_pb_utils_get_codec_description(fixed);
  gst_caps_unref(fixed);
  std::string r = d != nullptr ? d : caps_string(caps);
  g_free(d);
  return r;
}

/* "no MPEG-1 Layer 3 (MP3) decoder is installed (install …)" */
std::string missing_message(const GstCaps *missing) {
  GstCaps *fixed = describable(missing);
  gchar *d =
      gst_caps_is_empty(fixed) ? nullptr : gst_pb_utils_get_decoder_description(fixed);
  gst_caps_unref(fixed);
  std::string r = "no ";
  r += d != nullptr ? d : "decoder";
  g_free(d);
  r += " is installed for " + short_caps_string(missing);
  std::string pkg = package_hint(missing);
  if (!pkg.empty())
    r += " (install " + pkg + ")";
  return r;
}

/* Whether a chain of parsers/demuxers/decoders turns `caps` into raw audio,
 * judged from pad templates. `missing` gets the caps where it stops. */
bool find_path(GstCaps *caps, std::vector<std::string> &used, int depth,
               GstCaps **missing) {
  if (is_raw_audio(caps))
    return true;
  if (depth > 6)
    return false;
  GList *list = candidates(caps, depth == 0);
  bool found = false;
  for (GList *l = list; l != nullptr && !found; l = l->next) {
    auto *f = GST_ELEMENT_FACTORY(l->data);
    std::string fname = GST_OBJECT_NAME(f);
    if (std::find(used.begin(), used.end(), fname) != used.end())
      continue;
    /* What is inside a container is known only from its data. */
    if (is_demuxer(f)) {
      found = true;
      break;
    }
    for (const GList *t = gst_element_factory_get_static_pad_templates(f);
         t != nullptr && !found; t = t->next) {
      auto *templ = static_cast<GstStaticPadTemplate *>(t->data);
      if (templ->direction != GST_PAD_SRC)
        continue;
      GstCaps *tcaps = gst_static_caps_get(&templ->static_caps);
      for (guint i = 0; i < gst_caps_get_size(tcaps) && !found; i++)
        found = gst_structure_has_name(gst_caps_get_structure(tcaps, i), "audio/x-raw");
      if (!found) {
        GstCaps *next = gst_caps_intersect(tcaps, caps);
        if (gst_caps_is_empty(next)) {
          gst_caps_unref(next);
          next = gst_caps_ref(tcaps);
        }
        used.push_back(fname);
        found = find_path(next, used, depth + 1, missing);
        used.pop_back();
        gst_caps_unref(next);
      }
      gst_caps_unref(tcaps);
    }
  }
  gst_plugin_feature_list_free(list);
  if (!found && *missing == nullptr)
    *missing = gst_caps_ref(caps);
  return found;
}

}  // namespace

/* ---- static checks ---- */

bool StreamDecoder::is_encoded(const GstCaps *caps) {
  if (caps == nullptr || gst_caps_is_empty(caps) || gst_caps_is_any(caps))
    return false;
  const char *n = gst_structure_get_name(gst_caps_get_structure(caps, 0));
  if (strcmp(n, "audio/x-raw") == 0)
    return false;
  return g_str_has_prefix(n, "audio/") || strcmp(n, "application/ogg") == 0 ||
         strcmp(n, "application/x-id3") == 0;
}

bool StreamDecoder::can_decode(const GstCaps *caps, std::string *why,
                               std::string *missing) {
  init_once();
  if (!is_encoded(caps)) {
    if (why != nullptr)
      *why = "not an encoded audio format: " + caps_string(caps);
    return false;
  }
  GstCaps *c = gst_caps_copy(caps);
  GstCaps *stop = nullptr;
  std::vector<std::string> used;
  bool ok = find_path(c, used, 0, &stop);
  if (!ok) {
    if (why != nullptr)
      *why = "cannot decode " + codec_description(caps) + ": " + missing_message(stop);
    if (missing != nullptr)
      *missing = short_caps_string(stop);
  }
  if (stop != nullptr)
    gst_caps_unref(stop);
  gst_caps_unref(c);
  return ok;
}

/* ---- life cycle ---- */

StreamDecoder::StreamDecoder(std::string name, const GstCaps *caps)
    : name_(std::move(name)) {
  init_once();
  if (caps != nullptr)
    caps_ = gst_caps_copy(caps);

  src_ = gst_pad_new("src", GST_PAD_SRC);
  gst_pad_set_element_private(src_, this);
  gst_pad_set_query_function(src_, on_src_query);
  gst_pad_set_event_function(src_, on_src_event);
  gst_object_ref_sink(src_);
  sink_ = gst_pad_new("sink", GST_PAD_SINK);
  gst_pad_set_element_private(sink_, this);
  gst_pad_set_chain_function(sink_, on_sink_chain);
  gst_pad_set_event_function(sink_, on_sink_event);
  gst_pad_set_query_function(sink_, on_sink_query);
  gst_object_ref_sink(sink_);
  gst_pad_set_active(src_, TRUE);
  gst_pad_set_active(sink_, TRUE);

  bus_ = gst_bus_new();
  gst_bus_set_sync_handler(bus_, on_bus_message, this, nullptr);
}

StreamDecoder::~StreamDecoder() {
  teardown();
  gst_pad_set_active(src_, FALSE);
  gst_pad_set_active(sink_, FALSE);
  gst_object_unref(src_);
  gst_object_unref(sink_);
  gst_bus_set_sync_handler(bus_, nullptr, nullptr, nullptr);
  gst_object_unref(bus_);
  if (caps_ != nullptr)
    gst_caps_unref(caps_);
}

bool StreamDecoder::set_caps(const GstCaps *caps) {
  if (caps_ != nullptr && caps != nullptr && gst_caps_is_equal(caps_, caps))
    return false;
  reset();
  if (caps_ != nullptr)
    gst_caps_unref(caps_);
  caps_ = caps != nullptr ? gst_caps_copy(caps) : nullptr;
  return true;
}

GstCaps *StreamDecoder::caps() const {
  return caps_ != nullptr ? gst_caps_ref(caps_) : nullptr;
}

void StreamDecoder::reset() {
  teardown();
  failing_ = false;
  last_error_.clear();
}

std::vector<std::string> StreamDecoder::chain() const {
  std::vector<std::string> names;
  for (const auto &s : stages_)
    names.push_back(s->factory);
  return names;
}

bool StreamDecoder::first_is_decoder() const {
  if (stages_.empty())
    return false;
  GstElementFactory *f = gst_element_get_factory(stages_.front()->element);
  const char *klass = gst_element_factory_get_metadata(f, GST_ELEMENT_METADATA_KLASS);
  return klass != nullptr && strstr(klass, "Decoder") != nullptr;
}

std::string StreamDecoder::describe_format() const {
  return name_ + " (" + codec_description(caps_) + ")";
}

bool StreamDecoder::start_stream(Status &st) {
  if (caps_ == nullptr || !is_encoded(caps_)) {
    st.result = Result::ERROR;
    st.message = name_ + ": not an encoded audio format: " + caps_string(caps_);
    return false;
  }
  bin_ = gst_bin_new(nullptr);
  gst_object_ref_sink(bin_);
  gst_element_set_bus(bin_, bus_);
  gst_element_set_state(bin_, GST_STATE_PLAYING);

  if (!plug(src_, caps_)) {
    st.result = Result::ERROR;
    st.message = name_ + ": cannot decode " + codec_description(caps_) + ": " +
                 missing_message(caps_);
    st.missing_caps = short_caps_string(caps_);
    teardown();
    return false;
  }

  gchar *id = g_strdup_printf("agentaudio-%s-%p-%" G_GUINT64_FORMAT, name_.c_str(),
                              (void *)this, (guint64)++streams_);
  GstEvent *start = gst_event_new_stream_start(id);
  g_free(id);
  gst_event_set_group_id(start, gst_util_group_id_next());
  gst_pad_push_event(src_, start);
  gst_pad_push_event(src_, gst_event_new_caps(caps_));
  /* Bytes, as from a file, for parsers and demuxers (which turn them into
   * time); time for a decoder that takes the pushes as they are (one Opus
   * packet per push): a GstAudioDecoder ignores a segment in bytes, and the
   * push would then fail. */
  GstSegment segment;
  gst_segment_init(&segment, first_is_decoder() ? GST_FORMAT_TIME : GST_FORMAT_BYTES);
  gst_pad_push_event(src_, gst_event_new_segment(&segment));
  return true;
}

void StreamDecoder::teardown() {
  if (bin_ != nullptr) {
    GstPad *peer = gst_pad_get_peer(src_);
    if (peer != nullptr) {
      gst_pad_unlink(src_, peer);
      gst_object_unref(peer);
    }
    peer = gst_pad_get_peer(sink_);
    if (peer != nullptr) {
      gst_pad_unlink(peer, sink_);
      gst_object_unref(peer);
    }
    gst_element_set_state(bin_, GST_STATE_NULL);
    gst_object_unref(bin_);
    bin_ = nullptr;
  }
  stages_.clear();
  decoder_ = nullptr;

  /* Deactivating drops the pads' sticky events and their EOS. */
  gst_pad_set_active(src_, FALSE);
  gst_pad_set_active(src_, TRUE);
  gst_pad_set_active(sink_, FALSE);
  gst_pad_set_active(sink_, TRUE);

  std::vector<GstMessage *> left;
  {
    std::lock_guard<std::mutex> lock(msg_lock_);
    left.swap(messages_);
  }
  for (GstMessage *m : left)
    gst_message_unref(m);

  have_info_ = false;
  missing_caps_.clear();
  pushed_bytes_ = 0;
  decoded_done_ns_ = 0;
  decoded_frames_ = 0;
  bitrate_tag_ = 0;
}

/* ---- plugging ---- */

bool StreamDecoder::plug(GstPad *pad, GstCaps *caps) {
  if (is_raw_audio(caps))
    return link_to_sink(pad);

  /* The factories upstream of `pad`: a parser must not be plugged after
   * itself (its output caps are still its input caps). */
  std::vector<std::string> upstream;
  for (GstObject *parent = GST_OBJECT_PARENT(pad); parent != nullptr;) {
    auto it = std::find_if(stages_.begin(), stages_.end(), [&](const auto &s) {
      return GST_OBJECT_CAST(s->element) == parent;
    });
    if (it == stages_.end())
      break;
    upstream.push_back((*it)->factory);
    GstPad *in = gst_element_get_static_pad((*it)->element, "sink");
    if (in == nullptr)
      break;
    GstPad *peer = gst_pad_get_peer(in);
    gst_object_unref(in);
    parent = peer != nullptr ? GST_OBJECT_PARENT(peer) : nullptr;
    if (peer != nullptr)
      gst_object_unref(peer);
  }

  GList *list = candidates(caps, pad == src_);
  bool plugged = false;
  for (GList *l = list; l != nullptr && !plugged; l = l->next) {
    auto *f = GST_ELEMENT_FACTORY(l->data);
    std::string fname = GST_OBJECT_NAME(f);
    if (std::find(upstream.begin(), upstream.end(), fname) != upstream.end())
      continue;
    GstElement *e = gst_element_factory_create(f, nullptr);
    if (e == nullptr)
      continue;
    gst_bin_add(GST_BIN(bin_), e);
    GstPad *in = gst_element_get_static_pad(e, "sink");
    if (in == nullptr || GST_PAD_LINK_FAILED(gst_pad_link(pad, in))) {
      GST_DEBUG("%s: %s does not link to %s:%s", name_.c_str(), fname.c_str(),
                GST_DEBUG_PAD_NAME(pad));
      if (in != nullptr)
        gst_object_unref(in);
      gst_element_set_state(e, GST_STATE_NULL);
      gst_bin_remove(GST_BIN(bin_), e);
      continue;
    }

    auto stage = std::make_unique<Stage>();
    stage->self = this;
    stage->element = e;
    stage->factory = fname;
    const char *klass = gst_element_factory_get_metadata(f, GST_ELEMENT_METADATA_KLASS);
    stage->decodes = klass != nullptr && strstr(klass, "Decoder") != nullptr;
    stage->demuxes = is_demuxer(f);
    gst_pad_add_probe(
        in, GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST),
        on_bytes_probe, stage.get(), nullptr);
    stages_.push_back(std::move(stage));

    g_signal_connect(e, "pad-added", G_CALLBACK(on_pad_added), this);
    GstIterator *it = gst_element_iterate_src_pads(e);
    GValue v = G_VALUE_INIT;
    while (gst_iterator_next(it, &v) == GST_ITERATOR_OK) {
      watch_src_pad(GST_PAD(g_value_get_object(&v)));
      g_value_reset(&v);
    }
    g_value_unset(&v);
    gst_iterator_free(it);

    if (gst_element_sync_state_with_parent(e)) {
      GST_DEBUG("%s: plugged %s for %" GST_PTR_FORMAT, name_.c_str(), fname.c_str(),
                caps);
      plugged = true;
    } else {
      gst_pad_unlink(pad, in);
      gst_element_set_state(e, GST_STATE_NULL);
      gst_bin_remove(GST_BIN(bin_), e);
      stages_.pop_back();
    }
    gst_object_unref(in);
  }
  gst_plugin_feature_list_free(list);

  if (!plugged && missing_caps_.empty())
    missing_caps_ = short_caps_string(caps);
  return plugged;
}

void StreamDecoder::watch_src_pad(GstPad *pad) {
  GstCaps *caps = gst_pad_get_current_caps(pad);
  if (caps != nullptr) {
    if (!is_other_media(caps))
      plug(pad, caps);
    gst_caps_unref(caps);
    return;
  }
  gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_caps_probe, this,
                    nullptr);
}

bool StreamDecoder::link_to_sink(GstPad *pad) {
  /* A chained Ogg stream: the new logical stream replaces the old one. */
  GstPad *old = gst_pad_get_peer(sink_);
  if (old != nullptr) {
    gst_pad_unlink(old, sink_);
    gst_object_unref(old);
  }
  if (GST_PAD_LINK_FAILED(gst_pad_link(pad, sink_)))
    return false;
  decoder_ = nullptr;
  for (auto &s : stages_)
    if (GST_OBJECT_CAST(s->element) == GST_OBJECT_PARENT(pad))
      decoder_ = s.get();
  if (decoder_ != nullptr)
    decoder_->offsets_are_bytes = decoder_ != stages_.front().get() &&
                                  std::none_of(stages_.begin(), stages_.end(),
                                               [](const auto &s) { return s->demuxes; });
  return true;
}

void StreamDecoder::on_pad_added(GstElement *, GstPad *pad, gpointer self) {
  static_cast<StreamDecoder *>(self)->watch_src_pad(pad);
}

GstPadProbeReturn StreamDecoder::on_caps_probe(GstPad *pad, GstPadProbeInfo *info,
                                               gpointer data) {
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT(info);
  if (GST_EVENT_TYPE(event) != GST_EVENT_CAPS)
    return GST_PAD_PROBE_OK;
  auto *self = static_cast<StreamDecoder *>(data);
  GstCaps *caps = nullptr;
  gst_event_parse_caps(event, &caps);
  if (!gst_pad_is_linked(pad) && !is_other_media(caps))
    self->plug(pad, caps);
  return GST_PAD_PROBE_REMOVE;
}

GstPadProbeReturn StreamDecoder::on_bytes_probe(GstPad *, GstPadProbeInfo *info,
                                                gpointer data) {
  auto *stage = static_cast<Stage *>(data);
  auto count = [stage](GstBuffer *b) {
    gsize n = gst_buffer_get_size(b);
    /* A discontinuity after the first frame of audio: a parser or demuxer
     * skipped bytes it could not use (garbage, a corrupt page). After
     * parsers that give each frame its byte offset in the input (baseparse
     * does, flacparse does not), the gap has a size. */
    const bool header = GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_HEADER);
    const bool discont = GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_DISCONT);
    const guint64 offset = GST_BUFFER_OFFSET(b);
    if (header) {
      /* Headers after audio start a new logical stream (a chained Ogg
       * stream): its first frame's discontinuity is no gap. */
      stage->frames_in = 0;
    } else {
      if (discont && stage->frames_in > 0) {
        stage->gaps++;
        if (stage->offsets_are_bytes && stage->next_offset != GST_BUFFER_OFFSET_NONE &&
            offset != GST_BUFFER_OFFSET_NONE && offset > stage->next_offset) {
          stage->skipped += offset - stage->next_offset;
          stage->skipped_total += offset - stage->next_offset;
        }
      } else if (stage->frames_in > 0 && offset != stage->next_offset) {
        stage->offsets_are_bytes = false;
      } else if (stage->frames_in == 0 && stage->bytes_in == 0) {
        stage->first_offset = offset;
      }
      stage->frames_in++;
    }
    stage->next_offset = offset != GST_BUFFER_OFFSET_NONE ? offset + n : offset;
    stage->bytes_in += n;
    if (GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_HEADER))
      stage->header_bytes += n;
  };
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    count(GST_PAD_PROBE_INFO_BUFFER(info));
  } else if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
    GstBufferList *list = GST_PAD_PROBE_INFO_BUFFER_LIST(info);
    for (guint i = 0; i < gst_buffer_list_length(list); i++)
      count(gst_buffer_list_get(list, i));
  }
  stage->pushed_at_last_input = stage->self->pushed_bytes_;
  return GST_PAD_PROBE_OK;
}

/* ---- our pads ---- */

gboolean StreamDecoder::on_src_query(GstPad *pad, GstObject *, GstQuery *query) {
  auto *self = static_cast<StreamDecoder *>(gst_pad_get_element_private(pad));
  switch (GST_QUERY_TYPE(query)) {
    case GST_QUERY_SCHEDULING:
      /* Push mode only: a demuxer that could pull would start a task. */
      gst_query_set_scheduling(query, GST_SCHEDULING_FLAG_SEQUENTIAL, 1, -1, 0);
      gst_query_add_scheduling_mode(query, GST_PAD_MODE_PUSH);
      return TRUE;
    case GST_QUERY_SEEKING: {
      /* Not seekable: a demuxer then never asks to seek (oggdemux would
       * send that seek from a thread of its own). */
      GstFormat format;
      gst_query_parse_seeking(query, &format, nullptr, nullptr, nullptr);
      gst_query_set_seeking(query, format, FALSE, 0, -1);
      return TRUE;
    }
    case GST_QUERY_CAPS: {
      GstCaps *filter = nullptr;
      gst_query_parse_caps(query, &filter);
      GstCaps *caps =
          self->caps_ != nullptr ? gst_caps_ref(self->caps_) : gst_caps_new_empty();
      if (filter != nullptr) {
        GstCaps *f = gst_caps_intersect_full(filter, caps, GST_CAPS_INTERSECT_FIRST);
        gst_caps_unref(caps);
        caps = f;
      }
      gst_query_set_caps_result(query, caps);
      gst_caps_unref(caps);
      return TRUE;
    }
    default:
      return FALSE;
  }
}

/* Upstream events from the chain (a seek, a reconfigure): nothing to do
 * with them, the bytes come as the application pushes them. */
gboolean StreamDecoder::on_src_event(GstPad *, GstObject *, GstEvent *event) {
  gst_event_unref(event);
  return FALSE;
}

gboolean StreamDecoder::on_sink_query(GstPad *pad, GstObject *parent, GstQuery *query) {
  switch (GST_QUERY_TYPE(query)) {
    case GST_QUERY_CAPS: {
      GstCaps *filter = nullptr;
      gst_query_parse_caps(query, &filter);
      GstCaps *caps = gst_caps_new_empty_simple("audio/x-raw");
      if (filter != nullptr) {
        GstCaps *f = gst_caps_intersect_full(filter, caps, GST_CAPS_INTERSECT_FIRST);
        gst_caps_unref(caps);
        caps = f;
      }
      gst_query_set_caps_result(query, caps);
      gst_caps_unref(caps);
      return TRUE;
    }
    case GST_QUERY_ACCEPT_CAPS: {
      GstCaps *caps = nullptr;
      gst_query_parse_accept_caps(query, &caps);
      gst_query_set_accept_caps_result(query, is_raw_audio(caps));
      return TRUE;
    }
    default:
      return gst_pad_query_default(pad, parent, query);
  }
}

gboolean StreamDecoder::on_sink_event(GstPad *pad, GstObject *, GstEvent *event) {
  auto *self = static_cast<StreamDecoder *>(gst_pad_get_element_private(pad));
  gboolean ok = TRUE;
  switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_CAPS: {
      GstCaps *caps = nullptr;
      gst_event_parse_caps(event, &caps);
      GstAudioInfo info;
      ok = gst_audio_info_from_caps(&info, caps);
      if (ok) {
        if (self->have_info_) {
          self->decoded_done_ns_ += gst_util_uint64_scale_int(
              self->decoded_frames_, GST_SECOND, GST_AUDIO_INFO_RATE(&self->info_));
          self->decoded_frames_ = 0;
        }
        self->info_ = info;
        self->have_info_ = true;
      }
      break;
    }
    case GST_EVENT_TAG: {
      GstTagList *tags = nullptr;
      gst_event_parse_tag(event, &tags);
      guint bitrate = 0;
      if (gst_tag_list_get_uint(tags, GST_TAG_BITRATE, &bitrate) ||
          gst_tag_list_get_uint(tags, GST_TAG_NOMINAL_BITRATE, &bitrate))
        if (bitrate > 0)
          self->bitrate_tag_ = bitrate;
      break;
    }
    default:
      break;
  }
  gst_event_unref(event);
  return ok;
}

GstFlowReturn StreamDecoder::on_sink_chain(GstPad *pad, GstObject *, GstBuffer *buf) {
  auto *self = static_cast<StreamDecoder *>(gst_pad_get_element_private(pad));
  if (!self->have_info_) {
    gst_buffer_unref(buf);
    return GST_FLOW_NOT_NEGOTIATED;
  }
  self->output(buf);
  gst_buffer_unref(buf);
  return GST_FLOW_OK;
}

void StreamDecoder::output(GstBuffer *buf) {
  const GstAudioInfo &info = info_;
  const gint bpf = GST_AUDIO_INFO_BPF(&info);
  if (bpf <= 0)
    return;
  if (GST_AUDIO_INFO_LAYOUT(&info) == GST_AUDIO_LAYOUT_INTERLEAVED) {
    GstMapInfo map;
    if (!gst_buffer_map(buf, &map, GST_MAP_READ))
      return;
    std::size_t frames = map.size / bpf;
    const uint8_t *data = map.data;
    /* Parsers hand out sub-buffers at any byte (wavparse after a 44-byte
     * header and odd-sized pushes): samples are given aligned to their
     * size, so that they can be read as what they are. */
    const std::size_t bps = bpf / GST_AUDIO_INFO_CHANNELS(&info);
    const std::size_t align = (bps & (bps - 1)) == 0 ? std::min<std::size_t>(bps, 8) : 1;
    if (frames > 0 && reinterpret_cast<uintptr_t>(data) % align != 0) {
      scratch_.assign(data, data + frames * bpf);
      data = scratch_.data();
    }
    if (frames > 0) {
      decoded_frames_ += frames;
      failing_ = false;
      if (out_ != nullptr && *out_)
        (*out_)(info, data, frames);
    }
    gst_buffer_unmap(buf, &map);
    return;
  }

  /* Planar output (e.g. avdec_*): interleaved for the caller. */
  GstAudioBuffer abuf;
  if (!gst_audio_buffer_map(&abuf, &info, buf, GST_MAP_READ))
    return;
  const std::size_t frames = abuf.n_samples;
  const gint channels = GST_AUDIO_INFO_CHANNELS(&info);
  const gint bps = bpf / channels;
  scratch_.resize(frames * bpf);
  for (std::size_t i = 0; i < frames; i++)
    for (gint c = 0; c < channels; c++)
      memcpy(scratch_.data() + i * bpf + c * bps,
             static_cast<const uint8_t *>(abuf.planes[c]) + i * bps, bps);
  gst_audio_buffer_unmap(&abuf);
  if (frames == 0)
    return;
  GstAudioInfo inter = info;
  inter.layout = GST_AUDIO_LAYOUT_INTERLEAVED;
  decoded_frames_ += frames;
  failing_ = false;
  if (out_ != nullptr && *out_)
    (*out_)(inter, scratch_.data(), frames);
}

GstBusSyncReply StreamDecoder::on_bus_message(GstBus *, GstMessage *msg, gpointer data) {
  auto *self = static_cast<StreamDecoder *>(data);
  bool keep = false;
  switch (GST_MESSAGE_TYPE(msg)) {
    case GST_MESSAGE_ERROR:
    case GST_MESSAGE_WARNING:
      keep = true;
      break;
    case GST_MESSAGE_STREAM_STATUS: {
      GstStreamStatusType type;
      GstElement *owner = nullptr;
      gst_message_parse_stream_status(msg, &type, &owner);
      keep = type == GST_STREAM_STATUS_TYPE_CREATE;
      break;
    }
    default:
      break;
  }
  if (keep) {
    std::lock_guard<std::mutex> lock(self->msg_lock_);
    self->messages_.push_back(gst_message_ref(msg));
  }
  gst_message_unref(msg);
  return GST_BUS_DROP;
}

/* ---- pushing ---- */

StreamDecoder::Status StreamDecoder::push(const uint8_t *data, std::size_t size,
                                          const DecodedAudioFn &out) {
  Status st;
  if (busy_) {
    st.result = Result::ERROR;
    st.message = name_ + ": push() called from within the decoder's output";
    return st;
  }
  if (size == 0)
    return st;
  if (bin_ == nullptr && !start_stream(st))
    return note_failure(st);

  GstBuffer *buf = gst_buffer_new_memdup(data, size);
  GST_BUFFER_OFFSET(buf) = pushed_bytes_;
  GST_BUFFER_OFFSET_END(buf) = pushed_bytes_ + size;
  if (pushed_bytes_ == 0)
    GST_BUFFER_FLAG_SET(buf, GST_BUFFER_FLAG_DISCONT);
  pushed_bytes_ += size;

  busy_ = true;
  out_ = &out;
  GstFlowReturn ret = gst_pad_push(src_, buf);
  out_ = nullptr;
  busy_ = false;
  return finish(ret, false);
}

StreamDecoder::Status StreamDecoder::drain(const DecodedAudioFn &out) {
  Status st;
  if (busy_) {
    st.result = Result::ERROR;
    st.message = name_ + ": drain() called from within the decoder's output";
    return st;
  }
  if (bin_ == nullptr) {
    failing_ = false;
    return st;
  }
  busy_ = true;
  out_ = &out;
  gst_pad_push_event(src_, gst_event_new_eos());
  out_ = nullptr;
  busy_ = false;
  st = finish(GST_FLOW_OK, true);
  if (!st.failed() && pushed_bytes_ > 0 && decoded_time() == 0) {
    st.result = Result::ERROR;
    st.message = describe_format() + ": no audio could be decoded from the " +
                 std::to_string(pushed_bytes_) + " bytes of the stream";
    if (!missing_caps_.empty()) {
      GstCaps *m = gst_caps_from_string(missing_caps_.c_str());
      st.message = describe_format() + ": " + missing_message(m);
      st.missing_caps = missing_caps_;
      gst_caps_unref(m);
    }
    st = note_failure(st);
  } else if (st.ok() && !raw_from_demuxer() && undecoded_bytes() > 0) {
    /* After EOS every element has output what it could: bytes still
     * unaccounted for were a cut frame or page, or garbage at the end.
     * (After wavparse, what is left is the header.) */
    st.result = Result::WARNING;
    st.message = describe_format() + ": the last " + std::to_string(undecoded_bytes()) +
                 " bytes of the stream did not decode (a frame or page cut short, or "
                 "garbage at the end)";
  }
  teardown();
  failing_ = false;
  last_error_.clear();
  return st;
}

StreamDecoder::Status StreamDecoder::finish(GstFlowReturn ret, bool draining) {
  std::vector<GstMessage *> msgs;
  {
    std::lock_guard<std::mutex> lock(msg_lock_);
    msgs.swap(messages_);
  }
  Status st;
  for (GstMessage *m : msgs) {
    /* The factory's name, not the element's: the same failure of a new
     * chain reads the same (wavparse, not wavparse3). */
    const char *src = "?";
    if (GST_IS_ELEMENT(GST_MESSAGE_SRC(m)) &&
        gst_element_get_factory(GST_ELEMENT(GST_MESSAGE_SRC(m))) != nullptr)
      src = GST_OBJECT_NAME(gst_element_get_factory(GST_ELEMENT(GST_MESSAGE_SRC(m))));
    else if (GST_MESSAGE_SRC_NAME(m) != nullptr)
      src = GST_MESSAGE_SRC_NAME(m);
    if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_STREAM_STATUS) {
      /* Posted by the task's pad; named after the element that owns it. */
      GstStreamStatusType type;
      GstElement *owner = nullptr;
      gst_message_parse_stream_status(m, &type, &owner);
      std::string who = src;
      if (owner != nullptr && gst_element_get_factory(owner) != nullptr)
        who = GST_OBJECT_NAME(gst_element_get_factory(owner));
      if (st.result != Result::ERROR) {
        st.result = Result::ERROR;
        st.message = describe_format() + ": " + who +
                     " starts a streaming thread of its own, which the decoder does not "
                     "allow";
      }
      continue;
    }
    GError *err = nullptr;
    gchar *dbg = nullptr;
    bool error = GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR;
    if (error)
      gst_message_parse_error(m, &err, &dbg);
    else
      gst_message_parse_warning(m, &err, &dbg);
    bool take = error ? st.result != Result::ERROR : st.result == Result::OK;
    if (take) {
      st.result = error ? Result::ERROR : Result::WARNING;
      st.message = describe_format() + ": " + src + ": " +
                   (err != nullptr ? err->message : "unknown error");
      st.debug = dbg != nullptr ? dbg : "";
    }
    g_clear_error(&err);
    g_free(dbg);
  }
  for (GstMessage *m : msgs)
    gst_message_unref(m);

  if (decoder_ != nullptr && decoder_->gaps > 0) {
    if (st.result == Result::OK) {
      st.result = Result::WARNING;
      st.message = describe_format() + ": ";
      if (decoder_->skipped > 0)
        st.message += "skipped " + std::to_string(decoder_->skipped) + " bytes";
      else
        st.message += "skipped part of the stream";
      st.message +=
          " that could not be decoded (garbage, or bytes missing); decoding goes on";
    }
    decoder_->gaps = 0;
    decoder_->skipped = 0;
  }

  if (st.result != Result::ERROR) {
    if (ret == GST_FLOW_EOS && !draining) {
      /* The stream ended itself (a WAV data chunk's declared size): what
       * follows starts a new one. */
      GST_DEBUG("%s: the chain ended the stream", name_.c_str());
      teardown();
      return st;
    }
    if (ret == GST_FLOW_NOT_LINKED) {
      st.result = Result::ERROR;
      if (!missing_caps_.empty()) {
        GstCaps *m = gst_caps_from_string(missing_caps_.c_str());
        st.message = describe_format() + ": " + missing_message(m);
        st.missing_caps = missing_caps_;
        gst_caps_unref(m);
      } else {
        st.message =
            describe_format() + ": the stream holds no audio that can be decoded";
      }
    } else if (ret < GST_FLOW_OK && ret != GST_FLOW_EOS) {
      st.result = Result::ERROR;
      st.message =
          describe_format() + ": decoding failed (" + gst_flow_get_name(ret) + ")";
      if (ret == GST_FLOW_NOT_NEGOTIATED)
        st.message += ": the chain did not accept " + caps_string(caps_) +
                      " (fields it needs missing?)";
    }
  }
  if (st.result == Result::ERROR) {
    GST_INFO("%s", st.message.c_str());
    if (!draining)
      teardown();
    return note_failure(st);
  }
  return st;
}

StreamDecoder::Status StreamDecoder::note_failure(Status st) {
  st.repeated = failing_ && st.message == last_error_;
  failing_ = true;
  last_error_ = st.message;
  return st;
}

/* ---- accounting ---- */

GstClockTime StreamDecoder::decoded_time() const {
  GstClockTime t = decoded_done_ns_;
  if (have_info_ && GST_AUDIO_INFO_RATE(&info_) > 0)
    t += gst_util_uint64_scale_int(decoded_frames_, GST_SECOND,
                                   GST_AUDIO_INFO_RATE(&info_));
  return t;
}

/* Raw audio straight out of a demuxer (wavparse): the bytes per second are
 * the format's, and the undecoded bytes what it has not output yet. */
bool StreamDecoder::raw_from_demuxer() const {
  return decoder_ != nullptr && !decoder_->decodes && have_info_ &&
         GST_AUDIO_INFO_BPF(&info_) > 0;
}

/* How far the bytes that reached the decoder go into the input:
 * - after parsers only (MP3, FLAC, AAC ADTS), the frames they passed on are
 *   the input bytes themselves: exact;
 * - after a demuxer (Ogg), the packets lack the container's framing, so the
 *   input consumed is taken to end where the input stood when the last
 *   packet went through (a page is output by the push that completes it);
 * - raw audio out of a demuxer (WAV): the decoded audio at the format's
 *   byte rate (the header counts as undecoded: a few ms). */
uint64_t StreamDecoder::undecoded_bytes() const {
  if (decoder_ == nullptr)
    return pushed_bytes_;
  uint64_t done;
  if (raw_from_demuxer()) {
    done = (uint64_t)(decoded_time() * bytes_per_second() / GST_SECOND);
  } else {
    bool after_demuxer =
        std::any_of(stages_.begin(), stages_.end(),
                    [this](const auto &s) { return s->demuxes && s.get() != decoder_; });
    done = after_demuxer ? decoder_->pushed_at_last_input
                         : decoder_->bytes_in + decoder_->skipped_total;
    if (!after_demuxer && decoder_->offsets_are_bytes &&
        decoder_->first_offset != GST_BUFFER_OFFSET_NONE)
      done += decoder_->first_offset;
  }
  return pushed_bytes_ > done ? pushed_bytes_ - done : 0;
}

double StreamDecoder::bytes_per_second() const {
  if (raw_from_demuxer())
    return (double)GST_AUDIO_INFO_RATE(&info_) * GST_AUDIO_INFO_BPF(&info_);
  GstClockTime t = decoded_time();
  if (decoder_ != nullptr && t > 0 && decoder_->bytes_in > decoder_->header_bytes)
    return (decoder_->bytes_in - decoder_->header_bytes) * (double)GST_SECOND / t;
  if (bitrate_tag_ > 0)
    return bitrate_tag_ / 8.0;
  return 0.0;
}

GstClockTime StreamDecoder::undecoded_time() const {
  uint64_t bytes = undecoded_bytes();
  if (bytes == 0)
    return 0;
  double rate = bytes_per_second();
  if (rate <= 0)
    return GST_CLOCK_TIME_NONE;
  return (GstClockTime)(bytes * (double)GST_SECOND / rate);
}

}  // namespace agentaudio
