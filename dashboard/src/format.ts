/** Text for numbers and labels: every colour in the UI has words or a shape next to it. */
import type { Label, Score } from './types.js';

export const fmt = (x: number | null | undefined, digits = 2): string => (x === null || x === undefined || !Number.isFinite(x) ? '–' : (x > 0 ? '+' : '') + x.toFixed(digits));

/** Same neutral band as the model manifest ([-0.5, 0.5]). */
export function labelOf(v: number): Label {
  return v < -0.5 ? 'NEGATIVE' : v > 0.5 ? 'POSITIVE' : 'NEUTRAL';
}

/** A shape glyph per label, so the label reads without colour. */
export const LABEL_GLYPH: Record<Label, string> = { NEGATIVE: '▼', NEUTRAL: '●', POSITIVE: '▲' };
export const LABEL_WORD: Record<Label, string> = { NEGATIVE: 'negative', NEUTRAL: 'neutral', POSITIVE: 'positive' };

export const RULE_WORD: Record<string, string> = {
  ROLLING_BELOW: 'Rolling mean low',
  SUSTAINED_NEGATIVE: 'Sustained negative',
  SHARP_DROP: 'Sharp drop',
};

export const time = (ms: number | string | null): string => {
  if (ms === null) return '–';
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? '–' : d.toLocaleTimeString([], { hour12: false });
};

export const dateTime = (ms: number | string | null): string => {
  if (ms === null) return '–';
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? '–' : `${d.toLocaleDateString()} ${d.toLocaleTimeString([], { hour12: false })}`;
};

/** Where a score's text came from, in words (SDL TextSource), with the recognised words. */
export function textSourceText(s: Pick<Score, 'textSource' | 'recognisedText'>): string {
  switch (s.textSource) {
    case 'PLATFORM':
      return 'transcript from the call platform';
    case 'RECOGNISED':
      return `words recognised here: “${s.recognisedText ?? ''}”`;
    case 'SIMULATED':
      return 'no transcript: text simulated from audio';
    default:
      return 'no text';
  }
}

/** Talk figures (TalkTable). Seconds with one decimal: talk times are whole 20 ms VAD frames. */
export const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
export const percent = (share: number): string => `${Math.round(share * 100)}%`;
/** Words per minute, or why there is none (no transcript or recognised words on the channel). */
export const wpm = (x: number | null): string => (x === null ? 'no words' : `${Math.round(x)}`);
export const dbfs = (x: number | null): string => (x === null ? '–' : `${x.toFixed(1)} dBFS`);
