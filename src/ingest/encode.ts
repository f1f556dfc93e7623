/**
 * The producer side of the chunk contract: a MediaChunk -> the record a producer writes (key,
 * string headers, payload). Used by the demo and benchmark producers and by tests, so what they
 * send is exactly what decode.ts reads. decode(encode(c)) == c up to s16 quantisation.
 */
import { CONTRACT_VERSION, ENCODING_OF, H, type WireHeaders } from '../../schema/chunk.js';
import type { MediaChunk } from '../core/types.js';

/** A record as written to Kafka (or pushed into the in-process source). */
export interface WireRecord {
  key: Buffer;
  headers: WireHeaders;
  value: Buffer;
}

/** float32 [-1, 1] -> s16le, clipped (producers usually hold s16 already; see encodePcm16). */
export function floatToPcm16(samples: Float32Array): Buffer {
  const buf = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) {
    const v = Math.max(-1, Math.min(1, samples[i]));
    buf.writeInt16LE(Math.round(v * 32767), 2 * i);
  }
  return buf;
}

/** Int16 samples -> s16le bytes. */
export function encodePcm16(samples: Int16Array): Buffer {
  const buf = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) buf.writeInt16LE(samples[i], 2 * i);
  return buf;
}

export function floatToF32le(values: Float32Array): Buffer {
  const buf = Buffer.alloc(values.length * 4);
  for (let i = 0; i < values.length; i++) buf.writeFloatLE(values[i], 4 * i);
  return buf;
}

/** Encodes a chunk as a contract-v1 record. Audio keeps the chunk's `sampleRate`. */
export function encodeChunk(chunk: MediaChunk): WireRecord {
  const headers: WireHeaders = {
    [H.version]: String(CONTRACT_VERSION),
    [H.modality]: chunk.modality,
    [H.channel]: chunk.channel,
    [H.seq]: String(chunk.seq),
    [H.eventTimeMs]: String(Math.round(chunk.eventTimeMs)),
    [H.encoding]: ENCODING_OF[chunk.modality],
    [H.tenant]: chunk.tenant,
  };
  let value: Buffer;
  switch (chunk.modality) {
    case 'audio':
      headers[H.sampleRate] = String(chunk.sampleRate);
      value = floatToPcm16(chunk.samples);
      break;
    case 'text':
      headers[H.durationMs] = String(Math.round(chunk.durationMs));
      headers[H.final] = String(chunk.final);
      if (chunk.utteranceId) headers[H.utteranceId] = chunk.utteranceId;
      value = Buffer.from(chunk.text, 'utf8');
      break;
    case 'video':
      headers[H.featureDim] = String(chunk.featureDim);
      headers[H.fps] = String(chunk.fps);
      value = floatToF32le(chunk.frames);
      break;
    case 'control':
      headers[H.durationMs] = '0';
      if (chunk.displayName) headers[H.displayName] = chunk.displayName;
      value = Buffer.from(JSON.stringify({ kind: chunk.kind, ...(chunk.meta ? { meta: chunk.meta } : {}) }), 'utf8');
      break;
  }
  return { key: Buffer.from(chunk.callId, 'utf8'), headers, value };
}
