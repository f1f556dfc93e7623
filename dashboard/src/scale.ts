/**
 * Axes of the timeline charts, as pure functions (unit-tested in test/dashboard/scale.test.ts).
 *
 * Valence: the model's scale is -3..+3, but real calls mostly stay within about ±1, and a fixed
 * -3..+3 axis drew them as a flat line. The axis spans what is shown, widened to keep the
 * neutral band (±0.5) in view, padded a little, and never beyond -3..+3.
 * Time: event time since the call started, ticks at round steps (5 s, 10 s, 30 s, 1 min ...).
 */

/** The neutral band's edges (the manifest's NEUTRAL label). */
export const NEUTRAL_BAND = 0.5;
const LIMIT = 3;
const VALENCE_STEPS = [0.25, 0.5, 1, 2];
const TIME_STEPS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];

export interface Domain {
  lo: number;
  hi: number;
}

/** The valence axis for these values: their spread plus the neutral band, padded 10 %. */
export function valenceDomain(values: number[]): Domain {
  let lo = -NEUTRAL_BAND;
  let hi = NEUTRAL_BAND;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const pad = (hi - lo) * 0.1;
  return { lo: Math.max(-LIMIT, lo - pad), hi: Math.min(LIMIT, hi + pad) };
}

/** Round valence values to label the axis with: at most `max` of them, 0 always among them. */
export function valenceTicks(d: Domain, max: number): number[] {
  const step = VALENCE_STEPS.find((s) => Math.floor(d.hi / s) - Math.ceil(d.lo / s) + 1 <= Math.max(2, max)) ?? LIMIT;
  const out: number[] = [];
  for (let k = Math.ceil(d.lo / step); k * step <= d.hi + 1e-9; k++) out.push(Number((k * step).toFixed(2)));
  return out;
}

/** Tick times (ms since the unix epoch) for [t0, t1], at round offsets from `origin`, at most `max`. */
export function timeTicks(t0: number, t1: number, origin: number, max: number): number[] {
  const span = Math.max(1, t1 - t0);
  const stepMs = 1000 * (TIME_STEPS_S.find((s) => span / (s * 1000) <= Math.max(1, max - 1)) ?? TIME_STEPS_S.at(-1)!);
  const out: number[] = [];
  for (let t = origin + Math.ceil((t0 - origin) / stepMs) * stepMs; t <= t1; t += stepMs) out.push(t);
  return out;
}

/** `m:ss` (or `h:mm:ss`) of a non-negative offset in ms. */
export function clockOffset(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}
