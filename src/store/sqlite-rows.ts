/** Row <-> domain mapping for the SQLite tables (column names in migrations/sqlite/0001-initial.ts, 0003-text-source.ts, 0004-utterances-talk.ts). */
import { textSourceOf, type CallInfo, type ModalityState, type SegmentScore, type SegmentTalk, type SentimentLabel, type TextSource } from '../core/types.js';

export interface ScoreRow {
  id: number;
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
  text_missing: number;
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
  stored_at_ms: number;
  /** Null on rows stored before migration 0003. */
  text_source: string | null;
  recognised_text: string | null;
  /** JSON text; null on rows stored before migration 0004 and when the score has no ids. */
  utterance_ids: string | null;
  /** JSON SegmentTalk; null before migration 0004 and for segments without audio. */
  talk: string | null;
}

export interface CallRow {
  tenant: string;
  call_id: string;
  status: string;
  started_at_ms: number;
  ended_at_ms: number | null;
  channels: string;
  segment_count: number;
  meta: string;
  updated_at_ms: number;
  /** Null before migration 0004 and for calls without one. */
  display_name: string | null;
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

/** The score columns both stores share, with text_missing as a boolean and JSON columns decoded. */
export type ScoreColumns = Omit<ScoreRow, 'id' | 'stored_at_ms' | 'text_missing' | 'utterance_ids' | 'talk'> & {
  text_missing: boolean;
  utterance_ids: string[] | null;
  talk: SegmentTalk | null;
};

/** Columns -> SegmentScore, for every store (each converts its own column types first). */
export function scoreFromColumns(r: ScoreColumns): SegmentScore {
  const modalities = { text: r.mod_text as ModalityState, audio: r.mod_audio as ModalityState, video: r.mod_video as ModalityState };
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
    modalities,
    modalityWeights: { text: r.w_text, audio: r.w_audio, video: r.w_video },
    text: r.text,
    textSource: textSourceOf({ textSource: (r.text_source as TextSource | null) ?? undefined, modalities }),
    recognisedText: r.recognised_text,
    utteranceIds: r.utterance_ids ?? [],
    // Talk measures are internal to the analytics (not a GraphQL field): absent when there are none.
    ...(r.talk ? { talk: r.talk } : {}),
    modelVersion: r.model_version,
    executionProvider: r.execution_provider,
    scoredAt: r.scored_at,
  };
}

/** The call columns both stores share, with channels and meta decoded. */
export type CallColumns = Omit<CallRow, 'channels' | 'meta' | 'updated_at_ms' | 'display_name'> & {
  channels: string[];
  meta: Record<string, string>;
  /** Absent on rows of a store that predates it. */
  display_name?: string | null;
};

export function callFromColumns(r: CallColumns): CallInfo {
  return {
    callId: r.call_id,
    tenant: r.tenant,
    status: r.status as CallInfo['status'],
    startedAtMs: r.started_at_ms,
    endedAtMs: r.ended_at_ms,
    channels: [...r.channels],
    segmentCount: r.segment_count,
    meta: { ...r.meta },
    displayName: r.display_name ?? null,
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
