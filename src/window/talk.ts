/**
 * The talk measures of one segment (core/types.ts SegmentTalk): where its channel spoke, by the
 * window's voice-activity detector, and how loud that speech was. Measured when the segment is
 * cut, while the VAD still holds the intervals that end inside it; call-level talk analytics
 * (talk time, silence, overlaps, speaking rate, loudness) are computed from these in
 * src/analytics/talk.ts.
 *
 * Speech intervals are the VAD's talk spans (padded by `vad.padMs` on each side, pauses shorter
 * than `vad.talkHangoverMs` (400 ms) inside: not the segmentation's 800 ms hangover, so a pause
 * between two sentences of a turn still counts as silence), clipped to the segment. Loudness reads the samples inside them.
 */
import type { SegmentTalk } from '../core/types.js';
import type { AudioTrack } from './audio-track.js';

/** Talk measures of [aMs, bMs) of a channel's audio; the VAD must not have dropped them yet. */
export function measureTalk(track: AudioTrack, aMs: number, bMs: number): SegmentTalk {
  const intervals = [...track.vad.talkClosed];
  const open = track.vad.openTalk();
  if (open) intervals.push(open);
  const speech: [number, number][] = [];
  let speechSamples = 0;
  let sumSquares = 0;
  let peak = 0;
  for (const iv of intervals) {
    const s = Math.max(iv.startMs, aMs);
    const e = Math.min(iv.endMs, bMs);
    if (e <= s) continue;
    const last = speech[speech.length - 1];
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else speech.push([s, e]);
    const x = track.view(s, e);
    speechSamples += x.length;
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      sumSquares += v * v;
      const m = v < 0 ? -v : v;
      if (m > peak) peak = m;
    }
  }
  return { speech, speechSamples, sumSquares, peak };
}
