/**
 * Row <-> domain mapping for the PostgreSQL tables (columns in migrations/0001-initial.ts).
 * node-postgres returns BIGINT as a string (it may exceed 2^53); ids and ms stay far below
 * that, so they are converted with Number and checked.
 */
import type { CallInfo, ModalityState, SegmentScore, SentimentLabel } from '../../core/types.js';

export interface PgScoreRow {
  id: string;
  tenant: string;
  call_id: string;
  channel: string;
  segment_index: number;
  revision: number;
  start_ms: number;
  end_ms: number;
  valence: number;
  label: string;
  confidence: number;
  text_missing: boolean;
  mod_text: string;
  mod_audio: string;
  mod_video: string;
  w_text: number;
  w_audio: number;
  w_video: number;
  text: string | null;
  model_version: string;
  execution_provider: string;
  scored_at: string;
  stored_at_ms: string;
}

export interface PgCallRow {
  tenant: string;
  call_id: string;
  status: string;
  started_at_ms: number;
  ended_at_ms: number | null;
  /** JSONB: node-postgres parses it. */
  channels: string[];
  segment_count: number;
  meta: Record<string, string>;
}

/** Columns of an INSERT into segment_scores, in the order of `scoreValues`. */
export const SCORE_COLUMNS = [
  'tenant', 'call_id', 'channel', 'segment_index', 'revision', 'start_ms', 'end_ms', 'valence', 'label', 'confidence',
  'text_missing', 'mod_text', 'mod_audio', 'mod_video', 'w_text', 'w_audio', 'w_video', 'text', 'model_version',
  'execution_provider', 'scored_at', 'stored_at_ms',
] as const;

export function scoreValues(s: SegmentScore, storedAtMs: number): unknown[] {
  return [
    s.tenant, s.callId, s.channel, s.segmentIndex, s.revision, s.startMs, s.endMs, s.valence, s.label, s.confidence,
    s.textMissing, s.modalities.text, s.modalities.audio, s.modalities.video, s.modalityWeights.text, s.modalityWeights.audio,
    s.modalityWeights.video, s.text, s.modelVersion, s.executionProvider, s.scoredAt, storedAtMs,
  ];
}

/** A BIGINT column as a JS number (exact: these values stay below 2^53). */
export function bigintToNumber(v: string | number): number {
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isSafeInteger(n)) throw new RangeError(`bigint ${v} is outside the safe integer range`);
  return n;
}

export function pgRowToScore(r: PgScoreRow): SegmentScore {
  return {
    callId: r.call_id,
    tenant: r.tenant,
    channel: r.channel,
    segmentIndex: r.segment_index,
    revision: r.revision,
    startMs: r.start_ms,
    endMs: r.end_ms,
    valence: r.valence,
    label: r.label as SentimentLabel,
    confidence: r.confidence,
    textMissing: r.text_missing,
    modalities: { text: r.mod_text as ModalityState, audio: r.mod_audio as ModalityState, video: r.mod_video as ModalityState },
    modalityWeights: { text: r.w_text, audio: r.w_audio, video: r.w_video },
    text: r.text,
    modelVersion: r.model_version,
    executionProvider: r.execution_provider,
    scoredAt: r.scored_at,
  };
}

export function pgRowToCall(r: PgCallRow): CallInfo {
  return {
    callId: r.call_id,
    tenant: r.tenant,
    status: r.status as CallInfo['status'],
    startedAtMs: r.started_at_ms,
    endedAtMs: r.ended_at_ms,
    channels: [...r.channels],
    segmentCount: r.segment_count,
    meta: { ...r.meta },
  };
}
