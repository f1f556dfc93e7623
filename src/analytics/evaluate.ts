/**
 * Rule conditions as pure functions over one channel's valence series (latest revisions, in
 * segmentIndex order). `conditionSeries` says, position by position, whether a rule holds there
 * and the measured value; `episodes` groups consecutive holding positions. The alert engine
 * raises one alert per episode (engine.ts), so a rule that stays true does not re-fire on every
 * segment.
 */
import type { AlertRuleKind, AlertRules } from './rules.js';

/** Where a rule holds: the value it measured (rolling mean, highest valence of the run, drop size). */
export type Condition = { value: number; threshold: number } | null;

/** Evaluates one rule at every position of `v` (valences in segment order). */
export function conditionSeries(v: number[], rules: AlertRules, kind: AlertRuleKind): Condition[] {
  const out: Condition[] = new Array(v.length).fill(null);
  switch (kind) {
    case 'ROLLING_BELOW': {
      const { enabled, threshold, window: w } = rules.rollingBelow;
      if (!enabled) return out;
      // A full window only: one bad opening segment is not a "rolling" mood. The window is summed
      // afresh at each position (w <= 50) so no drift accumulates, as a running sum would.
      for (let i = w - 1; i < v.length; i++) {
        let sum = 0;
        for (let j = i - w + 1; j <= i; j++) sum += v[j];
        if (sum / w < threshold) out[i] = { value: sum / w, threshold };
      }
      return out;
    }
    case 'SUSTAINED_NEGATIVE': {
      const { enabled, threshold, segments: n } = rules.sustainedNegative;
      if (!enabled) return out;
      let run = 0;
      for (let i = 0; i < v.length; i++) {
        run = v[i] < threshold ? run + 1 : 0;
        if (run >= n) {
          let hi = -Infinity;
          for (let j = i - n + 1; j <= i; j++) hi = Math.max(hi, v[j]);
          out[i] = { value: hi, threshold };
        }
      }
      return out;
    }
    case 'SHARP_DROP': {
      const { enabled, drop, withinSegments: y } = rules.sharpDrop;
      if (!enabled) return out;
      for (let i = 1; i < v.length; i++) {
        let hi = -Infinity;
        for (let j = Math.max(0, i - y); j < i; j++) hi = Math.max(hi, v[j]);
        if (hi - v[i] >= drop) out[i] = { value: hi - v[i], threshold: drop };
      }
      return out;
    }
  }
}

/** A maximal run of positions where a rule holds; `value` is the one measured at `start`. */
export interface Episode {
  start: number;
  end: number;
  value: number;
  threshold: number;
}

/** Groups consecutive holding positions into episodes, in order. */
export function episodes(conds: Condition[]): Episode[] {
  const out: Episode[] = [];
  for (let i = 0; i < conds.length; i++) {
    const c = conds[i];
    if (!c) continue;
    const last = out[out.length - 1];
    if (last && last.end === i - 1) last.end = i;
    else out.push({ start: i, end: i, value: c.value, threshold: c.threshold });
  }
  return out;
}

/** Every rule kind, in the order alerts are raised when several fire on one score. */
export const RULE_KINDS: readonly AlertRuleKind[] = ['SHARP_DROP', 'SUSTAINED_NEGATIVE', 'ROLLING_BELOW'];
