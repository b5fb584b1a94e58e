/* agentaudiosrc
 * Copyright (C) 2026 agentaudiosrc authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "outbox.h"

namespace agentaudio {

Outbox::~Outbox() {
  for (Item &item : items_)
    gst_message_unref(item.message);
}

void Outbox::enqueue(GstMessage *message, bool notify) {
  std::lock_guard<std::mutex> lock(lock_);
  items_.push_back(Item{message, notify});
  enqueued_++;
}

void Outbox::drain(std::unique_lock<std::mutex> &lock) {
  while (!items_.empty()) {
    Item item = items_.front();
    items_.pop_front();
    lock.unlock();
    gst_element_post_message(element_, item.message);
    if (item.notify && pspec_ != nullptr)
      g_object_notify_by_pspec(G_OBJECT(element_), pspec_);
    lock.lock();
    posted_++;
    changed_.notify_all();
  }
}

void Outbox::post() {
  std::unique_lock<std::mutex> lock(lock_);
  const guint64 mine = enqueued_;
  if (poster_ == g_thread_self())
    return; /* called back from our own posting: the outer drain posts it */
  changed_.wait(lock, [&] { return poster_ == nullptr || posted_ >= mine; });
  if (posted_ >= mine)
    return;
  poster_ = g_thread_self();
  drain(lock);
  poster_ = nullptr;
  changed_.notify_all();
}

bool Outbox::begin_buffer() {
  std::unique_lock<std::mutex> lock(lock_);
  changed_.wait(lock, [&] { return poster_ == nullptr || flushing_; });
  if (flushing_)
    return false;
  poster_ = g_thread_self();
  return true;
}

void Outbox::end_buffer() {
  std::unique_lock<std::mutex> lock(lock_);
  drain(lock);
  poster_ = nullptr;
  changed_.notify_all();
}

void Outbox::set_flushing(bool flushing) {
  std::lock_guard<std::mutex> lock(lock_);
  flushing_ = flushing;
  changed_.notify_all();
}

guint64 Outbox::posted() const {
  std::lock_guard<std::mutex> lock(lock_);
  return posted_;
}

}  // namespace agentaudio
