// AudioWorklet level meter: the RMS of every 128-frame render quantum on each input, in dBFS,
// with the context frame it started at. Three inputs: the local mic, the agent's speech band
// (high-passed above 600 Hz, where the bed is not), the agent's full band.
// Posted in batches of BATCH quanta (about 21 ms at 48 kHz): the main thread's timers and
// layout never touch the timing, which comes from `currentFrame`.

const BATCH = 8;
const FLOOR = -120;

function rmsDb(channel) {
  if (!channel || channel.length === 0) return FLOOR;
  let sum = 0;
  for (let i = 0; i < channel.length; i++) sum += channel[i] * channel[i];
  const rms = Math.sqrt(sum / channel.length);
  return rms > 0 ? Math.max(FLOOR, 20 * Math.log10(rms)) : FLOOR;
}

class LevelMeter extends AudioWorkletProcessor {
  constructor() {
    super();
    this.start = -1;
    this.levels = [[], [], []];
  }

  process(inputs) {
    if (this.start < 0) this.start = currentFrame;
    for (let i = 0; i < 3; i++) {
      const input = inputs[i];
      this.levels[i].push(rmsDb(input && input.length ? input[0] : null));
    }
    if (this.levels[0].length === BATCH) {
      this.port.postMessage({ frame: this.start, quantum: 128, levels: this.levels });
      this.start = -1;
      this.levels = [[], [], []];
    }
    return true;
  }
}

registerProcessor('level-meter', LevelMeter);
