/**
 * Straightforward reference computations, written from the definitions in the docs and SDL
 * without sharing code with src/analytics, so the tests compare two independent versions.
 */
import type { SegmentScore } from '../../src/core/types.js';

export type Pt = Pick<SegmentScore, 'channel' | 'segmentIndex' | 'revision' | 'valence' | 'textMissing'>;

/** Latest revision per (channel, index): sort each group by revision, take the last. */
export function refLatest<T extends Pt>(scores: T[], channel: string): T[] {
  const idx = [...new Set(scores.filter((s) => s.channel === channel).map((s) => s.segmentIndex))].sort((a, b) => a - b);
  return idx.map((i) => scores.filter((s) => s.channel === channel && s.segmentIndex === i).sort((a, b) => a.revision - b.revision).at(-1) as T);
}

const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export function refChannel(scores: Pt[], channel: string) {
  const pts = refLatest(scores, channel);
  const v = pts.map((p) => p.valence);
  const n = v.length;
  const k = Math.floor(n / 3);
  return {
    channel,
    segments: n,
    meanValence: avg(v),
    minValence: Math.min(...v),
    maxValence: Math.max(...v),
    rollingValence: avg(v.slice(-5)),
    trend: k === 0 ? null : avg(v.slice(n - k)) - avg(v.slice(0, k)),
    textMissingShare: pts.filter((p) => p.textMissing).length / n,
  };
}

export interface RefRules {
  rolling: { enabled: boolean; threshold: number; window: number };
  sustained: { enabled: boolean; threshold: number; segments: number };
  drop: { enabled: boolean; drop: number; within: number };
}

/** Whether each rule holds at position i of v, by brute force. */
export function refHolds(v: number[], i: number, r: RefRules): Record<'ROLLING_BELOW' | 'SUSTAINED_NEGATIVE' | 'SHARP_DROP', boolean> {
  const w = r.rolling.window;
  const n = r.sustained.segments;
  const before = v.slice(Math.max(0, i - r.drop.within), i);
  return {
    ROLLING_BELOW: r.rolling.enabled && i >= w - 1 && avg(v.slice(i - w + 1, i + 1)) < r.rolling.threshold,
    SUSTAINED_NEGATIVE: r.sustained.enabled && i >= n - 1 && v.slice(i - n + 1, i + 1).every((x) => x < r.sustained.threshold),
    SHARP_DROP: r.drop.enabled && before.length > 0 && Math.max(...before) - v[i] >= r.drop.drop,
  };
}
