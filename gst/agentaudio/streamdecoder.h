/* agentaudiosrc
 * Copyright (C) 2026 agentaudiosrc authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/audio/audio.h>
#include <gst/gst.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace agentaudio {

/* One piece of decoded audio: `frames` interleaved frames in `info`'s format
 * (any sample format, rate and channel count the decoder chose; it may change
 * from one piece to the next, even within a stream), aligned to the sample
 * size. The memory is valid only during the call. */
using DecodedAudioFn = std::function<void(const GstAudioInfo &info, const uint8_t *data,
                                          std::size_t frames)>;

/* Decodes one encoded input stream (MP3, Ogg/Opus, Ogg/Vorbis, WAV, FLAC, AAC
 * ADTS…) that arrives as byte chunks of any size.
 *
 * It builds, per stream, a chain of GStreamer parsers, demuxers and decoders
 * chosen from the registry by caps and rank (the way decodebin chooses them,
 * but with no queue and no thread of its own) between a source pad and a sink
 * pad of its own. push() sends the bytes down that chain with gst_pad_push on
 * the calling thread: every element runs synchronously inside the call, and
 * the decoded audio is handed to `out` before push() returns. No element
 * may move data to a thread of its own: one that starts a streaming task (a
 * queue, a multiqueue, a pull-mode loop) posts a stream-status message, and
 * that fails the stream with an error. The source pad offers push mode only
 * and says it cannot seek. (oggdemux starts one idle helper thread per
 * stream in push mode, whose only job is to send upstream the seeks it
 * decides on; on a source that cannot seek it never has one to send.)
 *
 * A stream starts at the first push() after construction, set_caps(), drain()
 * or reset() (a new WAV header, a new Ogg stream), and ends at drain() (its
 * tail is decoded: parsers hold back a frame until they see what follows it),
 * at reset() (dropped), after an ERROR, or when the chain itself ends it (a
 * WAV header that declares its data's size, at the data's last byte).
 * Needs gst_init(). Not thread-safe: one thread at a time, and not from
 * within `out`; two decoders may run on two threads. */
class StreamDecoder {
 public:
  enum class Result {
    OK,
    /* Something was lost but the stream goes on: a parser skipped garbage
     * or a demuxer a corrupt page, an element posted a warning, or (from
     * drain()) the last bytes were a frame or page cut short. */
    WARNING,
    /* The stream failed: an element's error (data that is not what the
     * caps say), a missing decoder, an element that started a thread, or
     * (from drain()) a stream in which no audio at all was found. What was
     * decoded before has been handed out; the stream was dropped, so the
     * next push starts a new one. */
    ERROR,
  };
  struct Status {
    Result result = Result::OK;
    /* For WARNING and ERROR: one line that starts with the stream's name
     * and says what went wrong, e.g. "speech: cannot decode MPEG-1 Layer 3
     * (MP3): no MPEG-1 Layer 3 (MP3) decoder is installed for audio/mpeg, …
     * (install gstreamer1.0-plugins-good)", "speech (WAV): wavparse: The
     * stream is of a different type than handled by this element.",
     * "speech (MPEG-1 Layer 3 (MP3)): skipped 3000 bytes that could not be
     * decoded (garbage, or bytes missing); decoding goes on". */
    std::string message;
    /* The GStreamer debug string of an element's error, if any. */
    std::string debug;
    /* When the error is a missing parser or decoder: the caps that nothing
     * installed handles (for gst_missing_decoder_message_new), else empty. */
    std::string missing_caps;
    /* TRUE when this ERROR repeats the previous one within the same input
     * (no audio came out since it, nor a drain or reset): e.g. each push of
     * a WAV stream whose header was lost. A caller that posts messages
     * posts the first only. */
    bool repeated = false;

    bool ok() const { return result == Result::OK; }
    bool failed() const { return result == Result::ERROR; }
  };

  /* `name` names the stream in messages ("speech", "background"); `caps`
   * the encoded format (may be NULL: set_caps() before the first push). */
  explicit StreamDecoder(std::string name, const GstCaps *caps = nullptr);
  ~StreamDecoder();
  StreamDecoder(const StreamDecoder &) = delete;
  StreamDecoder &operator=(const StreamDecoder &) = delete;

  /* Caps that this class is for: any audio/ caps but audio/x-raw (raw audio
   * needs no decoder), application/ogg, application/x-id3. */
  static bool is_encoded(const GstCaps *caps);
  /* Whether the installed plugins can decode `caps` to raw audio, as far as
   * the caps tell (a container's contents are known only once its header
   * arrives: a missing decoder for them fails the stream at push time).
   * FALSE with `why` set to a one-line message naming the missing parser or
   * decoder and, where known, the Debian package that has one; `missing`
   * gets the caps that nothing handles. */
  static bool can_decode(const GstCaps *caps, std::string *why = nullptr,
                         std::string *missing = nullptr);

  /* Sets the encoded format. When it differs from the current one, drops the
   * current stream as reset() does and returns TRUE; equal caps change
   * nothing. */
  bool set_caps(const GstCaps *caps);
  /* The encoded format (a new reference), or NULL. */
  GstCaps *caps() const;
  const std::string &name() const { return name_; }

  /* Decodes `size` bytes (copied), handing what they complete to `out`. */
  Status push(const uint8_t *data, std::size_t size, const DecodedAudioFn &out);
  /* Ends the stream: EOS through the chain, so that every element outputs
   * what it holds (to `out`), then resets. An ERROR when bytes were pushed
   * but no audio at all came out of them; a WARNING when bytes are left
   * that nothing decoded (a cut frame or page). OK with no stream open. */
  Status drain(const DecodedAudioFn &out);
  /* Drops the stream and what the chain holds, without output. */
  void reset();

  /* Whether bytes have been pushed since the stream started. */
  bool stream_open() const { return pushed_bytes_ > 0; }
  /* Bytes pushed since the stream started. */
  uint64_t pushed_bytes() const { return pushed_bytes_; }
  /* Audio handed out since the stream started, in ns. */
  GstClockTime decoded_time() const;
  /* Bytes pushed whose audio has not come out yet: after parsers (MP3,
   * FLAC, AAC), the bytes not yet passed to the decoder, less those skipped
   * as garbage or before the first frame (an ID3 tag); after a demuxer
   * (Ogg), the bytes pushed since the last packet came out of it (the page
   * being filled); raw audio from wavparse, the bytes not output yet
   * (its header included). Before the chain reaches its decoder, every byte
   * pushed. The few samples a decoder itself holds back are not counted. */
  uint64_t undecoded_bytes() const;
  /* The encoded stream's bytes per second of audio, as the stream has shown
   * it so far (bytes into the decoder / audio out of it; before any audio,
   * the bitrate tag the chain sent, if any); 0 when not known yet. */
  double bytes_per_second() const;
  /* undecoded_bytes() as a duration at bytes_per_second(): an estimate of
   * the audio the bytes already pushed still owe. 0 when nothing is held,
   * GST_CLOCK_TIME_NONE when the rate is not known yet. */
  GstClockTime undecoded_time() const;

  /* The factory names of the elements of the current chain, in the order
   * they were plugged (empty between streams): for logs and tests. */
  std::vector<std::string> chain() const;

 private:
  struct Stage;

  bool start_stream(Status &st);
  void teardown();
  bool plug(GstPad *pad, GstCaps *caps);
  void watch_src_pad(GstPad *pad);
  bool link_to_sink(GstPad *pad);
  Status finish(GstFlowReturn ret, bool draining);
  Status note_failure(Status st);
  std::string describe_format() const;
  bool first_is_decoder() const;
  bool raw_from_demuxer() const;

  static GstBusSyncReply on_bus_message(GstBus *bus, GstMessage *msg, gpointer self);
  static GstFlowReturn on_sink_chain(GstPad *pad, GstObject *parent, GstBuffer *buf);
  static gboolean on_sink_event(GstPad *pad, GstObject *parent, GstEvent *event);
  static gboolean on_sink_query(GstPad *pad, GstObject *parent, GstQuery *query);
  static gboolean on_src_query(GstPad *pad, GstObject *parent, GstQuery *query);
  static gboolean on_src_event(GstPad *pad, GstObject *parent, GstEvent *event);
  static void on_pad_added(GstElement *element, GstPad *pad, gpointer self);
  static GstPadProbeReturn on_caps_probe(GstPad *pad, GstPadProbeInfo *info,
                                         gpointer self);
  static GstPadProbeReturn on_bytes_probe(GstPad *pad, GstPadProbeInfo *info,
                                          gpointer stage);

  void output(GstBuffer *buf);

  const std::string name_;
  GstCaps *caps_ = nullptr;
  GstPad *src_ = nullptr;     /* ours: the bytes go out of it */
  GstPad *sink_ = nullptr;    /* ours: the decoded audio comes into it */
  GstBus *bus_ = nullptr;     /* the chain's; messages are handled synchronously */
  GstElement *bin_ = nullptr; /* the current stream's chain, or NULL */
  std::vector<std::unique_ptr<Stage>> stages_;
  Stage *decoder_ = nullptr; /* the stage whose output is linked to sink_ */

  /* Written by the bus handler, which runs on the posting thread: with a
   * synchronous chain that is the caller's, but an element may post from a
   * thread it was not meant to have. */
  std::mutex msg_lock_;
  std::vector<GstMessage *> messages_; /* errors, warnings, stream-status */

  const DecodedAudioFn *out_ = nullptr; /* set during push() and drain() */
  bool busy_ = false;                   /* inside push()/drain() */
  GstAudioInfo info_{};                 /* of the decoded audio */
  bool have_info_ = false;
  /* Planar output interleaved, or unaligned output copied; as large as
   * the largest decoded buffer. */
  std::vector<uint8_t> scratch_;
  std::string missing_caps_; /* caps nothing could be plugged for */

  uint64_t pushed_bytes_ = 0;
  /* Decoded audio since the stream started: whole earlier formats in ns,
   * plus frames at the current rate. */
  GstClockTime decoded_done_ns_ = 0;
  uint64_t decoded_frames_ = 0;
  guint bitrate_tag_ = 0; /* bits/s from a tag event, 0 if none */
  /* Whether the last ERROR has not been followed by audio, a drain or a
   * reset yet. */
  bool failing_ = false;
  std::string last_error_;
  uint64_t streams_ = 0; /* for stream-start ids */
};

}  // namespace agentaudio
