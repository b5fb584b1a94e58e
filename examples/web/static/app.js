'use strict';
// The voice-agent page: WebRTC to the server's webrtcbin (agent voice in, mic out), the element's
// bus events over the signalling websocket, and the latencies measured here.
//
// Clocks. "page time" is performance.now() in ms. Audio is timed by the AudioWorklet meter
// (meter.js) in context frames, which become page time through AudioContext.getOutputTimestamp():
//   heard(f) = when frame f leaves the audio output (the agent in the user's ears)
//   micAt(f) = heard(f) - (baseLatency + outputLatency): when the mic frame f reached the page
// Server times (`ts`, `at`: its CLOCK_MONOTONIC in ms) become page time by subtracting the clock
// offset from the ping exchange: offset = ts - (t0 + t1) / 2, from the smallest round trip.

const MIC_ONSET_DB = -40;    // mic quantum above this after MIC_QUIET_MS of quiet: voice onset
const MIC_QUIET_DB = -50;
const MIC_QUIET_MS = 200;
const SILENT_DB = -50;       // agent speech band below this: silent
const SILENT_MIN_MS = 30;    // shorter dips below SILENT_DB are not silences
const SEARCH_MS = 600;       // a pause's silence starts at most this long after the element's fade
const HELD_FRACTION = 0.7;   // ... and lasts at least this much of the element's hold
const BARGE_PROBE_MS = 400;  // after an interrupt the agent is silent in the ears by then
const DOWNLINK_MARGIN = 0.8; // a silence heard sooner than 0.8 x the shortest downlink is luck
const HEARD_DB = -35;        // agent speech band above this: heard
const AUDIBLE_BEFORE_MS = 250; // the agent must have been heard this shortly before an onset
const RESOLVE_MS = 2500;
const ONSET_MATCH_MS = 300;  // a page mic onset this close to the server's is the same onset     // give up looking for a sound after this
const HISTORY_MS = 60000;

const $ = (id) => document.getElementById(id);
const state = {
  ws: null, pc: null, ctx: null, mic: null, settings: null, session: null,
  offset: null, rtt: Infinity, pings: new Map(), pingSeq: 0, syncSamples: [],
  levels: [],            // {t (heard), tm (mic time), mic, speech, full}: one per render quantum
  micOnsets: [],         // page times (mic time) of voice onsets
  lastMicLoud: -Infinity,
  rise: null,
  events: [],            // every server event, with page times added
  pushes: [],            // {reply, page, at, heard, latency}
  onsets: [],            // one per server pause/interrupt decision: see analyse()
  replies: new Map(),
  pendingIce: [], remoteSet: false,
  connected: false, heardAgent: false, errors: [], rtcStats: null, rtcPrev: null, jitterHistory: [],
  startedAt: performance.now(),
};
window.agentState = state;

// ---------------------------------------------------------------------------------- clocks

function toPage(serverMs) {
  return state.offset === null ? null : serverMs - state.offset;
}

function ping() {
  if (!state.ws || state.ws.readyState !== 1) return;
  const id = ++state.pingSeq;
  const t0 = performance.now();
  state.pings.set(id, t0);
  state.ws.send(JSON.stringify({ type: 'ping', id, t0 }));
}

function onPong(msg) {
  const t1 = performance.now();
  const t0 = state.pings.get(msg.id);
  if (t0 === undefined) return;
  state.pings.delete(msg.id);
  const rtt = t1 - t0;
  state.syncSamples.push({ rtt, offset: msg.ts - (t0 + t1) / 2, at: t1 });
  if (state.syncSamples.length > 40) state.syncSamples.shift();
  // The smallest round trip bounds the error best (|error| <= rtt / 2).
  const best = state.syncSamples.reduce((a, b) => (b.rtt < a.rtt ? b : a));
  state.offset = best.offset;
  state.rtt = best.rtt;
}

function startPinging() {
  let n = 0;
  const burst = setInterval(() => { ping(); if (++n >= 20) clearInterval(burst); }, 25);
  setInterval(ping, 1000);
}

// ---------------------------------------------------------------------------------- audio

function frameToHeard(frame) {
  const ctx = state.ctx;
  const ts = ctx.getOutputTimestamp();
  const ctxTime = frame / ctx.sampleRate;
  if (ts && ts.performanceTime > 0) return ts.performanceTime + (ctxTime - ts.contextTime) * 1000;
  // No output timestamp yet: the current time, less what is still to be rendered.
  return performance.now() + (ctxTime - ctx.currentTime) * 1000 + outputDelayMs();
}

function outputDelayMs() {
  const ctx = state.ctx;
  return ((ctx.baseLatency || 0) + (ctx.outputLatency || 0)) * 1000;
}

function onLevels(msg) {
  const sr = state.ctx.sampleRate;
  const qms = (msg.quantum / sr) * 1000;
  const t0 = frameToHeard(msg.frame);
  const out = outputDelayMs();
  const [mic, speech, full] = msg.levels;
  for (let i = 0; i < mic.length; i++) {
    const t = t0 + i * qms;
    const q = { t, tm: t - out, mic: mic[i], speech: speech[i], full: full[i] };
    state.levels.push(q);
    // An onset: the first quantum above MIC_ONSET_DB in a rise (a run above MIC_QUIET_DB) that
    // followed at least MIC_QUIET_MS below MIC_QUIET_DB.
    if (q.mic > MIC_QUIET_DB) {
      if (state.rise === null) state.rise = { quietBefore: q.tm - state.lastMicLoud, counted: false };
      if (q.mic > MIC_ONSET_DB && !state.rise.counted) {
        state.rise.counted = true;
        if (state.rise.quietBefore > MIC_QUIET_MS) state.micOnsets.push(q.tm);
      }
      state.lastMicLoud = q.tm;
    } else {
      state.rise = null;
    }
    if (q.speech > HEARD_DB) state.heardAgent = true;
  }
  const horizon = performance.now() - HISTORY_MS;
  while (state.levels.length && state.levels[0].t < horizon) state.levels.shift();
}

// First quantum at or after `from` (heard time) with speech above `db`; null if none yet.
function firstAbove(from, db) {
  for (const q of state.levels) if (q.t >= from && q.speech > db) return q.t;
  return null;
}

// Runs of quanta with speech below `db` (at least SILENT_MIN_MS long) between two heard times.
function silentRuns(from, to) {
  const runs = [];
  let start = null;
  let lastT = null;
  for (const q of state.levels) {
    if (q.t < from) continue;
    if (q.t > to && start === null) break;
    if (q.speech < SILENT_DB) {
      if (start === null) start = q.t;
    } else if (start !== null) {
      if (q.t - start >= SILENT_MIN_MS) runs.push({ start, end: q.t });
      start = null;
      if (q.t > to) break;
    }
    lastT = q.t;
  }
  if (start !== null && lastT - start >= SILENT_MIN_MS) runs.push({ start, end: Infinity });
  return runs;
}

function maxSpeech(from, to) {
  let m = -Infinity;
  for (const q of state.levels) if (q.t >= from && q.t <= to) m = Math.max(m, q.speech);
  return m;
}

function levelsCover(t) {
  const last = state.levels[state.levels.length - 1];
  return last && last.t >= t;
}

// ---------------------------------------------------------------------------------- events

function onEvent(ev) {
  ev.page = toPage(ev.ts);
  if (ev.at !== undefined) ev.atPage = toPage(ev.at);
  state.events.push(ev);
  if (ev.name === 'push') {
    state.pushes.push({ reply: ev.reply, page: ev.page, leadIn: ev.lead_in / 1e6, heard: null, latency: null,
      raw: null, at: null });
    state.replies.set(ev.reply, { text: ev.text, wordEnds: ev.word_ends, reached: 0, cut: false, pauses: 0,
      pushedNs: ev.duration, last: null, marksInOrder: true });
  } else if (ev.name === 'first-audio') {
    const p = state.pushes.find((x) => x.reply === ev.reply);
    if (p) p.at = ev.atPage;
  } else if (ev.name === 'mark') {
    const r = state.replies.get(ev.reply);
    if (r && !ev.interrupted) {
      if (ev.word !== r.reached) r.marksInOrder = false;
      r.reached = ev.word + 1;
    }
  } else if (ev.name === 'last-audio') {
    const r = state.replies.get(ev.reply);
    if (r) { r.last = ev; r.cut = ev.interrupted; }
  } else if (ev.name === 'action') {
    onAction(ev);
  } else if (ev.name === 'paused' || ev.name === 'resumed') {
    const o = state.onsets[state.onsets.length - 1];
    if (o) o[ev.name === 'paused' ? 'pausedAt' : 'resumedAt'] = ev.atPage;
  } else if (ev.name === 'webrtc') {
    setStatus(`session ${state.session}: ${ev.what} ${ev.state}`, ev.state === 'connected');
  } else if (ev.name === 'error') {
    state.errors.push(ev.message);
    setStatus(ev.message, false, true);
  }
  addTimeline(ev);
  renderTranscript();
}

function currentReply() {
  let last = null;
  for (const e of state.events) if (e.name === 'push') last = e.reply;
  return last;
}

function onAction(ev) {
  const reply = currentReply();
  if (ev.action === 'pause' || (ev.action === 'interrupt' && !state.settings.pause_supported)) {
    // One voice onset the server acted on. Its mic onset is the last one seen here before the
    // server's decision (the uplink carries it there in a few tens of ms).
    // The onset is the earlier of two observations of it: this page's mic analyser (matched in
    // analyse(), once its audio has arrived) and the server's voice detector, on this page's
    // clock. Both come after the sound reached the microphone.
    const decided = ev.page;
    const vadPage = toPage(ev.onset ?? ev.ts);
    state.onsets.push({
      reply, micOnset: null, vadPage, onset: vadPage,
      pausePage: decided,
      kind: ev.action === 'interrupt' ? 'barge-in' : 'pending', resumePage: null, interruptPage: null,
      silent: null, back: null, a: null, c: null, uplink: null, note: null, done: false, matched: false,
    });
    if (ev.action === 'interrupt') {
      const o = state.onsets[state.onsets.length - 1];
      o.interruptPage = decided;
    }
    const r = state.replies.get(reply);
    if (r && ev.action === 'pause') r.pauses++;
  } else if (ev.action === 'resume' || ev.action === 'interrupt') {
    const o = state.onsets[state.onsets.length - 1];
    if (o && o.kind === 'pending') {
      o.kind = ev.action === 'resume' ? 'false' : 'barge-in';
      if (ev.action === 'resume') o.resumePage = ev.page; else o.interruptPage = ev.page;
    }
  }
}

// Resolves what the audio has shown about each push and each onset; called every 200 ms.
function analyse() {
  const now = performance.now();
  for (const p of state.pushes) {
    if (p.latency !== null || p.page === null) continue;
    const heard = firstAbove(p.page, HEARD_DB);
    // The TTS audio's own lead-in (silence or a soft start before the speech band reaches
    // HEARD_DB, computed by the server from the audio it pushes) is not latency.
    if (heard !== null) { p.heard = heard; p.raw = heard - p.page; p.latency = p.raw - p.leadIn; }
    else if (now - p.page > RESOLVE_MS) p.latency = NaN;
  }
  for (const o of state.onsets) {
    if (o.done || o.kind === 'pending') continue;
    if (!o.matched) {
      // The page's own mic onset: its audio reaches the meter a little after the server's
      // event reaches the socket, so it is looked for once the levels cover the window.
      if (!levelsCover(o.vadPage + ONSET_MATCH_MS)) continue;
      for (const t of state.micOnsets) {
        if (Math.abs(t - o.vadPage) < ONSET_MATCH_MS &&
            (o.micOnset === null || Math.abs(t - o.vadPage) < Math.abs(o.micOnset - o.vadPage))) o.micOnset = t;
      }
      o.onset = o.micOnset === null ? o.vadPage : Math.min(o.micOnset, o.vadPage);
      o.uplink = o.micOnset === null ? null : o.vadPage - o.micOnset;
      o.matched = true;
    }
    if (maxSpeech(o.onset - AUDIBLE_BEFORE_MS, o.onset) <= HEARD_DB) {
      o.note = 'agent not audible at the onset'; o.done = true; continue;
    }
    // The agent's silence in the user's ears is a run of quanta below SILENT_DB that cannot
    // start before the element made the silence (the pause's fade end, or the interrupt) plus
    // the shortest downlink seen (a push's first sample due -> heard), less a margin. A run that
    // starts earlier began as a gap in the speech, and the pause's silence ran on from it: the
    // ears were silent early by luck, so such onsets are left out (with a note).
    const made = (o.pausedAt ?? o.interruptPage ?? o.pausePage) - state.settings.fade_ms;
    const downlinks = state.pushes.filter((p) => p.heard !== null && p.at !== null).map((p) => p.heard - p.leadIn - p.at);
    const floor = downlinks.length ? DOWNLINK_MARGIN * Math.min(...downlinks) : 0;
    const earliest = made + Math.max(0, floor);
    let run = null;
    if (o.kind === 'false') {
      // The first such run within SEARCH_MS that lasts about as long as the element held the
      // speech (resumed - paused): the pause, not a gap between words or sentences. Without
      // the element's figure, the longest run.
      if (!levelsCover(made + SEARCH_MS + 1000)) continue;
      const held = o.resumedAt && o.pausedAt ? o.resumedAt - o.pausedAt : null;
      for (const r of silentRuns(made - SEARCH_MS, made + SEARCH_MS + 1000)) {
        if (r.end < made || r.start > made + SEARCH_MS) continue;
        if (held !== null) {
          if (r.end - r.start >= HELD_FRACTION * held) { run = r; break; }
        } else if (run === null || r.end - r.start > run.end - run.start) {
          run = r;
        }
      }
      if (run && run.start < earliest) {
        o.note = 'a gap in the speech ran into the pause'; o.done = true; continue;
      }
    } else {
      // After an interrupt the agent stays silent until its next reply: the run covering a
      // moment well after the interrupt.
      const probe = o.interruptPage + BARGE_PROBE_MS;
      if (!levelsCover(probe)) continue;
      run = silentRuns(o.onset - 1000, probe).find((r) => r.start <= probe && r.end >= probe) || null;
      if (run && run.start < earliest) {
        o.note = 'a gap in the speech ran into the pause'; o.done = true; continue;
      }
    }
    if (run === null) { o.note = 'no silence found'; o.done = true; continue; }
    o.silent = run.start;
    o.a = run.start - o.onset;
    if (o.kind === 'false') { o.back = run.end; o.c = run.end - run.start; }
    o.done = true;
  }
  renderFigures();
}

function stats(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return { n: 0, p50: null, worst: null, last: null };
  const mid = v.length >> 1;
  const p50 = v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  return { n: v.length, p50, worst: v[v.length - 1], last: values.filter(Number.isFinite).slice(-1)[0] };
}

function figures() {
  const done = state.onsets.filter((o) => o.done);
  return {
    a: stats(done.map((o) => o.a)),
    a_false: stats(done.filter((o) => o.kind === 'false').map((o) => o.a)),
    a_barge: stats(done.filter((o) => o.kind === 'barge-in').map((o) => o.a)),
    a_element: stats(done.filter((o) => Number.isFinite(o.a) && o.pausedAt).map((o) => o.pausedAt - o.onset)),
    a_after: stats(done.filter((o) => Number.isFinite(o.a) && o.pausedAt).map((o) => o.silent - o.pausedAt)),
    b: stats(state.pushes.map((p) => p.latency).filter((x) => x !== null)),
    b_raw: stats(state.pushes.map((p) => p.raw).filter((x) => x !== null)),
    b_element: stats(state.pushes.filter((p) => p.at !== null && p.page !== null).map((p) => p.at - p.page)),
    b_after: stats(state.pushes.filter((p) => p.heard !== null && p.at !== null).map((p) => p.heard - p.leadIn - p.at)),
    c: stats(done.filter((o) => o.kind === 'false').map((o) => o.c)),
    c_element: stats(done.filter((o) => o.kind === 'false' && o.resumedAt && o.pausedAt).map((o) => o.resumedAt - o.pausedAt)),
    uplink: stats(done.map((o) => o.uplink)),
  };
}

// ---------------------------------------------------------------------------------- report

window.agentReport = function agentReport() {
  const replies = [...state.replies.entries()].map(([n, r]) => ({ reply: n, ...r }));
  return {
    connected: state.connected,
    heardAgent: state.heardAgent,
    settings: state.settings,
    session: state.session,
    clock: { offset: state.offset, rtt: state.rtt },
    audio: state.ctx ? { sampleRate: state.ctx.sampleRate, baseLatency: state.ctx.baseLatency,
      outputLatency: state.ctx.outputLatency } : null,
    figures: figures(),
    onsets: state.onsets,
    pushes: state.pushes,
    replies,
    events: state.events.filter((e) => e.name !== 'mark'),
    marks: state.events.filter((e) => e.name === 'mark').length,
    micOnsets: state.micOnsets,
    rtc: state.rtcStats,
    jitterHistory: state.jitterHistory,
    errors: state.errors,
  };
};

// ---------------------------------------------------------------------------------- WebRTC

async function start() {
  $('start').disabled = true;
  // 48 kHz, the rate of WebRTC's Opus and of most microphones: no resampling into the graph.
  state.ctx = new AudioContext({ latencyHint: 'interactive', sampleRate: 48000 });
  await state.ctx.resume();
  await state.ctx.audioWorklet.addModule('/static/meter.js');
  const meter = new AudioWorkletNode(state.ctx, 'level-meter', { numberOfInputs: 3, numberOfOutputs: 1 });
  meter.port.onmessage = (e) => onLevels(e.data);
  const sink = state.ctx.createGain();
  sink.gain.value = 0;
  meter.connect(sink).connect(state.ctx.destination);
  state.meter = meter;

  // The browser cancels its own echo; noise suppression and gain control stay off so that the
  // server's voice detector hears the mic as it is (a cough must still sound like one).
  state.mic = await navigator.mediaDevices.getUserMedia({
    audio: { echoCancellation: true, noiseSuppression: false, autoGainControl: false },
  });
  state.ctx.createMediaStreamSource(state.mic).connect(meter, 0, 0);
  state.ws.send(JSON.stringify({ type: 'start' }));
  setStatus('starting a session…');
}

function isLoopback(candidate) {
  const f = candidate.split(' ');
  return f.length > 7 && f[2].toUpperCase() === 'UDP' && (f[4] === '127.0.0.1' || f[4] === '::1');
}

function withMicPtime(sdp, ptime) {
  if (!ptime) return sdp;
  // Ask the browser for shorter Opus frames on the mic: a=ptime in the description it answers.
  return sdp.replace(/(a=rtpmap:\d+ OPUS\/48000\/2\r\n)/i, `$1a=ptime:${ptime}\r\n`);
}

async function onOffer(sdp) {
  const pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle' });
  state.pc = pc;
  pc.onicecandidate = (e) => {
    if (e.candidate && e.candidate.candidate && isLoopback(e.candidate.candidate)) {
      state.ws.send(JSON.stringify({ type: 'ice', candidate: e.candidate.candidate,
        sdpMLineIndex: e.candidate.sdpMLineIndex }));
    }
  };
  pc.onconnectionstatechange = () => {
    if (pc.connectionState === 'connected' && !state.connected) {
      state.connected = true;
      state.ws.send(JSON.stringify({ type: 'connected' }));
    }
    setStatus(`session ${state.session}: ${pc.connectionState}`, pc.connectionState === 'connected',
      pc.connectionState === 'failed');
  };
  pc.ontrack = (e) => {
    const stream = new MediaStream([e.track]);
    // Chrome renders a remote track into WebAudio only while a media element plays it (muted:
    // what the user hears goes through the AudioContext, the one the meter times).
    $('remote').srcObject = stream;
    const src = state.ctx.createMediaStreamSource(stream);
    src.connect(state.ctx.destination);
    const hp1 = new BiquadFilterNode(state.ctx, { type: 'highpass', frequency: 600, Q: 0.707 });
    const hp2 = new BiquadFilterNode(state.ctx, { type: 'highpass', frequency: 600, Q: 0.707 });
    src.connect(hp1).connect(hp2).connect(state.meter, 0, 1);
    src.connect(state.meter, 0, 2);
    const target = state.settings.browser_jitter_ms;
    if (target >= 0) {
      if ('jitterBufferTarget' in e.receiver) e.receiver.jitterBufferTarget = target;
      else if ('playoutDelayHint' in e.receiver) e.receiver.playoutDelayHint = target / 1000;
    }
  };
  await pc.setRemoteDescription({ type: 'offer', sdp: withMicPtime(sdp, state.settings.mic_ptime) });
  state.remoteSet = true;
  for (const c of state.pendingIce) await pc.addIceCandidate(c);
  state.pendingIce = [];
  const transceiver = pc.getTransceivers()[0];
  await transceiver.sender.replaceTrack(state.mic.getAudioTracks()[0]);
  transceiver.direction = 'sendrecv';
  const answer = await pc.createAnswer();
  await pc.setLocalDescription(answer);
  state.ws.send(JSON.stringify({ type: 'sdp', sdp: { type: 'answer', sdp: pc.localDescription.sdp } }));
}

async function onRemoteIce(msg) {
  const c = { candidate: msg.candidate, sdpMLineIndex: msg.sdpMLineIndex };
  if (!state.remoteSet) state.pendingIce.push(c);
  else await state.pc.addIceCandidate(c);
}

function connect() {
  const ws = new WebSocket(`ws://${location.host}/ws`);
  state.ws = ws;
  ws.onopen = () => { startPinging(); };
  ws.onclose = () => setStatus('the server closed the connection', false, true);
  ws.onmessage = async (e) => {
    const msg = JSON.parse(e.data);
    try {
      switch (msg.type) {
        case 'pong': onPong(msg); break;
        case 'hello':
          state.settings = msg.settings;
          renderSettings();
          $('start').disabled = false;
          setStatus(msg.settings.pause_supported ? 'ready: press Start'
            : 'ready: press Start (this build has no pause/resume: short sounds are ignored)');
          break;
        case 'session': state.session = msg.id; break;
        case 'sdp': await onOffer(msg.sdp.sdp); break;
        case 'ice': await onRemoteIce(msg); break;
        case 'event': onEvent(msg); break;
        default: break;
      }
    } catch (err) {
      state.errors.push(String(err));
      setStatus(String(err), false, true);
    }
  };
}

// The browser's own view of its receive side: jitter buffer and playout delay (RTCStats).
async function pollStats() {
  if (!state.pc || !state.connected) return;
  const stats = await state.pc.getStats();
  const out = {};
  stats.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'audio') {
      const n = s.jitterBufferEmittedCount || 0;
      out.jitterBufferMs = n ? (s.jitterBufferDelay / n) * 1000 : null;
      // Over the last poll only: what the jitter buffer holds now, not since the start.
      const prev = state.rtcPrev;
      if (prev && n > prev.n) out.jitterBufferNowMs = ((s.jitterBufferDelay - prev.delay) / (n - prev.n)) * 1000;
      state.rtcPrev = { n, delay: s.jitterBufferDelay };
      out.jitterBufferTargetMs = n && s.jitterBufferTargetDelay !== undefined ? (s.jitterBufferTargetDelay / n) * 1000 : null;
      out.jitterBufferMinimumMs = n && s.jitterBufferMinimumDelay !== undefined ? (s.jitterBufferMinimumDelay / n) * 1000 : null;
      out.packetsLost = s.packetsLost;
      out.concealedSamples = s.concealedSamples;
    } else if (s.type === 'media-playout') {
      const n = s.totalSamplesCount || 0;
      out.playoutDelayMs = n ? (s.totalPlayoutDelay / n) * 1000 : null;
    } else if (s.type === 'outbound-rtp' && s.kind === 'audio') {
      out.micPackets = s.packetsSent;
    } else if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') {
      out.rttMs = s.currentRoundTripTime !== undefined ? s.currentRoundTripTime * 1000 : null;
      out.pair = [s.localCandidateId, s.remoteCandidateId];
    } else if (s.type === 'local-candidate' || s.type === 'remote-candidate') {
      (out.candidates = out.candidates || {})[s.id] = `${s.address}:${s.port} ${s.candidateType}`;
    }
  });
  if (out.pair && out.candidates) out.pair = out.pair.map((id) => out.candidates[id]);
  delete out.candidates;
  state.rtcStats = out;
  if (out.jitterBufferNowMs !== undefined) {
    state.jitterHistory.push(Math.round(out.jitterBufferNowMs));
    if (state.jitterHistory.length > 200) state.jitterHistory.shift();
  }
}

// ---------------------------------------------------------------------------------- view

function setStatus(text, ok, bad) {
  const s = $('status');
  s.textContent = text;
  s.className = ok ? 'ok' : bad ? 'bad' : '';
}

function fmt(ms) { return ms === null || ms === undefined || !Number.isFinite(ms) ? '–' : `${ms.toFixed(0)} ms`; }

function renderSettings() {
  const s = state.settings;
  $('settings').textContent =
    `ptime ${s.ptime} ms · opus frame ${s.opus_frame} ms · mic ptime ${s.mic_ptime || 'browser'} ms · ` +
    `server jitter buffer ${s.jitter_latency} ms · browser jitter target ${s.browser_jitter_ms < 0 ? 'default' : s.browser_jitter_ms + ' ms'} · ` +
    `hold ${s.hold_ms} ms · fade ${s.fade_ms} ms · VAD likelihood ${s.vad_likelihood} · ` +
    `pause/resume ${s.pause_supported ? 'yes' : 'NO (interrupt only)'}`;
}

const FIGURE_ROWS = [
  ['a', 'voice onset → agent silent', '≤ 250 ms p50'],
  ['a_false', '  … in false interruptions', ''],
  ['a_barge', '  … in barge-ins', ''],
  ['a_element', '  onset → fade end in the element', ''],
  ['a_after', '  fade end → silent in the ears', ''],
  ['b', 'push → first agent sound heard', '≤ 150 ms'],
  ['b_raw', '  … counting the TTS lead-in', ''],
  ['b_element', '  push → first sample due (server)', ''],
  ['b_after', '  first sample due → heard', ''],
  ['c', 'false interruption: agent gap', ''],
  ['c_element', '  … in the element (resumed − paused)', ''],
  ['uplink', 'server voice detector − page mic analyser', ''],
];

let lastFiguresRender = 0;
function renderFigures() {
  const now = performance.now();
  if (now - lastFiguresRender < 250) return;
  lastFiguresRender = now;
  const f = figures();
  $('figures').querySelector('tbody').innerHTML = FIGURE_ROWS.map(([k, label, target]) => {
    const s = f[k];
    return `<tr><td>${label.replace(/^ +/, '&nbsp;&nbsp;')}${target ? ` <span class="target">(${target})</span>` : ''}</td>` +
      `<td>${fmt(s.last)}</td><td>${fmt(s.p50)}</td><td>${fmt(s.worst)}</td><td>${s.n}</td></tr>`;
  }).join('');
  const out = state.ctx ? outputDelayMs().toFixed(1) : '–';
  $('clock').textContent = state.offset === null ? 'clock: not joined yet'
    : `server clock − page clock = ${state.offset.toFixed(1)} ms, ± ${(state.rtt / 2).toFixed(2)} ms ` +
      `(best of ${state.syncSamples.length} pings). Audio output latency reported by the browser: ${out} ms, ` +
      `included in every "heard" time.` + (state.rtcStats && state.rtcStats.jitterBufferMs != null
      ? ` Browser jitter buffer: ${(state.rtcStats.jitterBufferNowMs ?? state.rtcStats.jitterBufferMs).toFixed(0)} ms now, ` +
        `${state.rtcStats.jitterBufferMs.toFixed(0)} ms on average.` : '');
}

function renderTranscript() {
  const n = currentReply();
  const r = state.replies.get(n);
  if (!r) return;
  const end = r.reached ? r.wordEnds[r.reached - 1] : 0;
  const heard = r.text.slice(0, end);
  const rest = r.text.slice(end);
  const restHtml = r.cut ? `<s>${escapeHtml(rest)}</s>` : `<span class="todo">${escapeHtml(rest)}</span>`;
  $('transcript').innerHTML = `<small>reply ${n}${r.pauses ? `, paused ${r.pauses}×` : ''}${r.cut ? ', cut' : ''}</small><br>` +
    `<b>${escapeHtml(heard)}</b>${restHtml}`;
}

function escapeHtml(s) { return s.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' }[c])); }

function describe(ev) {
  const ms = (ns) => `${(ns / 1e6).toFixed(1)} ms`;
  switch (ev.name) {
    case 'push': return `reply ${ev.reply}: ${ev.words} words, ${ms(ev.duration)}`;
    case 'first-audio': return `reply ${ev.reply ?? '?'} starts, rt ${ms(ev.running_time)}`;
    case 'mark': return `${ev.mark} “${ev.text}”${ev.interrupted ? ' (dropped)' : ''}`;
    case 'paused': return `faded out, rt ${ms(ev.running_time)}${ev.played !== undefined ? `, played ${ms(ev.played)}` : ''}`;
    case 'resumed': return `fading in, rt ${ms(ev.running_time)}${ev.paused_for !== undefined ? `, paused for ${ms(ev.paused_for)}` : ''}`;
    case 'last-audio': return `${ev.interrupted ? 'INTERRUPTED' : 'done'}, played ${ms(ev.duration)}, dropped ${ms(ev.dropped)}` +
      (ev.heard !== undefined ? `, heard “${ev.heard}” (${ev.words}/${ev.total_words} words)` : '');
    case 'vad': return ev.on ? 'voice' : 'no voice';
    case 'action': return `${ev.action}${ev.returned !== undefined ? ` → ${ms(ev.returned)}` : ''}` +
      (ev.lasted !== undefined ? ` (voice lasted ${ev.lasted.toFixed(0)} ms)` : '');
    case 'webrtc': return `${ev.what} ${ev.state}`;
    default: return JSON.stringify(ev);
  }
}

// Marks come one per word: consecutive marks of one reply (reached, or dropped by one
// interrupt) share one line of the timeline, updated as they come.
function addMark(ev) {
  const g = state.markGroup;
  const list = $('timeline');
  if (g && g.li === list.firstChild && g.reply === ev.reply && g.dropped === !!ev.interrupted) {
    g.last = ev.word;
    g.count++;
    g.words.push(ev.text);
  } else {
    const li = document.createElement('li');
    li.className = 'mark';
    list.insertBefore(li, list.firstChild);
    state.markGroup = { li, reply: ev.reply, dropped: !!ev.interrupted, first: ev.word, last: ev.word,
      count: 1, words: [ev.text], page: ev.page };
  }
  const m = state.markGroup;
  const t = m.page !== null ? ((m.page - state.startedAt) / 1000).toFixed(3) : '?';
  const range = m.first === m.last ? `r${m.reply}.w${m.first}` : `r${m.reply}.w${m.first}…w${m.last}`;
  const words = (m.words.length > 12 ? "… " : "") + m.words.slice(-12).join(" ");
  m.li.innerHTML = `<span class="t">${t}</span><span class="n">${m.count > 1 ? `${m.count} marks` : 'mark'}</span>`;
  m.li.appendChild(document.createTextNode(m.dropped ? `${range} dropped (never heard)` : `${range} reached: “${words}”`));
}

function addTimeline(ev) {
  if (ev.name === 'mark') { addMark(ev); return; }
  const li = document.createElement('li');
  const cls = ev.name === 'action' ? ev.action : ev.name;
  li.className = cls;
  const t = ev.page !== null ? ((ev.page - state.startedAt) / 1000).toFixed(3) : '?';
  li.innerHTML = `<span class="t">${t}</span><span class="n">${ev.name === 'action' ? ev.action : ev.name}</span>`;
  li.appendChild(document.createTextNode(describe(ev)));
  const list = $('timeline');
  list.insertBefore(li, list.firstChild);
  while (list.childNodes.length > 400) list.removeChild(list.lastChild);
}

function drawChart() {
  const c = $('chart');
  const g = c.getContext('2d');
  const W = c.width, H = c.height;
  g.clearRect(0, 0, W, H);
  const now = performance.now();
  const span = 10000;
  const x = (t) => ((t - (now - span)) / span) * W;
  const y = (db) => H - ((Math.max(-80, Math.min(0, db)) + 80) / 80) * H;
  g.strokeStyle = '#ccc';
  g.setLineDash([4, 4]);
  for (const db of [SILENT_DB, HEARD_DB]) { g.beginPath(); g.moveTo(0, y(db)); g.lineTo(W, y(db)); g.stroke(); }
  g.setLineDash([]);
  const css = getComputedStyle(document.documentElement);
  const mark = (t, color) => { if (t === null || t === undefined) return; g.strokeStyle = color; g.beginPath(); g.moveTo(x(t), 0); g.lineTo(x(t), H); g.stroke(); };
  for (const e of state.events) {
    if (e.page === null || e.page < now - span) continue;
    if (e.name === 'action' && e.action !== 'ignore') mark(e.page, css.getPropertyValue(`--${e.action}`));
    if (e.name === 'push') mark(e.page, css.getPropertyValue('--push'));
  }
  for (const t of state.micOnsets) if (t > now - span) mark(t, css.getPropertyValue('--mic'));
  for (const [key, color] of [['mic', '--mic'], ['speech', '--agent']]) {
    g.strokeStyle = css.getPropertyValue(color);
    g.beginPath();
    let started = false;
    for (const q of state.levels) {
      const tt = key === 'mic' ? q.tm : q.t;
      if (tt < now - span) continue;
      if (!started) { g.moveTo(x(tt), y(q[key])); started = true; } else g.lineTo(x(tt), y(q[key]));
    }
    g.stroke();
  }
  g.fillStyle = '#999';
  g.font = '11px sans-serif';
  g.fillText('0 dBFS', 4, 12);
  g.fillText('−80', 4, H - 4);
  requestAnimationFrame(drawChart);
}

$('start').onclick = () => start().catch((err) => { state.errors.push(String(err)); setStatus(String(err), false, true); });
connect();
setInterval(analyse, 200);
setInterval(pollStats, 2000);
setInterval(() => {
  if (state.ws && state.ws.readyState === 1 && state.connected) {
    state.ws.send(JSON.stringify({ type: 'report', figures: figures() }));
  }
}, 5000);
requestAnimationFrame(drawChart);
