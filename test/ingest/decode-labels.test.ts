/** The two label headers of issue 15: `x-utterance-id` on text, `x-display-name` on call_start. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { H } from '../../schema/chunk.js';
import type { RawChunk } from '../../src/core/ports.js';
import type { ControlChunk, TextChunk } from '../../src/core/types.js';
import { createDecoder } from '../../src/ingest/decode.js';
import { encodeChunk } from '../../src/ingest/encode.js';

const decode = createDecoder();
const source = { topic: 't', partition: 0, offset: '0' };
const text = (extra: Record<string, string>): RawChunk => ({
  key: Buffer.from('c1'), source, value: Buffer.from('I want to cancel'),
  headers: { [H.version]: '1', [H.modality]: 'text', [H.channel]: 'customer', [H.seq]: '0', [H.eventTimeMs]: '1000', [H.durationMs]: '900', ...extra },
});
const start = (extra: Record<string, string>): RawChunk => ({
  key: Buffer.from('c1'), source, value: Buffer.from('{"kind":"call_start"}'),
  headers: { [H.version]: '1', [H.modality]: 'control', [H.seq]: '0', [H.eventTimeMs]: '1000', ...extra },
});
const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;

test('x-utterance-id and x-final on a transcript piece; absent id: none', () => {
  const c = decode(text({ [H.utteranceId]: ' u-17 ', [H.final]: 'false' })) as TextChunk;
  assert.deepEqual([c.utteranceId, c.final], ['u-17', false]);
  assert.equal('utteranceId' in decode(text({})), false);
});

test('x-display-name on call_start; ignored on call_end', () => {
  assert.equal((decode(start({ [H.displayName]: 'Jane Roe (billing)' })) as ControlChunk).displayName, 'Jane Roe (billing)');
  const end = { ...start({ [H.displayName]: 'x' }), value: Buffer.from('{"kind":"call_end"}') };
  assert.equal((decode(end) as ControlChunk).displayName, undefined);
});

test('blank or over-long labels are CHUNK_MALFORMED_HEADERS naming the header', () => {
  assert.throws(() => decode(text({ [H.utteranceId]: '  ' })), (e) => code('CHUNK_MALFORMED_HEADERS')(e) && /x-utterance-id/.test(String((e as Error).message)));
  assert.throws(() => decode(start({ [H.displayName]: 'n'.repeat(129) })), code('CHUNK_MALFORMED_HEADERS'));
});

test('encodeChunk writes both headers back (dead-letter re-encoding keeps them)', () => {
  const c = decode(text({ [H.utteranceId]: 'u-1' })) as TextChunk;
  assert.equal(encodeChunk(c).headers[H.utteranceId], 'u-1');
  const s = decode(start({ [H.displayName]: 'Ann' })) as ControlChunk;
  assert.equal(encodeChunk(s).headers[H.displayName], 'Ann');
});
