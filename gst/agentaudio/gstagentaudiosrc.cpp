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
 * after the fade is dropped. #GstAgentAudioSrc::pause and
 * #GstAgentAudioSrc::resume handle a false interruption: the speech fades
 * out and holds, then plays on from where the fade began, nothing lost.
 * Speech may be raw audio in any format, or encoded (MP3, Ogg/Opus, WAV,
 * FLAC...), decoded on the pushing thread.
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
 * * `mark` (`name`, `running-time`, `interrupted`, `played`): the speech
 *   before the mark has been played (`played` of its utterance so far), or an
 *   interrupt dropped it.
 *
 * Every running time and duration is exact to the sample: the element counts
 * samples and converts at the edge.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 agentaudiosrc ! audioconvert ! autoaudiosink
 * ]| Plays silence until an application pushes speech.
 *
 * |[
 * gst-launch-1.0 agentaudiosrc num-buffers=100 ! audioconvert ! wavenc ! filesink location=silence.wav
 * ]| Writes 2 s of silence (100 buffers of the default 20 ms #GstAgentAudioSrc:ptime) and stops.
 *
 * |[
 * gst-launch-1.0 agentaudiosrc name=agent ! audioconvert ! autoaudiosink agent.speech_0 ! queue ! fakesink
 * ]| The voice alone on a request pad, next to the mixed output.
 *
 * |[<!-- language="python" -->
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

#include <condition_variable>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "debug.h"
#include "intake.h"
#include "mixer.h"
#include "outbox.h"
#include "queues.h"
#include "requestpads.h"
#include "streamdecoder.h"
#include "timeline.h"

#define GST_CAT_DEFAULT agent_audio_src_debug

using agentaudio::BACKGROUND;
using agentaudio::Format;
using agentaudio::Layer;
using agentaudio::N_LAYERS;
using agentaudio::SPEECH;

#define DEFAULT_PTIME 20
#define MIN_PTIME 1
#define MAX_PTIME 1000
#define MIN_RATE 8000
#define MAX_RATE 192000
#define MAX_CHANNELS 8
/* Input rates outside this are garbage, not audio: 1 Hz speech would turn a
 * few KB into gigabytes of output. */
#define MIN_INPUT_RATE 1000
#define MAX_INPUT_RATE 768000
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
  PROP_PAUSED,
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
  SIGNAL_PAUSE,
  SIGNAL_RESUME,
  SIGNAL_END_OF_UTTERANCE,
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

const gchar *const push_signal_name[N_LAYERS] = {"push-speech", "push-background"};

/* Property values; copied out under settings_lock by whoever needs them. */
struct Settings {
  guint ptime = DEFAULT_PTIME;
  GstCaps *caps[N_LAYERS] = {}; /* speech-caps, background-caps; owned, never NULL */
  /* caps[] parsed once when set, not on every push. */
  GstAudioInfo info[N_LAYERS];
  bool playable[N_LAYERS] = {};
  bool encoded[N_LAYERS] = {};
  std::string why[N_LAYERS]; /* encoded, not playable: what is missing */
  guint64 interrupt_fade = DEFAULT_INTERRUPT_FADE;
  gdouble background_volume = DEFAULT_BACKGROUND_VOLUME;
  gdouble duck_volume = DEFAULT_DUCK_VOLUME;
  gboolean background_loop = DEFAULT_BACKGROUND_LOOP;
};

struct PoolUnref {
  void operator()(GstBufferPool *pool) const { gst_object_unref(pool); }
};

/* What lives only between start() and stop(), on the streaming thread
 * (and in negotiation, which runs on it or under its stream lock).
 * stop() resets it whole. */
struct State {
  guint ptime = DEFAULT_PTIME; /* settings.ptime at start() */
  bool discont = true;
  std::vector<gint16> bed; /* the background of one buffer, before mixing */
  float bed_gain = -1.0f;  /* the background gain reached; < 0 until the first buffer */
  /* The pool decide_allocation() chose. */
  std::unique_ptr<GstBufferPool, PoolUnref> pool;
};

/* The buffer create() is making. */
struct Buffer {
  guint64 first = 0, end = 0; /* its output frames */
  GstClockTime pts = GST_CLOCK_TIME_NONE;
  GstClockTime duration = GST_CLOCK_TIME_NONE;
  Format format;
  GstBuffer *speech = nullptr; /* speech alone: what speech_%u pads carry */
  GstBuffer *mixed =
      nullptr; /* what src carries: `speech` itself unless unmixed speech is needed too */
  bool at_eos = false;
  bool has_speech = false;
  bool has_bed = false;
  bool held = false; /* a pause holds the utterance: the bed stays ducked */
};

}  // namespace

/* Lock order, outermost first; no lock is held across a clock wait, a pad
 * push, a bus post or a signal emission:
 *
 *   GStreamer's state and stream locks
 *   clock_lock          the clock wait, and whether the element is PLAYING
 *   intake's lock       conversion of pushes (Intake)
 *   queues.lock         queued audio, marks, the timeline (Queues)
 *   outbox's lock       messages waiting to be posted (Outbox)
 *
 * settings_lock and the request pads' lock are leaves: nothing else is
 * taken while holding them. */
struct GstAgentAudioSrcPrivate {
  std::mutex settings_lock;
  Settings settings; /* guarded by settings_lock */

  agentaudio::Queues queues;
  agentaudio::Intake intake{queues};
  agentaudio::Outbox outbox;
  agentaudio::RequestPads pads; /* src_%u and speech_%u; locks itself */

  /* The thread running create(), so that a push from it (a pad probe, a
   * bus sync handler) does not wait for room only it can free. */
  std::atomic<GThread *> streaming_thread{nullptr};

  State state; /* streaming thread, and start/stop */

  /* The clock wait, apart so that unlock(), a pause and a clock change can
   * reach it. */
  std::mutex clock_lock;
  std::condition_variable playing_cond; /* playing or flushing changed */
  GstClockID clock_id = nullptr;        /* guarded by clock_lock; reused */
  bool flushing = false;                /* guarded by clock_lock */
  /* The element is PLAYING: a live source takes no audio in PAUSED.
   * Guarded by clock_lock. */
  bool playing = false;
  /* Inside GstBaseSrc's PLAYING -> PAUSED: since GStreamer 1.24 it calls
   * unlock() there, and calls unlock_stop() only before the create() after
   * the resume. That unlock() is a pause, not a flush: create() waits for
   * PLAYING instead of returning FLUSHING, which GstBaseSrc would take as a
   * reason to stop its task when the resume came first. Guarded by
   * clock_lock. */
  guint pausing = 0;
};

struct _GstAgentAudioSrc {
  GstBaseSrc parent;
  GstAgentAudioSrcPrivate *priv;
};

#define gst_agent_audio_src_parent_class parent_class
G_DEFINE_TYPE(GstAgentAudioSrc, gst_agent_audio_src, GST_TYPE_BASE_SRC);
GST_ELEMENT_REGISTER_DEFINE(agentaudiosrc, "agentaudiosrc", GST_RANK_NONE,
                            GST_TYPE_AGENT_AUDIO_SRC);

/* No C++ exception crosses into C: every vfunc and signal handler runs its
 * body through here. An exception is an element error on the bus (no lock
 * is held any more: they were released as it unwound) and `failed`. */
template <typename R, typename F>
static R guarded(GstAgentAudioSrc *self, const gchar *where, R failed, F &&body) {
  try {
    return body();
  } catch (const std::bad_alloc &) {
    GST_ELEMENT_ERROR(self, RESOURCE, NO_SPACE_LEFT, ("Out of memory"),
                      ("%s: an allocation failed", where));
  } catch (const std::exception &e) {
    GST_ELEMENT_ERROR(self, LIBRARY, FAILED, ("Internal error"),
                      ("%s: %s", where, e.what()));
  } catch (...) {
    GST_ELEMENT_ERROR(self, LIBRARY, FAILED, ("Internal error"),
                      ("%s: unknown exception", where));
  }
  return failed;
}

template <typename F>
static void guarded_void(GstAgentAudioSrc *self, const gchar *where, F &&body) {
  guarded(self, where, 0, [&] {
    body();
    return 0;
  });
}

/* Formats */

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

/* What a push in `caps` is: raw audio parsed into format.info, or encoded
 * audio that a decoder is installed for. */
static void parse_push_caps(GstCaps *caps, agentaudio::PushFormat &format) {
  gst_audio_info_init(&format.info);
  format.encoded = caps != nullptr && agentaudio::StreamDecoder::is_encoded(caps);
  if (format.encoded)
    format.playable = agentaudio::StreamDecoder::can_decode(caps, &format.why);
  else
    format.playable = parse_raw_audio(caps, &format.info);
}

/* The output format when downstream leaves it free: speech-caps' rate and
 * channels, within what src can carry. Call with settings_lock held. */
static Format preferred_format(const Settings &settings) {
  Format format;
  /* Encoded speech tells its rate only once decoded: the default then. */
  if (settings.playable[SPEECH] && !settings.encoded[SPEECH]) {
    format.rate = CLAMP(GST_AUDIO_INFO_RATE(&settings.info[SPEECH]), MIN_RATE, MAX_RATE);
    format.channels =
        CLAMP(GST_AUDIO_INFO_CHANNELS(&settings.info[SPEECH]), 1, MAX_CHANNELS);
  }
  return format;
}

static guint64 interrupt_fade(GstAgentAudioSrcPrivate *priv) {
  std::lock_guard<std::mutex> lock(priv->settings_lock);
  return priv->settings.interrupt_fade;
}

/* Bus messages: queued in the outbox while queues.lock orders the events,
 * posted once it is released (see Outbox). */

static void enqueue(GstAgentAudioSrc *self, GstStructure *s,
                    bool speaking_changed = false) {
  self->priv->outbox.enqueue(gst_message_new_element(GST_OBJECT_CAST(self), s),
                             speaking_changed);
}

/* speaking_changed: FALSE when this utterance starts in the buffer where the
 * last one ended, so that speaking stays TRUE and is not notified. */
static void enqueue_first_audio(GstAgentAudioSrc *self, guint64 position,
                                bool speaking_changed = true) {
  const GstClockTime running_time = self->priv->queues.timeline.running_time(position);
  enqueue(
      self,
      gst_structure_new("first-audio", "running-time", G_TYPE_UINT64, running_time, NULL),
      speaking_changed);
}

static void enqueue_last_audio(GstAgentAudioSrc *self,
                               const agentaudio::UtteranceEnd &end,
                               bool speaking_changed = true) {
  const agentaudio::Queues &queues = self->priv->queues;
  enqueue(self,
          gst_structure_new("last-audio", "running-time", G_TYPE_UINT64,
                            queues.timeline.running_time(end.position), "duration",
                            G_TYPE_UINT64, queues.format.frames_to_time(end.played),
                            "interrupted", G_TYPE_BOOLEAN, end.interrupted ? TRUE : FALSE,
                            "dropped", G_TYPE_UINT64,
                            queues.format.frames_to_time(end.dropped), NULL),
          speaking_changed);
}

static void enqueue_mark(GstAgentAudioSrc *self, const agentaudio::MarkEvent &mark) {
  const agentaudio::Queues &queues = self->priv->queues;
  enqueue(self, gst_structure_new("mark", "name", G_TYPE_STRING, mark.name.c_str(),
                                  "running-time", G_TYPE_UINT64,
                                  queues.timeline.running_time(mark.position),
                                  "interrupted", G_TYPE_BOOLEAN,
                                  mark.interrupted ? TRUE : FALSE, "played", G_TYPE_UINT64,
                                  queues.format.frames_to_time(mark.played), NULL));
}

/* The messages of one cut (interrupt, stop), in order. */
static void enqueue_cut(GstAgentAudioSrc *self, const agentaudio::CutResult &cut) {
  if (cut.ended)
    enqueue_last_audio(self, cut.end);
  for (const agentaudio::MarkEvent &mark : cut.marks)
    enqueue_mark(self, mark);
}

static void enqueue_paused(GstAgentAudioSrc *self,
                           const agentaudio::RenderResult &result) {
  const agentaudio::Queues &queues = self->priv->queues;
  enqueue(self,
          gst_structure_new("paused", "running-time", G_TYPE_UINT64,
                            queues.timeline.running_time(result.paused_at), "played",
                            G_TYPE_UINT64,
                            queues.format.frames_to_time(result.paused_played), NULL));
}

static void enqueue_resumed(GstAgentAudioSrc *self,
                            const agentaudio::RenderResult &result) {
  const agentaudio::Timeline &timeline = self->priv->queues.timeline;
  const GstClockTime at = timeline.running_time(result.resumed_at);
  enqueue(self, gst_structure_new("resumed", "running-time", G_TYPE_UINT64, at,
                                  "paused-for", G_TYPE_UINT64,
                                  at - timeline.running_time(result.paused_since), NULL));
}

/* The messages of one rendered buffer, in time order: a pause's end and a
 * resume, the end of an utterance, the marks before the next one starts,
 * its first-audio, the marks within it. */
static void enqueue_rendered(GstAgentAudioSrc *self,
                             const agentaudio::RenderResult &result) {
  if (result.paused)
    enqueue_paused(self, result);
  if (result.resumed)
    enqueue_resumed(self, result);
  /* One utterance handing over to the next: speaking does not change. */
  const bool handover = result.ended && result.started;
  if (result.ended)
    enqueue_last_audio(self, result.end, !handover);
  for (const agentaudio::MarkEvent &mark : result.marks)
    if (!result.started || mark.position <= result.start)
      enqueue_mark(self, mark);
  if (result.started)
    enqueue_first_audio(self, result.start, !handover);
  for (const agentaudio::MarkEvent &mark : result.marks)
    if (result.started && mark.position > result.start)
      enqueue_mark(self, mark);
}

/* Action signals */

/* What the intake could not do, said on the bus now that it holds no lock. */
static GstFlowReturn report(GstAgentAudioSrc *self, Layer layer, const gchar *signal,
                            GstCaps *caps, GstBuffer *buffer,
                            const agentaudio::PushResult &result) {
  const Format &output = result.output;
  switch (result.problem) {
    case agentaudio::PushResult::NONE:
      break;
    case agentaudio::PushResult::NOT_NEGOTIATED:
      if (!result.detail.empty()) {
        /* Encoded audio that no installed plugin decodes. */
        GST_ELEMENT_ERROR(self, CORE, MISSING_PLUGIN, ("%s", result.detail.c_str()),
                          ("%s: %" GST_PTR_FORMAT, signal, caps));
        break;
      }
      GST_ELEMENT_ERROR(
          self, STREAM, FORMAT,
          ("Cannot play %s audio in this format",
           layer == SPEECH ? "speech" : "background"),
          ("%s: cannot convert %" GST_PTR_FORMAT " to the output format "
           "(S16LE, interleaved, rate %d, %d channels): it must be fixed, "
           "interleaved raw audio at %d to %d Hz that GstAudioConverter can convert",
           signal, caps, output.rate, output.channels, MIN_INPUT_RATE, MAX_INPUT_RATE));
      break;
    case agentaudio::PushResult::UNREADABLE:
      GST_ELEMENT_WARNING(
          self, RESOURCE, READ, ("Cannot read pushed audio"),
          ("%s: could not map or convert %" GST_PTR_FORMAT, signal, buffer));
      break;
    case agentaudio::PushResult::DECODE_WARNING:
      GST_ELEMENT_WARNING(self, STREAM, DECODE, ("%s", result.detail.c_str()),
                          ("%s: %s", signal, result.debug.c_str()));
      break;
    case agentaudio::PushResult::DECODE_ERROR:
      GST_ELEMENT_ERROR(self, STREAM, DECODE, ("%s", result.detail.c_str()),
                        ("%s: %s; the stream starts again with the next push, what was "
                         "decoded before plays",
                         signal, result.debug.c_str()));
      break;
    case agentaudio::PushResult::OUT_OF_MEMORY:
      GST_ELEMENT_ERROR(self, RESOURCE, NO_SPACE_LEFT, ("Out of memory queuing audio"),
                        ("%s: could not queue %" G_GSIZE_FORMAT " bytes", signal,
                         gst_buffer_get_size(buffer)));
      break;
  }
  return result.flow;
}

/* sample_caps NULL: the layer's *-caps property. */
static GstFlowReturn push_layer(GstAgentAudioSrc *self, Layer layer, GstBuffer *buffer,
                                GstCaps *sample_caps = nullptr,
                                const gchar *signal = nullptr) {
  GstAgentAudioSrcPrivate *priv = self->priv;
  agentaudio::PushFormat format;
  GstCaps *caps;

  if (signal == nullptr)
    signal = push_signal_name[layer];
  if (buffer == nullptr) {
    GST_ELEMENT_WARNING(self, STREAM, FAILED, ("Invalid audio pushed"),
                        ("%s: NULL buffer", signal));
    return GST_FLOW_ERROR;
  }

  {
    std::lock_guard<std::mutex> lock(priv->settings_lock);
    format.preferred = preferred_format(priv->settings);
    if (sample_caps == nullptr) {
      caps = gst_caps_ref(priv->settings.caps[layer]);
      format.info = priv->settings.info[layer];
      format.playable = priv->settings.playable[layer];
      format.encoded = priv->settings.encoded[layer];
      format.why = priv->settings.why[layer];
    }
  }
  if (sample_caps != nullptr) {
    caps = gst_caps_ref(sample_caps);
    parse_push_caps(caps, format);
  }
  format.caps = caps;

  const bool may_wait = g_thread_self() != priv->streaming_thread.load();
  if (!may_wait)
    GST_LOG_OBJECT(self, "%s from the streaming thread: not waiting for room", signal);
  const agentaudio::PushResult result =
      priv->intake.push(layer, format, buffer, may_wait);
  const GstFlowReturn ret = report(self, layer, signal, caps, buffer, result);
  gst_caps_unref(caps);
  return ret;
}

static GstFlowReturn gst_agent_audio_src_push_speech(GstAgentAudioSrc *self,
                                                     GstBuffer *buffer) {
  return guarded(self, "push-speech", GST_FLOW_ERROR,
                 [&] { return push_layer(self, SPEECH, buffer); });
}

static GstFlowReturn gst_agent_audio_src_push_speech_sample(GstAgentAudioSrc *self,
                                                            GstSample *sample) {
  return guarded(self, "push-speech-sample", GST_FLOW_ERROR, [&] {
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
  });
}

static GstFlowReturn gst_agent_audio_src_push_background(GstAgentAudioSrc *self,
                                                         GstBuffer *buffer) {
  return guarded(self, "push-background", GST_FLOW_ERROR,
                 [&] { return push_layer(self, BACKGROUND, buffer); });
}

static guint64 gst_agent_audio_src_clear_background(GstAgentAudioSrc *self) {
  return guarded(self, "clear-background", (guint64)0, [&] {
    agentaudio::Queues &queues = self->priv->queues;
    const guint64 fade = interrupt_fade(self->priv);
    guint64 dropped;
    Format format;
    {
      std::lock_guard<std::mutex> lock(queues.lock);
      queues.generation[BACKGROUND]++;
      dropped = queues.background.clear(queues.format.time_to_frames(fade));
      format = queues.format;
    }
    queues.room.notify_all();
    GST_DEBUG_OBJECT(self, "clear-background dropped %" G_GUINT64_FORMAT " frames",
                     dropped);
    return format.frames_to_time(dropped);
  });
}

static guint64 gst_agent_audio_src_interrupt(GstAgentAudioSrc *self) {
  return guarded(self, "interrupt", (guint64)0, [&] {
    GstAgentAudioSrcPrivate *priv = self->priv;
    agentaudio::Queues &queues = priv->queues;
    const guint64 fade = interrupt_fade(priv);
    agentaudio::CutResult cut;
    Format format;
    bool was_paused;
    {
      std::lock_guard<std::mutex> lock(queues.lock);
      queues.generation[SPEECH]++;
      was_paused = queues.speech.paused();
      cut = queues.speech.interrupt(queues.format.time_to_frames(fade));
      enqueue_cut(self, cut);
      format = queues.format;
    }
    queues.room.notify_all();
    if (was_paused)
      g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_PAUSED]);
    GST_DEBUG_OBJECT(self, "interrupt dropped %" G_GUINT64_FORMAT " frames", cut.dropped);
    priv->outbox.post();
    /* Bytes of an encoded stream not decoded yet are dropped too (the next
     * push starts a new stream): their audio, estimated from the bitrate. */
    return format.frames_to_time(cut.dropped) + priv->intake.undecoded_time(SPEECH);
  });
}

static guint64 gst_agent_audio_src_pause(GstAgentAudioSrc *self) {
  return guarded(self, "pause", (guint64)0, [&] {
    agentaudio::Queues &queues = self->priv->queues;
    const guint64 fade = interrupt_fade(self->priv);
    guint64 held;
    Format format;
    {
      std::lock_guard<std::mutex> lock(queues.lock);
      held = queues.speech.pause(queues.format.time_to_frames(fade));
      format = queues.format;
    }
    GST_DEBUG_OBJECT(self, "pause holds %" G_GUINT64_FORMAT " frames", held);
    if (held > 0)
      g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_PAUSED]);
    return format.frames_to_time(held);
  });
}

static guint64 gst_agent_audio_src_resume(GstAgentAudioSrc *self) {
  return guarded(self, "resume", (guint64)0, [&] {
    agentaudio::Queues &queues = self->priv->queues;
    const guint64 fade = interrupt_fade(self->priv);
    GstClockTime paused_for = 0;
    bool resumed;
    {
      std::lock_guard<std::mutex> lock(queues.lock);
      resumed = queues.speech.resume(queues.format.time_to_frames(fade));
      if (resumed && queues.timeline.started())
        paused_for = queues.timeline.running_time(queues.speech.next_position()) -
                     queues.timeline.running_time(std::min(
                         queues.speech.pause_end(), queues.speech.next_position()));
    }
    GST_DEBUG_OBJECT(self, "resume after %" GST_TIME_FORMAT, GST_TIME_ARGS(paused_for));
    if (resumed)
      g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_PAUSED]);
    return paused_for;
  });
}

static void gst_agent_audio_src_mark(GstAgentAudioSrc *self, const gchar *name) {
  guarded_void(self, "mark", [&] {
    if (name == nullptr) {
      GST_ELEMENT_WARNING(self, STREAM, FAILED, ("Invalid mark"),
                          ("mark: NULL name, mark ignored"));
      return;
    }
    self->priv->intake.mark(name);
  });
}

static void gst_agent_audio_src_end_of_utterance(GstAgentAudioSrc *self) {
  guarded_void(self, "end-of-utterance", [&] {
    const agentaudio::PushResult result = self->priv->intake.end_of_stream(SPEECH);
    report(self, SPEECH, "end-of-utterance", nullptr, nullptr, result);
  });
}

static GstFlowReturn gst_agent_audio_src_end_of_stream(GstAgentAudioSrc *self) {
  return guarded(self, "end-of-stream", GST_FLOW_ERROR, [&] {
    agentaudio::Queues &queues = self->priv->queues;
    {
      std::lock_guard<std::mutex> lock(queues.lock);
      if (queues.eos_pending)
        return GST_FLOW_EOS;
      queues.eos_pending = true;
    }
    queues.room.notify_all();
    return GST_FLOW_OK;
  });
}

/* Streaming: the five steps of the timing model (see create()). */

/* Waits on `clock` until `time`, unless unlock(), a pause or a clock change
 * unschedules the wait. */
static GstClockReturn wait_for_clock(GstAgentAudioSrcPrivate *priv, GstClock *clock,
                                     GstClockTime time) {
  GstClockID id;
  {
    std::lock_guard<std::mutex> lock(priv->clock_lock);
    if (priv->flushing || !priv->playing)
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
  const GstClockReturn ret = gst_clock_id_wait(id, nullptr);
  gst_clock_id_unref(id);
  return ret;
}

/* Step 1: waits until the next buffer is due on the pipeline's current
 * clock. While PAUSED it waits for PLAYING; a pause or a clock change
 * unschedules the wait and it starts again, on the clock then in use. */
static GstFlowReturn wait_until_due(GstAgentAudioSrc *self, Buffer &buffer) {
  GstAgentAudioSrcPrivate *priv = self->priv;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(priv->clock_lock);
      priv->playing_cond.wait(lock, [&] { return priv->flushing || priv->playing; });
      if (priv->flushing)
        return GST_FLOW_FLUSHING;
    }

    GST_OBJECT_LOCK(self);
    GstClock *clock = GST_ELEMENT_CLOCK(self)
                          ? GST_CLOCK(gst_object_ref(GST_ELEMENT_CLOCK(self)))
                          : nullptr;
    const GstClockTime base_time = GST_ELEMENT_CAST(self)->base_time;
    GST_OBJECT_UNLOCK(self);

    {
      agentaudio::Queues &queues = priv->queues;
      std::lock_guard<std::mutex> lock(queues.lock);
      if (!queues.timeline.started()) {
        /* Start at the current running time: a source added to a pipeline
         * that has been running does not burst to catch up. */
        const GstClockTime now = clock ? gst_clock_get_time(clock) : base_time;
        queues.timeline.start(now > base_time ? now - base_time : 0, queues.format.rate);
      }
      queues.timeline.next_buffer(priv->state.ptime, &buffer.first, &buffer.end);
      buffer.pts = queues.timeline.running_time(buffer.first);
      buffer.duration = queues.timeline.running_time(buffer.end) - buffer.pts;
      buffer.format = queues.format;
    }

    if (clock == nullptr)
      return GST_FLOW_OK; /* not synchronised: as fast as downstream takes it */
    const GstClockReturn ret = wait_for_clock(priv, clock, base_time + buffer.pts);
    gst_object_unref(clock);
    if (ret != GST_CLOCK_UNSCHEDULED)
      return GST_FLOW_OK;
    GST_DEBUG_OBJECT(self, "clock wait unscheduled");
  }
}

/* A buffer of `size` bytes from the pool negotiated in decide_allocation(),
 * or newly allocated if that pool cannot give one (it is being flushed, or
 * downstream's pool has smaller buffers). */
static GstBuffer *new_buffer(State &state, gsize size) {
  GstBuffer *buffer = nullptr;
  if (state.pool) {
    /* Never wait for downstream to release one: a pool with a maximum is
     * not a reason to fall behind the clock. */
    GstBufferPoolAcquireParams params = {};
    params.flags = GST_BUFFER_POOL_ACQUIRE_FLAG_DONTWAIT;
    gsize maxsize = 0;
    if (gst_buffer_pool_acquire_buffer(state.pool.get(), &buffer, &params) ==
        GST_FLOW_OK) {
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

/* The streaming thread's turn as the outbox's poster, from before it takes
 * audio until the buffer's messages are posted (see Outbox); given back
 * however create() ends. */
class PosterRole {
 public:
  explicit PosterRole(agentaudio::Outbox &outbox) : outbox_(outbox) {}
  ~PosterRole() { end(); }
  PosterRole(const PosterRole &) = delete;
  PosterRole &operator=(const PosterRole &) = delete;

  /* FALSE when flushing. */
  bool begin() { return held_ = outbox_.begin_buffer(); }
  /* Posts what is queued and gives the role back. */
  void end() {
    if (held_)
      outbox_.end_buffer();
    held_ = false;
  }

 private:
  agentaudio::Outbox &outbox_;
  bool held_ = false;
};

/* Step 2: takes this buffer's speech (into `buffer.speech`) and bed (into
 * state.bed), and queues the messages of what it played. FALSE, having
 * taken nothing, when the element stopped PLAYING since the wait: a live
 * source takes no audio while paused. */
static bool take_audio(GstAgentAudioSrc *self, PosterRole &poster, Buffer &buffer,
                       gsize *bed_frames, bool *wants_speech) {
  GstAgentAudioSrcPrivate *priv = self->priv;
  agentaudio::Queues &queues = priv->queues;
  State &state = priv->state;
  const gsize frames = buffer.end - buffer.first;
  const gsize size = frames * buffer.format.bytes_per_frame();

  /* Posting is this thread's from here: it never waits once it holds audio
   * (see Outbox). */
  if (!poster.begin())
    return false;
  std::lock_guard<std::mutex> clock_lock(priv->clock_lock);
  if (priv->flushing || !priv->playing) {
    poster.end();
    return false;
  }

  priv->intake.drain_dry_layers(frames);
  if (state.bed.size() < frames * buffer.format.channels)
    state.bed.resize(frames * buffer.format.channels); /* once per format */
  /* One snapshot of the request pads for the whole buffer. */
  *wants_speech = priv->pads.begin_buffer();

  buffer.speech = new_buffer(state, size);
  GstMapInfo map;
  gst_buffer_map(buffer.speech, &map, GST_MAP_WRITE);
  agentaudio::RenderResult result;
  {
    std::lock_guard<std::mutex> lock(queues.lock);
    buffer.at_eos = queues.eos_pending && queues.speech.queued_frames() == 0 &&
                    !queues.speech.fading() && !queues.speech.paused();
    queues.speech.render(reinterpret_cast<gint16 *>(map.data), buffer.at_eos ? 0 : frames,
                         buffer.first, result);
    *bed_frames = buffer.at_eos ? 0 : queues.background.read(state.bed.data(), frames);
    enqueue_rendered(self, result);
    queues.timeline.forget_before(queues.speech.last_end());
  }
  gst_buffer_unmap(buffer.speech, &map);
  queues.room.notify_all();
  buffer.has_speech = result.speech_frames > 0;
  buffer.held = result.held;
  buffer.has_bed = *bed_frames > 0;
  return true;
}

/* Step 3: mixes the bed into src's buffer, which is the speech buffer
 * itself unless speech_%u pads need that one unmixed. The bed's gain moves
 * to its target over the buffer, never in a step: volume changes, ducking
 * as speech starts and releasing after it ends. */
static void mix(GstAgentAudioSrc *self, Buffer &buffer, gsize bed_frames,
                bool wants_speech) {
  GstAgentAudioSrcPrivate *priv = self->priv;
  State &state = priv->state;
  gdouble volume, duck;
  {
    std::lock_guard<std::mutex> lock(priv->settings_lock);
    volume = priv->settings.background_volume;
    duck = priv->settings.duck_volume;
  }
  const float target =
      static_cast<float>(volume * (buffer.has_speech || buffer.held ? duck : 1.0));
  const gsize frames = buffer.end - buffer.first;

  buffer.mixed = buffer.speech;
  if (bed_frames > 0 && wants_speech) {
    const gsize size = gst_buffer_get_size(buffer.speech);
    buffer.mixed = new_buffer(state, size);
    gst_buffer_copy_into(buffer.mixed, buffer.speech, GST_BUFFER_COPY_FLAGS, 0, 0);
    GstMapInfo from;
    GstMapInfo to;
    gst_buffer_map(buffer.speech, &from, GST_MAP_READ);
    gst_buffer_map(buffer.mixed, &to, GST_MAP_WRITE);
    memcpy(to.data, from.data, size);
    gst_buffer_unmap(buffer.mixed, &to);
    gst_buffer_unmap(buffer.speech, &from);
  }
  if (state.bed_gain < 0.0f)
    state.bed_gain = target;
  const float step = (target - state.bed_gain) / static_cast<float>(frames);
  if (bed_frames > 0) {
    GstMapInfo map;
    gst_buffer_map(buffer.mixed, &map, GST_MAP_WRITE);
    agentaudio::mix_ramp(reinterpret_cast<gint16 *>(map.data), state.bed.data(),
                         bed_frames, buffer.format.channels, state.bed_gain + step, step);
    gst_buffer_unmap(buffer.mixed, &map);
  }
  state.bed_gain = target;
}

static void stamp(GstBuffer *gstbuf, const Buffer &buffer, bool discont, bool gap) {
  GST_BUFFER_PTS(gstbuf) = buffer.pts;
  GST_BUFFER_DURATION(gstbuf) = buffer.duration;
  GST_BUFFER_OFFSET(gstbuf) = buffer.first;
  GST_BUFFER_OFFSET_END(gstbuf) = buffer.end;
  if (discont)
    GST_BUFFER_FLAG_SET(gstbuf, GST_BUFFER_FLAG_DISCONT);
  if (gap)
    GST_BUFFER_FLAG_SET(gstbuf, GST_BUFFER_FLAG_GAP);
  else
    GST_BUFFER_FLAG_UNSET(gstbuf, GST_BUFFER_FLAG_GAP);
}

/* The timing model, one buffer:
 *   1. wait on the clock until the buffer is due (unlock() ends the wait);
 *   2. take at most ptime of speech and of bed;
 *   3. mix;
 *   4. post the messages of what the buffer plays, before the buffer;
 *   5. push: request pads here, src by returning the buffer. */
static GstFlowReturn gst_agent_audio_src_create(GstBaseSrc *bsrc, guint64 offset,
                                                guint length, GstBuffer **out) {
  GstAgentAudioSrc *self = GST_AGENT_AUDIO_SRC(bsrc);
  (void)offset;
  (void)length;
  return guarded(self, "create", GST_FLOW_ERROR, [&] {
    GstAgentAudioSrcPrivate *priv = self->priv;
    State &state = priv->state;
    Buffer buffer;
    PosterRole poster(priv->outbox);
    gsize bed_frames = 0;
    bool wants_speech = false;
    priv->streaming_thread = g_thread_self();

    do {
      const GstFlowReturn ret = wait_until_due(self, buffer);
      if (ret != GST_FLOW_OK)
        return ret;
    } while (!take_audio(self, poster, buffer, &bed_frames, &wants_speech));

    mix(self, buffer, bed_frames, wants_speech);

    poster.end();

    if (buffer.at_eos) {
      GST_DEBUG_OBJECT(self, "all speech played, end of stream");
      if (buffer.mixed != buffer.speech)
        gst_buffer_unref(buffer.mixed);
      gst_buffer_unref(buffer.speech);
      return GST_FLOW_EOS; /* src's EOS reaches the request pads: see src_eos_probe() */
    }

    stamp(buffer.speech, buffer, state.discont, !buffer.has_speech);
    if (buffer.mixed != buffer.speech)
      stamp(buffer.mixed, buffer, state.discont, false);
    else if (buffer.has_bed)
      GST_BUFFER_FLAG_UNSET(buffer.mixed, GST_BUFFER_FLAG_GAP);
    state.discont = false;
    {
      std::lock_guard<std::mutex> lock(priv->queues.lock);
      priv->queues.timeline.advance();
    }

    priv->pads.push(GST_BASE_SRC_PAD(bsrc), buffer.mixed, buffer.speech);
    if (buffer.mixed != buffer.speech)
      gst_buffer_unref(buffer.speech);
    *out = buffer.mixed;
    return GST_FLOW_OK;
  });
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

/* Ends every wait of the streaming thread: the clock's, PAUSED's and the
 * outbox's. */
static gboolean gst_agent_audio_src_unlock(GstBaseSrc *bsrc) {
  GstAgentAudioSrcPrivate *priv = GST_AGENT_AUDIO_SRC(bsrc)->priv;
  {
    std::lock_guard<std::mutex> lock(priv->clock_lock);
    if (priv->pausing > 0)
      return TRUE; /* a pause: set_playing() already stopped the wait */
    priv->flushing = true;
    if (priv->clock_id != nullptr)
      gst_clock_id_unschedule(priv->clock_id);
    priv->playing_cond.notify_all();
  }
  priv->outbox.set_flushing(true);
  return TRUE;
}

static gboolean gst_agent_audio_src_unlock_stop(GstBaseSrc *bsrc) {
  GstAgentAudioSrcPrivate *priv = GST_AGENT_AUDIO_SRC(bsrc)->priv;
  {
    std::lock_guard<std::mutex> lock(priv->clock_lock);
    priv->flushing = false;
  }
  priv->outbox.set_flushing(false);
  return TRUE;
}

/* Whether create() may take audio, and a wake-up for it when that changes
 * or the clock it waits on is no longer the one to wait on. */
static void set_playing(GstAgentAudioSrcPrivate *priv, bool playing) {
  std::lock_guard<std::mutex> lock(priv->clock_lock);
  priv->playing = playing;
  if (priv->clock_id != nullptr)
    gst_clock_id_unschedule(priv->clock_id);
  priv->playing_cond.notify_all();
}

static GstStateChangeReturn gst_agent_audio_src_change_state(GstElement *element,
                                                             GstStateChange transition) {
  GstAgentAudioSrc *self = GST_AGENT_AUDIO_SRC(element);
  return guarded(self, "change_state", GST_STATE_CHANGE_FAILURE, [&] {
    GstAgentAudioSrcPrivate *priv = self->priv;
    const bool pause = transition == GST_STATE_CHANGE_PLAYING_TO_PAUSED;
    /* GStreamer 1.22 unschedules only its own clock wait on PLAYING ->
     * PAUSED, and this element waits in create(): it stops itself first. */
    if (pause) {
      set_playing(priv, false);
      std::lock_guard<std::mutex> lock(priv->clock_lock);
      priv->pausing++;
    }
    const GstStateChangeReturn ret =
        GST_ELEMENT_CLASS(parent_class)->change_state(element, transition);
    if (pause) {
      std::lock_guard<std::mutex> lock(priv->clock_lock);
      priv->pausing--;
    }
    if (transition == GST_STATE_CHANGE_PAUSED_TO_PLAYING &&
        ret != GST_STATE_CHANGE_FAILURE)
      set_playing(self->priv, true);
    return ret;
  });
}

static gboolean gst_agent_audio_src_set_clock(GstElement *element, GstClock *clock) {
  GstAgentAudioSrc *self = GST_AGENT_AUDIO_SRC(element);
  return guarded(self, "set_clock", FALSE, [&]() -> gboolean {
    const gboolean ret = GST_ELEMENT_CLASS(parent_class)->set_clock(element, clock);
    /* A wait on the old clock may never end (its provider is gone): wait
     * again, on this one. */
    std::lock_guard<std::mutex> lock(self->priv->clock_lock);
    if (self->priv->clock_id != nullptr)
      gst_clock_id_unschedule(self->priv->clock_id);
    return ret;
  });
}

/* Negotiation */

static GstCaps *gst_agent_audio_src_fixate(GstBaseSrc *bsrc, GstCaps *caps) {
  GstAgentAudioSrc *self = GST_AGENT_AUDIO_SRC(bsrc);
  /* Any rate and channel count downstream asks for is converted to; left
   * free, they are those of speech-caps. */
  caps = guarded(self, "fixate", caps, [&] {
    Format want;
    {
      std::lock_guard<std::mutex> lock(self->priv->settings_lock);
      want = preferred_format(self->priv->settings);
    }
    GstCaps *fixed = gst_caps_truncate(gst_caps_make_writable(caps));
    GstStructure *s = gst_caps_get_structure(fixed, 0);
    gst_structure_fixate_field_nearest_int(s, "rate", want.rate);
    gst_structure_fixate_field_nearest_int(s, "channels", want.channels);
    gint channels;
    if (gst_structure_get_int(s, "channels", &channels) && channels > 2 &&
        !gst_structure_has_field(s, "channel-mask"))
      gst_structure_set(s, "channel-mask", GST_TYPE_BITMASK,
                        gst_audio_channel_get_fallback_mask(channels), NULL);
    return fixed;
  });
  return GST_BASE_SRC_CLASS(parent_class)->fixate(bsrc, caps);
}

static gboolean gst_agent_audio_src_set_caps(GstBaseSrc *bsrc, GstCaps *caps) {
  GstAgentAudioSrc *self = GST_AGENT_AUDIO_SRC(bsrc);
  return guarded(self, "set_caps", FALSE, [&]() -> gboolean {
    GstAgentAudioSrcPrivate *priv = self->priv;
    agentaudio::Queues &queues = priv->queues;
    GstAudioInfo info;
    if (!gst_audio_info_from_caps(&info, caps))
      return FALSE;
    Format format;
    format.rate = GST_AUDIO_INFO_RATE(&info);
    format.channels = GST_AUDIO_INFO_CHANNELS(&info);
    GST_DEBUG_OBJECT(self, "output caps %" GST_PTR_FORMAT, caps);

    priv->intake.renegotiate(format, [&](bool changed) {
      const Format from = queues.format;
      if (changed)
        GST_DEBUG_OBJECT(self, "queued audio goes on from %d Hz x %d as %d Hz x %d",
                         from.rate, from.channels, format.rate, format.channels);
      if (queues.timeline.started() && format.rate != queues.timeline.rate()) {
        /* Timestamps stay continuous: the next buffer starts where the last
         * one ended, counted in the new rate from there. */
        queues.timeline.change_rate(priv->state.ptime, format.rate);
      }
      /* Converts nothing: the layers convert what is queued as it plays,
       * in slices, carrying the resampler's history across the change. */
      queues.set_format(format);
    });
    priv->pads.set_caps(caps);
    return TRUE;
  });
}

/* A pool of buffers of the largest size create() makes, so that a steady
 * stream allocates nothing: downstream's if it offers one, else our own. */
static gboolean gst_agent_audio_src_decide_allocation(GstBaseSrc *bsrc, GstQuery *query) {
  GstAgentAudioSrc *self = GST_AGENT_AUDIO_SRC(bsrc);
  return guarded(self, "decide_allocation", FALSE, [&]() -> gboolean {
    State &state = self->priv->state;
    GstCaps *caps;
    GstAudioInfo info;

    gst_query_parse_allocation(query, &caps, nullptr);
    if (caps != nullptr && gst_audio_info_from_caps(&info, caps)) {
      /* ptime rounded up to whole frames: buffer sizes alternate by one
       * frame when ptime is not a whole number of them. */
      guint size = (guint)gst_util_uint64_scale_int_ceil(GST_AUDIO_INFO_RATE(&info),
                                                         state.ptime, 1000) *
                   GST_AUDIO_INFO_BPF(&info);
      GstBufferPool *pool = nullptr;
      guint pool_size = 0, min = 0, max = 0;
      const bool offered = gst_query_get_n_allocation_pools(query) > 0;
      if (offered)
        gst_query_parse_nth_allocation_pool(query, 0, &pool, &pool_size, &min, &max);
      if (pool == nullptr)
        pool = gst_buffer_pool_new();
      /* No minimum of our own: the pool grows to the buffers in flight
       * (src's, the unmixed speech one, what a sink keeps as its last
       * sample), and preallocating more only costs memory in every
       * session. */
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
    state.pool.reset(chosen);
    return TRUE;
  });
}

static gboolean gst_agent_audio_src_query(GstBaseSrc *bsrc, GstQuery *query) {
  GstAgentAudioSrc *self = GST_AGENT_AUDIO_SRC(bsrc);
  if (GST_QUERY_TYPE(query) != GST_QUERY_LATENCY)
    return GST_BASE_SRC_CLASS(parent_class)->query(bsrc, query);

  return guarded(self, "query", FALSE, [&]() -> gboolean {
    guint ptime;
    if (GST_BASE_SRC_IS_STARTED(bsrc)) {
      /* ptime is read at start: a change in PLAYING applies from the next
       * start, so the latency in force is the one in use. */
      ptime = self->priv->state.ptime;
    } else {
      std::lock_guard<std::mutex> lock(self->priv->settings_lock);
      ptime = self->priv->settings.ptime;
    }
    /* A buffer is stamped with the time of its first sample and pushed at
     * that time, so its last sample is one ptime late. Like audiotestsrc, no
     * upper bound: a finite one makes synced sinks without a queue before
     * them warn that the pipeline needs queues. */
    const GstClockTime latency = ptime * GST_MSECOND;
    gst_query_set_latency(query, TRUE, latency, GST_CLOCK_TIME_NONE);
    GST_DEBUG_OBJECT(self, "latency %" GST_TIME_FORMAT, GST_TIME_ARGS(latency));
    return TRUE;
  });
}

/* Request pads */

static GstPad *gst_agent_audio_src_request_new_pad(GstElement *element,
                                                   GstPadTemplate *templ,
                                                   const gchar *name,
                                                   const GstCaps *caps) {
  GstAgentAudioSrc *self = GST_AGENT_AUDIO_SRC(element);
  (void)caps; /* request pads always carry the caps of src */
  return guarded(self, "request_new_pad", (GstPad *)nullptr, [&] {
    const agentaudio::PadKind kind =
        g_str_equal(GST_PAD_TEMPLATE_NAME_TEMPLATE(templ), "speech_%u")
            ? agentaudio::PadKind::SPEECH
            : agentaudio::PadKind::MIXED;
    return self->priv->pads.add(element, templ, name, kind);
  });
}

static void gst_agent_audio_src_release_pad(GstElement *element, GstPad *pad) {
  GstAgentAudioSrc *self = GST_AGENT_AUDIO_SRC(element);
  guarded_void(self, "release_pad", [&] { self->priv->pads.remove(element, pad); });
}

/* State */

static gboolean gst_agent_audio_src_negotiate(GstBaseSrc *bsrc) {
  GstAgentAudioSrc *self = GST_AGENT_AUDIO_SRC(bsrc);
  /* The streaming task negotiates right after pushing src's stream-start. */
  guarded_void(self, "negotiate",
               [&] { self->priv->pads.show_to_basesrc(GST_ELEMENT_CAST(bsrc)); });
  return GST_BASE_SRC_CLASS(parent_class)->negotiate(bsrc);
}

static gboolean gst_agent_audio_src_start(GstBaseSrc *bsrc) {
  GstAgentAudioSrc *self = GST_AGENT_AUDIO_SRC(bsrc);
  return guarded(self, "start", FALSE, [&]() -> gboolean {
    GstAgentAudioSrcPrivate *priv = self->priv;
    /* src's stream-start is pending from here: see RequestPads. */
    priv->pads.hide_from_basesrc(GST_ELEMENT_CAST(bsrc));
    priv->state = State();
    {
      std::lock_guard<std::mutex> lock(priv->settings_lock);
      priv->state.ptime = priv->settings.ptime;
    }
    /* Queued speech stays: what was pushed before PLAYING plays first. */
    std::lock_guard<std::mutex> lock(priv->queues.lock);
    priv->queues.timeline.reset();
    return TRUE;
  });
}

static gboolean gst_agent_audio_src_stop(GstBaseSrc *bsrc) {
  GstAgentAudioSrc *self = GST_AGENT_AUDIO_SRC(bsrc);
  GstAgentAudioSrcPrivate *priv = self->priv;
  agentaudio::Queues &queues = priv->queues;

  /* The messages first: what cannot be reported (an exception) does not
   * keep the element from stopping. */
  guarded_void(self, "stop", [&] {
    std::lock_guard<std::mutex> lock(queues.lock);
    queues.generation[SPEECH]++;
    queues.generation[BACKGROUND]++;
    queues.eos_pending = false;
    queues.negotiated = false;
    queues.background.discard();
    const agentaudio::CutResult cut = queues.speech.discard();
    /* Every first-audio gets its last-audio and every mark is posted once,
     * even when the pipeline is torn down mid-sentence. */
    enqueue_cut(self, cut);
    GST_DEBUG_OBJECT(self, "stopped, discarded %" G_GUINT64_FORMAT " frames",
                     cut.dropped);
  });
  {
    std::lock_guard<std::mutex> lock(queues.lock);
    queues.timeline.reset();
  }
  queues.room.notify_all();

  {
    std::lock_guard<std::mutex> lock(priv->clock_lock);
    if (priv->clock_id != nullptr) {
      gst_clock_id_unref(priv->clock_id);
      priv->clock_id = nullptr;
    }
    priv->playing = false;
  }
  priv->intake.reset();
  priv->state = State(); /* the pool was deactivated by GstBaseSrc */

  /* Task threads are pooled: the next run may be on another thread, and
   * this one may serve another element. */
  priv->streaming_thread = nullptr;

  /* Request pads were deactivated with src and lost their sticky events. */
  priv->pads.restart();
  priv->pads.show_to_basesrc(GST_ELEMENT_CAST(bsrc));

  priv->outbox.post();
  return TRUE;
}

/* GObject */

/* Sets a max-*-time and wakes the pushes blocked on it: the limit may have
 * grown. */
static void set_max_time(agentaudio::Queues &queues, Layer layer, guint64 max_time) {
  {
    std::lock_guard<std::mutex> lock(queues.lock);
    queues.max_time[layer] = max_time;
  }
  queues.room.notify_all();
}

/* Call with settings_lock held. */
static void set_caps_setting(Settings &settings, Layer layer, const GstCaps *caps) {
  GstCaps *new_caps =
      caps ? gst_caps_copy(caps) : gst_caps_from_string(DEFAULT_SPEECH_CAPS);
  gst_caps_replace(&settings.caps[layer], new_caps);
  gst_caps_unref(new_caps);
  agentaudio::PushFormat format;
  parse_push_caps(settings.caps[layer], format);
  settings.info[layer] = format.info;
  settings.playable[layer] = format.playable;
  settings.encoded[layer] = format.encoded;
  settings.why[layer] = format.why;
}

static void set_property(GstAgentAudioSrc *self, guint prop_id, const GValue *value,
                         GParamSpec *pspec) {
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
      set_max_time(priv->queues, SPEECH, g_value_get_uint64(value));
      break;
    case PROP_MAX_BACKGROUND_TIME:
      lock.unlock();
      set_max_time(priv->queues, BACKGROUND, g_value_get_uint64(value));
      break;
    case PROP_BACKGROUND_VOLUME:
      priv->settings.background_volume = g_value_get_double(value);
      break;
    case PROP_DUCK_VOLUME:
      priv->settings.duck_volume = g_value_get_double(value);
      break;
    case PROP_BACKGROUND_LOOP: {
      priv->settings.background_loop = g_value_get_boolean(value);
      const bool loop = priv->settings.background_loop;
      lock.unlock();
      std::lock_guard<std::mutex> qlock(priv->queues.lock);
      priv->queues.background.set_loop(loop);
      break;
    }
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(self, prop_id, pspec);
      break;
  }
}

static void get_property(GstAgentAudioSrc *self, guint prop_id, GValue *value,
                         GParamSpec *pspec) {
  GstAgentAudioSrcPrivate *priv = self->priv;
  agentaudio::Queues &queues = priv->queues;

  switch (prop_id) {
    case PROP_QUEUED_SPEECH_TIME:
    case PROP_QUEUED_BACKGROUND_TIME: {
      std::lock_guard<std::mutex> lock(queues.lock);
      const Layer layer = prop_id == PROP_QUEUED_SPEECH_TIME ? SPEECH : BACKGROUND;
      g_value_set_uint64(value,
                         queues.format.frames_to_time(queues.queued_frames(layer)));
      return;
    }
    case PROP_SPEAKING: {
      std::lock_guard<std::mutex> lock(queues.lock);
      g_value_set_boolean(value, queues.speech.speaking());
      return;
    }
    case PROP_PAUSED: {
      std::lock_guard<std::mutex> lock(queues.lock);
      g_value_set_boolean(value, queues.speech.paused());
      return;
    }
    case PROP_MAX_SPEECH_TIME:
    case PROP_MAX_BACKGROUND_TIME: {
      std::lock_guard<std::mutex> lock(queues.lock);
      g_value_set_uint64(
          value, queues.max_time[prop_id == PROP_MAX_SPEECH_TIME ? SPEECH : BACKGROUND]);
      return;
    }
    default:
      break;
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
      G_OBJECT_WARN_INVALID_PROPERTY_ID(self, prop_id, pspec);
      break;
  }
}

static void gst_agent_audio_src_set_property(GObject *object, guint prop_id,
                                             const GValue *value, GParamSpec *pspec) {
  GstAgentAudioSrc *self = GST_AGENT_AUDIO_SRC(object);
  guarded_void(self, "set_property", [&] { set_property(self, prop_id, value, pspec); });
}

static void gst_agent_audio_src_get_property(GObject *object, guint prop_id,
                                             GValue *value, GParamSpec *pspec) {
  GstAgentAudioSrc *self = GST_AGENT_AUDIO_SRC(object);
  guarded_void(self, "get_property", [&] { get_property(self, prop_id, value, pspec); });
}

/* However src ends (end-of-stream, num-buffers, an EOS event sent to the
 * element), the request pads end with it. GstBaseSrc pushes EOS from the
 * streaming thread, where the request pads are pushed. */
static GstPadProbeReturn src_eos_probe(GstPad *pad, GstPadProbeInfo *info,
                                       gpointer self) {
  if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) == GST_EVENT_EOS)
    guarded_void(GST_AGENT_AUDIO_SRC(self), "eos",
                 [&] { GST_AGENT_AUDIO_SRC(self)->priv->pads.push_eos(pad); });
  return GST_PAD_PROBE_OK;
}

static void gst_agent_audio_src_init(GstAgentAudioSrc *self) {
  self->priv = new GstAgentAudioSrcPrivate();
  set_caps_setting(self->priv->settings, SPEECH, nullptr);
  set_caps_setting(self->priv->settings, BACKGROUND, nullptr);
  self->priv->outbox.set_poster(GST_ELEMENT_CAST(self), properties[PROP_SPEAKING]);

  gst_pad_add_probe(GST_BASE_SRC_PAD(self), GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
                    src_eos_probe, self, nullptr);
  gst_base_src_set_live(GST_BASE_SRC(self), TRUE);
  gst_base_src_set_format(GST_BASE_SRC(self), GST_FORMAT_TIME);
}

static void gst_agent_audio_src_finalize(GObject *object) {
  GstAgentAudioSrc *self = GST_AGENT_AUDIO_SRC(object);

  for (GstCaps *caps : self->priv->settings.caps)
    gst_caps_unref(caps);
  if (self->priv->clock_id != nullptr)
    gst_clock_id_unref(self->priv->clock_id);
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

  agentaudio::init_debug();

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
      "Format of the bytes given to push-speech: any interleaved raw audio, or "
      "encoded audio GStreamer can decode (MP3, Ogg/Opus, WAV, FLAC, AAC...), "
      "converted to the output; applies to data pushed after the change. The "
      "output takes its rate and channels when downstream leaves them free",
      GST_TYPE_CAPS,
      (GParamFlags)(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                    GST_PARAM_MUTABLE_PLAYING));
  properties[PROP_INTERRUPT_FADE] = g_param_spec_uint64(
      "interrupt-fade", "Interrupt fade",
      "Fade in nanoseconds: the fade-out that interrupt and pause apply to speech "
      "playing at the time and clear-background to the background, and the fade-in "
      "of resume (0 = hard cut)",
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
      "Format of the bytes given to push-background: any interleaved raw audio, or "
      "encoded audio GStreamer can decode, converted to the output; applies to "
      "data pushed after the change",
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
  properties[PROP_PAUSED] = g_param_spec_boolean(
      "paused", "Paused",
      "TRUE between pause and resume (or an interrupt, or a stop): speech is held, "
      "the utterance goes on (notified when it changes)",
      FALSE, (GParamFlags)(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
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

  /**
   * GstAgentAudioSrc::pause:
   * @src: the agentaudiosrc
   *
   * A false interruption's first half (the user may only have coughed):
   * speech fades out over interrupt-fade in the next buffer, then holds. The
   * queue, the utterance and its marks are kept, speaking stays TRUE and the
   * background stays ducked. A `paused` message (running-time, played) is
   * posted with the buffer where the fade ends.
   *
   * Returns: the nanoseconds of speech held; 0, doing nothing, when no speech
   * plays, nothing is queued or the element is paused already.
   */
  signals[SIGNAL_PAUSE] =
      new_action(klass, "pause", G_CALLBACK(gst_agent_audio_src_pause), G_TYPE_UINT64);

  /**
   * GstAgentAudioSrc::resume:
   * @src: the agentaudiosrc
   *
   * Ends a pause: playback restarts at the first sample the pause's fade
   * attenuated, fading in over interrupt-fade in the next buffer, so nothing
   * is lost. A `resumed` message (running-time, paused-for) is posted with
   * that buffer.
   *
   * Returns: the nanoseconds the speech was paused for; 0 when not paused.
   */
  signals[SIGNAL_RESUME] =
      new_action(klass, "resume", G_CALLBACK(gst_agent_audio_src_resume), G_TYPE_UINT64);

  /**
   * GstAgentAudioSrc::end-of-utterance:
   * @src: the agentaudiosrc
   *
   * The speech pushed so far is complete: the decoder of an encoded stream
   * (or the resampler of a raw one) drains now and its tail plays at once,
   * instead of waiting for more input; the next push starts a new stream (a
   * new WAV header, a new Ogg stream). interrupt and a change of format also
   * start a new stream.
   */
  signals[SIGNAL_END_OF_UTTERANCE] =
      new_action(klass, "end-of-utterance",
                 G_CALLBACK(gst_agent_audio_src_end_of_utterance), G_TYPE_NONE);

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
      "duration, interrupted, dropped), mark (name, running-time, "
      "interrupted), paused (running-time, played) and resumed "
      "(running-time, paused-for); see docs/agentaudiosrc.md",
      "agentaudiosrc authors");

  element_class->change_state = gst_agent_audio_src_change_state;
  element_class->set_clock = gst_agent_audio_src_set_clock;

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
