/**
 * Whisper's log-mel front-end, equal to models/sdumc/speech/mel.py (float64 throughout, float32
 * out): zero-pad to whole 20 ms encoder frames -> STFT (n_fft 400, hop 160, periodic Hann,
 * centred, reflect padding, last frame dropped) -> power -> 80 slaney mel filters -> log10
 * (floor 1e-10) -> clamp to max - 8 -> (x + 4) / 4.
 */

import { Fft } from './fft.js';

export const SAMPLE_RATE = 16000;
const N_FFT = 400;
const HOP = 160;
const BINS = N_FFT / 2 + 1;
/** Samples per encoder frame (conv2 has stride 2). */
export const SAMPLES_PER_FRAME = 2 * HOP;

const hzToMel = (f: number): number => (f >= 1000 ? 15 + Math.log(f / 1000) / (Math.log(6.4) / 27) : (f * 3) / 200);
const melToHz = (m: number): number => (m >= 15 ? 1000 * Math.exp((Math.log(6.4) / 27) * (m - 15)) : (m * 200) / 3);

/** (nMels, 201) slaney-normalised triangular filters, row-major (librosa.filters.mel defaults). */
export function melFilters(nMels = 80): Float64Array {
  const fftHz = Array.from({ length: BINS }, (_, i) => (i * SAMPLE_RATE) / 2 / (BINS - 1));
  const top = hzToMel(SAMPLE_RATE / 2);
  const melHz = Array.from({ length: nMels + 2 }, (_, i) => melToHz((top * i) / (nMels + 1)));
  const w = new Float64Array(nMels * BINS);
  for (let m = 0; m < nMels; m++) {
    const enorm = 2 / (melHz[m + 2] - melHz[m]);
    for (let k = 0; k < BINS; k++) {
      const lower = (fftHz[k] - melHz[m]) / (melHz[m + 1] - melHz[m]);
      const upper = (melHz[m + 2] - fftHz[k]) / (melHz[m + 2] - melHz[m + 1]);
      w[m * BINS + k] = Math.max(0, Math.min(lower, upper)) * enorm;
    }
  }
  return w;
}

/** Encoder frames covering `samples` of audio (the last one partial). */
export const encoderFrames = (samples: number): number => Math.ceil(samples / SAMPLES_PER_FRAME);

/** One filter's non-zero bin range, so the mel product skips the zeros. */
interface Band { from: number; to: number }

/** The window, FFT and mel tables, built once per thread. */
class Tables {
  readonly fft = new Fft(N_FFT);
  readonly window = new Float64Array(N_FFT);
  readonly filters: Float64Array;
  readonly bands: Band[] = [];

  constructor(readonly nMels: number) {
    for (let n = 0; n < N_FFT; n++) this.window[n] = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / N_FFT);
    this.filters = melFilters(nMels);
    for (let m = 0; m < nMels; m++) {
      let from = 0;
      while (from < BINS && this.filters[m * BINS + from] === 0) from++;
      let to = BINS;
      while (to > from && this.filters[m * BINS + to - 1] === 0) to--;
      this.bands.push({ from, to });
    }
  }
}

let tables: Tables | null = null;

/**
 * Log-mel of `audio` (16 kHz, float samples) followed by silence up to `contextSamples` (the
 * encoder context; 0 = the audio itself). Returns row-major (80, 2C) float32 with 2C mel frames,
 * C = encoder frames of the context.
 */
export function logMel(audio: Float32Array, contextSamples = 0, nMels = 80): { data: Float32Array; melFrames: number } {
  if (!tables || tables.nMels !== nMels) tables = new Tables(nMels);
  const t = tables;
  const total = encoderFrames(Math.max(audio.length, contextSamples)) * SAMPLES_PER_FRAME;
  const frames = total / HOP;
  const pad = N_FFT / 2;
  // reflect-padded signal: x[-i] = x[i], x[total-1+i] = x[total-1-i]; zeros past the audio
  const x = new Float64Array(total + 2 * pad);
  for (let i = 0; i < audio.length; i++) x[pad + i] = audio[i];
  for (let i = 1; i <= pad; i++) {
    x[pad - i] = x[pad + i];
    x[pad + total - 1 + i] = x[pad + total - 1 - i];
  }
  const mel = new Float64Array(nMels * frames);
  const frame = new Float64Array(N_FFT);
  const power = new Float64Array(BINS);
  let max = -Infinity;
  for (let f = 0; f < frames; f++) {
    let silent = true;
    for (let n = 0; n < N_FFT; n++) {
      frame[n] = x[f * HOP + n] * t.window[n];
      if (frame[n] !== 0) silent = false;
    }
    if (silent) {
      power.fill(0); // the context's silence: no DFT needed
    } else {
      t.fft.real(frame);
      for (let k = 0; k < BINS; k++) power[k] = t.fft.re[k] * t.fft.re[k] + t.fft.im[k] * t.fft.im[k];
    }
    for (let m = 0; m < nMels; m++) {
      const { from, to } = t.bands[m];
      let s = 0;
      for (let k = from; k < to; k++) s += t.filters[m * BINS + k] * power[k];
      const v = Math.log10(Math.max(s, 1e-10));
      mel[m * frames + f] = v;
      if (v > max) max = v;
    }
  }
  const data = new Float32Array(nMels * frames);
  const floor = max - 8;
  for (let i = 0; i < data.length; i++) data[i] = (Math.max(mel[i], floor) + 4) / 4;
  return { data, melFrames: frames };
}
