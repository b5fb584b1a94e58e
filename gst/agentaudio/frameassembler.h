/* agentaudiosrc
 * Copyright (C) 2026 agentaudiosrc authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace agentaudio {

/* Joins pushes of any byte length into whole frames: the partial frame at
 * the end of one push waits here until the next push completes it. */
class FrameAssembler {
 public:
  /* Forgets any partial frame; frames are frame_bytes long from now on. */
  void reset(std::size_t frame_bytes) {
    frame_bytes_ = frame_bytes;
    carry_.clear();
  }

  std::size_t frame_bytes() const { return frame_bytes_; }
  std::size_t pending_bytes() const { return carry_.size(); }

  /* Bytes of whole frames that a push of `size` bytes completes. */
  std::size_t whole_bytes(std::size_t size) const {
    return (carry_.size() + size) / frame_bytes_ * frame_bytes_;
  }

  /* Writes whole_bytes(size) bytes to dst: the waiting partial frame, then
   * data; keeps what is left of data for the next push. */
  void assemble(const uint8_t *data, std::size_t size, uint8_t *dst) {
    std::size_t whole = whole_bytes(size);
    std::size_t from_carry = carry_.size() < whole ? carry_.size() : whole;
    std::size_t from_data = whole - from_carry;
    if (from_carry > 0)
      std::memcpy(dst, carry_.data(), from_carry);
    if (from_data > 0)
      std::memcpy(dst + from_carry, data, from_data);
    /* A push too short to complete the frame only grows the carry. */
    carry_.erase(carry_.begin(), carry_.begin() + from_carry);
    carry_.insert(carry_.end(), data + from_data, data + size);
  }

 private:
  std::size_t frame_bytes_ = 2;
  std::vector<uint8_t> carry_;
};

}  // namespace agentaudio
