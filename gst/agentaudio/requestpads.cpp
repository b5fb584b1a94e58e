/* agentaudiosrc
 * Copyright (C) 2026 agentaudiosrc authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "requestpads.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "debug.h"
#define GST_CAT_DEFAULT agent_audio_src_debug

namespace agentaudio {

namespace {

/* Request pads answer what src answers: they carry its caps and timing. */
gboolean request_pad_query(GstPad *pad, GstObject *parent, GstQuery *query) {
  switch (GST_QUERY_TYPE(query)) {
    case GST_QUERY_CAPS:
    case GST_QUERY_ACCEPT_CAPS:
    case GST_QUERY_LATENCY: {
      GstPad *src = gst_element_get_static_pad(GST_ELEMENT_CAST(parent), "src");
      gboolean ret = src != nullptr && gst_pad_query(src, query);
      if (src != nullptr)
        gst_object_unref(src);
      return ret;
    }
    default:
      return gst_pad_query_default(pad, parent, query);
  }
}

}  // namespace

RequestPads::~RequestPads() {
  gst_clear_caps(&caps_);
  gst_clear_caps(&snapshot_caps_);
}

RequestPads::Entry::~Entry() {
  if (caps != nullptr)
    gst_caps_unref(caps);
  gst_object_unref(pad);
}

GstPad *RequestPads::add(GstElement *element, GstPadTemplate *templ, const gchar *name,
                         PadKind kind) {
  const gchar *prefix = kind == PadKind::MIXED ? "src_" : "speech_";
  gchar *generated = nullptr;

  {
    std::lock_guard<std::mutex> lock(lock_);
    guint &next = next_index_[kind == PadKind::MIXED ? 0 : 1];
    guint index;
    if (name != nullptr && sscanf(name + strlen(prefix), "%u", &index) == 1)
      next = std::max(next, index + 1);
    else
      name = generated = g_strdup_printf("%s%u", prefix, next++);
  }

  GstPad *pad = GST_PAD_CAST(gst_object_ref_sink(gst_pad_new_from_template(templ, name)));
  g_free(generated);
  gst_pad_set_query_function(pad, request_pad_query);
  gst_pad_use_fixed_caps(pad);

  /* One add at a time, so that at most one is between hiding's count and
   * its own (see hide_from_basesrc()). Neither start() nor stop() takes
   * this lock: a pad-added handler may change the element's state. */
  std::lock_guard<std::recursive_mutex> adding(add_lock_);
  GST_OBJECT_LOCK(element);
  bool running = GST_STATE(element) >= GST_STATE_PAUSED ||
                 GST_STATE_TARGET(element) >= GST_STATE_PAUSED;
  /* Compensate before adding, so the count basesrc sees never exceeds 1. */
  if (hiding_ && element->numsrcpads > 0)
    element->numsrcpads--;
  adding_++;
  GST_OBJECT_UNLOCK(element);
  /* However this ends, the add is over. */
  struct Added {
    RequestPads *pads;
    GstElement *element;
    ~Added() { pads->added(element); }
  } added_guard{this, element};
  if (running)
    gst_pad_set_active(pad, TRUE);

  /* Listed before it is added, so that a pad-added handler may release it
   * again. */
  auto entry = std::make_shared<Entry>();
  entry->pad = pad; /* our ref; the element holds its own */
  entry->kind = kind;
  {
    std::lock_guard<std::mutex> lock(lock_);
    entries_.push_back(entry);
    cookie_++;
  }

  if (!gst_element_add_pad(element, pad)) {
    /* The name is taken. */
    {
      std::lock_guard<std::mutex> lock(lock_);
      entries_.erase(std::find(entries_.begin(), entries_.end(), entry));
      cookie_++;
    }
    gst_pad_set_active(pad, FALSE);
    return nullptr;
  }
  GST_DEBUG_OBJECT(element, "added request pad %" GST_PTR_FORMAT, pad);
  return pad;
}

void RequestPads::remove(GstElement *element, GstPad *pad) {
  {
    std::lock_guard<std::mutex> lock(lock_);
    auto it = std::find_if(entries_.begin(), entries_.end(),
                           [pad](const EntryPtr &e) { return e->pad == pad; });
    if (it == entries_.end())
      return;
    entries_.erase(it);
    cookie_++;
  }
  /* The streaming thread may still hold the pad in its snapshot: a push to
   * an inactive pad just returns FLUSHING. Deactivating does not wait for
   * it, since the streaming thread never takes this pad's stream lock. */
  gst_pad_set_active(pad, FALSE);
  gst_element_remove_pad(element, pad);
  /* While hidden, the count stays at most 1 and never wraps below 0. */
  GST_OBJECT_LOCK(element);
  if (hiding_ && (element->numsrcpads == 0 || element->numsrcpads > 1))
    element->numsrcpads = adding_ > 0 ? 0 : 1;
  GST_OBJECT_UNLOCK(element);
  GST_DEBUG_OBJECT(element, "released request pad %" GST_PTR_FORMAT, pad);
}

void RequestPads::added(GstElement *element) {
  GST_OBJECT_LOCK(element);
  adding_--;
  GST_OBJECT_UNLOCK(element);
}

void RequestPads::hide_from_basesrc(GstElement *element) {
  GST_OBJECT_LOCK(element);
  if (!hiding_) {
    /* src alone; or none yet, when an add is about to count its pad. */
    element->numsrcpads = adding_ > 0 ? 0 : 1;
    hiding_ = true;
  }
  GST_OBJECT_UNLOCK(element);
  GST_DEBUG_OBJECT(element, "request pads hidden from basesrc");
}

void RequestPads::show_to_basesrc(GstElement *element) {
  GST_OBJECT_LOCK(element);
  if (hiding_) {
    /* Counted again from the list, whatever was added or removed meanwhile;
     * an add still on its way counts its own pad when it lands. */
    element->numsrcpads = g_list_length(element->srcpads);
    hiding_ = false;
  }
  GST_OBJECT_UNLOCK(element);
  GST_DEBUG_OBJECT(element, "request pads shown to basesrc again");
}

void RequestPads::refresh() {
  unsigned cookie = cookie_.load();
  if (cookie == snapshot_cookie_)
    return;
  std::lock_guard<std::mutex> lock(lock_);
  snapshot_ = entries_; /* reuses the snapshot's capacity */
  gst_caps_replace(&snapshot_caps_, caps_);
  snapshot_cookie_ = cookie_.load();
}

void RequestPads::set_caps(GstCaps *caps) {
  std::lock_guard<std::mutex> lock(lock_);
  gst_caps_replace(&caps_, caps);
  cookie_++;
}

bool RequestPads::begin_buffer() {
  refresh();
  return std::any_of(snapshot_.begin(), snapshot_.end(),
                     [](const EntryPtr &e) { return e->kind == PadKind::SPEECH; });
}

bool RequestPads::prepare(Entry &entry, GstPad *src) {
  GstCaps *caps = snapshot_caps_;
  if (caps == nullptr)
    return false; /* src is not negotiated yet */

  if (!entry.started) {
    gchar *stream_id = gst_pad_create_stream_id(
        entry.pad, GST_ELEMENT_CAST(GST_PAD_PARENT(src)), GST_PAD_NAME(entry.pad));
    GstEvent *event = gst_event_new_stream_start(stream_id);
    g_free(stream_id);
    /* Same group as src: the pads carry one presentation. */
    GstEvent *src_start = gst_pad_get_sticky_event(src, GST_EVENT_STREAM_START, 0);
    guint group;
    if (src_start != nullptr && gst_event_parse_group_id(src_start, &group))
      gst_event_set_group_id(event, group);
    if (src_start != nullptr)
      gst_event_unref(src_start);
    gst_pad_push_event(entry.pad, event);
  }
  if (entry.caps != caps) {
    gst_caps_replace(&entry.caps, caps);
    gst_pad_push_event(entry.pad, gst_event_new_caps(caps));
  }
  if (!entry.started) {
    GstEvent *segment = gst_pad_get_sticky_event(src, GST_EVENT_SEGMENT, 0);
    if (segment == nullptr) {
      GstSegment s;
      gst_segment_init(&s, GST_FORMAT_TIME);
      segment = gst_event_new_segment(&s);
    }
    gst_pad_push_event(entry.pad, segment);
    entry.started = true;
    return true; /* first buffer: DISCONT */
  }
  return false;
}

void RequestPads::push(GstPad *src, GstBuffer *mixed, GstBuffer *speech) {
  for (const EntryPtr &entry : snapshot_) {
    bool first = prepare(*entry, src);
    GstBuffer *buffer = entry->kind == PadKind::MIXED ? mixed : speech;
    if (first && !GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DISCONT)) {
      /* A shallow copy: new metadata, the same memory. */
      buffer = gst_buffer_copy(buffer);
      GST_BUFFER_FLAG_SET(buffer, GST_BUFFER_FLAG_DISCONT);
    } else {
      gst_buffer_ref(buffer);
    }
    GstFlowReturn ret = gst_pad_push(entry->pad, buffer);
    if (ret < GST_FLOW_EOS && ret != entry->failed) {
      /* A branch that fails (not-negotiated, an error downstream) is said
       * once on the bus; src and the other pads carry on. Unlinked and
       * flushing branches are normal and stay quiet. */
      GST_ELEMENT_WARNING(
          GST_PAD_PARENT(src), STREAM, FAILED,
          ("Request pad %s's branch failed", GST_PAD_NAME(entry->pad)),
          ("%s: downstream returned %s; request pads always carry src's "
           "caps (%" GST_PTR_FORMAT "): convert in that branch if it "
           "needs others",
           GST_PAD_NAME(entry->pad), gst_flow_get_name(ret), entry->caps));
    } else if (ret != GST_FLOW_OK) {
      GST_LOG_OBJECT(entry->pad, "push returned %s, src carries on",
                     gst_flow_get_name(ret));
    }
    entry->failed = ret < GST_FLOW_EOS ? ret : GST_FLOW_OK;
  }
}

void RequestPads::push_eos(GstPad *src) {
  refresh();
  for (const EntryPtr &entry : snapshot_) {
    prepare(*entry, src);
    gst_pad_push_event(entry->pad, gst_event_new_eos());
  }
}

void RequestPads::restart() {
  std::lock_guard<std::mutex> lock(lock_);
  gst_clear_caps(&caps_); /* src negotiates again */
  cookie_++;
  for (const EntryPtr &entry : entries_) {
    entry->started = false;
    gst_caps_replace(&entry->caps, nullptr);
  }
}

}  // namespace agentaudio
