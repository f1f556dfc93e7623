/**
 * Call analytics as pure functions over stored scores. No I/O, no clock: the same scores always
 * give the same numbers, so the API, the alert engine and the tests agree by construction.
 *
 * Definitions (per call and channel, over the LATEST revision of each segment, in segmentIndex
 * order, which is event-time order within a channel):
 * - mean / min / max valence: over all segments of the channel (valence is -3..+3).
 * - rolling valence: the mean of the last `ROLLING_WINDOW` segments (fewer at the start of a
 *   call). A plain last-N mean, not an EMA, so a supervisor can check it by eye on the chart.
 * - trend: with n segments and k = floor(n / 3), mean of the last k minus mean of the first k
 *   ("closing third minus opening third"); null when n < 3 (no thirds to compare).
 *   Positive = the call got better.
 * - textMissingShare: segments scored without a transcript / segments (0..1).
 */
import type { ChannelAnalytics } from '../core/alerts.js';
import type { SegmentScore } from '../core/types.js';

/** Segments in the rolling valence window (last-N mean). */
export const ROLLING_WINDOW = 5;

/** Just what the analytics read from a score. */
export type ScorePoint = Pick<SegmentScore, 'channel' | 'segmentIndex' | 'revision' | 'valence' | 'textMissing'>;

/** Summary analytics of one channel of a call (declared in core: the alert store keeps it). */
export type { ChannelAnalytics } from '../core/alerts.js';

/**
 * Keeps the highest revision of each (channel, segmentIndex), sorted by channel, then index.
 * Repeats of the same key collapse to one.
 */
export function latestRevisions<T extends ScorePoint>(scores: Iterable<T>): T[] {
  const best = new Map<string, T>();
  for (const s of scores) {
    const key = `${s.channel}\u0000${s.segmentIndex}`;
    const prev = best.get(key);
    if (!prev || s.revision > prev.revision) best.set(key, s);
  }
  return [...best.values()].sort((a, b) => (a.channel < b.channel ? -1 : a.channel > b.channel ? 1 : a.segmentIndex - b.segmentIndex));
}

function mean(xs: number[]): number {
  let sum = 0;
  for (const x of xs) sum += x;
  return sum / xs.length;
}

/** Mean of the last `window` values (all of them when there are fewer). Empty input: NaN. */
export function rollingMean(values: number[], window = ROLLING_WINDOW): number {
  return mean(values.slice(Math.max(0, values.length - window)));
}

/** Closing-third mean minus opening-third mean (see the file comment); null when n < 3. */
export function trend(values: number[]): number | null {
  const k = Math.floor(values.length / 3);
  if (k === 0) return null;
  return mean(values.slice(values.length - k)) - mean(values.slice(0, k));
}

/** Analytics of one channel from its points, already latest-only and in segmentIndex order. */
export function channelAnalytics(channel: string, points: ScorePoint[]): ChannelAnalytics | null {
  if (points.length === 0) return null;
  const v = points.map((p) => p.valence);
  let min = Infinity;
  let max = -Infinity;
  for (const x of v) {
    if (x < min) min = x;
    if (x > max) max = x;
  }
  return {
    channel,
    segments: v.length,
    meanValence: mean(v),
    minValence: min,
    maxValence: max,
    rollingValence: rollingMean(v),
    trend: trend(v),
    textMissingShare: points.filter((p) => p.textMissing).length / points.length,
  };
}

/** Analytics of every channel of a call that has at least one score, sorted by channel name. */
export function callAnalytics(scores: Iterable<ScorePoint>): ChannelAnalytics[] {
  const latest = latestRevisions(scores);
  const byChannel = new Map<string, ScorePoint[]>();
  for (const p of latest) {
    const list = byChannel.get(p.channel);
    if (list) list.push(p);
    else byChannel.set(p.channel, [p]);
  }
  const out: ChannelAnalytics[] = [];
  for (const [channel, points] of byChannel) {
    const a = channelAnalytics(channel, points);
    if (a) out.push(a);
  }
  return out;
}
