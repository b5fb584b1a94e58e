/* agentaudiosrc
 * Copyright (C) 2026 agentaudiosrc authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>

#include <condition_variable>
#include <deque>
#include <mutex>

namespace agentaudio {

/* The element's messages, posted in the order their events happened.
 *
 * Events happen on several threads at once (the streaming thread renders a
 * buffer, an application thread interrupts, a state change stops the
 * element); each queues its messages while it holds the lock that orders
 * the events, and posts them after releasing it. One thread at a time is the
 * poster: it posts everything queued, its own messages and those other
 * threads queued meanwhile, so that the bus sees them in order. No lock of
 * the element is held while posting, so a bus sync handler may call back
 * into the element (push, mark, interrupt, even change its state).
 *
 * The streaming thread takes the poster's role before it renders a buffer
 * (begin_buffer()), so that it never waits once it holds audio: its wait for
 * another poster ends on set_flushing(true), which unlock() calls. Other
 * threads wait in post() until their messages are on the bus, unless they
 * are the poster already (a sync handler calling back in). */
class Outbox {
 public:
  Outbox() = default;
  ~Outbox();
  Outbox(const Outbox &) = delete;
  Outbox &operator=(const Outbox &) = delete;

  /* The element the messages are posted from, and the property whose
   * notification follows a message that changed it. */
  void set_poster(GstElement *element, GParamSpec *notify_pspec) {
    element_ = element;
    pspec_ = notify_pspec;
  }

  /* Queues a message (taking it); `notify` adds a notification of the
   * pspec after it is posted. Call with the lock that orders the events
   * held; the outbox's own lock nests inside it. */
  void enqueue(GstMessage *message, bool notify = false);

  /* Posts what is queued; returns once this thread's messages are on the
   * bus (at once when this thread is posting already). Call with no lock
   * held. */
  void post();

  /* Streaming thread, before taking audio for a buffer: waits until no
   * other thread is posting, then is the poster until end_buffer(). FALSE,
   * without becoming the poster, when flushing. */
  bool begin_buffer();
  /* Posts what is queued (the buffer's messages and any other thread's)
   * and gives up the poster's role. */
  void end_buffer();

  /* unlock() / unlock_stop(): ends a wait in begin_buffer(), and makes it
   * fail until cleared. */
  void set_flushing(bool flushing);

  /* Messages ever posted. */
  guint64 posted() const;

 private:
  struct Item {
    GstMessage *message;
    bool notify;
  };

  /* Posts until the queue is empty. Call with lock_ held, as the poster. */
  void drain(std::unique_lock<std::mutex> &lock);

  GstElement *element_ = nullptr;
  GParamSpec *pspec_ = nullptr;

  mutable std::mutex lock_;
  std::condition_variable changed_; /* posted_ grew, or the poster left */
  std::deque<Item> items_;          /* guarded by lock_ */
  GThread *poster_ = nullptr;       /* guarded by lock_ */
  guint64 enqueued_ = 0;            /* guarded by lock_ */
  guint64 posted_ = 0;              /* guarded by lock_ */
  bool flushing_ = false;           /* guarded by lock_ */
};

}  // namespace agentaudio
