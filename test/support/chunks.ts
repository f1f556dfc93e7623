/**
 * Builders of chunks for tests, valid by default, each field overridable:
 * - raw records (what a source delivers, before decode): rawAudio, rawText, rawVideo, rawControl,
 *   then withHeaders / withoutHeader / withValue to break one thing at a time;
 * - decoded MediaChunks (what the window stage takes): audioChunk, textChunk, videoChunk,
 *   callStart, callEnd;
 * - signals: tone (speech-like energy) and silence, float32 at a given rate.
 * Times are unix ms of event time; defaults put a call at T0.
 */
import { H, type WireHeaders } from '../../schema/chunk.js';
import type { RawChunk } from '../../src/core/ports.js';
import type { AudioChunk, ChunkSourceRef, ControlChunk, TextChunk, VideoChunk } from '../../src/core/types.js';
import { encodeChunk } from '../../src/ingest/encode.js';

/** Event time of the start of the default test call (unix ms). */
export const T0 = 1_764_000_000_000;
export const MODEL_RATE = 16000;

let nextOffset = 0;
/** A fresh source ref (topic `test`, partition 0, increasing offsets unless given). */
export function ref(offset: number = nextOffset++, partition = 0, topic = 'test'): ChunkSourceRef {
  return { topic, partition, offset: String(offset) };
}

/** A sine burst at `hz` with amplitude `amp` (0..1): loud enough to count as speech by default. */
export function tone(ms: number, rate = MODEL_RATE, amp = 0.3, hz = 220): Float32Array {
  const n = Math.round((ms * rate) / 1000);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = amp * Math.sin((2 * Math.PI * hz * i) / rate);
  return out;
}

/** Digital silence plus optional low noise (deterministic LCG), float32. */
export function silence(ms: number, rate = MODEL_RATE, noiseAmp = 0): Float32Array {
  const n = Math.round((ms * rate) / 1000);
  const out = new Float32Array(n);
  let s = 12345;
  for (let i = 0; i < n && noiseAmp > 0; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out[i] = ((s / 2 ** 32) * 2 - 1) * noiseAmp;
  }
  return out;
}

interface Common {
  callId?: string;
  tenant?: string;
  channel?: string;
  seq?: number;
  eventTimeMs?: number;
  source?: ChunkSourceRef;
}

export function audioChunk(o: Common & { samples?: Float32Array; sampleRate?: number } = {}): AudioChunk {
  const sampleRate = o.sampleRate ?? MODEL_RATE;
  const samples = o.samples ?? tone(20, sampleRate);
  return {
    modality: 'audio', callId: o.callId ?? 'call-1', tenant: o.tenant ?? 'default', channel: o.channel ?? 'customer',
    seq: o.seq ?? 0, eventTimeMs: o.eventTimeMs ?? T0, durationMs: (samples.length * 1000) / sampleRate,
    contractVersion: 1, samples, sampleRate, source: o.source ?? ref(),
  };
}

export function textChunk(o: Common & { text?: string; durationMs?: number; final?: boolean; utteranceId?: string } = {}): TextChunk {
  return {
    modality: 'text', callId: o.callId ?? 'call-1', tenant: o.tenant ?? 'default', channel: o.channel ?? 'customer',
    seq: o.seq ?? 0, eventTimeMs: o.eventTimeMs ?? T0, durationMs: o.durationMs ?? 1000, contractVersion: 1,
    text: o.text ?? 'hello there', final: o.final ?? true, source: o.source ?? ref(),
    ...(o.utteranceId ? { utteranceId: o.utteranceId } : {}),
  };
}

export function videoChunk(o: Common & { frames?: Float32Array; featureDim?: number; fps?: number } = {}): VideoChunk {
  const featureDim = o.featureDim ?? 24;
  const fps = o.fps ?? 10;
  const frames = o.frames ?? new Float32Array(featureDim * 10).fill(0.5);
  return {
    modality: 'video', callId: o.callId ?? 'call-1', tenant: o.tenant ?? 'default', channel: o.channel ?? 'customer',
    seq: o.seq ?? 0, eventTimeMs: o.eventTimeMs ?? T0, durationMs: ((frames.length / featureDim) * 1000) / fps,
    contractVersion: 1, frames, featureDim, fps, source: o.source ?? ref(),
  };
}

function control(kind: ControlChunk['kind'], o: Common & { meta?: Record<string, string> }): ControlChunk {
  return {
    modality: 'control', kind, callId: o.callId ?? 'call-1', tenant: o.tenant ?? 'default', channel: o.channel ?? '*',
    seq: o.seq ?? (kind === 'call_start' ? 0 : 1), eventTimeMs: o.eventTimeMs ?? T0, durationMs: 0, contractVersion: 1,
    source: o.source ?? ref(), ...(o.meta ? { meta: o.meta } : {}),
  };
}
export const callStart = (o: Common & { meta?: Record<string, string> } = {}): ControlChunk => control('call_start', o);
export const callEnd = (o: Common = {}): ControlChunk => control('call_end', o);

/** A raw record from an encoded chunk, with a source ref. */
function raw(chunk: AudioChunk | TextChunk | VideoChunk | ControlChunk): RawChunk {
  const rec = encodeChunk(chunk);
  return { key: rec.key, headers: { ...rec.headers }, value: rec.value, source: chunk.source ?? ref() };
}

/** A valid audio record: 20 ms of tone at `sampleRate` (16 kHz default), s16le. */
export const rawAudio = (o: Common & { samples?: Float32Array; sampleRate?: number } = {}): RawChunk => raw(audioChunk(o));
export const rawText = (o: Common & { text?: string; durationMs?: number; final?: boolean } = {}): RawChunk => raw(textChunk(o));
export const rawVideo = (o: Common & { frames?: Float32Array; featureDim?: number; fps?: number } = {}): RawChunk => raw(videoChunk(o));
export const rawControl = (kind: ControlChunk['kind'] = 'call_start', o: Common & { meta?: Record<string, string> } = {}): RawChunk =>
  raw(control(kind, o));

/** A copy of `r` with headers set (string values; `undefined` removes the header). */
export function withHeaders(r: RawChunk, patch: Partial<Record<keyof WireHeaders | string, string | Buffer | undefined>>): RawChunk {
  const headers = { ...r.headers };
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) delete headers[k];
    else headers[k] = v;
  }
  return { ...r, headers };
}

export const withoutHeader = (r: RawChunk, name: string): RawChunk => withHeaders(r, { [name]: undefined });
export const withValue = (r: RawChunk, value: Buffer | null): RawChunk => ({ ...r, value });
export const withKey = (r: RawChunk, key: Buffer | null): RawChunk => ({ ...r, key });

/** Header names, re-exported so tests break headers by name, not by string literal. */
export { H };
