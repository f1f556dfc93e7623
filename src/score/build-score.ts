/**
 * Joins a segment (who, when, which modalities arrived) with the model's output (how it felt)
 * into the SegmentScore that is stored, published and queried.
 */
import type { ScorerInfo } from '../core/ports.js';
import type { ModalityFlags, ModelOutput, Segment, SegmentScore, SentimentLabel } from '../core/types.js';

/** Maps valence to a class and a 0..1 confidence (the scorer's labeler, from the model manifest). */
export type Labeler = (valence: number) => { label: SentimentLabel; confidence: number };

/** Which modalities a score rests on (the scorer's rule: src/score/features.ts modalityFlags). */
export type FlagRule = (segment: Segment) => ModalityFlags;

export function buildScore(segment: Segment, output: ModelOutput, info: ScorerInfo, rules: { labeler: Labeler; flags: FlagRule }, at: Date): SegmentScore {
  const modalities = rules.flags(segment);
  const { label, confidence } = rules.labeler(output.valence);
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
    // modalities.text stays SIMULATED for recognised words: the platform sent no transcript.
    textSource: output.textSource,
    recognisedText: output.textSource === 'RECOGNISED' ? output.recognisedText : null,
    utteranceIds: segment.utteranceIds ?? [],
    talk: segment.talk ?? null,
    modelVersion: info.modelVersion,
    executionProvider: info.executionProvider,
    scoredAt: at.toISOString(),
  };
}
