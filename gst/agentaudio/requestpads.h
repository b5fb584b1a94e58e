/* agentaudiosrc
 * Copyright (C) 2026 agentaudiosrc authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

namespace agentaudio {

/* What a request pad carries. */
enum class PadKind {
  MIXED,  /* src_%u: a copy of every buffer src pushes */
  SPEECH, /* speech_%u: speech alone, same timestamps */
};

/* The request pads of a GstBaseSrc, fed from its streaming thread.
 *
 * GstBaseSrc knows one pad; these are extra source pads that the element
 * pushes to from create(), after filling its own buffer. Each gets its own
 * stream-start, the caps of src and src's segment before its first buffer,
 * which is flagged DISCONT. Their flow returns are only logged: a branch
 * that is not linked, flushing or slow never stops src (a slow consumer
 * needs a queue, as behind tee).
 *
 * Pads are added and removed by any thread at any time; the streaming thread
 * works on a snapshot it refreshes only when the set changed, so it neither
 * holds the lock while pushing nor allocates per buffer. */
class RequestPads {
 public:
  RequestPads() = default;
  ~RequestPads();
  RequestPads(const RequestPads &) = delete;
  RequestPads &operator=(const RequestPads &) = delete;

  /* Creates a pad from templ, adds it to element and activates it if the
   * element is running. NULL if the name is taken. */
  GstPad *add(GstElement *element, GstPadTemplate *templ, const gchar *name,
              PadKind kind);
  /* Deactivates pad and removes it from element. */
  void remove(GstElement *element, GstPad *pad);

  /* Streaming thread, once per buffer: takes the snapshot of the pads that
   * buffer goes to, and returns whether any of them is a speech_%u pad. A
   * pad added later gets the next buffer, never one made for other pads. */
  bool begin_buffer();
  /* Streaming thread: pushes `mixed` to every src_%u and `speech` to every
   * speech_%u of the snapshot, sending each pad's pending events first. */
  void push(GstPad *src, GstBuffer *mixed, GstBuffer *speech);
  /* Streaming thread: EOS on every pad. */
  void push_eos(GstPad *src);
  /* Every pad starts its stream again (the element was stopped). */
  void restart();
  /* The caps src was given; the pads send them before their next buffer.
   * Kept here so that the streaming thread does not ask src for them on
   * every buffer. */
  void set_caps(GstCaps *caps);

  /* GstBaseSrc names src's stream with gst_pad_create_stream_id(..., NULL),
   * which GStreamer refuses (a critical, and no stream-start at all) when
   * the element has more than one source pad. Between hide() (from start(),
   * before the streaming task runs) and show() (from negotiate(), which the
   * task always runs right after sending stream-start) the request pads are
   * left out of the element's numsrcpads. */
  void hide_from_basesrc(GstElement *element);
  void show_to_basesrc(GstElement *element);

 private:
  struct Entry {
    GstPad *pad; /* owned ref */
    PadKind kind;
    bool started = false;               /* stream-start, caps, segment sent */
    GstCaps *caps = nullptr;            /* caps last sent; owned */
    GstFlowReturn failed = GST_FLOW_OK; /* last error-class return, said once */
    ~Entry();
  };
  using EntryPtr = std::shared_ptr<Entry>;

  void refresh();
  bool prepare(Entry &entry, GstPad *src);

  std::mutex lock_;
  std::vector<EntryPtr> entries_;   /* guarded by lock_ */
  std::atomic<unsigned> cookie_{0}; /* bumped on every change to entries_ */
  guint next_index_[2] = {0, 0};    /* guarded by lock_ */
  GstCaps *caps_ = nullptr;         /* src's caps; owned, guarded by lock_ */
  /* An add is over: its pad is counted (or it failed). */
  void added(GstElement *element);

  /* Serialises adds, so that at most one is between its check of hiding_
   * and GStreamer counting its pad. Recursive: a pad-added handler may
   * request another pad. Hiding and showing never take it, so a pad-added
   * handler may change the element's state. */
  std::recursive_mutex add_lock_;
  bool hiding_ = false; /* guarded by the element's object lock */
  guint adding_ = 0;    /* adds under way; guarded by the element's object lock */

  /* Streaming thread only. */
  std::vector<EntryPtr> snapshot_;
  GstCaps *snapshot_caps_ = nullptr; /* owned */
  unsigned snapshot_cookie_ = ~0u;
};

}  // namespace agentaudio
