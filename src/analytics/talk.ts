/**
 * Talk analytics of a call (in the manner of Amazon Contact Lens, but live): pure functions over
 * the talk measures the window stored with each score (core/types.ts SegmentTalk). No I/O, no
 * clock: the API, the call summary and the tests read the same numbers from the same scores.
 *
 * Definitions, over the LATEST revision of each segment:
 * - span: from the first segment's start to the last segment's end, any channel (ms). Stretches
 *   where nobody spoke at all make no segment, so the span is the part of the call the window
 *   heard between the first and the last words.
 * - talk time of a channel: the union of its segments' speech intervals (VAD, padded by 100 ms
 *   on each side, pauses under 400 ms inside), ms. Speech under minSegmentMs that made no segment
 *   is not counted.
 * - talk share = talk time / span; silence share = 1 - talk share (the channel's own silence).
 *   The call's non-talk share: the share of the span where no channel speaks.
 * - overlap of a channel: time it speaks while another channel speaks (ms); the call's overlap:
 *   time two or more channels speak at once.
 * - interruptions of a channel: its talk spans (intervals after merging the ones that touch)
 *   that start while another channel is speaking.
 * - words per minute: words of the channel's segments whose words are known (the platform's
 *   transcript, else the recogniser's words) / the speech minutes of those segments; null when
 *   no segment with speech has words. A word: a whitespace-separated token with a letter or digit.
 * - loudness over speech: mean power 10 log10(sum x^2 / n) and peak 20 log10(max |x|) in dBFS
 *   (full scale = 1.0), floored at -120 dBFS; null when the channel has no speech samples.
 */
import type { SegmentScore, SegmentTalk } from '../core/types.js';
import { latestRevisions } from './stats.js';

/** Lowest loudness reported, dBFS (digital silence would be -Infinity). */
export const DBFS_FLOOR = -120;

/** Just what talk analytics read from a score. */
export type TalkPoint = Pick<SegmentScore, 'channel' | 'segmentIndex' | 'revision' | 'valence' | 'textMissing' | 'startMs' | 'endMs' | 'text' | 'recognisedText' | 'talk'>;

export interface ChannelTalk {
  channel: string;
  talkTimeMs: number;
  talkShare: number;
  silenceShare: number;
  overlapMs: number;
  interruptions: number;
  /** Words counted for the speaking rate (0 when no words are known). */
  words: number;
  wordsPerMinute: number | null;
  meanDbfs: number | null;
  peakDbfs: number | null;
}

export interface TalkAnalytics {
  spanMs: number;
  nonTalkShare: number;
  overlapMs: number;
  /** One entry per channel with at least one scored segment, sorted by channel. */
  channels: ChannelTalk[];
}

type Span = [number, number];

/** Sorted, merged union of intervals (intervals that touch become one). */
export function union(spans: Span[]): Span[] {
  const sorted = [...spans].sort((a, b) => a[0] - b[0]);
  const out: Span[] = [];
  for (const [s, e] of sorted) {
    const last = out[out.length - 1];
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else out.push([s, e]);
  }
  return out;
}

const total = (spans: Span[]): number => spans.reduce((n, [s, e]) => n + (e - s), 0);

/** Intersection of two sorted unions. */
function intersect(a: Span[], b: Span[]): Span[] {
  const out: Span[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const s = Math.max(a[i][0], b[j][0]);
    const e = Math.min(a[i][1], b[j][1]);
    if (e > s) out.push([s, e]);
    if (a[i][1] < b[j][1]) i++;
    else j++;
  }
  return out;
}

/** True when `t` lies inside one of the sorted spans (start included, end excluded). */
const inside = (spans: Span[], t: number): boolean => spans.some(([s, e]) => t >= s && t < e);

export function countWords(text: string | null | undefined): number {
  if (!text) return 0;
  return text.split(/\s+/).filter((w) => /[\p{L}\p{N}]/u.test(w)).length;
}

const dbfs = (x: number): number => Math.max(DBFS_FLOOR, x);

/** Talk analytics of one call from its scores (any revisions; the latest of each segment counts). */
export function talkAnalytics(scores: Iterable<TalkPoint>): TalkAnalytics {
  const latest = latestRevisions(scores);
  const by = new Map<string, TalkPoint[]>();
  let first = Infinity;
  let last = -Infinity;
  for (const p of latest) {
    first = Math.min(first, p.startMs);
    last = Math.max(last, p.endMs);
    const list = by.get(p.channel);
    if (list) list.push(p);
    else by.set(p.channel, [p]);
  }
  const spanMs = latest.length ? last - first : 0;
  const speech = new Map<string, Span[]>();
  for (const [ch, points] of by) speech.set(ch, union(points.flatMap((p) => (p.talk?.speech ?? []).map(([s, e]): Span => [s, e]))));

  const channels: ChannelTalk[] = [];
  for (const [ch, points] of by) {
    const mine = speech.get(ch)!;
    const others = union([...speech].filter(([c]) => c !== ch).flatMap(([, s]) => s));
    const talkTimeMs = total(mine);
    const talkShare = spanMs > 0 ? talkTimeMs / spanMs : 0;
    channels.push({
      channel: ch,
      talkTimeMs,
      talkShare,
      silenceShare: 1 - talkShare,
      overlapMs: total(intersect(mine, others)),
      interruptions: mine.filter(([s]) => inside(others, s)).length,
      ...speakingRate(points),
      ...loudness(points.map((p) => p.talk).filter((t): t is SegmentTalk => !!t)),
    });
  }
  channels.sort((a, b) => (a.channel < b.channel ? -1 : a.channel > b.channel ? 1 : 0));

  const all = union([...speech.values()].flat());
  const lists = [...speech.values()];
  const pairs: Span[] = [];
  for (let i = 0; i < lists.length; i++) for (let j = i + 1; j < lists.length; j++) pairs.push(...intersect(lists[i], lists[j]));
  return {
    spanMs,
    nonTalkShare: spanMs > 0 ? 1 - total(all) / spanMs : 0,
    overlapMs: total(union(pairs)),
    channels,
  };
}

function speakingRate(points: TalkPoint[]): { words: number; wordsPerMinute: number | null } {
  let words = 0;
  let ms = 0;
  for (const p of points) {
    const n = countWords(p.text ?? p.recognisedText);
    const talk = p.talk ? total(p.talk.speech) : 0;
    if (n === 0 || talk <= 0) continue;
    words += n;
    ms += talk;
  }
  return { words, wordsPerMinute: ms > 0 ? words / (ms / 60_000) : null };
}

function loudness(talks: SegmentTalk[]): { meanDbfs: number | null; peakDbfs: number | null } {
  let n = 0;
  let sum = 0;
  let peak = 0;
  for (const t of talks) {
    n += t.speechSamples;
    sum += t.sumSquares;
    peak = Math.max(peak, t.peak);
  }
  if (n === 0) return { meanDbfs: null, peakDbfs: null };
  return { meanDbfs: dbfs(10 * Math.log10(sum / n)), peakDbfs: dbfs(20 * Math.log10(peak)) };
}
