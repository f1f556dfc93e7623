/** SQLite rows (column types as better-sqlite3 returns them) and their mapping; shared columns in rows.ts. */
import { textSourceOf, type CallInfo, type SegmentScore, type SegmentTalk } from '../core/types.js';
import { callFromColumns, type CallRowBase, scoreFromColumns, type ScoreRowBase } from './rows.js';

export interface ScoreRow extends ScoreRowBase {
  id: number;
  /** 0 or 1. */
  text_missing: number;
  stored_at_ms: number;
  /** JSON text; null on rows stored before migration 0004 and when the score has no ids. */
  utterance_ids: string | null;
  /** JSON SegmentTalk; null before migration 0004 and for segments without audio. */
  talk: string | null;
}

export interface CallRow extends CallRowBase {
  /** JSON text. */
  channels: string;
  /** JSON text. */
  meta: string;
  updated_at_ms: number;
}

/** Named parameters for the INSERT of a score (better-sqlite3 binds `@name`). */
export function scoreParams(s: SegmentScore, storedAtMs: number): Omit<ScoreRow, 'id'> {
  return {
    tenant: s.tenant,
    call_id: s.callId,
    channel: s.channel,
    segment_index: s.segmentIndex,
    revision: s.revision,
    start_ms: s.startMs,
    end_ms: s.endMs,
    valence: s.valence,
    label: s.label,
    confidence: s.confidence,
    text_missing: s.textMissing ? 1 : 0,
    mod_text: s.modalities.text,
    mod_audio: s.modalities.audio,
    mod_video: s.modalities.video,
    w_text: s.modalityWeights.text,
    w_audio: s.modalityWeights.audio,
    w_video: s.modalityWeights.video,
    text: s.text,
    model_version: s.modelVersion,
    execution_provider: s.executionProvider,
    scored_at: s.scoredAt,
    stored_at_ms: storedAtMs,
    text_source: textSourceOf(s),
    recognised_text: s.recognisedText ?? null,
    utterance_ids: s.utteranceIds?.length ? JSON.stringify(s.utteranceIds) : null,
    talk: s.talk ? JSON.stringify(s.talk) : null,
  };
}

export function rowToScore(r: ScoreRow): SegmentScore {
  return scoreFromColumns({
    ...r,
    text_missing: r.text_missing === 1,
    utterance_ids: r.utterance_ids === null ? null : (JSON.parse(r.utterance_ids) as string[]),
    talk: r.talk === null ? null : (JSON.parse(r.talk) as SegmentTalk),
  });
}

export function rowToCall(r: CallRow): CallInfo {
  return callFromColumns({ ...r, channels: JSON.parse(r.channels) as string[], meta: JSON.parse(r.meta) as Record<string, string> });
}
