/**
 * The chunk contract on the wire (Kafka record or in-process push), version 1.
 * schema/chunk-contract.md is the prose version; this file holds the names and limits the code
 * uses, so producers (bench, demo, tests) and the decoder cannot drift apart.
 *
 * A record: key = call id (UTF-8); headers = the metadata below (UTF-8 strings); value = payload.
 */

/** The only contract version this server reads. A record with another version is rejected. */
export const CONTRACT_VERSION = 1;

/** Header names. Values are UTF-8 strings (Kafka gives them as Buffers). */
export const H = {
  /** integer, required: contract version, must be `1`. */
  version: 'x-contract-version',
  /** `audio` | `text` | `video` | `control`, required. */
  modality: 'x-modality',
  /** string, required for audio/text/video (e.g. `customer`, `agent`); control: optional. */
  channel: 'x-channel',
  /** integer in [0, 2^31), required: per (call, channel, modality), starting at 0, +1 per record. */
  seq: 'x-seq',
  /** integer, unix ms in [0, 2100-01-01), required: event time of the first sample / word / frame. */
  eventTimeMs: 'x-event-time-ms',
  /** integer ms in [0, 60000]: required for text (the piece covers [eventTime, eventTime + duration]);
   *  optional for audio/video (derived from the payload, checked when given); 0 for control. */
  durationMs: 'x-duration-ms',
  /** `pcm_s16le` (audio) | `utf-8` (text) | `f32le` (video) | `json` (control); optional, the
   *  modality's one valid encoding by default. */
  encoding: 'x-encoding',
  /** integer Hz, required for audio: 8000 or 16000. */
  sampleRate: 'x-sample-rate',
  /** string, optional: absent, the deployment's rule applies (schema/chunk-contract.md "Tenant"). */
  tenant: 'x-tenant',
  /** integer in [1, 4096], required for video: floats per frame. */
  featureDim: 'x-feature-dim',
  /** number in [1, 120], required for video: frames per second. */
  fps: 'x-fps',
  /** `true` | `false`, optional for text, default `true`: the piece ends an utterance. */
  final: 'x-final',
  /** string of 1..128 characters, optional for text: the producer's utterance id. Pieces with the
   *  same id are one ASR result as it grows (a later piece replaces the earlier interim text);
   *  scores list the ids of the pieces they rest on (SegmentScore.utteranceIds). */
  utteranceId: 'x-utterance-id',
  /** string of 1..128 characters, optional for call_start: a name for people to read (Call.displayName). */
  displayName: 'x-display-name',
} as const;

/** Longest `x-utterance-id` and `x-display-name`, characters. */
export const MAX_LABEL_CHARS = 128;

export type HeaderName = (typeof H)[keyof typeof H];

export const MODALITIES = ['audio', 'text', 'video', 'control'] as const;

/** The one valid encoding per modality. */
export const ENCODING_OF = {
  audio: 'pcm_s16le',
  text: 'utf-8',
  video: 'f32le',
  control: 'json',
} as const;

/** Sample rates a producer may send (Hz). 8 kHz is resampled to the model rate. */
export const SAMPLE_RATES = [8000, 16000] as const;

/** Tenant the decoder uses when `x-tenant` is absent and it is given no other rule (library
 *  default; the server passes its own rule: src/app/app.ts). */
export const DEFAULT_TENANT = 'default';

/** Channel given to control records that name none: the call as a whole. */
export const CONTROL_CHANNEL = '*';

/** Highest frame rate accepted for video features (frames/s). */
export const MAX_FPS = 120;

/**
 * Hard bounds on every declared quantity, checked at decode time (CHUNK_OUT_OF_BOUNDS). They
 * exist so that no well-formed record can declare a span or a count that makes later stages do
 * unbounded work (issue 13: one text piece of 100 days froze the window for seconds; one video
 * chunk at 0.0001 fps, for hours). Each bound is far above what a live call sends.
 */
export const BOUNDS = {
  /** `x-seq`: 0 ..< 2^31 (a call sending 50 records a second runs out after 1.3 years). */
  seq: { min: 0, max: 2_147_483_647, unit: '' },
  /** `x-event-time-ms`: unix ms from 1970 up to 2100-01-01. */
  eventTimeMs: { min: 0, max: 4_102_444_800_000, unit: 'ms' },
  /** Duration of one chunk (text `x-duration-ms`; audio and video: implied by the payload), ms.
   *  60 s: a transcript piece is one utterance; audio and video come in 20-1000 ms chunks. */
  durationMs: { min: 0, max: 60_000, unit: 'ms' },
  /** Duration of one audio chunk, ms: 20 s, what the payload limit allows at 16 kHz. At 8 kHz the
   *  payload limit alone would allow 40 s, whose resampling costs ~40 ms of the event loop. */
  audioDurationMs: { min: 0, max: 20_000, unit: 'ms' },
  /** `x-fps`, frames/s. */
  fps: { min: 1, max: MAX_FPS, unit: 'frames/s' },
  /** `x-feature-dim`, floats per frame. */
  featureDim: { min: 1, max: 4096, unit: 'floats' },
  /** Entries in a call_start's `meta`, and characters in each key and value. */
  metaEntries: { min: 0, max: 64, unit: 'entries' },
  metaChars: { min: 0, max: 256, unit: 'characters' },
} as const;

/** Payload limits in bytes per modality (defaults; the decoder takes overrides). */
export const DEFAULT_MAX_PAYLOAD_BYTES = {
  /** 20 s of 16 kHz s16 mono. */
  audio: 640_000,
  /** 16 KiB of transcript text. */
  text: 16_384,
  /** 1 MiB of float32 features (e.g. 20 s at 10 fps of 1,300-d, or 10,000 frames of 24-d). */
  video: 1_048_576,
  /** 16 KiB of JSON. */
  control: 16_384,
} as const;

/** Largest call id (UTF-8 bytes) accepted as a key. */
export const MAX_KEY_BYTES = 256;

/** The JSON value of a control record. */
export interface ControlPayload {
  kind: 'call_start' | 'call_end';
  /** call_start: free string metadata (queue, agent id, ...). Non-string values are rejected. */
  meta?: Record<string, string>;
}

/** The headers of a record as a producer writes them (all values are strings on the wire). */
export type WireHeaders = Partial<Record<HeaderName, string>>;
