/**
 * The data that flows between stages. Every stage imports from here; nothing here imports a
 * stage. Times are milliseconds of event time (the call's own clock, as the producer stamped it),
 * never wall-clock, unless a name says `wall`.
 */

/** What a media chunk carries. `control` carries call start / call end. */
export type Modality = 'audio' | 'text' | 'video' | 'control';

/** A speaker channel of a call. Free-form, but the product knows these two. */
export type Channel = string;
export const KNOWN_CHANNELS = ['customer', 'agent'] as const;

/** How one modality stands in a scored segment. */
export type ModalityState = 'PRESENT' | 'MISSING' | 'SIMULATED';

export interface ModalityFlags {
  text: ModalityState;
  audio: ModalityState;
  video: ModalityState;
}

/**
 * Where the words a score's text modality rests on came from:
 * - PLATFORM: the call platform's transcript (modalities.text PRESENT);
 * - RECOGNISED: no transcript had arrived, so the speech recogniser turned the segment's audio
 *   into words here and the real text encoder read them (modalities.text SIMULATED: the words
 *   are derived from audio, not sent by the platform);
 * - SIMULATED: no transcript and no recognised words (speech path off, overloaded, out of time,
 *   or it heard no words), so the model simulated the text representation from audio/video;
 * - NONE: no text of any kind.
 */
export type TextSource = 'PLATFORM' | 'RECOGNISED' | 'SIMULATED' | 'NONE';

/** Why a text-missing segment with audio went to the simulated route instead of the recogniser. */
export type SpeechFallback = 'disabled' | 'queue_full' | 'deadline' | 'no_words' | 'error';

/** Sentiment class derived from valence with the thresholds from the model manifest. */
export type SentimentLabel = 'NEGATIVE' | 'NEUTRAL' | 'POSITIVE';

/** Control message kinds (modality = control). */
export type ControlKind = 'call_start' | 'call_end';

/** A chunk after ingest decoded and validated it. The raw Kafka record is never passed on. */
export interface MediaChunkBase {
  callId: string;
  tenant: string;
  channel: Channel;
  /** Monotonic per (call, channel, modality), starting at 0. */
  seq: number;
  /** Event time of the first sample / word / frame, ms since the call's epoch (unix ms). */
  eventTimeMs: number;
  /** Covered duration in ms (0 for control). */
  durationMs: number;
  contractVersion: number;
  /** Where the chunk came from, so offsets can be committed after its scores are stored. */
  source?: ChunkSourceRef;
}

export interface AudioChunk extends MediaChunkBase {
  modality: 'audio';
  /** Mono PCM as float32 in [-1, 1], already resampled by ingest to the model rate (= `sampleRate`). */
  samples: Float32Array;
  sampleRate: number;
}

export interface TextChunk extends MediaChunkBase {
  modality: 'text';
  /** A transcript piece (one utterance or part of one). */
  text: string;
  /** True when the ASR says this piece ends an utterance. */
  final: boolean;
  /**
   * The producer's id of the utterance this piece belongs to (`x-utterance-id`), if it sent one.
   * Pieces with the same id are one ASR result as it grows: each later piece replaces the text
   * of the earlier interim ones (cumulative interim results), so no word is counted twice.
   */
  utteranceId?: string;
}

export interface VideoChunk extends MediaChunkBase {
  modality: 'video';
  /** Row-major [frames, featureDim] float32 facial-expression features. */
  frames: Float32Array;
  featureDim: number;
  fps: number;
}

export interface ControlChunk extends MediaChunkBase {
  modality: 'control';
  kind: ControlKind;
  /** Optional free metadata from call_start (e.g. queue, agent id). */
  meta?: Record<string, string>;
  /** call_start: a name for people to read (`x-display-name`), e.g. "Jane Doe - billing". */
  displayName?: string;
}

export type MediaChunk = AudioChunk | TextChunk | VideoChunk | ControlChunk;

/** Identifies where a chunk was read, for offset commits (Kafka) or acks (in-process). */
export interface ChunkSourceRef {
  topic: string;
  partition: number;
  offset: string;
}

/**
 * A window's output: everything the scorer needs for one (call, channel) segment.
 * Lifecycle: open -> sealed -> scored -> stored -> published (see docs/lifecycle.md).
 */
export interface Segment {
  callId: string;
  tenant: string;
  channel: Channel;
  /** 0-based index of the segment within (call, channel). Stable across revisions. */
  index: number;
  /** 0 for the first score; +1 each time a late transcript re-scores it. */
  revision: number;
  startMs: number;
  endMs: number;
  /** Mono float32 PCM at the model's sample rate, or null when no audio arrived. */
  audio: Float32Array | null;
  /** Transcript text, or null when none arrived (the model then simulates it). */
  text: string | null;
  /** Row-major [frames, featureDim] facial features, or null when no video arrived. */
  video: Float32Array | null;
  videoFrames: number;
  /** Chunks that went into this segment, to commit after the score is stored. */
  sources: ChunkSourceRef[];
  /** Wall-clock ms when the segment was sealed (for latency metrics). */
  sealedAtWallMs: number;
  /** Ids of the utterances (x-utterance-id) whose transcript pieces are in `text`, in time order;
   *  absent or empty when the producer sent none. */
  utteranceIds?: string[];
  /** What the window measured of the talk in this segment's audio; null without audio. */
  talk?: SegmentTalk | null;
}

/**
 * The talk measures of one segment, from the window's voice-activity detector and the segment's
 * audio (src/window/talk.ts). Call-level talk analytics (talk time, silence, overlaps, rate,
 * loudness) are computed from these over all channels (src/analytics/talk.ts).
 */
export interface SegmentTalk {
  /** Speech intervals inside the segment, [startMs, endMs) event time, in order, disjoint. */
  speech: [number, number][];
  /** Audio samples inside `speech`, their sum of squares (float PCM in [-1, 1]) and largest |x|. */
  speechSamples: number;
  sumSquares: number;
  peak: number;
}

/** The scorer's output for one segment (no call metadata; the pipeline joins them). */
export interface ModelOutput {
  valence: number;
  /** Modality weights alpha from UMCA stage 1, order text, audio, video; sums to 1. */
  modalityWeights: { text: number; audio: number; video: number };
  /** Where the text the model read came from (see TextSource). */
  textSource: TextSource;
  /** The recogniser's words when textSource is RECOGNISED, else null. */
  recognisedText: string | null;
  /** Set when the segment had no transcript and audio but was not recognised, and why. */
  speechFallback: SpeechFallback | null;
}

/** A scored segment: what is stored, published and queried. Mirrors GraphQL `SegmentScore`. */
export interface SegmentScore {
  callId: string;
  tenant: string;
  channel: Channel;
  segmentIndex: number;
  revision: number;
  startMs: number;
  endMs: number;
  /** -3..+3 */
  valence: number;
  label: SentimentLabel;
  /** 0..1: how far valence sits from the nearest class boundary, scaled (see score/label.ts). */
  confidence: number;
  textMissing: boolean;
  modalities: ModalityFlags;
  modalityWeights: { text: number; audio: number; video: number };
  /** The transcript text the score used, if any. */
  text: string | null;
  /**
   * Where the text came from. Absent only on scores made before it existed (rows stored before
   * migration 0003, records from an older instance): read it with textSourceOf().
   */
  textSource?: TextSource;
  /** Words recognised from the segment's audio when textSource is RECOGNISED, else null/absent. */
  recognisedText?: string | null;
  /** Producer utterance ids (x-utterance-id) of the transcript pieces in this segment; [] or absent when none. */
  utteranceIds?: string[];
  /** Talk measures of the segment (Segment.talk); absent on scores stored before migration 0004. */
  talk?: SegmentTalk | null;
  modelVersion: string;
  executionProvider: string;
  /** Wall-clock ISO time of scoring. */
  scoredAt: string;
}

export type CallStatus = 'ACTIVE' | 'ENDED' | 'TIMED_OUT';

export interface CallInfo {
  callId: string;
  tenant: string;
  status: CallStatus;
  startedAtMs: number;
  endedAtMs: number | null;
  channels: Channel[];
  segmentCount: number;
  meta: Record<string, string>;
  /** The name the producer gave the call (call_start `x-display-name`); null/absent when none. */
  displayName?: string | null;
}

/** A source partition as fencing and the partitioned window name it: "topic/partition". */
export function partitionKey(ref: ChunkSourceRef): string {
  return `${ref.topic}/${ref.partition}`;
}

/**
 * A call's identity is (tenant, callId) in every stage: a call id is only unique within its
 * tenant. This is the key of one call in in-memory maps (window, pipeline tails, commit holds,
 * alert engine). JSON, so no tenant or call id can make two keys equal.
 */
export function callKey(tenant: string, callId: string): string {
  return JSON.stringify([tenant, callId]);
}

/** Alerts are declared in core/alerts.ts (stored, published on the scores topic, queried). */
export type { Alert, AlertRuleKind } from './alerts.js';

/** A score's text source; for scores that predate the field, derived from modalities.text. */
export function textSourceOf(s: Pick<SegmentScore, 'textSource' | 'modalities'>): TextSource {
  if (s.textSource) return s.textSource;
  return s.modalities.text === 'PRESENT' ? 'PLATFORM' : s.modalities.text === 'SIMULATED' ? 'SIMULATED' : 'NONE';
}
