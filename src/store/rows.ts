/**
 * Row -> domain mapping shared by every dialect: the columns whose JS types agree (ScoreRowBase,
 * CallRowBase; names in migrations/sqlite/0001-initial.ts and postgres/migrations/0001-initial.ts
 * and their later migrations) and the one mapping to SegmentScore and CallInfo. Each dialect's
 * rows file adds the columns its driver returns differently (ids, booleans, JSON).
 */
import { textSourceOf, type CallInfo, type ModalityState, type SegmentScore, type SegmentTalk, type SentimentLabel, type TextSource } from '../core/types.js';

/** The score columns every dialect returns with the same JS types. */
export interface ScoreRowBase {
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
  /** Null on rows stored before migration 0003. */
  text_source: string | null;
  recognised_text: string | null;
}

/** The call columns every dialect returns with the same JS types. */
export interface CallRowBase {
  tenant: string;
  call_id: string;
  status: string;
  started_at_ms: number;
  ended_at_ms: number | null;
  segment_count: number;
  /** Null before migration 0004 and for calls without one. */
  display_name: string | null;
}

/** A score row with text_missing as a boolean and JSON columns decoded (each dialect converts its own types first). */
export type ScoreColumns = ScoreRowBase & {
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

/** A call row with channels and meta decoded. */
export type CallColumns = CallRowBase & {
  channels: string[];
  meta: Record<string, string>;
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
