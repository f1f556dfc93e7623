/**
 * Decode and validate one raw record (schema/chunk-contract.md) into a MediaChunk, or throw an
 * AppError with a CHUNK_* code. Pure and stateless: sequence, lateness and call checks belong to
 * the window stage, which sees the order of chunks.
 *
 * Check order (the first failure wins, so each bad input has one stable code): key -> contract
 * version -> modality -> encoding -> payload size -> common headers -> modality-specific headers
 * and payload.
 */
import { endianness } from 'node:os';
import {
  BOUNDS, CONTRACT_VERSION, CONTROL_CHANNEL, DEFAULT_MAX_PAYLOAD_BYTES, DEFAULT_TENANT, ENCODING_OF, H,
  MAX_KEY_BYTES, MAX_LABEL_CHARS, MODALITIES, SAMPLE_RATES,
} from '../../schema/chunk.js';
import { AppError } from '../core/errors.js';
import type { RawChunk } from '../core/ports.js';
import type { AudioChunk, ControlChunk, MediaChunk, MediaChunkBase, Modality, TextChunk, VideoChunk } from '../core/types.js';
import {
  bounded, headerString, malformed, optionalBool, optionalInt, parseIntHeader, requireInt, requirePositiveNumber, requireString,
} from './headers.js';
import { resample } from './resample.js';

export interface DecodeOptions {
  /** Rate audio is resampled to, Hz (the manifest's audio.sampleRate). Default 16000. */
  modelSampleRate?: number;
  /** Payload limits, bytes per modality. Default DEFAULT_MAX_PAYLOAD_BYTES (schema/chunk.ts). */
  maxPayloadBytes?: Partial<Record<Modality, number>>;
  /** Video featureDim the model expects (manifest video.featureDim). Undefined: any dim. */
  videoFeatureDim?: number;
  /** How far `x-duration-ms` may differ from the duration the payload implies, ms. Default 1. */
  durationToleranceMs?: number;
  /** Tenant of a record without `x-tenant`; null: such a record is CHUNK_MISSING_TENANT.
   *  Default DEFAULT_TENANT ('default'); the server passes its rule (schema/chunk-contract.md). */
  defaultTenant?: string | null;
}

type Resolved = Required<Omit<DecodeOptions, 'videoFeatureDim' | 'maxPayloadBytes' | 'defaultTenant'>> & {
  videoFeatureDim: number | undefined;
  maxPayloadBytes: Record<Modality, number>;
  defaultTenant: string | null;
};

const utf8 = new TextDecoder('utf-8', { fatal: true });
const LITTLE_ENDIAN = endianness() === 'LE';
/** Longest channel / tenant name, characters. */
const MAX_NAME_CHARS = 64;

/** Validates the options once and returns the decoder the pipeline calls per record. */
export function createDecoder(options: DecodeOptions = {}): (raw: RawChunk) => MediaChunk {
  const o: Resolved = {
    modelSampleRate: options.modelSampleRate ?? 16000,
    durationToleranceMs: options.durationToleranceMs ?? 1,
    videoFeatureDim: options.videoFeatureDim,
    maxPayloadBytes: { ...DEFAULT_MAX_PAYLOAD_BYTES, ...options.maxPayloadBytes },
    defaultTenant: options.defaultTenant === undefined ? DEFAULT_TENANT : options.defaultTenant,
  };
  if (o.defaultTenant !== null && !(o.defaultTenant.trim() !== '' && o.defaultTenant.length <= MAX_NAME_CHARS)) {
    throw new RangeError(`defaultTenant must be 1..${MAX_NAME_CHARS} characters or null, got ${JSON.stringify(o.defaultTenant)}`);
  }
  if (!Number.isInteger(o.modelSampleRate) || o.modelSampleRate <= 0) throw new RangeError(`modelSampleRate must be a positive integer, got ${o.modelSampleRate}`);
  if (o.videoFeatureDim !== undefined && !(Number.isInteger(o.videoFeatureDim) && o.videoFeatureDim > 0)) {
    throw new RangeError(`videoFeatureDim must be a positive integer, got ${o.videoFeatureDim}`);
  }
  for (const [m, v] of Object.entries(o.maxPayloadBytes)) {
    if (!(Number.isInteger(v) && v > 0)) throw new RangeError(`maxPayloadBytes.${m} must be a positive integer, got ${v}`);
  }
  return (raw) => decodeWith(raw, o);
}

/** One-off decode (builds the options each call; the pipeline should use createDecoder). */
export function decodeChunk(raw: RawChunk, options: DecodeOptions = {}): MediaChunk {
  return createDecoder(options)(raw);
}

function decodeWith(raw: RawChunk, o: Resolved): MediaChunk {
  const callId = decodeKey(raw.key);

  const versionText = requireString(raw, H.version);
  const version = parseIntHeader(H.version, versionText);
  if (version !== CONTRACT_VERSION) throw new AppError('CHUNK_UNSUPPORTED_VERSION', { version });

  const modality = requireString(raw, H.modality);
  if (!(MODALITIES as readonly string[]).includes(modality)) throw new AppError('CHUNK_UNKNOWN_MODALITY', { modality });
  const m = modality as Modality;

  const encoding = headerString(raw, H.encoding);
  if (encoding !== undefined && encoding !== ENCODING_OF[m]) throw new AppError('CHUNK_BAD_ENCODING', { encoding, modality: m });

  const value = raw.value ?? Buffer.alloc(0);
  const limit = o.maxPayloadBytes[m];
  if (value.length > limit) throw new AppError('CHUNK_PAYLOAD_TOO_LARGE', { bytes: value.length, limit });

  const channel = m === 'control' ? (headerString(raw, H.channel) || CONTROL_CHANNEL) : requireString(raw, H.channel);
  if (channel.length > MAX_NAME_CHARS) throw malformed(`header ${H.channel} is longer than ${MAX_NAME_CHARS} characters`);
  const tenant = headerString(raw, H.tenant) || o.defaultTenant;
  if (tenant === null) throw new AppError('CHUNK_MISSING_TENANT');
  if (tenant.length > MAX_NAME_CHARS) throw malformed(`header ${H.tenant} is longer than ${MAX_NAME_CHARS} characters`);
  const base: MediaChunkBase = {
    callId,
    tenant,
    channel,
    seq: bounded(H.seq, requireInt(raw, H.seq, 0), BOUNDS.seq),
    eventTimeMs: bounded(H.eventTimeMs, requireInt(raw, H.eventTimeMs, 0), BOUNDS.eventTimeMs),
    durationMs: 0,
    contractVersion: version,
    source: raw.source,
  };
  switch (m) {
    case 'audio': return decodeAudio(raw, value, base, o);
    case 'text': return decodeText(raw, value, base);
    case 'video': return decodeVideo(raw, value, base, o);
    case 'control': return decodeControl(raw, value, base);
  }
}

/** An optional short label header (utterance id, display name): trimmed, 1..MAX_LABEL_CHARS. */
function optionalLabel(raw: RawChunk, name: string): string | undefined {
  const s = headerString(raw, name)?.trim();
  if (s === undefined) return undefined;
  if (s === '' || s.length > MAX_LABEL_CHARS) throw malformed(`header ${name} must be 1..${MAX_LABEL_CHARS} characters`);
  return s;
}

function decodeKey(key: Buffer | null): string {
  if (!key || key.length === 0) throw new AppError('CHUNK_MISSING_KEY');
  if (key.length > MAX_KEY_BYTES) throw malformed(`key is longer than ${MAX_KEY_BYTES} bytes`);
  let id: string;
  try {
    id = utf8.decode(key);
  } catch {
    throw malformed('key is not valid UTF-8');
  }
  if (id.trim() === '') throw new AppError('CHUNK_MISSING_KEY');
  return id;
}

function checkDuration(raw: RawChunk, derivedMs: number, o: Resolved): void {
  const given = optionalInt(raw, H.durationMs, 0);
  if (given !== undefined && Math.abs(given - derivedMs) > o.durationToleranceMs) {
    throw new AppError('CHUNK_BAD_PAYLOAD', { reason: `${H.durationMs} ${given} disagrees with the payload's ${derivedMs.toFixed(3)} ms` });
  }
}

function decodeAudio(raw: RawChunk, value: Buffer, base: MediaChunkBase, o: Resolved): AudioChunk {
  const rate = requireInt(raw, H.sampleRate);
  if (!(SAMPLE_RATES as readonly number[]).includes(rate)) throw new AppError('CHUNK_BAD_SAMPLE_RATE', { rate });
  if (value.length === 0) throw new AppError('CHUNK_BAD_PAYLOAD', { reason: 'audio payload has no samples' });
  if (value.length % 2 !== 0) throw new AppError('CHUNK_BAD_PAYLOAD', { reason: `odd byte count ${value.length} for 16-bit PCM` });
  const n = value.length / 2;
  const durationMs = bounded('audio duration', (n * 1000) / rate, BOUNDS.audioDurationMs);
  const pcm = new Float32Array(n);
  if (LITTLE_ENDIAN && value.byteOffset % 2 === 0) {
    const s16 = new Int16Array(value.buffer, value.byteOffset, n);
    for (let i = 0; i < n; i++) pcm[i] = s16[i] / 32768;
  } else {
    // A Kafka buffer may start at an odd byte offset (or the host is big-endian): read bytewise.
    for (let i = 0; i < n; i++) pcm[i] = value.readInt16LE(2 * i) / 32768;
  }
  checkDuration(raw, durationMs, o);
  return { ...base, modality: 'audio', durationMs, samples: resample(pcm, rate, o.modelSampleRate), sampleRate: o.modelSampleRate };
}

function decodeText(raw: RawChunk, value: Buffer, base: MediaChunkBase): TextChunk {
  let text: string;
  try {
    text = utf8.decode(value);
  } catch {
    throw new AppError('CHUNK_BAD_PAYLOAD', { reason: 'transcript is not valid UTF-8' });
  }
  text = text.trim();
  if (text === '') throw new AppError('CHUNK_EMPTY_TEXT');
  const durationMs = bounded(H.durationMs, requireInt(raw, H.durationMs, 0), BOUNDS.durationMs);
  const utteranceId = optionalLabel(raw, H.utteranceId);
  return { ...base, modality: 'text', durationMs, text, final: optionalBool(raw, H.final, true), ...(utteranceId ? { utteranceId } : {}) };
}

function decodeVideo(raw: RawChunk, value: Buffer, base: MediaChunkBase, o: Resolved): VideoChunk {
  const featureDim = bounded(H.featureDim, requireInt(raw, H.featureDim, 1), BOUNDS.featureDim);
  const fps = bounded(H.fps, requirePositiveNumber(raw, H.fps), BOUNDS.fps);
  if (o.videoFeatureDim !== undefined && featureDim !== o.videoFeatureDim) {
    throw new AppError('CHUNK_BAD_PAYLOAD', { reason: `featureDim ${featureDim} does not match the model's ${o.videoFeatureDim}` });
  }
  const rowBytes = 4 * featureDim;
  if (value.length === 0) throw new AppError('CHUNK_BAD_PAYLOAD', { reason: 'video payload has no frames' });
  if (value.length % rowBytes !== 0) {
    throw new AppError('CHUNK_BAD_PAYLOAD', { reason: `${value.length} bytes is not a whole number of ${featureDim}-float frames` });
  }
  // Checked before the frames are read, so an over-long chunk costs nothing.
  const durationMs = bounded('video duration', ((value.length / rowBytes) * 1000) / fps, BOUNDS.durationMs);
  const frames = new Float32Array(value.length / 4);
  for (let i = 0; i < frames.length; i++) {
    const v = value.readFloatLE(4 * i);
    if (!Number.isFinite(v)) throw new AppError('CHUNK_NON_FINITE');
    frames[i] = v;
  }
  checkDuration(raw, durationMs, o);
  return { ...base, modality: 'video', durationMs, frames, featureDim, fps };
}

function decodeControl(raw: RawChunk, value: Buffer, base: MediaChunkBase): ControlChunk {
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8.decode(value));
  } catch {
    throw new AppError('CHUNK_BAD_PAYLOAD', { reason: 'control payload is not valid UTF-8 JSON' });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new AppError('CHUNK_BAD_PAYLOAD', { reason: 'control payload must be a JSON object' });
  }
  const { kind, meta } = parsed as { kind?: unknown; meta?: unknown };
  if (kind !== 'call_start' && kind !== 'call_end') {
    throw new AppError('CHUNK_BAD_PAYLOAD', { reason: `control kind must be "call_start" or "call_end", got ${JSON.stringify(kind)}` });
  }
  let cleanMeta: Record<string, string> | undefined;
  if (meta !== undefined) {
    if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) {
      throw new AppError('CHUNK_BAD_PAYLOAD', { reason: 'control meta must be an object of strings' });
    }
    cleanMeta = {};
    const entries = Object.entries(meta);
    bounded('control meta entries', entries.length, BOUNDS.metaEntries);
    for (const [k, v] of entries) {
      if (typeof v !== 'string') throw new AppError('CHUNK_BAD_PAYLOAD', { reason: `control meta.${k} must be a string` });
      bounded('control meta key length', k.length, BOUNDS.metaChars);
      bounded(`control meta.${k.slice(0, 64)} length`, v.length, BOUNDS.metaChars);
      cleanMeta[k] = v;
    }
  }
  const displayName = kind === 'call_start' ? optionalLabel(raw, H.displayName) : undefined;
  return { ...base, modality: 'control', durationMs: 0, kind, ...(cleanMeta ? { meta: cleanMeta } : {}), ...(displayName ? { displayName } : {}) };
}
