/**
 * Valence -> sentiment label with the manifest's neutral band, and a confidence in 0..1.
 *
 * Confidence is how deep valence sits inside its class, scaled to the class's width:
 * - NEUTRAL: distance to the nearer band edge / half the band width (1 at the band's centre,
 *   0 on an edge);
 * - POSITIVE: (valence - band high) / (valenceMax - band high), clipped to 0..1;
 * - NEGATIVE: (band low - valence) / (band low - valenceMin), clipped to 0..1.
 * It is a distance from the decision boundary, not a calibrated probability.
 */
import type { SentimentLabel } from '../core/types.js';
import type { ModelManifest } from './manifest.js';

/** The label rule's inputs: `ModelManifest['labels']`. */
export type LabelScale = ModelManifest['labels'];

export function labelFor(valence: number, scale: LabelScale): { label: SentimentLabel; confidence: number } {
  const [lo, hi] = scale.neutralBand;
  const clip = (x: number): number => Math.min(1, Math.max(0, x));
  if (valence < lo) return { label: 'NEGATIVE', confidence: clip((lo - valence) / (lo - scale.valenceMin)) };
  if (valence > hi) return { label: 'POSITIVE', confidence: clip((valence - hi) / (scale.valenceMax - hi)) };
  const half = (hi - lo) / 2;
  // A zero-width band has no inside: a valence exactly on it is as unsure as it gets.
  return { label: 'NEUTRAL', confidence: half > 0 ? clip(Math.min(valence - lo, hi - valence) / half) : 0 };
}
