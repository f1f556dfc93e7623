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
  /** integer >= 0, required: per (call, channel, modality), starting at 0, +1 per record. */
  seq: 'x-seq',
  /** integer, unix ms, required: event time of the first sample / word / frame. */
  eventTimeMs: 'x-event-time-ms',
  /** integer ms >= 0: required for text (the piece covers [eventTime, eventTime + duration]);
   *  optional for audio/video (derived from the payload, checked when given); 0 for control. */
  durationMs: 'x-duration-ms',
  /** `pcm_s16le` (audio) | `utf-8` (text) | `f32le` (video) | `json` (control); optional, the
   *  modality's one valid encoding by default. */
  encoding: 'x-encoding',
  /** integer Hz, required for audio: 8000 or 16000. */
  sampleRate: 'x-sample-rate',
  /** string, optional, default `default`. */
  tenant: 'x-tenant',
  /** integer > 0, required for video: floats per frame. */
  featureDim: 'x-feature-dim',
  /** number > 0 (<= 120), required for video: frames per second. */
  fps: 'x-fps',
  /** `true` | `false`, optional for text, default `true`: the piece ends an utterance. */
  final: 'x-final',
} as const;

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

/** Tenant used when `x-tenant` is absent. */
export const DEFAULT_TENANT = 'default';

/** Channel given to control records that name none: the call as a whole. */
export const CONTROL_CHANNEL = '*';

/** Highest frame rate accepted for video features (frames/s). */
export const MAX_FPS = 120;

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
