import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError, type ErrorCode } from '../../src/core/errors.js';
import type { RawChunk } from '../../src/core/ports.js';
import { createDecoder, decodeChunk } from '../../src/ingest/decode.js';
import { floatToF32le } from '../../src/ingest/encode.js';
import {
  H, T0, rawAudio, rawControl, rawText, rawVideo, ref, tone, withHeaders, withKey, withValue, withoutHeader,
} from '../support/chunks.js';

const decode = createDecoder({ modelSampleRate: 16000, videoFeatureDim: 24 });

function rejects(r: RawChunk, code: ErrorCode, dec = decode): AppError {
  try {
    dec(r);
  } catch (e) {
    assert.ok(e instanceof AppError, `expected AppError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected ${code}, but the chunk decoded`);
}

test('audio 16 kHz decodes to float32 in [-1, 1] with its source ref and duration', () => {
  const src = ref(42);
  const c = decode(rawAudio({ callId: 'c-é', channel: 'agent', seq: 7, eventTimeMs: T0 + 40, samples: tone(20), source: src }));
  assert.equal(c.modality, 'audio');
  if (c.modality !== 'audio') return;
  assert.equal(c.callId, 'c-é');
  assert.equal(c.channel, 'agent');
  assert.equal(c.seq, 7);
  assert.equal(c.eventTimeMs, T0 + 40);
  assert.equal(c.durationMs, 20);
  assert.equal(c.sampleRate, 16000);
  assert.equal(c.samples.length, 320);
  assert.deepEqual(c.source, src);
  assert.equal(c.tenant, 'default');
  const orig = tone(20);
  for (let i = 0; i < orig.length; i++) assert.ok(Math.abs(c.samples[i] - orig[i]) < 1 / 16000);
});

test('audio 8 kHz is resampled to 16 kHz with images of the band suppressed', () => {
  const rate = 8000;
  const hz = 1000;
  const pcm = tone(200, rate, 0.5, hz);
  const c = decode(rawAudio({ samples: pcm, sampleRate: rate }));
  assert.ok(c.modality === 'audio');
  if (c.modality !== 'audio') return;
  assert.equal(c.sampleRate, 16000);
  assert.equal(c.samples.length, 3200);
  assert.equal(c.durationMs, 200);
  // Goertzel power at the tone and at its image (8000 - 1000 Hz), away from the mirrored edges.
  const mid = c.samples.subarray(400, 2800);
  const power = (f: number): number => {
    const w = (2 * Math.PI * f) / 16000;
    let s1 = 0;
    let s2 = 0;
    for (const x of mid) {
      const s = x + 2 * Math.cos(w) * s1 - s2;
      s2 = s1;
      s1 = s;
    }
    return s1 * s1 + s2 * s2 - 2 * Math.cos(w) * s1 * s2;
  };
  const db = 10 * Math.log10(power(7000) / power(1000));
  assert.ok(db < -60, `image at 7 kHz only ${db.toFixed(1)} dB below the tone`);
  // The tone keeps its amplitude (within 1 %): peak of the middle part.
  const peak = mid.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  assert.ok(Math.abs(peak - 0.5) < 0.005, `peak ${peak}`);
});

test('text decodes with its time range and final flag (default true)', () => {
  const c = decode(rawText({ text: '  thanks a lot  ', durationMs: 1500, eventTimeMs: T0 + 10 }));
  assert.ok(c.modality === 'text');
  if (c.modality !== 'text') return;
  assert.equal(c.text, 'thanks a lot');
  assert.equal(c.durationMs, 1500);
  assert.equal(c.final, true);
  const partial = decode(withHeaders(rawText(), { [H.final]: 'false' }));
  assert.equal(partial.modality === 'text' && partial.final, false);
  const noFinal = decode(withoutHeader(rawText(), H.final));
  assert.equal(noFinal.modality === 'text' && noFinal.final, true);
});

test('video decodes frames, featureDim, fps and the duration they imply', () => {
  const frames = new Float32Array(24 * 5).map((_, i) => i / 10);
  const c = decode(rawVideo({ frames, featureDim: 24, fps: 10 }));
  assert.ok(c.modality === 'video');
  if (c.modality !== 'video') return;
  assert.equal(c.featureDim, 24);
  assert.equal(c.fps, 10);
  assert.equal(c.durationMs, 500);
  assert.deepEqual(Array.from(c.frames), Array.from(frames));
});

test('control decodes call_start with meta and call_end; channel defaults to the whole call', () => {
  const s = decode(withoutHeader(rawControl('call_start', { meta: { queue: 'billing' } }), H.channel));
  assert.ok(s.modality === 'control');
  if (s.modality !== 'control') return;
  assert.equal(s.kind, 'call_start');
  assert.deepEqual(s.meta, { queue: 'billing' });
  assert.equal(s.channel, '*');
  const e = decode(rawControl('call_end'));
  assert.equal(e.modality === 'control' && e.kind, 'call_end');
});

test('encoding and duration headers are optional, and checked when given', () => {
  assert.equal(decode(withoutHeader(rawAudio(), H.encoding)).modality, 'audio');
  assert.equal(decode(withHeaders(rawAudio(), { [H.durationMs]: '20' })).durationMs, 20);
  rejects(withHeaders(rawAudio(), { [H.durationMs]: '40' }), 'CHUNK_BAD_PAYLOAD');
  assert.equal(decode(withHeaders(rawAudio(), { [H.tenant]: Buffer.from('acme') })).tenant, 'acme');
});

// ---- bad input: one test per error code -------------------------------------------------------

test('CHUNK_MISSING_KEY: no key, empty key', () => {
  rejects(withKey(rawAudio(), null), 'CHUNK_MISSING_KEY');
  rejects(withKey(rawAudio(), Buffer.alloc(0)), 'CHUNK_MISSING_KEY');
});

test('CHUNK_MALFORMED_HEADERS: missing, non-integer, repeated, non-UTF-8 headers and keys', () => {
  const e = rejects(withoutHeader(rawAudio(), H.seq), 'CHUNK_MALFORMED_HEADERS');
  assert.match(e.message, /x-seq is missing/);
  rejects(withHeaders(rawAudio(), { [H.seq]: '-1' }), 'CHUNK_MALFORMED_HEADERS');
  rejects(withHeaders(rawAudio(), { [H.seq]: '1.5' }), 'CHUNK_MALFORMED_HEADERS');
  rejects(withHeaders(rawAudio(), { [H.eventTimeMs]: 'yesterday' }), 'CHUNK_MALFORMED_HEADERS');
  rejects(withoutHeader(rawAudio(), H.version), 'CHUNK_MALFORMED_HEADERS');
  rejects(withoutHeader(rawAudio(), H.modality), 'CHUNK_MALFORMED_HEADERS');
  rejects(withoutHeader(rawAudio(), H.channel), 'CHUNK_MALFORMED_HEADERS');
  rejects(withoutHeader(rawAudio(), H.sampleRate), 'CHUNK_MALFORMED_HEADERS');
  rejects(withoutHeader(rawText(), H.durationMs), 'CHUNK_MALFORMED_HEADERS');
  rejects(withoutHeader(rawVideo(), H.featureDim), 'CHUNK_MALFORMED_HEADERS');
  rejects(withHeaders(rawVideo(), { [H.fps]: '0' }), 'CHUNK_MALFORMED_HEADERS');
  rejects(withHeaders(rawText(), { [H.final]: 'yes' }), 'CHUNK_MALFORMED_HEADERS');
  rejects(withHeaders(rawAudio(), { [H.channel]: Buffer.from([0xff, 0xfe]) }), 'CHUNK_MALFORMED_HEADERS');
  rejects(withHeaders(rawAudio(), { [H.channel]: 'x'.repeat(65) }), 'CHUNK_MALFORMED_HEADERS');
  const repeated = { ...rawAudio(), headers: { ...rawAudio().headers, [H.seq]: ['1', '2'] as unknown as string } };
  rejects(repeated, 'CHUNK_MALFORMED_HEADERS');
  rejects(withKey(rawAudio(), Buffer.from([0xc3, 0x28])), 'CHUNK_MALFORMED_HEADERS');
});

test('CHUNK_UNSUPPORTED_VERSION: contract version 2', () => {
  const e = rejects(withHeaders(rawAudio(), { [H.version]: '2' }), 'CHUNK_UNSUPPORTED_VERSION');
  assert.equal(e.details.version, 2);
});

test('CHUNK_UNKNOWN_MODALITY: "smell"', () => {
  rejects(withHeaders(rawAudio(), { [H.modality]: 'smell' }), 'CHUNK_UNKNOWN_MODALITY');
});

test('CHUNK_BAD_ENCODING: audio sent as f32le, text as latin1', () => {
  rejects(withHeaders(rawAudio(), { [H.encoding]: 'f32le' }), 'CHUNK_BAD_ENCODING');
  rejects(withHeaders(rawText(), { [H.encoding]: 'latin1' }), 'CHUNK_BAD_ENCODING');
});

test('CHUNK_PAYLOAD_TOO_LARGE: per-modality limits, configurable', () => {
  const big = rawAudio({ samples: tone(21_000) }); // 21 s at 16 kHz > 640,000 bytes
  const e = rejects(big, 'CHUNK_PAYLOAD_TOO_LARGE');
  assert.equal(e.details.limit, 640_000);
  const strict = createDecoder({ maxPayloadBytes: { text: 4 } });
  rejects(rawText({ text: 'hello' }), 'CHUNK_PAYLOAD_TOO_LARGE', strict);
  assert.equal(strict(rawAudio()).modality, 'audio');
});

test('CHUNK_BAD_SAMPLE_RATE: 44100 and 0', () => {
  rejects(withHeaders(rawAudio(), { [H.sampleRate]: '44100' }), 'CHUNK_BAD_SAMPLE_RATE');
  rejects(withHeaders(rawAudio(), { [H.sampleRate]: '0' }), 'CHUNK_BAD_SAMPLE_RATE');
});

test('CHUNK_BAD_PAYLOAD: odd PCM byte count, empty audio, ragged/mis-sized video, bad JSON, bad UTF-8', () => {
  assert.match(rejects(withValue(rawAudio(), Buffer.alloc(641)), 'CHUNK_BAD_PAYLOAD').message, /odd byte count/);
  rejects(withValue(rawAudio(), null), 'CHUNK_BAD_PAYLOAD');
  rejects(withValue(rawVideo(), Buffer.alloc(24 * 4 + 4)), 'CHUNK_BAD_PAYLOAD');
  rejects(withValue(rawVideo(), Buffer.alloc(0)), 'CHUNK_BAD_PAYLOAD');
  const wrongDim = rawVideo({ featureDim: 16, frames: new Float32Array(32) });
  assert.match(rejects(wrongDim, 'CHUNK_BAD_PAYLOAD').message, /featureDim 16 does not match the model's 24/);
  assert.equal(createDecoder()(wrongDim).modality, 'video', 'without an expected dim any dim is accepted');
  rejects(withValue(rawControl(), Buffer.from('{kind:')), 'CHUNK_BAD_PAYLOAD');
  rejects(withValue(rawControl(), Buffer.from('{"kind":"call_pause"}')), 'CHUNK_BAD_PAYLOAD');
  rejects(withValue(rawControl(), Buffer.from('{"kind":"call_start","meta":{"n":1}}')), 'CHUNK_BAD_PAYLOAD');
  rejects(withValue(rawControl(), Buffer.from('[]')), 'CHUNK_BAD_PAYLOAD');
  rejects(withValue(rawText(), Buffer.from([0x68, 0xff, 0x69])), 'CHUNK_BAD_PAYLOAD');
});

test('CHUNK_NON_FINITE: NaN or infinity anywhere in the video features', () => {
  for (const bad of [NaN, Infinity, -Infinity]) {
    const frames = new Float32Array(48).fill(0.1);
    frames[30] = bad;
    rejects(withValue(rawVideo(), floatToF32le(frames)), 'CHUNK_NON_FINITE');
  }
});

test('CHUNK_EMPTY_TEXT: empty and whitespace-only transcript pieces', () => {
  rejects(withValue(rawText(), Buffer.alloc(0)), 'CHUNK_EMPTY_TEXT');
  rejects(withValue(rawText(), Buffer.from(' \n\t ')), 'CHUNK_EMPTY_TEXT');
});

test('options are validated when the decoder is built, not per chunk', () => {
  assert.throws(() => createDecoder({ modelSampleRate: 0 }), RangeError);
  assert.throws(() => createDecoder({ videoFeatureDim: 2.5 }), RangeError);
  assert.throws(() => createDecoder({ maxPayloadBytes: { audio: -1 } }), RangeError);
  assert.equal(decodeChunk(rawText()).modality, 'text');
});

test('CHUNK_OUT_OF_BOUNDS: every declared quantity has a hard bound (schema/chunk.ts BOUNDS), the edge itself is accepted', () => {
  const anyDim = createDecoder();
  const cases: [RawChunk, string][] = [
    [withHeaders(rawAudio(), { [H.seq]: '2147483648' }), H.seq],
    [withHeaders(rawAudio(), { [H.eventTimeMs]: '4102444800001' }), H.eventTimeMs],
    [withHeaders(rawText(), { [H.durationMs]: '60001' }), H.durationMs],
    [withHeaders(rawVideo(), { [H.fps]: '0.5' }), H.fps],
    [withHeaders(rawVideo(), { [H.fps]: '120.5' }), H.fps],
    [rawVideo({ featureDim: 4097, frames: new Float32Array(4097).fill(0.1) }), H.featureDim],
    // 10 frames at 1 fps = 10 s is fine; 61 frames at 1 fps is 61 s of one chunk.
    [rawVideo({ fps: 1, frames: new Float32Array(24 * 61).fill(0.1) }), 'video duration'],
    [rawAudio({ sampleRate: 8000, samples: tone(20_500, 8000) }), 'audio duration'], // under the payload limit
    [rawControl('call_start', { meta: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])) }), 'control meta entries'],
    [rawControl('call_start', { meta: { queue: 'x'.repeat(257) } }), 'control meta.queue length'],
  ];
  for (const [r, what] of cases) {
    const e = rejects(r, 'CHUNK_OUT_OF_BOUNDS', anyDim);
    assert.equal(e.details.what, what);
  }
  assert.equal(decode(withHeaders(rawAudio(), { [H.seq]: '2147483647' })).seq, 2147483647);
  assert.equal(decode(withHeaders(rawText(), { [H.durationMs]: '60000' })).durationMs, 60000);
  assert.equal(decode(rawVideo({ fps: 1, frames: new Float32Array(24 * 60).fill(0.1) })).durationMs, 60000);
  assert.equal(decode(withHeaders(rawVideo(), { [H.fps]: '120' })).modality, 'video');
});

test('tenant rule: a record without x-tenant takes the configured default, or is CHUNK_MISSING_TENANT when there is none', () => {
  const noTenant = withoutHeader(rawAudio(), H.tenant);
  assert.equal(decode(noTenant).tenant, 'default');
  assert.equal(createDecoder({ defaultTenant: 'demo' })(noTenant).tenant, 'demo');
  assert.equal(createDecoder({ defaultTenant: null })(withHeaders(rawAudio(), { [H.tenant]: 'acme' })).tenant, 'acme');
  rejects(noTenant, 'CHUNK_MISSING_TENANT', createDecoder({ defaultTenant: null }));
  assert.throws(() => createDecoder({ defaultTenant: '' }), RangeError);
});
