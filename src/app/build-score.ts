/**
 * Joins a segment (who, when, which modalities arrived) with the model's output (how it felt)
 * into the SegmentScore that is stored, published and queried.
 */
import type { ScorerInfo } from '../core/ports.js';
import type { ModalityFlags, ModelOutput, Segment, SegmentScore, SentimentLabel } from '../core/types.js';

/** Maps valence to a class and a 0..1 confidence (the scorer's labeler, from the model manifest). */
export type Labeler = (valence: number) => { label: SentimentLabel; confidence: number };

/**
 * Which modalities a score rests on. Text that did not arrive is SIMULATED from the audio by the
 * model's missing flow; with no audio either there is nothing to simulate it from: MISSING.
 */
export function modalityFlags(segment: Pick<Segment, 'audio' | 'text' | 'video' | 'videoFrames'>): ModalityFlags {
  const hasAudio = segment.audio !== null && segment.audio.length > 0;
  const hasText = segment.text !== null && segment.text.trim() !== '';
  return {
    text: hasText ? 'PRESENT' : hasAudio ? 'SIMULATED' : 'MISSING',
    audio: hasAudio ? 'PRESENT' : 'MISSING',
    video: segment.video !== null && segment.videoFrames > 0 ? 'PRESENT' : 'MISSING',
  };
}

export function buildScore(segment: Segment, output: ModelOutput, info: ScorerInfo, labeler: Labeler, at: Date): SegmentScore {
  const modalities = modalityFlags(segment);
  const { label, confidence } = labeler(output.valence);
  return {
    callId: segment.callId,
    tenant: segment.tenant,
    channel: segment.channel,
    segmentIndex: segment.index,
    revision: segment.revision,
    startMs: segment.startMs,
    endMs: segment.endMs,
    valence: output.valence,
    label,
    confidence,
    textMissing: modalities.text !== 'PRESENT',
    modalities,
    modalityWeights: output.modalityWeights,
    text: modalities.text === 'PRESENT' ? segment.text : null,
    modelVersion: info.modelVersion,
    executionProvider: info.executionProvider,
    scoredAt: at.toISOString(),
  };
}
