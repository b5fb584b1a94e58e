/* agentaudiosrc
 * Copyright (C) 2026 agentaudiosrc authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/**
 * SECTION:element-agentaudiosrc
 * @title: agentaudiosrc
 *
 * A live audio source for voice agents. The application pushes text-to-speech
 * audio in bursts of any size with the #GstAgentAudioSrc::push-speech action
 * signal; the element plays it out as a steady stream paced by the pipeline
 * clock, one buffer of #GstAgentAudioSrc:ptime each, with silence (GAP
 * buffers) whenever there is nothing to say.
 *
 * #GstAgentAudioSrc::interrupt is a barge-in: the next buffer fades the
 * speech out over #GstAgentAudioSrc:interrupt-fade, and every sample queued
 * after the fade is dropped.
 *
 * #GstAgentAudioSrc::push-background feeds a background layer (ambient sound,
 * "thinking" sounds) mixed under the speech with saturation, at
 * #GstAgentAudioSrc:background-volume, ducked to
 * #GstAgentAudioSrc:duck-volume while speech plays, optionally looped
 * (#GstAgentAudioSrc:background-loop) and faded out by
 * #GstAgentAudioSrc::clear-background. Every gain change is a ramp over at
 * most one buffer. #GstAgentAudioSrc::mark
 * places a named mark between two pushes. The streaming thread posts element
 * messages on the bus:
 *
 * * `first-audio` (`running-time`): the first buffer with speech after
 *   silence is pushed.
 * * `last-audio` (`running-time`, `duration`, `interrupted`, `dropped`): the
 *   first buffer without speech after speech is pushed; `running-time` is the
 *   exact end of the last speech sample, `duration` the speech played.
 * * `mark` (`name`, `running-time`, `interrupted`): the speech before the
 *   mark has been played, or an interrupt dropped it.
 *
 * Every running time and duration is exact to the sample: the element counts
 * samples and converts at the edge.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 agentaudiosrc ! audioconvert ! autoaudiosink
 * ]| Plays silence until an application pushes speech.
 *
 * |[
 * agent = Gst.ElementFactory.make("agentaudiosrc")
 * agent.emit("push-speech", Gst.Buffer.new_wrapped(pcm_s16le_24k_mono))
 * agent.emit("mark", "sentence-1")
 * dropped_ns = agent.emit("interrupt")
 * ]| From Python.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstagentaudiosrc.h"

#include <gst/audio/audio.h>

#include <algorithm>
#include <cstring>
#include <atomic>
#include <deque>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

#include "backgroundlayer.h"
#include "frameassembler.h"
#include "inputconverter.h"
#include "mixer.h"
#include "requestpads.h"
#include "speechlayer.h"

GST_DEBUG_CATEGORY(agent_audio_src_debug);
#define GST_CAT_DEFAULT agent_audio_src_debug

#define DEFAULT_PTIME 20
#define MIN_PTIME 1
#define MAX_PTIME 1000
#define DEFAULT_RATE 24000
#define MIN_RATE 8000
#define MAX_RATE 192000
#define MAX_CHANNELS 8
/* Input rates outside this are garbage, not audio: 1 Hz speech would turn a
 * few KB into gigabytes of output. */
#define MIN_INPUT_RATE 1000
#define MAX_INPUT_RATE 768000
#define DEFAULT_CHANNELS 1
#define DEFAULT_INTERRUPT_FADE (10 * GST_MSECOND)
#define MAX_INTERRUPT_FADE GST_SECOND
#define DEFAULT_MAX_SPEECH_TIME 0
#define DEFAULT_MAX_BACKGROUND_TIME 0
#define DEFAULT_BACKGROUND_VOLUME 1.0
#define MAX_BACKGROUND_VOLUME 10.0
#define DEFAULT_DUCK_VOLUME 1.0
#define DEFAULT_BACKGROUND_LOOP FALSE

#define DEFAULT_SPEECH_CAPS \
  "audio/x-raw, format=S16LE, layout=interleaved, rate=24000, channels=1"

enum {
  PROP_0,
  PROP_PTIME,
  PROP_SPEECH_CAPS,
  PROP_INTERRUPT_FADE,
  PROP_MAX_SPEECH_TIME,
  PROP_QUEUED_SPEECH_TIME,
  PROP_SPEAKING,
  PROP_BACKGROUND_CAPS,
  PROP_BACKGROUND_VOLUME,
  PROP_DUCK_VOLUME,
  PROP_BACKGROUND_LOOP,
  PROP_MAX_BACKGROUND_TIME,
  PROP_QUEUED_BACKGROUND_TIME,
  N_PROPERTIES
};

enum {
  SIGNAL_PUSH_SPEECH,
  SIGNAL_INTERRUPT,
  SIGNAL_MARK,
  SIGNAL_END_OF_STREAM,
  SIGNAL_PUSH_BACKGROUND,
  SIGNAL_CLEAR_BACKGROUND,
  SIGNAL_PUSH_SPEECH_SAMPLE,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPERTIES];
static guint signals[N_SIGNALS];

#define SRC_CAPS \
  "audio/x-raw, format=S16LE, layout=interleaved, rate=[8000,192000], channels=[1,8]"

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(SRC_CAPS));
static GstStaticPadTemplate mixed_template = GST_STATIC_PAD_TEMPLATE(
    "src_%u", GST_PAD_SRC, GST_PAD_REQUEST, GST_STATIC_CAPS(SRC_CAPS));
static GstStaticPadTemplate speech_template = GST_STATIC_PAD_TEMPLATE(
    "speech_%u", GST_PAD_SRC, GST_PAD_REQUEST, GST_STATIC_CAPS(SRC_CAPS));

namespace {

/* The two inputs the application feeds; they differ in what they queue
 * into, not in how bytes become frames. */
enum Layer { SPEECH, BACKGROUND, N_LAYERS };
const gchar *const push_signal_name[N_LAYERS] = {"push-speech", "push-background"};

/* Property values; copied out under the lock by whoever needs them. */
struct Settings {
  guint ptime = DEFAULT_PTIME;
  GstCaps *caps[N_LAYERS] = {}; /* speech-caps, background-caps; owned, never NULL */
  /* caps[] parsed once when set, not on every push. */
  GstAudioInfo info[N_LAYERS];
  bool playable[N_LAYERS] = {};
  guint64 interrupt_fade = DEFAULT_INTERRUPT_FADE;
  gdouble background_volume = DEFAULT_BACKGROUND_VOLUME;
  gdouble duck_volume = DEFAULT_DUCK_VOLUME;
  gboolean background_loop = DEFAULT_BACKGROUND_LOOP;
};

/* Where a layer's pushes are joined into frames and converted. */
struct Input {
  agentaudio::FrameAssembler assembler;
  agentaudio::InputConverter converter;
  guint64 generation = 0; /* the layer generation both belong to */
};

/* A raw audio format as the queues see it. */
struct Format {
  gint rate = DEFAULT_RATE;
  gint channels = DEFAULT_CHANNELS;

  bool operator==(const Format &o) const {
    return rate == o.rate && channels == o.channels;
  }
  bool operator!=(const Format &o) const { return !(*this == o); }
  gsize bytes_per_frame() const { return channels * sizeof(gint16); }
  GstAudioInfo info() const {
    /* Positioned like the caps fixate() makes: beyond stereo, GStreamer's
     * fallback layout (unpositioned audio cannot be mixed into). */
    GstAudioChannelPosition positions[64];
    GstAudioInfo i;
    if (channels > 2 &&
        gst_audio_channel_positions_from_mask(
            channels, gst_audio_channel_get_fallback_mask(channels), positions))
      gst_audio_info_set_format(&i, GST_AUDIO_FORMAT_S16LE, rate, channels, positions);
    else
      gst_audio_info_set_format(&i, GST_AUDIO_FORMAT_S16LE, rate, channels, nullptr);
    return i;
  }
  guint64 frames_to_time(guint64 frames) const {
    return gst_util_uint64_scale_int(frames, GST_SECOND, rate);
  }
  guint64 time_to_frames(guint64 time) const {
    return gst_util_uint64_scale_int(time, rate, GST_SECOND);
  }
};

/* Maps output frame positions to running time. The origin moves only when
 * the element starts or the output rate changes, so timestamps are a sample
 * count scaled once, never an accumulated sum. */
struct Timeline {
  GstClockTime origin = GST_CLOCK_TIME_NONE; /* running time of origin_frame */
  guint64 origin_frame = 0;
  gint rate = DEFAULT_RATE;
  /* The segment before the last rate change, for positions from before it
   * (the end of an utterance that straddles the change). */
  GstClockTime prev_origin = GST_CLOCK_TIME_NONE;
  guint64 prev_origin_frame = 0;
  gint prev_rate = DEFAULT_RATE;

  bool started() const { return GST_CLOCK_TIME_IS_VALID(origin); }
  GstClockTime running_time(guint64 frame) const {
    if (!started())
      return GST_CLOCK_TIME_NONE;
    if (frame < origin_frame && GST_CLOCK_TIME_IS_VALID(prev_origin) &&
        frame >= prev_origin_frame)
      return prev_origin +
             gst_util_uint64_scale_int(frame - prev_origin_frame, GST_SECOND, prev_rate);
    if (frame < origin_frame)
      return origin - gst_util_uint64_scale_int(origin_frame - frame, GST_SECOND, rate);
    return origin + gst_util_uint64_scale_int(frame - origin_frame, GST_SECOND, rate);
  }
  /* From output frame `frame` on, frames are at `new_rate`. */
  void change_rate(guint64 frame, gint new_rate) {
    GstClockTime at = running_time(frame);
    prev_origin = origin;
    prev_origin_frame = origin_frame;
    prev_rate = rate;
    origin = at;
    origin_frame = frame;
    rate = new_rate;
  }
};

}  // namespace

/* An element message waiting in the outbox (see flush_outbox()). */
struct Outgoing {
  GstMessage *message;
  bool speaking_changed; /* notify::speaking after posting */
};

struct GstAgentAudioSrcPrivate {
  std::mutex settings_lock;
  Settings settings; /* guarded by settings_lock */

  /* Serialises pushes so that a partial frame is completed by the push that
   * follows it. Taken before queue_lock, never while holding it. */
  std::mutex input_lock;
  Input inputs[N_LAYERS]; /* guarded by input_lock */
  /* A layer's converter holds samples back: create() drains it when the
   * layer runs dry. Written under input_lock, read without. */
  std::atomic<bool> holds_back[N_LAYERS] = {};

  /* What pushers, signals and the streaming thread share. */
  std::mutex queue_lock;
  std::condition_variable room_cond;      /* queued speech shrank, or a wait must end */
  agentaudio::SpeechLayer speech;         /* guarded by queue_lock */
  agentaudio::BackgroundLayer background; /* guarded by queue_lock */
  /* Of the queued samples: the output's once negotiated. Written with both
   * input_lock and queue_lock held, so either is enough to read it. */
  Format format;
  bool negotiated = false;  /* format is the output's; guarded by queue_lock */
  Timeline timeline;        /* guarded by queue_lock */
  bool eos_pending = false; /* guarded by queue_lock */
  /* Element messages waiting to be posted, in order, and whether a thread
   * is posting them (see flush_outbox()). */
  std::deque<Outgoing> outbox;         /* guarded by queue_lock */
  GThread *posting_thread = nullptr;   /* guarded by queue_lock */
  guint64 enqueued = 0;                /* messages ever queued; guarded by queue_lock */
  guint64 posted = 0;                  /* messages ever posted; guarded by queue_lock */
  std::condition_variable posted_cond; /* `posted` grew */
  /* max-speech-time, max-background-time: here rather than in Settings so
   * that a blocked push sees a change as soon as it is woken. */
  guint64 max_time[N_LAYERS] = {DEFAULT_MAX_SPEECH_TIME,
                                DEFAULT_MAX_BACKGROUND_TIME}; /* guarded by queue_lock */
  /* Bumped (under queue_lock) by interrupt / clear-background and by stop:
   * a push to that layer that started before is not queued and returns
   * FLUSHING. */
  std::atomic<guint64> generation[N_LAYERS] = {};

  /* The thread running create(), so that a push from it (a pad probe, a
   * bus sync handler) does not wait for room only it can free. */
  std::atomic<GThread *> streaming_thread{nullptr};

  /* Streaming thread only, reset by start(). */
  guint ptime = DEFAULT_PTIME;
  guint64 buffer_index = 0; /* buffers since timeline.origin_frame */
  bool discont = true;
  std::vector<gint16> bed; /* the background of one buffer, before mixing */
  /* The pool decide_allocation() chose; owned. Also guarded by src's stream
   * lock, which GstBaseSrc holds whenever it negotiates. */
  GstBufferPool *pool = nullptr;
  float bed_gain = -1.0f; /* the background gain reached; < 0 until the first buffer */

  agentaudio::RequestPads pads; /* src_%u and speech_%u; locks itself */

  /* The clock wait, apart so that unlock() can reach it. */
  std::mutex clock_lock;
  GstClockID clock_id = nullptr; /* guarded by clock_lock; reused */
  bool flushing = false;         /* guarded by clock_lock */
};

struct _GstAgentAudioSrc {
  GstBaseSrc parent;
  GstAgentAudioSrcPrivate *priv;
};

#define gst_agent_audio_src_parent_class parent_class
G_DEFINE_TYPE(GstAgentAudioSrc, gst_agent_audio_src, GST_TYPE_BASE_SRC);
GST_ELEMENT_REGISTER_DEFINE(agentaudiosrc, "agentaudiosrc", GST_RANK_NONE,
                            GST_TYPE_AGENT_AUDIO_SRC);

/* Format helpers */

/* What push-* accept: fixed, interleaved raw audio in any sample format,
 * rate and channel count that GstAudioConverter handles. */
static gboolean parse_raw_audio(GstCaps *caps, GstAudioInfo *info) {
  /* gst_audio_info_from_caps() also describes encoded audio (format
   * ENCODED, no frame size): that is not samples. */
  return caps != nullptr && gst_caps_is_fixed(caps) &&
         gst_structure_has_name(gst_caps_get_structure(caps, 0), "audio/x-raw") &&
         gst_audio_info_from_caps(info, caps) && GST_AUDIO_INFO_BPF(info) > 0 &&
         !(GST_AUDIO_FORMAT_INFO_FLAGS(info->finfo) & GST_AUDIO_FORMAT_FLAG_COMPLEX) &&
         GST_AUDIO_INFO_LAYOUT(info) == GST_AUDIO_LAYOUT_INTERLEAVED &&
         GST_AUDIO_INFO_RATE(info) >= MIN_INPUT_RATE &&
         GST_AUDIO_INFO_RATE(info) <= MAX_INPUT_RATE;
}

/* The output format when downstream leaves it free: speech-caps' rate and
 * channels, within what src can carry. Call with settings_lock held. */
static Format preferred_format(const Settings &settings) {
  Format format;
  if (settings.playable[SPEECH]) {
    format.rate = CLAMP(GST_AUDIO_INFO_RATE(&settings.info[SPEECH]), MIN_RATE, MAX_RATE);
    format.channels =
        CLAMP(GST_AUDIO_INFO_CHANNELS(&settings.info[SPEECH]), 1, MAX_CHANNELS);
  }
  return format;
}

/* Bus messages
 *
 * Messages are queued under queue_lock, in the order their events happen,
 * and posted by whichever thread drains the outbox: one at a time, so they
 * reach the bus in that order even when the streaming thread, an interrupt
 * and a state change produce them at once. No lock is held while posting,
 * so a bus sync handler may call back into the element. */

static void enqueue(GstAgentAudioSrc *self, GstStructure *s,
                    bool speaking_changed = false) {
  self->priv->outbox.push_back(
      Outgoing{gst_message_new_element(GST_OBJECT_CAST(self), s), speaking_changed});
  self->priv->enqueued++;
}

/* speaking_changed: FALSE when this utterance starts in the buffer where the
 * last one ended, so that speaking stays TRUE and is not notified. */
static void enqueue_first_audio(GstAgentAudioSrc *self, GstClockTime running_time,
                                bool speaking_changed = true) {
  enqueue(
      self,
      gst_structure_new("first-audio", "running-time", G_TYPE_UINT64, running_time, NULL),
      speaking_changed);
}

static void enqueue_last_audio(GstAgentAudioSrc *self,
                               const agentaudio::UtteranceEnd &end,
                               bool speaking_changed = true) {
  const Timeline &timeline = self->priv->timeline;
  const Format &format = self->priv->format;
  enqueue(
      self,
      gst_structure_new("last-audio", "running-time", G_TYPE_UINT64,
                        timeline.running_time(end.position), "duration", G_TYPE_UINT64,
                        format.frames_to_time(end.played), "interrupted", G_TYPE_BOOLEAN,
                        end.interrupted ? TRUE : FALSE, "dropped", G_TYPE_UINT64,
                        format.frames_to_time(end.dropped), NULL),
      speaking_changed);
}

static void enqueue_mark(GstAgentAudioSrc *self, const agentaudio::MarkEvent &mark) {
  enqueue(self, gst_structure_new("mark", "name", G_TYPE_STRING, mark.name.c_str(),
                                  "running-time", G_TYPE_UINT64,
                                  self->priv->timeline.running_time(mark.position),
                                  "interrupted", G_TYPE_BOOLEAN,
                                  mark.interrupted ? TRUE : FALSE, NULL));
}

/* The messages of one cut (interrupt, stop), in order. */
static void enqueue_cut(GstAgentAudioSrc *self, const agentaudio::CutResult &cut) {
  if (cut.ended)
    enqueue_last_audio(self, cut.end);
  for (const agentaudio::MarkEvent &mark : cut.marks)
    enqueue_mark(self, mark);
}

/* The messages of one rendered buffer, in time order: the end of an
 * utterance, the marks before the next one starts, its first-audio, the
 * marks within it. */
static void enqueue_rendered(GstAgentAudioSrc *self,
                             const agentaudio::RenderResult &result) {
  /* One utterance handing over to the next: speaking does not change. */
  const bool handover = result.ended && result.started;
  if (result.ended)
    enqueue_last_audio(self, result.end, !handover);
  for (const agentaudio::MarkEvent &mark : result.marks)
    if (!result.started || mark.position <= result.start)
      enqueue_mark(self, mark);
  if (result.started)
    enqueue_first_audio(self, self->priv->timeline.running_time(result.start), !handover);
  for (const agentaudio::MarkEvent &mark : result.marks)
    if (result.started && mark.position > result.start)
      enqueue_mark(self, mark);
}

/* Posts what is queued and returns once what this thread queued is on the
 * bus. When another thread is posting, it posts ours too and this one waits
 * for it; a call from a bus sync handler of the posting thread itself
 * returns at once (the outer loop posts what it queued). Call without
 * queue_lock. */
static void flush_outbox(GstAgentAudioSrc *self) {
  GstAgentAudioSrcPrivate *priv = self->priv;
  std::unique_lock<std::mutex> lock(priv->queue_lock);
  const guint64 mine = priv->enqueued;
  if (priv->posting_thread == g_thread_self())
    return;
  priv->posted_cond.wait(
      lock, [&] { return priv->posting_thread == nullptr || priv->posted >= mine; });
  if (priv->posted >= mine || priv->outbox.empty())
    return;

  priv->posting_thread = g_thread_self();
  while (!priv->outbox.empty()) {
    Outgoing out = priv->outbox.front();
    priv->outbox.pop_front();
    lock.unlock();
    gst_element_post_message(GST_ELEMENT_CAST(self), out.message);
    if (out.speaking_changed)
      g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_SPEAKING]);
    lock.lock();
    priv->posted++;
    priv->posted_cond.notify_all();
  }
  priv->posting_thread = nullptr;
  priv->posted_cond.notify_all();
}

/* Action signals */

static GstFlowReturn not_negotiated(GstAgentAudioSrc *self, Layer layer,
                                    const gchar *signal, GstCaps *caps,
                                    const Format &output) {
  GST_ELEMENT_ERROR(
      self, STREAM, FORMAT,
      ("Cannot play %s audio in this format", layer == SPEECH ? "speech" : "background"),
      ("%s: cannot convert %" GST_PTR_FORMAT " to the output format "
       "(S16LE, interleaved, rate %d, %d channels): it must be fixed, "
       "interleaved raw audio at %d to %d Hz that GstAudioConverter can convert",
       signal, caps, output.rate, output.channels, MIN_INPUT_RATE, MAX_INPUT_RATE));
  return GST_FLOW_NOT_NEGOTIATED;
}

/* Turns pushed bytes into output samples: joins partial frames across
 * pushes, then converts whole frames. Call with input_lock held. */
static gboolean convert_frames(Input &input, GstBuffer *buffer,
                               std::vector<gint16> &samples) {
  const GstAudioInfo &in = input.converter.in_info();
  GstMapInfo map;

  if (!gst_buffer_map(buffer, &map, GST_MAP_READ))
    return FALSE;
  gsize whole = input.assembler.whole_bytes(map.size);
  gboolean ok = TRUE;
  if (input.converter.passthrough()) {
    /* Already S16 in the output's format: one copy, straight in. */
    gsize at = samples.size();
    samples.resize(at + whole / sizeof(gint16));
    input.assembler.assemble(map.data, map.size,
                             reinterpret_cast<guint8 *>(samples.data() + at));
  } else {
    std::vector<guint8> frames(whole);
    input.assembler.assemble(map.data, map.size, frames.data());
    ok = input.converter.convert(frames.data(), whole / GST_AUDIO_INFO_BPF(&in), samples);
  }
  gst_buffer_unmap(buffer, &map);
#if G_BYTE_ORDER == G_BIG_ENDIAN
  for (gint16 &s : samples)
    s = GINT16_FROM_LE(s);
#endif
  return ok;
}

static void queue_samples(GstAgentAudioSrcPrivate *priv, Layer layer,
                          std::vector<gint16> &&samples) {
  if (layer == SPEECH)
    priv->speech.push(std::move(samples));
  else
    priv->background.push(std::move(samples));
}

/* Frames a layer holds that count against its max-*-time. Call with
 * queue_lock held. */
static guint64 queued_frames(GstAgentAudioSrcPrivate *priv, Layer layer) {
  return layer == SPEECH ? priv->speech.queued_frames()
                         : priv->background.pending_frames();
}

static bool layers_empty(GstAgentAudioSrcPrivate *priv) {
  return priv->speech.queued_frames() == 0 && priv->background.empty();
}

/* Whether a layer holds its max-*-time or more. A limit shorter than a
 * sample still limits: to one sample. Call with queue_lock held. */
static bool layer_full(GstAgentAudioSrcPrivate *priv, Layer layer) {
  guint64 max_time = priv->max_time[layer];
  if (max_time == 0)
    return false;
  guint64 max_frames = std::max<guint64>(1, priv->format.time_to_frames(max_time));
  return queued_frames(priv, layer) >= max_frames;
}

static void set_queue_format(GstAgentAudioSrcPrivate *priv, const Format &format) {
  priv->format = format;
  priv->speech.set_format(format.rate, format.channels);
  priv->background.set_format(format.rate, format.channels);
}

/* What a push is in: its caps, parsed, and whether they can be played. */
struct PushFormat {
  GstCaps *caps = nullptr; /* owned */
  GstAudioInfo info;
  bool playable = false;
  Format preferred; /* the output format if none is negotiated yet */
};

static GstFlowReturn push_frames(GstAgentAudioSrc *self, Layer layer, const gchar *signal,
                                 const PushFormat &pushed, GstBuffer *buffer) {
  GstAgentAudioSrcPrivate *priv = self->priv;
  std::atomic<guint64> &current = priv->generation[layer];
  const guint64 generation = current.load();
  const Format &preferred = pushed.preferred;
  const GstAudioInfo &in = pushed.info;
  const bool playable = pushed.playable;
  GstCaps *caps = pushed.caps;
  Format output;

  {
    /* Wait for room first: nothing is converted for a push that gets
     * flushed. */
    std::unique_lock<std::mutex> lock(priv->queue_lock);
    if (priv->eos_pending)
      return GST_FLOW_EOS;
    output = priv->format;
    if (!playable)
      goto refused;
    if (g_thread_self() == priv->streaming_thread.load()) {
      /* From a pad probe or a bus sync handler: this thread is the one that
       * frees room, so waiting would never end. Queue past the limit. */
      if (layer_full(priv, layer))
        GST_DEBUG_OBJECT(self, "%s from the streaming thread: not waiting for room",
                         signal);
    } else {
      if (layer_full(priv, layer))
        GST_DEBUG_OBJECT(self, "%s: queue full, waiting for room", signal);
      priv->room_cond.wait(lock, [&] {
        return !layer_full(priv, layer) || priv->eos_pending ||
               current.load() != generation;
      });
    }
    if (priv->eos_pending)
      return GST_FLOW_EOS;
    if (current.load() != generation)
      return GST_FLOW_FLUSHING;
  }

  {
    std::lock_guard<std::mutex> input_lock(priv->input_lock);
    Input &input = priv->inputs[layer];
    std::vector<gint16> samples;

    if (current.load() != generation)
      return GST_FLOW_FLUSHING;
    if (input.generation != generation) {
      /* The stream was flushed: its partial frame and what the resampler
       * held back are gone with it. */
      input.assembler.reset(GST_AUDIO_INFO_BPF(&in));
      input.converter.reset();
      input.generation = generation;
    }
    {
      std::lock_guard<std::mutex> lock(priv->queue_lock);
      if (!priv->negotiated && layers_empty(priv))
        set_queue_format(priv, preferred); /* what negotiation will most likely pick */
      output = priv->format;
      /* Fill a chunk the streaming thread consumed, if one is big enough:
       * memory then goes round between the two threads, not through
       * malloc's per-thread caches (which grow when one thread frees what
       * another allocated). */
      const gsize frames = gst_util_uint64_scale_int_ceil(
          gst_buffer_get_size(buffer) / GST_AUDIO_INFO_BPF(&in) + 1, output.rate,
          GST_AUDIO_INFO_RATE(&in));
      const gsize room = (frames + 64) * output.channels;
      samples = layer == SPEECH ? priv->speech.spare(room) : priv->background.spare(room);
    }
    const GstAudioInfo out_info = output.info();
    if (!input.converter.configured_for(in, out_info)) {
      /* A new format: what the old conversion held back plays first. A
       * partial frame stays unless the input format is what changed. */
      const bool new_input = !input.converter.configured() ||
                             !gst_audio_info_is_equal(&in, &input.converter.in_info());
      input.converter.drain(samples);
      if (new_input)
        input.assembler.reset(GST_AUDIO_INFO_BPF(&in));
      if (!input.converter.configure(in, out_info)) {
        std::lock_guard<std::mutex> lock(priv->queue_lock);
        queue_samples(priv, layer, std::move(samples));
        output = priv->format;
        goto refused;
      }
    }

    if (!convert_frames(input, buffer, samples)) {
      GST_ELEMENT_WARNING(
          self, RESOURCE, READ, ("Cannot read pushed audio"),
          ("%s: could not map or convert %" GST_PTR_FORMAT, signal, buffer));
      return GST_FLOW_ERROR;
    }
    priv->holds_back[layer] = input.converter.holds_back();

    std::lock_guard<std::mutex> lock(priv->queue_lock);
    if (priv->eos_pending)
      return GST_FLOW_EOS;
    if (current.load() != generation)
      return GST_FLOW_FLUSHING;
    queue_samples(priv, layer, std::move(samples));
  }
  return GST_FLOW_OK;

refused:
  return not_negotiated(self, layer, signal, caps, output);
}

/* caps NULL: the layer's *-caps property. */
static GstFlowReturn push_layer(GstAgentAudioSrc *self, Layer layer, GstBuffer *buffer,
                                GstCaps *caps = nullptr, const gchar *signal = nullptr) {
  GstAgentAudioSrcPrivate *priv = self->priv;
  PushFormat pushed;
  GstFlowReturn ret;

  if (signal == nullptr)
    signal = push_signal_name[layer];

  if (buffer == nullptr) {
    GST_ELEMENT_WARNING(self, STREAM, FAILED, ("Invalid audio pushed"),
                        ("%s: NULL buffer", signal));
    return GST_FLOW_ERROR;
  }

  {
    std::lock_guard<std::mutex> lock(priv->settings_lock);
    pushed.preferred = preferred_format(priv->settings);
    if (caps == nullptr) {
      pushed.caps = gst_caps_ref(priv->settings.caps[layer]);
      pushed.info = priv->settings.info[layer];
      pushed.playable = priv->settings.playable[layer];
    }
  }
  if (caps != nullptr) {
    pushed.caps = gst_caps_ref(caps);
    pushed.playable = parse_raw_audio(caps, &pushed.info);
  }

  /* No exception may cross into C (a huge push can throw bad_alloc). */
  try {
    ret = push_frames(self, layer, signal, pushed, buffer);
  } catch (const std::bad_alloc &) {
    GST_ELEMENT_ERROR(self, RESOURCE, NO_SPACE_LEFT, ("Out of memory queuing audio"),
                      ("%s: could not queue %" G_GSIZE_FORMAT " bytes", signal,
                       gst_buffer_get_size(buffer)));
    ret = GST_FLOW_ERROR;
  }
  gst_caps_unref(pushed.caps);
  return ret;
}

static GstFlowReturn gst_agent_audio_src_push_speech(GstAgentAudioSrc *self,
                                                     GstBuffer *buffer) {
  return push_layer(self, SPEECH, buffer);
}

static GstFlowReturn gst_agent_audio_src_push_speech_sample(GstAgentAudioSrc *self,
                                                            GstSample *sample) {
  GstBuffer *buffer = sample ? gst_sample_get_buffer(sample) : nullptr;
  if (buffer == nullptr) {
    GST_ELEMENT_WARNING(
        self, STREAM, FAILED, ("Invalid audio pushed"),
        ("push-speech-sample: %s", sample ? "sample without a buffer" : "NULL sample"));
    return GST_FLOW_ERROR;
  }
  /* A sample without caps is taken to be in speech-caps. */
  return push_layer(self, SPEECH, buffer, gst_sample_get_caps(sample),
                    "push-speech-sample");
}

static GstFlowReturn gst_agent_audio_src_push_background(GstAgentAudioSrc *self,
                                                         GstBuffer *buffer) {
  return push_layer(self, BACKGROUND, buffer);
}

static guint64 gst_agent_audio_src_clear_background(GstAgentAudioSrc *self) {
  GstAgentAudioSrcPrivate *priv = self->priv;
  guint64 fade, dropped;
  Format format;

  {
    std::lock_guard<std::mutex> lock(priv->settings_lock);
    fade = priv->settings.interrupt_fade;
  }
  {
    std::lock_guard<std::mutex> lock(priv->queue_lock);
    priv->generation[BACKGROUND]++;
    dropped = priv->background.clear(priv->format.time_to_frames(fade));
    format = priv->format;
  }
  priv->room_cond.notify_all();

  GST_DEBUG_OBJECT(self, "clear-background dropped %" G_GUINT64_FORMAT " frames",
                   dropped);
  return format.frames_to_time(dropped);
}

static guint64 gst_agent_audio_src_interrupt(GstAgentAudioSrc *self) {
  GstAgentAudioSrcPrivate *priv = self->priv;
  agentaudio::CutResult cut;
  guint64 fade;
  Format format;

  {
    std::lock_guard<std::mutex> lock(priv->settings_lock);
    fade = priv->settings.interrupt_fade;
  }

  {
    std::lock_guard<std::mutex> lock(priv->queue_lock);
    priv->generation[SPEECH]++;
    cut = priv->speech.interrupt(priv->format.time_to_frames(fade));
    enqueue_cut(self, cut);
    format = priv->format;
  }
  priv->room_cond.notify_all();

  GST_DEBUG_OBJECT(self, "interrupt dropped %" G_GUINT64_FORMAT " frames", cut.dropped);
  flush_outbox(self);
  return format.frames_to_time(cut.dropped);
}

static void gst_agent_audio_src_mark(GstAgentAudioSrc *self, const gchar *name) {
  GstAgentAudioSrcPrivate *priv = self->priv;

  if (name == nullptr) {
    GST_ELEMENT_WARNING(self, STREAM, FAILED, ("Invalid mark"),
                        ("mark: NULL name, mark ignored"));
    return;
  }

  /* The mark goes after the speech pushed before it, including the frames
   * the resampler still holds back from that speech. */
  std::lock_guard<std::mutex> input_lock(priv->input_lock);
  const Input &input = priv->inputs[SPEECH];
  std::lock_guard<std::mutex> lock(priv->queue_lock);
  const bool current = input.generation == priv->generation[SPEECH].load();
  priv->speech.mark(name, current ? input.converter.held_back_frames() : 0);
}

static GstFlowReturn gst_agent_audio_src_end_of_stream(GstAgentAudioSrc *self) {
  GstAgentAudioSrcPrivate *priv = self->priv;

  {
    std::lock_guard<std::mutex> lock(priv->queue_lock);
    if (priv->eos_pending)
      return GST_FLOW_EOS;
    priv->eos_pending = true;
  }
  priv->room_cond.notify_all();
  return GST_FLOW_OK;
}

/* Streaming */

/* Waits until the clock reaches `time`, unless unlock() was called. */
static GstClockReturn wait_for_clock(GstAgentAudioSrc *self, GstClock *clock,
                                     GstClockTime time) {
  GstAgentAudioSrcPrivate *priv = self->priv;
  GstClockID id;
  GstClockReturn ret;

  {
    std::lock_guard<std::mutex> lock(priv->clock_lock);
    if (priv->flushing)
      return GST_CLOCK_UNSCHEDULED;
    if (priv->clock_id != nullptr && gst_clock_id_uses_clock(priv->clock_id, clock)) {
      gst_clock_single_shot_id_reinit(clock, priv->clock_id, time);
    } else {
      if (priv->clock_id != nullptr)
        gst_clock_id_unref(priv->clock_id);
      priv->clock_id = gst_clock_new_single_shot_id(clock, time);
    }
    id = gst_clock_id_ref(priv->clock_id);
  }

  ret = gst_clock_id_wait(id, nullptr);
  gst_clock_id_unref(id);
  return ret;
}

/* A layer about to run dry within this buffer gets what its resampler
 * still holds back: the tail of a sentence is played in the buffer it
 * belongs to, not held until more speech comes. Skipped while a push is
 * converting (more audio is on its way). */
static void drain_dry_layers(GstAgentAudioSrcPrivate *priv, gsize frames) {
  if (!priv->holds_back[SPEECH] && !priv->holds_back[BACKGROUND])
    return;
  std::unique_lock<std::mutex> input_lock(priv->input_lock, std::try_to_lock);
  if (!input_lock.owns_lock())
    return;
  for (int i = SPEECH; i < N_LAYERS; i++) {
    Layer layer = static_cast<Layer>(i);
    Input &input = priv->inputs[layer];
    if (!priv->holds_back[layer])
      continue;
    {
      std::lock_guard<std::mutex> lock(priv->queue_lock);
      if (queued_frames(priv, layer) >= frames)
        continue;
    }
    std::vector<gint16> tail;
    input.converter.drain(tail);
    priv->holds_back[layer] = false;
    std::lock_guard<std::mutex> lock(priv->queue_lock);
    if (priv->generation[layer].load() == input.generation)
      queue_samples(priv, layer, std::move(tail));
    if (layer == SPEECH)
      priv->speech.settle_marks();
  }
}

/* Mixes the bed of this buffer into `data`. The bed's gain moves to
 * `target` over the buffer, never in a step: volume changes, ducking as
 * speech starts and releasing after it ends. */
static void mix_background(GstAgentAudioSrcPrivate *priv, gint16 *data, gsize bed_frames,
                           gsize frames, gint channels, float target) {
  if (priv->bed_gain < 0.0f)
    priv->bed_gain = target;
  const float step = (target - priv->bed_gain) / static_cast<float>(frames);
  if (bed_frames > 0)
    agentaudio::mix_ramp(data, priv->bed.data(), bed_frames, channels,
                         priv->bed_gain + step, step);
  priv->bed_gain = target;
}

/* A buffer of `size` bytes from the pool negotiated in decide_allocation(),
 * or newly allocated if that pool cannot give one (it is being flushed, or
 * downstream's pool has smaller buffers). */
static GstBuffer *new_buffer(GstAgentAudioSrcPrivate *priv, gsize size) {
  GstBuffer *buffer = nullptr;
  if (priv->pool != nullptr) {
    /* Never wait for downstream to release one: a pool with a maximum is
     * not a reason to fall behind the clock. */
    GstBufferPoolAcquireParams params = {};
    params.flags = GST_BUFFER_POOL_ACQUIRE_FLAG_DONTWAIT;
    gsize maxsize = 0;
    if (gst_buffer_pool_acquire_buffer(priv->pool, &buffer, &params) == GST_FLOW_OK) {
      gst_buffer_get_sizes(buffer, nullptr, &maxsize);
      if (maxsize >= size)
        gst_buffer_set_size(buffer, size); /* the pool restores it on release */
      else
        gst_clear_buffer(&buffer);
    }
  }
  if (buffer == nullptr)
    buffer = gst_buffer_new_allocate(nullptr, size, nullptr);
  return buffer;
}

static void stamp(GstBuffer *buffer, GstClockTime pts, GstClockTime duration,
                  guint64 offset, guint64 offset_end, bool discont, bool gap) {
  GST_BUFFER_PTS(buffer) = pts;
  GST_BUFFER_DURATION(buffer) = duration;
  GST_BUFFER_OFFSET(buffer) = offset;
  GST_BUFFER_OFFSET_END(buffer) = offset_end;
  if (discont)
    GST_BUFFER_FLAG_SET(buffer, GST_BUFFER_FLAG_DISCONT);
  if (gap)
    GST_BUFFER_FLAG_SET(buffer, GST_BUFFER_FLAG_GAP);
}

static GstFlowReturn gst_agent_audio_src_create(GstBaseSrc *bsrc, guint64 offset,
                                                guint length, GstBuffer **out) {
  GstAgentAudioSrc *self = GST_AGENT_AUDIO_SRC(bsrc);
  GstAgentAudioSrcPrivate *priv = self->priv;
  agentaudio::RenderResult result;
  Timeline timeline;
  Format format;
  GstClock *clock;
  GstClockTime base_time;
  guint64 first, end;
  GstMapInfo map;
  gsize bed_frames;
  gdouble volume, duck;
  bool at_eos, messages;

  (void)offset;
  (void)length;
  priv->streaming_thread = g_thread_self();

  GST_OBJECT_LOCK(self);
  clock = GST_ELEMENT_CLOCK(self) ? GST_CLOCK(gst_object_ref(GST_ELEMENT_CLOCK(self)))
                                  : nullptr;
  base_time = GST_ELEMENT_CAST(self)->base_time;
  GST_OBJECT_UNLOCK(self);

  {
    std::lock_guard<std::mutex> lock(priv->queue_lock);
    if (!priv->timeline.started()) {
      /* Start at the current running time: a source added to a pipeline
       * that has been running does not burst to catch up. */
      GstClockTime now = clock ? gst_clock_get_time(clock) : base_time;
      priv->timeline.origin = now > base_time ? now - base_time : 0;
      priv->timeline.origin_frame = 0;
      priv->timeline.rate = priv->format.rate;
      priv->buffer_index = 0;
    }
    timeline = priv->timeline;
    format = priv->format;
  }

  /* Buffer k covers frames [k * rate * ptime / 1000, (k + 1) * ...): exactly
   * ptime each, with no drift at rates where ptime is not whole samples. */
  const guint64 per_second = (guint64)format.rate * priv->ptime;
  first =
      timeline.origin_frame + gst_util_uint64_scale(priv->buffer_index, per_second, 1000);
  end = timeline.origin_frame +
        gst_util_uint64_scale(priv->buffer_index + 1, per_second, 1000);
  const GstClockTime pts = timeline.running_time(first);

  /* Wait first, then take the queued audio: whatever was pushed before the
   * buffer is due is in it. */
  if (clock != nullptr) {
    GstClockReturn wait = wait_for_clock(self, clock, base_time + pts);
    gst_object_unref(clock);
    if (wait == GST_CLOCK_UNSCHEDULED) {
      GST_DEBUG_OBJECT(self, "clock wait unscheduled, flushing");
      return GST_FLOW_FLUSHING;
    }
  }

  /* Settings too are read once the buffer is due: a change made while the
   * element waited is in this buffer. */
  {
    std::lock_guard<std::mutex> lock(priv->settings_lock);
    volume = priv->settings.background_volume;
    duck = priv->settings.duck_volume;
  }

  const gsize frames = end - first;
  drain_dry_layers(priv, frames);
  const gsize size = frames * format.bytes_per_frame();
  if (priv->bed.size() < frames * format.channels)
    priv->bed.resize(frames * format.channels); /* once per format, not per buffer */

  /* Speech first, in a buffer of its own: it is what speech_%u pads carry,
   * and, with no background to mix, also what src carries. */
  GstBuffer *speech = new_buffer(priv, size);
  gst_buffer_map(speech, &map, GST_MAP_WRITE);
  gint16 *data = reinterpret_cast<gint16 *>(map.data);
  {
    std::lock_guard<std::mutex> lock(priv->queue_lock);
    at_eos =
        priv->eos_pending && priv->speech.queued_frames() == 0 && !priv->speech.fading();
    priv->speech.render(data, at_eos ? 0 : frames, first, result);
    bed_frames = at_eos ? 0 : priv->background.read(priv->bed.data(), frames);
    enqueue_rendered(self, result);
    /* Ours, or another thread's still on its way to the bus: they go
     * before this buffer. */
    messages = priv->posted < priv->enqueued;
  }
  priv->room_cond.notify_all();

  /* The bed is mixed into src's buffer, which is the speech buffer itself
   * unless speech_%u pads need that one unmixed. */
  const float gain = static_cast<float>(volume * (result.speech_frames > 0 ? duck : 1.0));
  GstBuffer *mixed = speech;
  if (bed_frames > 0 && priv->pads.wants_speech()) {
    GstMapInfo mixed_map;
    mixed = new_buffer(priv, size);
    gst_buffer_map(mixed, &mixed_map, GST_MAP_WRITE);
    memcpy(mixed_map.data, data, size);
    mix_background(priv, reinterpret_cast<gint16 *>(mixed_map.data), bed_frames, frames,
                   format.channels, gain);
    gst_buffer_unmap(mixed, &mixed_map);
  } else {
    mix_background(priv, data, bed_frames, frames, format.channels, gain);
  }
  gst_buffer_unmap(speech, &map);

  if (messages)
    flush_outbox(self);

  if (at_eos) {
    GST_DEBUG_OBJECT(self, "all speech played, end of stream");
    gst_buffer_unref(speech);
    return GST_FLOW_EOS; /* src's EOS reaches the request pads: see src_eos_probe() */
  }

  const GstClockTime duration = timeline.running_time(end) - pts;
  stamp(speech, pts, duration, first, end, priv->discont, result.speech_frames == 0);
  if (mixed != speech)
    stamp(mixed, pts, duration, first, end, priv->discont, false);
  else if (bed_frames > 0)
    GST_BUFFER_FLAG_UNSET(mixed, GST_BUFFER_FLAG_GAP);
  priv->discont = false;
  priv->buffer_index++;

  priv->pads.push(GST_BASE_SRC_PAD(bsrc), mixed, speech);
  if (mixed != speech)
    gst_buffer_unref(speech);
  *out = mixed;
  return GST_FLOW_OK;
}

static void gst_agent_audio_src_get_times(GstBaseSrc *bsrc, GstBuffer *buffer,
                                          GstClockTime *start, GstClockTime *end) {
  /* create() already waited for the clock; GstBaseSrc's own sync would wait
   * after filling and add a whole ptime of delay. */
  (void)bsrc;
  (void)buffer;
  *start = GST_CLOCK_TIME_NONE;
  *end = GST_CLOCK_TIME_NONE;
}

static gboolean gst_agent_audio_src_unlock(GstBaseSrc *bsrc) {
  GstAgentAudioSrcPrivate *priv = GST_AGENT_AUDIO_SRC(bsrc)->priv;
  std::lock_guard<std::mutex> lock(priv->clock_lock);

  priv->flushing = true;
  if (priv->clock_id != nullptr)
    gst_clock_id_unschedule(priv->clock_id);
  return TRUE;
}

static gboolean gst_agent_audio_src_unlock_stop(GstBaseSrc *bsrc) {
  GstAgentAudioSrcPrivate *priv = GST_AGENT_AUDIO_SRC(bsrc)->priv;
  std::lock_guard<std::mutex> lock(priv->clock_lock);

  priv->flushing = false;
  return TRUE;
}

/* Negotiation */

static GstCaps *gst_agent_audio_src_fixate(GstBaseSrc *bsrc, GstCaps *caps) {
  /* Any rate and channel count downstream asks for is converted to; left
   * free, they are those of speech-caps. */
  GstAgentAudioSrcPrivate *priv = GST_AGENT_AUDIO_SRC(bsrc)->priv;
  Format want;
  {
    std::lock_guard<std::mutex> lock(priv->settings_lock);
    want = preferred_format(priv->settings);
  }
  caps = gst_caps_truncate(gst_caps_make_writable(caps));
  GstStructure *s = gst_caps_get_structure(caps, 0);
  gst_structure_fixate_field_nearest_int(s, "rate", want.rate);
  gst_structure_fixate_field_nearest_int(s, "channels", want.channels);
  gint channels;
  if (gst_structure_get_int(s, "channels", &channels) && channels > 2 &&
      !gst_structure_has_field(s, "channel-mask"))
    gst_structure_set(s, "channel-mask", GST_TYPE_BITMASK,
                      gst_audio_channel_get_fallback_mask(channels), NULL);
  return GST_BASE_SRC_CLASS(parent_class)->fixate(bsrc, caps);
}

static gboolean gst_agent_audio_src_set_caps(GstBaseSrc *bsrc, GstCaps *caps) {
  GstAgentAudioSrc *self = GST_AGENT_AUDIO_SRC(bsrc);
  GstAgentAudioSrcPrivate *priv = self->priv;
  Format format;
  GstAudioInfo info;

  if (!gst_audio_info_from_caps(&info, caps))
    return FALSE;
  format.rate = GST_AUDIO_INFO_RATE(&info);
  format.channels = GST_AUDIO_INFO_CHANNELS(&info);
  GST_DEBUG_OBJECT(self, "output caps %" GST_PTR_FORMAT, caps);

  /* Both locks: no push converts to the old format meanwhile. */
  std::lock_guard<std::mutex> input_lock(priv->input_lock);
  std::lock_guard<std::mutex> lock(priv->queue_lock);
  const Format from = priv->format;
  if (format != from) {
    /* Queued audio is kept: what the converters hold back joins it, in the
     * old format; set_queue_format() below converts nothing (the layers
     * convert as they play). */
    for (int layer = SPEECH; layer < N_LAYERS; layer++) {
      std::vector<gint16> tail;
      priv->inputs[layer].converter.drain(tail);
      priv->holds_back[layer] = false;
      queue_samples(priv, static_cast<Layer>(layer), std::move(tail));
    }
    priv->speech.settle_marks();
    GST_DEBUG_OBJECT(self, "queued audio goes on from %d Hz x %d as %d Hz x %d",
                     from.rate, from.channels, format.rate, format.channels);
  }
  if (priv->timeline.started() && format.rate != priv->timeline.rate) {
    /* Keep timestamps continuous: the next buffer starts where the last
     * one ended, counted in the new rate from there. */
    guint64 next =
        priv->timeline.origin_frame +
        gst_util_uint64_scale(priv->buffer_index,
                              (guint64)priv->timeline.rate * priv->ptime, 1000);
    priv->timeline.change_rate(next, format.rate);
    priv->buffer_index = 0;
  }
  set_queue_format(priv, format);
  priv->negotiated = true;
  priv->pads.set_caps(caps);
  return TRUE;
}

/* A pool of buffers of the largest size create() makes, so that a steady
 * stream allocates nothing: downstream's if it offers one, else our own. */
static gboolean gst_agent_audio_src_decide_allocation(GstBaseSrc *bsrc, GstQuery *query) {
  GstAgentAudioSrcPrivate *priv = GST_AGENT_AUDIO_SRC(bsrc)->priv;
  GstCaps *caps;
  GstAudioInfo info;

  gst_query_parse_allocation(query, &caps, nullptr);
  if (caps != nullptr && gst_audio_info_from_caps(&info, caps)) {
    /* ptime rounded up to whole frames: buffer sizes alternate by one frame
     * when ptime is not a whole number of them. */
    guint size = (guint)gst_util_uint64_scale_int_ceil(GST_AUDIO_INFO_RATE(&info),
                                                       priv->ptime, 1000) *
                 GST_AUDIO_INFO_BPF(&info);
    GstBufferPool *pool = nullptr;
    guint pool_size = 0, min = 0, max = 0;
    const bool offered = gst_query_get_n_allocation_pools(query) > 0;
    if (offered)
      gst_query_parse_nth_allocation_pool(query, 0, &pool, &pool_size, &min, &max);
    if (pool == nullptr)
      pool = gst_buffer_pool_new();
    /* No minimum of our own: the pool grows to the buffers in flight (src's,
     * the unmixed speech one, what a sink keeps as its last sample), and
     * preallocating more only costs memory in every session. */
    size = MAX(size, pool_size);
    if (offered)
      gst_query_set_nth_allocation_pool(query, 0, pool, size, min, max);
    else
      gst_query_add_allocation_pool(query, pool, size, min, max);
    gst_object_unref(pool);
  }
  if (!GST_BASE_SRC_CLASS(parent_class)->decide_allocation(bsrc, query))
    return FALSE;
  /* Kept rather than asked of GstBaseSrc for every buffer (a lock and a
   * ref); GstBaseSrc activates it right after this. */
  GstBufferPool *chosen = nullptr;
  if (gst_query_get_n_allocation_pools(query) > 0)
    gst_query_parse_nth_allocation_pool(query, 0, &chosen, nullptr, nullptr, nullptr);
  gst_object_replace(reinterpret_cast<GstObject **>(&priv->pool),
                     GST_OBJECT_CAST(chosen));
  if (chosen != nullptr)
    gst_object_unref(chosen);
  return TRUE;
}

static gboolean gst_agent_audio_src_query(GstBaseSrc *bsrc, GstQuery *query) {
  GstAgentAudioSrc *self = GST_AGENT_AUDIO_SRC(bsrc);

  if (GST_QUERY_TYPE(query) == GST_QUERY_LATENCY) {
    guint ptime;
    if (GST_BASE_SRC_IS_STARTED(bsrc)) {
      /* ptime is read at start: a change in PLAYING applies from the next
       * start, so the latency in force is the one in use. */
      ptime = self->priv->ptime;
    } else {
      std::lock_guard<std::mutex> lock(self->priv->settings_lock);
      ptime = self->priv->settings.ptime;
    }
    /* A buffer is stamped with the time of its first sample and pushed at
     * that time, so its last sample is one ptime late. Like audiotestsrc,
     * no upper bound: a finite one makes synced sinks without a queue
     * before them warn that the pipeline needs queues. */
    GstClockTime latency = ptime * GST_MSECOND;
    gst_query_set_latency(query, TRUE, latency, GST_CLOCK_TIME_NONE);
    GST_DEBUG_OBJECT(self, "latency %" GST_TIME_FORMAT, GST_TIME_ARGS(latency));
    return TRUE;
  }
  return GST_BASE_SRC_CLASS(parent_class)->query(bsrc, query);
}

/* Request pads */

static GstPad *gst_agent_audio_src_request_new_pad(GstElement *element,
                                                   GstPadTemplate *templ,
                                                   const gchar *name,
                                                   const GstCaps *caps) {
  GstAgentAudioSrc *self = GST_AGENT_AUDIO_SRC(element);
  (void)caps; /* request pads always carry the caps of src */
  agentaudio::PadKind kind =
      g_str_equal(GST_PAD_TEMPLATE_NAME_TEMPLATE(templ), "speech_%u")
          ? agentaudio::PadKind::SPEECH
          : agentaudio::PadKind::MIXED;
  return self->priv->pads.add(element, templ, name, kind);
}

static void gst_agent_audio_src_release_pad(GstElement *element, GstPad *pad) {
  GST_AGENT_AUDIO_SRC(element)->priv->pads.remove(element, pad);
}

/* State */

static gboolean gst_agent_audio_src_negotiate(GstBaseSrc *bsrc) {
  /* The streaming task negotiates right after pushing src's stream-start. */
  GST_AGENT_AUDIO_SRC(bsrc)->priv->pads.show_to_basesrc(GST_ELEMENT_CAST(bsrc));
  return GST_BASE_SRC_CLASS(parent_class)->negotiate(bsrc);
}

static gboolean gst_agent_audio_src_start(GstBaseSrc *bsrc) {
  GstAgentAudioSrc *self = GST_AGENT_AUDIO_SRC(bsrc);
  GstAgentAudioSrcPrivate *priv = self->priv;

  /* src's stream-start is pending from here: see RequestPads. */
  priv->pads.hide_from_basesrc(GST_ELEMENT_CAST(bsrc));

  {
    std::lock_guard<std::mutex> lock(priv->settings_lock);
    priv->ptime = priv->settings.ptime;
  }
  {
    /* Queued speech stays: what was pushed before PLAYING plays first. */
    std::lock_guard<std::mutex> lock(priv->queue_lock);
    priv->timeline = Timeline();
    priv->buffer_index = 0;
  }
  priv->discont = true;
  priv->bed_gain = -1.0f;
  return TRUE;
}

static gboolean gst_agent_audio_src_stop(GstBaseSrc *bsrc) {
  GstAgentAudioSrc *self = GST_AGENT_AUDIO_SRC(bsrc);
  GstAgentAudioSrcPrivate *priv = self->priv;
  agentaudio::CutResult cut;

  {
    std::lock_guard<std::mutex> lock(priv->queue_lock);
    priv->generation[SPEECH]++;
    priv->generation[BACKGROUND]++;
    cut = priv->speech.discard();
    priv->background.discard();
    /* Every first-audio gets its last-audio and every mark is posted once,
     * even when the pipeline is torn down mid-sentence. */
    enqueue_cut(self, cut);
    priv->timeline = Timeline();
    priv->eos_pending = false;
    priv->negotiated = false;
  }
  priv->room_cond.notify_all();

  {
    std::lock_guard<std::mutex> lock(priv->clock_lock);
    if (priv->clock_id != nullptr) {
      gst_clock_id_unref(priv->clock_id);
      priv->clock_id = nullptr;
    }
  }

  {
    std::lock_guard<std::mutex> input_lock(priv->input_lock);
    for (int layer = SPEECH; layer < N_LAYERS; layer++) {
      priv->inputs[layer].converter.reset();
      priv->holds_back[layer] = false;
    }
  }

  gst_clear_object(&priv->pool); /* deactivated by GstBaseSrc */

  /* Task threads are pooled: the next run may be on another thread, and
   * this one may serve another element. */
  priv->streaming_thread = nullptr;

  /* Request pads were deactivated with src and lost their sticky events. */
  priv->pads.restart();
  priv->pads.show_to_basesrc(GST_ELEMENT_CAST(bsrc));

  GST_DEBUG_OBJECT(self, "stopped, discarded %" G_GUINT64_FORMAT " frames", cut.dropped);
  flush_outbox(self);
  return TRUE;
}

/* GObject */

/* Sets a max-*-time and wakes the pushes blocked on it: the limit may have
 * grown. */
static void set_max_time(GstAgentAudioSrcPrivate *priv, Layer layer, guint64 max_time) {
  {
    std::lock_guard<std::mutex> lock(priv->queue_lock);
    priv->max_time[layer] = max_time;
  }
  priv->room_cond.notify_all();
}

/* Call with settings_lock held. */
static void set_caps_setting(Settings &settings, Layer layer, const GstCaps *caps) {
  GstCaps *new_caps =
      caps ? gst_caps_copy(caps) : gst_caps_from_string(DEFAULT_SPEECH_CAPS);
  gst_caps_replace(&settings.caps[layer], new_caps);
  gst_caps_unref(new_caps);
  settings.playable[layer] = parse_raw_audio(settings.caps[layer], &settings.info[layer]);
}

static void gst_agent_audio_src_set_property(GObject *object, guint prop_id,
                                             const GValue *value, GParamSpec *pspec) {
  GstAgentAudioSrc *self = GST_AGENT_AUDIO_SRC(object);
  GstAgentAudioSrcPrivate *priv = self->priv;
  std::unique_lock<std::mutex> lock(priv->settings_lock);

  switch (prop_id) {
    case PROP_PTIME:
      priv->settings.ptime = g_value_get_uint(value);
      break;
    case PROP_SPEECH_CAPS:
      set_caps_setting(priv->settings, SPEECH, gst_value_get_caps(value));
      break;
    case PROP_BACKGROUND_CAPS:
      set_caps_setting(priv->settings, BACKGROUND, gst_value_get_caps(value));
      break;
    case PROP_INTERRUPT_FADE:
      priv->settings.interrupt_fade = g_value_get_uint64(value);
      break;
    case PROP_MAX_SPEECH_TIME:
      lock.unlock();
      set_max_time(priv, SPEECH, g_value_get_uint64(value));
      break;
    case PROP_MAX_BACKGROUND_TIME:
      lock.unlock();
      set_max_time(priv, BACKGROUND, g_value_get_uint64(value));
      break;
    case PROP_BACKGROUND_VOLUME:
      priv->settings.background_volume = g_value_get_double(value);
      break;
    case PROP_DUCK_VOLUME:
      priv->settings.duck_volume = g_value_get_double(value);
      break;
    case PROP_BACKGROUND_LOOP: {
      priv->settings.background_loop = g_value_get_boolean(value);
      bool loop = priv->settings.background_loop;
      lock.unlock();
      std::lock_guard<std::mutex> qlock(priv->queue_lock);
      priv->background.set_loop(loop);
      break;
    }
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
}

static void gst_agent_audio_src_get_property(GObject *object, guint prop_id,
                                             GValue *value, GParamSpec *pspec) {
  GstAgentAudioSrc *self = GST_AGENT_AUDIO_SRC(object);
  GstAgentAudioSrcPrivate *priv = self->priv;

  if (prop_id == PROP_QUEUED_SPEECH_TIME || prop_id == PROP_QUEUED_BACKGROUND_TIME ||
      prop_id == PROP_SPEAKING || prop_id == PROP_MAX_SPEECH_TIME ||
      prop_id == PROP_MAX_BACKGROUND_TIME) {
    std::lock_guard<std::mutex> lock(priv->queue_lock);
    if (prop_id == PROP_SPEAKING)
      g_value_set_boolean(value, priv->speech.speaking());
    else if (prop_id == PROP_MAX_SPEECH_TIME)
      g_value_set_uint64(value, priv->max_time[SPEECH]);
    else if (prop_id == PROP_MAX_BACKGROUND_TIME)
      g_value_set_uint64(value, priv->max_time[BACKGROUND]);
    else
      g_value_set_uint64(
          value, priv->format.frames_to_time(queued_frames(
                     priv, prop_id == PROP_QUEUED_SPEECH_TIME ? SPEECH : BACKGROUND)));
    return;
  }

  std::lock_guard<std::mutex> lock(priv->settings_lock);
  switch (prop_id) {
    case PROP_PTIME:
      g_value_set_uint(value, priv->settings.ptime);
      break;
    case PROP_SPEECH_CAPS:
      gst_value_set_caps(value, priv->settings.caps[SPEECH]);
      break;
    case PROP_BACKGROUND_CAPS:
      gst_value_set_caps(value, priv->settings.caps[BACKGROUND]);
      break;
    case PROP_INTERRUPT_FADE:
      g_value_set_uint64(value, priv->settings.interrupt_fade);
      break;
    case PROP_BACKGROUND_VOLUME:
      g_value_set_double(value, priv->settings.background_volume);
      break;
    case PROP_DUCK_VOLUME:
      g_value_set_double(value, priv->settings.duck_volume);
      break;
    case PROP_BACKGROUND_LOOP:
      g_value_set_boolean(value, priv->settings.background_loop);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
}

/* However src ends (end-of-stream, num-buffers, an EOS event sent to the
 * element), the request pads end with it. GstBaseSrc pushes EOS from the
 * streaming thread, where the request pads are pushed. */
static GstPadProbeReturn src_eos_probe(GstPad *pad, GstPadProbeInfo *info,
                                       gpointer self) {
  if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) == GST_EVENT_EOS)
    GST_AGENT_AUDIO_SRC(self)->priv->pads.push_eos(pad);
  return GST_PAD_PROBE_OK;
}

static void gst_agent_audio_src_init(GstAgentAudioSrc *self) {
  self->priv = new GstAgentAudioSrcPrivate();
  set_caps_setting(self->priv->settings, SPEECH, nullptr);
  set_caps_setting(self->priv->settings, BACKGROUND, nullptr);

  gst_pad_add_probe(GST_BASE_SRC_PAD(self), GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
                    src_eos_probe, self, nullptr);
  gst_base_src_set_live(GST_BASE_SRC(self), TRUE);
  gst_base_src_set_format(GST_BASE_SRC(self), GST_FORMAT_TIME);
}

static void gst_agent_audio_src_finalize(GObject *object) {
  GstAgentAudioSrc *self = GST_AGENT_AUDIO_SRC(object);

  for (GstCaps *caps : self->priv->settings.caps)
    gst_caps_unref(caps);
  for (Outgoing &out : self->priv->outbox)
    gst_message_unref(out.message);
  if (self->priv->clock_id != nullptr)
    gst_clock_id_unref(self->priv->clock_id);
  gst_clear_object(&self->priv->pool);
  delete self->priv;

  G_OBJECT_CLASS(parent_class)->finalize(object);
}

/* An action signal with a class handler and no or one parameter. */
static guint new_action(GstAgentAudioSrcClass *klass, const gchar *name,
                        GCallback handler, GType return_type, GType param = G_TYPE_NONE) {
  return g_signal_new_class_handler(name, G_TYPE_FROM_CLASS(klass),
                                    (GSignalFlags)(G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION),
                                    handler, nullptr, nullptr, nullptr, return_type,
                                    param == G_TYPE_NONE ? 0 : 1, param);
}

static void gst_agent_audio_src_class_init(GstAgentAudioSrcClass *klass) {
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstBaseSrcClass *basesrc_class = GST_BASE_SRC_CLASS(klass);

  GST_DEBUG_CATEGORY_INIT(agent_audio_src_debug, "agentaudiosrc", 0,
                          "Clock-paced speech source for voice agents");

  gobject_class->set_property = gst_agent_audio_src_set_property;
  gobject_class->get_property = gst_agent_audio_src_get_property;
  gobject_class->finalize = gst_agent_audio_src_finalize;

  properties[PROP_PTIME] =
      g_param_spec_uint("ptime", "Packet time",
                        "Duration of every output buffer in milliseconds (SDP ptime)",
                        MIN_PTIME, MAX_PTIME, DEFAULT_PTIME,
                        (GParamFlags)(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                      GST_PARAM_MUTABLE_READY));
  properties[PROP_SPEECH_CAPS] = g_param_spec_boxed(
      "speech-caps", "Speech caps",
      "Format of the bytes given to push-speech: any interleaved raw audio, "
      "converted to the output; applies to data pushed after the change. The "
      "output takes its rate and channels when downstream leaves them free",
      GST_TYPE_CAPS,
      (GParamFlags)(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                    GST_PARAM_MUTABLE_PLAYING));
  properties[PROP_INTERRUPT_FADE] = g_param_spec_uint64(
      "interrupt-fade", "Interrupt fade",
      "Fade-out in nanoseconds that interrupt applies to speech playing at the "
      "time and clear-background to the background (0 = hard cut)",
      0, MAX_INTERRUPT_FADE, DEFAULT_INTERRUPT_FADE,
      (GParamFlags)(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                    GST_PARAM_MUTABLE_PLAYING));
  properties[PROP_MAX_SPEECH_TIME] = g_param_spec_uint64(
      "max-speech-time", "Max speech time",
      "While this many nanoseconds of speech are queued, push-speech blocks "
      "until room frees (0 = unlimited)",
      0, G_MAXUINT64, DEFAULT_MAX_SPEECH_TIME,
      (GParamFlags)(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                    GST_PARAM_MUTABLE_PLAYING));
  properties[PROP_QUEUED_SPEECH_TIME] = g_param_spec_uint64(
      "queued-speech-time", "Queued speech time",
      "Nanoseconds of speech queued and not yet pushed out", 0, G_MAXUINT64, 0,
      (GParamFlags)(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  properties[PROP_SPEAKING] = g_param_spec_boolean(
      "speaking", "Speaking",
      "TRUE between the first-audio and last-audio messages (notified when it "
      "changes)",
      FALSE, (GParamFlags)(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  properties[PROP_BACKGROUND_CAPS] = g_param_spec_boxed(
      "background-caps", "Background caps",
      "Format of the bytes given to push-background: any interleaved raw audio, "
      "converted to the output; applies to data pushed after the change",
      GST_TYPE_CAPS,
      (GParamFlags)(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                    GST_PARAM_MUTABLE_PLAYING));
  properties[PROP_BACKGROUND_VOLUME] = g_param_spec_double(
      "background-volume", "Background volume",
      "Gain on the background layer (linear; changes ramp over one ptime)", 0.0,
      MAX_BACKGROUND_VOLUME, DEFAULT_BACKGROUND_VOLUME,
      (GParamFlags)(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                    GST_PARAM_MUTABLE_PLAYING));
  properties[PROP_DUCK_VOLUME] = g_param_spec_double(
      "duck-volume", "Duck volume",
      "Extra gain on the background while speech plays (1.0 = no ducking); "
      "engages and releases as a ramp over one ptime",
      0.0, 1.0, DEFAULT_DUCK_VOLUME,
      (GParamFlags)(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                    GST_PARAM_MUTABLE_PLAYING));
  properties[PROP_BACKGROUND_LOOP] = g_param_spec_boolean(
      "background-loop", "Background loop",
      "Keep background audio and play it again from its start when it runs out "
      "(ambient beds); clear-background ends it",
      DEFAULT_BACKGROUND_LOOP,
      (GParamFlags)(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                    GST_PARAM_MUTABLE_PLAYING));
  properties[PROP_MAX_BACKGROUND_TIME] = g_param_spec_uint64(
      "max-background-time", "Max background time",
      "While this many nanoseconds of background are queued, push-background "
      "blocks until room frees (0 = unlimited)",
      0, G_MAXUINT64, DEFAULT_MAX_BACKGROUND_TIME,
      (GParamFlags)(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                    GST_PARAM_MUTABLE_PLAYING));
  properties[PROP_QUEUED_BACKGROUND_TIME] = g_param_spec_uint64(
      "queued-background-time", "Queued background time",
      "Nanoseconds of background queued and not yet pushed out (for a looping "
      "bed: until its end, where it starts over)",
      0, G_MAXUINT64, 0, (GParamFlags)(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_properties(gobject_class, N_PROPERTIES, properties);

  /**
   * GstAgentAudioSrc::push-speech:
   * @src: the agentaudiosrc
   * @buffer: (transfer none): speech bytes in the speech-caps format
   *
   * Queues speech. Any length: a partial frame is kept until the next push
   * completes it. Blocks while max-speech-time of speech is queued.
   *
   * Returns: %GST_FLOW_OK when queued, %GST_FLOW_FLUSHING when an interrupt
   * or a stop overtook the push, %GST_FLOW_EOS after end-of-stream,
   * %GST_FLOW_NOT_NEGOTIATED (with an error on the bus) for a format that
   * cannot be played.
   */
  signals[SIGNAL_PUSH_SPEECH] =
      new_action(klass, "push-speech", G_CALLBACK(gst_agent_audio_src_push_speech),
                 GST_TYPE_FLOW_RETURN, GST_TYPE_BUFFER | G_SIGNAL_TYPE_STATIC_SCOPE);

  /**
   * GstAgentAudioSrc::interrupt:
   * @src: the agentaudiosrc
   *
   * Barge-in: speech playing fades out over interrupt-fade and every other
   * queued sample is dropped; pending marks are posted with interrupted=TRUE
   * right away; a push blocked by max-speech-time returns FLUSHING.
   *
   * Returns: the nanoseconds of speech dropped.
   */
  signals[SIGNAL_INTERRUPT] = new_action(
      klass, "interrupt", G_CALLBACK(gst_agent_audio_src_interrupt), G_TYPE_UINT64);

  /**
   * GstAgentAudioSrc::mark:
   * @src: the agentaudiosrc
   * @name: the mark's name
   *
   * Places a mark after the speech queued so far. A `mark` message is posted
   * when the sample before it has been pushed out.
   */
  signals[SIGNAL_MARK] = new_action(klass, "mark", G_CALLBACK(gst_agent_audio_src_mark),
                                    G_TYPE_NONE, G_TYPE_STRING);

  /**
   * GstAgentAudioSrc::end-of-stream:
   * @src: the agentaudiosrc
   *
   * Once all queued speech has played, EOS is pushed; later pushes return
   * %GST_FLOW_EOS until the element is stopped.
   *
   * Returns: %GST_FLOW_OK, or %GST_FLOW_EOS when already called.
   */
  signals[SIGNAL_END_OF_STREAM] =
      new_action(klass, "end-of-stream", G_CALLBACK(gst_agent_audio_src_end_of_stream),
                 GST_TYPE_FLOW_RETURN);

  /**
   * GstAgentAudioSrc::push-speech-sample:
   * @src: the agentaudiosrc
   * @sample: (transfer none): speech whose caps describe its format
   *
   * As push-speech, in the sample's format (an appsink's output can be pushed
   * as it is); a sample without caps is taken to be in speech-caps.
   *
   * Returns: as push-speech.
   */
  signals[SIGNAL_PUSH_SPEECH_SAMPLE] = new_action(
      klass, "push-speech-sample", G_CALLBACK(gst_agent_audio_src_push_speech_sample),
      GST_TYPE_FLOW_RETURN, GST_TYPE_SAMPLE | G_SIGNAL_TYPE_STATIC_SCOPE);

  /**
   * GstAgentAudioSrc::push-background:
   * @src: the agentaudiosrc
   * @buffer: (transfer none): background bytes in the background-caps format
   *
   * Queues background audio, mixed under the speech. Any length; blocks
   * while max-background-time of background is queued.
   *
   * Returns: as push-speech; %GST_FLOW_FLUSHING when clear-background or a
   * stop overtook the push.
   */
  signals[SIGNAL_PUSH_BACKGROUND] = new_action(
      klass, "push-background", G_CALLBACK(gst_agent_audio_src_push_background),
      GST_TYPE_FLOW_RETURN, GST_TYPE_BUFFER | G_SIGNAL_TYPE_STATIC_SCOPE);

  /**
   * GstAgentAudioSrc::clear-background:
   * @src: the agentaudiosrc
   *
   * Fades the background out over interrupt-fade and drops all of it, a
   * looping bed too. Speech is untouched.
   *
   * Returns: the nanoseconds of background dropped.
   */
  signals[SIGNAL_CLEAR_BACKGROUND] =
      new_action(klass, "clear-background",
                 G_CALLBACK(gst_agent_audio_src_clear_background), G_TYPE_UINT64);

  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_add_static_pad_template(element_class, &mixed_template);
  gst_element_class_add_static_pad_template(element_class, &speech_template);
  element_class->request_new_pad = gst_agent_audio_src_request_new_pad;
  element_class->release_pad = gst_agent_audio_src_release_pad;
  gst_element_class_set_static_metadata(
      element_class, "Agent audio source", "Source/Audio",
      "Plays text-to-speech audio pushed in bursts as a clock-paced live stream "
      "(silence when idle), mixed over a background bed. Posts element "
      "messages first-audio (running-time), last-audio (running-time, "
      "duration, interrupted, dropped) and mark (name, running-time, "
      "interrupted); see docs/agentaudiosrc.md",
      "agentaudiosrc authors");

  basesrc_class->fixate = gst_agent_audio_src_fixate;
  basesrc_class->set_caps = gst_agent_audio_src_set_caps;
  basesrc_class->decide_allocation = gst_agent_audio_src_decide_allocation;
  basesrc_class->query = gst_agent_audio_src_query;
  basesrc_class->start = gst_agent_audio_src_start;
  basesrc_class->negotiate = gst_agent_audio_src_negotiate;
  basesrc_class->stop = gst_agent_audio_src_stop;
  basesrc_class->unlock = gst_agent_audio_src_unlock;
  basesrc_class->unlock_stop = gst_agent_audio_src_unlock_stop;
  basesrc_class->get_times = gst_agent_audio_src_get_times;
  basesrc_class->create = gst_agent_audio_src_create;
}
