/**
 * Generated chunk records for the chaos suite: fast-check arbitraries of hostile headers and
 * payloads. Each record starts from a plausible one of a random modality and then has a few
 * things broken: headers missing, repeated, non-numeric, negative, huge (1e15, 2^53), tiny
 * (0.0001 fps), over-long, not UTF-8; payloads empty, odd-sized, random bytes, NaN floats,
 * oversized, JSON of the wrong shape; keys empty, huge or binary. Some stay valid (a fuzz call
 * that is simply accepted); every other one must be dead-lettered with a code.
 */
import fc from 'fast-check';
import { H } from '../../schema/chunk.js';
import type { RawChunk } from '../../src/core/ports.js';

/** A record before a source gives it a position. */
export type FuzzRecord = Omit<RawChunk, 'source'>;

/** Keys of the fuzz calls: a small pool, so fuzz records also hit calls the window holds open. */
const KEYS = ['fz-0', 'fz-1', 'fz-2', 'fz-3'];
const T0 = 1_764_000_000_000;

const nastyNumber = fc.constantFrom(
  '0', '1', '-1', '7', '20', '1000', '8000', '16000', '44100', '0.0001', '0.5', '1e3', '1.5', 'NaN', 'Infinity', '-0',
  '60000', '60001', '86400000', '8640000000000', '999999999999999', '9007199254740993', '2147483648', '4102444800001',
  String(T0), String(T0 + 5000), '', ' ', 'abc', '١٢٣', '0x10', '+5',
);
const nastyString = fc.oneof(
  fc.constantFrom('customer', 'agent', '*', '', ' ', 'x'.repeat(300), 'audio', 'text', 'video', 'control', 'smell', 'true', 'false', 'utf-8', 'pcm_s16le', 'f32le', 'json', 'acme', 'demo'),
  fc.string({ maxLength: 80 }),
);
const headerValue = fc.oneof(
  { weight: 3, arbitrary: nastyNumber },
  { weight: 3, arbitrary: nastyString },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 16 }).map((b) => Buffer.from(b)) },
);

function validHeaders(modality: string, seq: number, atMs: number, bytes: number): Record<string, string> {
  const h: Record<string, string> = {
    [H.version]: '1', [H.modality]: modality, [H.channel]: 'customer', [H.seq]: String(seq), [H.eventTimeMs]: String(T0 + atMs), [H.tenant]: 'fuzz',
  };
  if (modality === 'audio') h[H.sampleRate] = bytes % 4 === 0 ? '16000' : '8000';
  if (modality === 'text') h[H.durationMs] = String(500 + (seq % 7) * 100);
  if (modality === 'video') {
    h[H.featureDim] = '24';
    h[H.fps] = '10';
  }
  return h;
}

const payload = fc.oneof(
  { weight: 3, arbitrary: fc.uint8Array({ maxLength: 4000 }).map((b) => Buffer.from(b)) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 400 }).map((n) => Buffer.alloc(n * 96, 0x3f)) }, // whole 24-d frames of 0.75, or even PCM
  { weight: 1, arbitrary: fc.float({ noDefaultInfinity: false, noNaN: false }).map((v) => { const b = Buffer.alloc(96); for (let i = 0; i < 24; i++) b.writeFloatLE(i === 3 ? v : 0.1, 4 * i); return b; }) },
  { weight: 1, arbitrary: fc.constantFrom('{"kind":"call_start"}', '{"kind":"call_end"}', '{"kind":"call_start","meta":{"a":1}}', '[]', 'null', '{"kind":"nope"}', '{', 'hello', '  ').map((s) => Buffer.from(s)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }).map((s) => Buffer.from(s)) },
  { weight: 1, arbitrary: fc.constantFrom(0, 640_001, 700_000, 639_998, 1_048_577).map((n) => Buffer.alloc(n, 1)) }, // limits
);

const key = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...KEYS).map((k) => Buffer.from(k)) },
  { weight: 1, arbitrary: fc.constantFrom(Buffer.alloc(0), Buffer.from('   '), Buffer.alloc(300, 0x61), Buffer.from([0xc3, 0x28])) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 12 }).map((b) => Buffer.from(b)) },
);

/** A payload valid for `modality`, of `n` units (100 ms of audio per 8 units, frames, words). */
function fittingPayload(modality: string, n: number): Buffer {
  if (modality === 'audio') {
    const b = Buffer.alloc(n * 200 * 2);
    for (let i = 0; i < n * 200; i++) b.writeInt16LE(Math.round(8000 * Math.sin(i / 3)), 2 * i);
    return b;
  }
  if (modality === 'video') {
    const b = Buffer.alloc(n * 96);
    for (let i = 0; i < n * 24; i++) b.writeFloatLE(0.1 * (i % 7), 4 * i);
    return b;
  }
  if (modality === 'text') return Buffer.from(Array.from({ length: n % 20 + 1 }, (_, i) => `word${i}`).join(' '));
  return Buffer.from(n % 2 ? '{"kind":"call_start","meta":{"queue":"fuzz"}}' : '{"kind":"call_end"}');
}

/** One generated record: a plausible record of a random modality with 0-4 of its parts broken. */
export const fuzzRecord: fc.Arbitrary<FuzzRecord> = fc
  .record({
    modality: fc.constantFrom('audio', 'text', 'video', 'control'),
    seq: fc.integer({ min: 0, max: 40 }),
    atMs: fc.integer({ min: -2000, max: 120_000 }),
    key,
    value: payload,
    /** A payload that fits its modality (so the record reaches the window), or the generated one. */
    fitting: fc.option(fc.integer({ min: 1, max: 200 }), { freq: 2 }),
    breaks: fc.oneof(
      { weight: 2, arbitrary: fc.constant([] as [string, string | Buffer | null][]) },
      { weight: 3, arbitrary: fc.array(fc.tuple(fc.constantFrom<string>(...Object.values(H)), fc.option(headerValue, { freq: 4 })), { minLength: 1, maxLength: 4 }) },
    ),
    repeated: fc.oneof({ weight: 19, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom<string>(...Object.values(H)) }),
  })
  .map(({ modality, seq, atMs, key: k, value: generated, fitting, breaks, repeated }) => {
    const value = fitting === null ? generated : fittingPayload(modality, fitting);
    const headers: RawChunk['headers'] = validHeaders(modality, seq, Math.max(0, atMs), value.length);
    for (const [name, v] of breaks) {
      if (v === null) delete headers[name];
      else headers[name] = v;
    }
    if (repeated) headers[repeated] = ['1', '2'] as unknown as string; // what a client may give for a repeated header
    return { key: k, value, headers };
  });
