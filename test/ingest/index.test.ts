import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../../src/core/errors.js';
import { SinkStopping } from '../../src/core/stopping.js';
import type { MediaChunk } from '../../src/core/types.js';
import { DLQ_HEADERS, MemoryDeadLetterSink, MemorySource, createDecoder, createIngest } from '../../src/ingest/index.js';
import { H, rawAudio, rawControl, rawText, rawVideo, withHeaders, withValue } from '../support/chunks.js';

const tick = () => new Promise((r) => setImmediate(r));

test('bad records are dead-lettered, counted and released; good ones of other calls flow on', async () => {
  const source = new MemorySource();
  const dlq = new MemoryDeadLetterSink();
  const forwarded: MediaChunk[] = [];
  const ingest = createIngest({
    source, deadLetters: dlq, decode: createDecoder({ videoFeatureDim: 24 }),
    forward: (c) => { forwarded.push(c); },
  });
  await source.start(ingest);
  const nan = new Float32Array(24).fill(1);
  nan[3] = NaN;
  const records = [
    rawControl('call_start', { callId: 'good' }),
    withHeaders(rawAudio({ callId: 'bad' }), { [H.sampleRate]: '44100' }),
    rawAudio({ callId: 'good', seq: 0 }),
    withHeaders(rawAudio({ callId: 'bad', seq: 1 }), { [H.modality]: 'smell' }),
    withValue(rawVideo({ callId: 'bad' }), Buffer.from(nan.buffer)),
    rawText({ callId: 'good', seq: 0 }),
    withHeaders(rawAudio({ callId: 'bad', seq: 2 }), { [H.version]: '9' }),
    rawAudio({ callId: 'good', seq: 1 }),
  ];
  for (const r of records) await source.push(r);
  while (source.depth > 0 || forwarded.length + dlq.records().length < records.length) await tick();
  assert.deepEqual(forwarded.map((c) => `${c.callId}:${c.modality}`), ['good:control', 'good:audio', 'good:text', 'good:audio']);
  assert.deepEqual(dlq.records().map((r) => r.headers[DLQ_HEADERS.code]), [
    'CHUNK_BAD_SAMPLE_RATE', 'CHUNK_UNKNOWN_MODALITY', 'CHUNK_NON_FINITE', 'CHUNK_UNSUPPORTED_VERSION',
  ]);
  assert.equal(ingest.rejectedByCode.get('CHUNK_NON_FINITE'), 1);
  // The rejected ones are released; the forwarded ones are not (the window holds them).
  assert.equal(source.inFlight, 4);
  await source.stop();
});

test('a later stage rejects through ingest.reject; a forward that throws rejects only that record', async () => {
  const released: string[] = [];
  const dlq = new MemoryDeadLetterSink();
  const ingest = createIngest({
    source: { release: (refs) => released.push(...refs.map((r) => r.offset)) },
    deadLetters: dlq, decode: createDecoder(),
    forward: (c) => { if (c.seq === 1) throw new Error('window bug'); },
  });
  const a = rawAudio({ seq: 0 });
  const b = rawAudio({ seq: 1 });
  await ingest.accept([a, b, rawAudio({ seq: 2 })]);
  assert.deepEqual(released, [b.source.offset]);
  assert.equal(dlq.records()[0].headers[DLQ_HEADERS.code], 'INTERNAL');
  await ingest.reject(a, new AppError('CHUNK_TOO_LATE', { eventTimeMs: 1, watermarkMs: 2 }));
  assert.deepEqual(released, [b.source.offset, a.source.offset]);
  assert.equal(ingest.rejectedByCode.get('CHUNK_TOO_LATE'), 1);
});

test('a dead-letter sink that stays down fails the batch without releasing the record', async () => {
  const released: string[] = [];
  let tries = 0;
  const written: string[] = [];
  let failures = 0;
  const ingest = createIngest({
    source: { release: (refs) => released.push(...refs.map((r) => r.offset)) },
    deadLetters: { deadLetter: async () => { tries++; throw new Error('dlq down'); } },
    decode: createDecoder(), forward: () => {}, deadLetterAttempts: 3, deadLetterBackoffMs: 1,
    onDeadLettered: (_r, e) => written.push(e.code),
    onDeadLetterFailed: () => failures++,
  });
  await assert.rejects(ingest.accept([withHeaders(rawAudio(), { [H.sampleRate]: '1' })]));
  assert.equal(tries, 3);
  assert.deepEqual(released, []);
  // dead_letters_total counts only letters written (onDeadLettered); the failures are apart.
  assert.deepEqual(written, []);
  assert.equal(failures, 3);
});

test('shutdown: once forward says the sink is stopping, the rest of the batch is neither dead-lettered nor released (issue #13)', async () => {
  // Before, a pipeline that was draining threw INTERNAL for each later record of the batch in
  // flight, and ingest dead-lettered and released every one: the next owner never saw them.
  const source = new MemorySource();
  const dlq = new MemoryDeadLetterSink();
  let stopping = false;
  const forwarded: MediaChunk[] = [];
  const ingest = createIngest({
    source, deadLetters: dlq, decode: createDecoder({ videoFeatureDim: 24 }),
    forward: (c) => {
      if (stopping) throw new SinkStopping();
      forwarded.push(c);
      if (forwarded.length === 2) stopping = true;
    },
  });
  const batch = [rawControl('call_start', { callId: 'c' }), rawAudio({ callId: 'c', seq: 0 }), rawAudio({ callId: 'c', seq: 1 }), rawAudio({ callId: 'c', seq: 2 })]
    .map((r, i) => ({ ...r, source: { topic: 't', partition: 0, offset: String(i) } }));
  await assert.rejects(ingest.accept(batch), (e: unknown) => {
    assert.ok(e instanceof SinkStopping);
    assert.deepEqual(e.untaken.map((r) => r.offset), ['2', '3']);
    return true;
  });
  assert.equal(forwarded.length, 2);
  assert.deepEqual(dlq.records(), [], 'nothing dead-lettered');
  assert.equal(ingest.rejectedByCode.size, 0);
});

test('shutdown over the in-process source: untaken records stay queued and unreleased', async () => {
  const source = new MemorySource({ maxBatch: 10 });
  let taken = 0;
  const ingest = createIngest({
    source, deadLetters: new MemoryDeadLetterSink(), decode: createDecoder({ videoFeatureDim: 24 }),
    forward: () => {
      if (taken === 3) throw new SinkStopping();
      taken++;
    },
  });
  for (let i = 0; i < 5; i++) await source.push(rawAudio({ callId: 'm', seq: i }));
  await source.start(ingest);
  while (taken < 3) await tick();
  await source.stop();
  assert.equal(source.depth, 2, 'the 2 untaken records are still queued');
  assert.equal(source.inFlight, 3, 'the 3 taken ones wait for their release; the others are not tracked');
});
