/**
 * Modality flags of a segment, from what it carries: text PRESENT when a transcript arrived,
 * otherwise SIMULATED when there is audio to simulate it from (the model's missing-text flow),
 * otherwise MISSING; audio and video PRESENT or MISSING.
 */
import type { ModalityFlags, Segment } from '../core/types.js';

export function flagsOf(segment: Pick<Segment, 'text' | 'audio' | 'video'>): ModalityFlags {
  const audio = segment.audio && segment.audio.length > 0 ? 'PRESENT' : 'MISSING';
  return {
    text: segment.text ? 'PRESENT' : audio === 'PRESENT' ? 'SIMULATED' : 'MISSING',
    audio,
    video: segment.video && segment.video.length > 0 ? 'PRESENT' : 'MISSING',
  };
}
