/**
 * PostgreSQL rows (column types as node-postgres returns them) and their mapping; shared columns
 * in ../rows.ts.
 * node-postgres returns BIGINT as a string (it may exceed 2^53); ids and ms stay far below
 * that, so they are converted with Number and checked.
 */
import { textSourceOf, type CallInfo, type SegmentScore, type SegmentTalk } from '../../core/types.js';
import { callFromColumns, type CallRowBase, scoreFromColumns, type ScoreRowBase } from '../rows.js';

export interface PgScoreRow extends ScoreRowBase {
  /** BIGINT, as a string. */
  id: string;
  text_missing: boolean;
  /** BIGINT, as a string. */
  stored_at_ms: string;
  /** JSONB (node-postgres parses it); null before migration 0004 and when the score has no ids. */
  utterance_ids: string[] | null;
  /** JSONB SegmentTalk; null before migration 0004 and for segments without audio. */
  talk: SegmentTalk | null;
}

export interface PgCallRow extends CallRowBase {
  /** JSONB: node-postgres parses it. */
  channels: string[];
  meta: Record<string, string>;
}

/** Columns of an INSERT into segment_scores, in the order of `scoreValues`. */
export const SCORE_COLUMNS = [
  'tenant', 'call_id', 'channel', 'segment_index', 'revision', 'start_ms', 'end_ms', 'valence', 'label', 'confidence',
  'text_missing', 'mod_text', 'mod_audio', 'mod_video', 'w_text', 'w_audio', 'w_video', 'text', 'model_version',
  'execution_provider', 'scored_at', 'stored_at_ms', 'text_source', 'recognised_text', 'utterance_ids', 'talk',
] as const;

export function scoreValues(s: SegmentScore, storedAtMs: number): unknown[] {
  return [
    s.tenant, s.callId, s.channel, s.segmentIndex, s.revision, s.startMs, s.endMs, s.valence, s.label, s.confidence,
    s.textMissing, s.modalities.text, s.modalities.audio, s.modalities.video, s.modalityWeights.text, s.modalityWeights.audio,
    s.modalityWeights.video, s.text, s.modelVersion, s.executionProvider, s.scoredAt, storedAtMs, textSourceOf(s), s.recognisedText ?? null,
    // JSONB parameters go as JSON text (node-postgres would send an array as a PostgreSQL array).
    s.utteranceIds?.length ? JSON.stringify(s.utteranceIds) : null, s.talk ? JSON.stringify(s.talk) : null,
  ];
}

/** A BIGINT column as a JS number (exact: these values stay below 2^53). */
export function bigintToNumber(v: string | number): number {
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isSafeInteger(n)) throw new RangeError(`bigint ${v} is outside the safe integer range`);
  return n;
}

export function pgRowToScore(r: PgScoreRow): SegmentScore {
  return scoreFromColumns(r);
}

export function pgRowToCall(r: PgCallRow): CallInfo {
  return callFromColumns(r);
}
