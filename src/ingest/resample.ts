/**
 * Sample-rate conversion by a polyphase windowed-sinc filter (Kaiser window), for any rational
 * ratio (8 kHz telephone audio -> the model's 16 kHz is the case that matters).
 *
 * Why not linear interpolation: when upsampling it leaves images of the 0-4 kHz band above 4 kHz,
 * which the model's log-mel front-end (fMax 7600 Hz) would see as energy telephone audio never
 * has. The filter here passes 0..0.9 x the lower Nyquist (3.6 kHz for telephone audio, whose band ends at 3.4 kHz) and rejects images by > 80 dB.
 *
 * Chunks are resampled one at a time (decode is stateless), so the filter's edges use a mirror
 * of the chunk itself: continuous for slowly varying signals, a small error within
 * `HALF_ZERO_CROSSINGS` input samples of each chunk edge otherwise (1 ms at 8 kHz).
 */

/** Zero crossings of the sinc on each side of the centre (filter half-length, input samples). */
export const HALF_ZERO_CROSSINGS = 8;
/** Kaiser window beta: ~80 dB stop-band attenuation. */
const KAISER_BETA = 8;
/** Pass-band edge as a fraction of the lower of the two Nyquist frequencies. */
const ROLLOFF = 0.9;

interface Kernel {
  /** Upsampling factor (output step). */
  up: number;
  /** Downsampling factor (input step). */
  down: number;
  /** Taps per phase: a phase's taps cover input offsets [-width + 1, width]. */
  width: number;
  /** [up][2 * width] taps, each phase normalised to unit DC gain. */
  phases: Float32Array[];
}

const kernels = new Map<string, Kernel>();

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Modified Bessel function of the first kind, order 0 (series; converges fast for beta <= 20). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  for (let k = 1; k < 50; k++) {
    term *= (x / (2 * k)) ** 2;
    sum += term;
    if (term < 1e-12 * sum) break;
  }
  return sum;
}

function kernelFor(fromRate: number, toRate: number): Kernel {
  const key = `${fromRate}:${toRate}`;
  const cached = kernels.get(key);
  if (cached) return cached;
  const g = gcd(fromRate, toRate);
  const up = toRate / g;
  const down = fromRate / g;
  // Cut-off relative to the input's Nyquist: below 1 when downsampling (anti-aliasing).
  const cutoff = ROLLOFF * Math.min(1, toRate / fromRate);
  const width = Math.ceil(HALF_ZERO_CROSSINGS / cutoff);
  const i0Beta = besselI0(KAISER_BETA);
  const phases: Float32Array[] = [];
  for (let p = 0; p < up; p++) {
    const frac = p / up;
    const taps = new Float32Array(2 * width);
    let sum = 0;
    for (let k = -width + 1; k <= width; k++) {
      const t = frac - k; // distance (input samples) from the output point to input sample i + k
      const r = t / width;
      const w = Math.abs(r) >= 1 ? 0 : besselI0(KAISER_BETA * Math.sqrt(1 - r * r)) / i0Beta;
      const u = cutoff * t;
      const sinc = u === 0 ? 1 : Math.sin(Math.PI * u) / (Math.PI * u);
      const v = cutoff * sinc * w;
      taps[k + width - 1] = v;
      sum += v;
    }
    for (let j = 0; j < taps.length; j++) taps[j] /= sum;
    phases.push(taps);
  }
  const kernel = { up, down, width, phases };
  kernels.set(key, kernel);
  return kernel;
}

/** Mirror an index into [0, n): -1 -> 1, n -> n - 2 (whole-sample symmetric extension). */
function mirror(j: number, n: number): number {
  if (n === 1) return 0;
  while (j < 0 || j >= n) j = j < 0 ? -j : 2 * n - 2 - j;
  return j;
}

/**
 * Resamples mono float32 PCM from `fromRate` to `toRate` (Hz, positive integers).
 * Output length: floor(input length x toRate / fromRate). Returns the input when rates match.
 */
export function resample(input: Float32Array, fromRate: number, toRate: number): Float32Array {
  return resampleWith(input, fromRate, toRate, true);
}

/** `resample` by the general polyphase loop for every ratio (no 2:1 fast path): what the fast
 *  path must equal bit for bit (test/ingest/resample.test.ts). */
export function resampleGeneral(input: Float32Array, fromRate: number, toRate: number): Float32Array {
  return resampleWith(input, fromRate, toRate, false);
}

function resampleWith(input: Float32Array, fromRate: number, toRate: number, fastPath: boolean): Float32Array {
  if (fromRate === toRate || input.length === 0) return input;
  const { up, down, width, phases } = kernelFor(fromRate, toRate);
  const n = input.length;
  const outLen = Math.floor((n * up) / down);
  const out = new Float32Array(outLen);
  // Mirror-pad once so the inner loop has no edge branches: padded[j + width] = input[mirror(j)].
  const padded = new Float32Array(n + 2 * width + 1);
  for (let j = -width; j < n + width + 1; j++) padded[j + width] = input[mirror(j, n)];
  if (fastPath && up === 2 && down === 1) return doubleRate(padded, phases[0], phases[1], out);
  for (let o = 0; o < outLen; o++) {
    const pos = o * down; // in units of 1/up input samples
    const i = Math.floor(pos / up);
    const taps = phases[pos - i * up];
    const lo = i + 1; // padded index of input[i - width + 1]
    let acc = 0;
    for (let k = 0; k < taps.length; k++) acc += padded[lo + k] * taps[k];
    out[o] = acc;
  }
  return out;
}

/**
 * The 2:1 case (8 kHz telephone audio to the model's 16 kHz, every audio record of a call):
 * outputs 2i (phase 0) and 2i + 1 (phase 1) read the same input window, so one pass over it feeds
 * both sums, which halves the loads of the general loop above (~2x faster in
 * bench/capacity-profile.ts's top stage of the main thread). Each sum adds the same products in
 * the same order as the general loop: the output is bit-identical
 * (test/ingest/resample.test.ts).
 */
function doubleRate(padded: Float32Array, even: Float32Array, odd: Float32Array, out: Float32Array): Float32Array {
  const taps = even.length;
  for (let i = 0, o = 0; o < out.length; i++, o += 2) {
    const lo = i + 1; // padded index of input[i - width + 1]
    let a0 = 0;
    let a1 = 0;
    for (let k = 0; k < taps; k++) {
      const x = padded[lo + k];
      a0 += x * even[k];
      a1 += x * odd[k];
    }
    out[o] = a0;
    out[o + 1] = a1;
  }
  return out;
}
