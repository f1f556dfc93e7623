import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../../src/core/errors.js';
import type { RawChunk } from '../../src/core/ports.js';
import { MemorySource } from '../../src/ingest/memory-source.js';
import { rawAudio } from '../support/chunks.js';

const tick = () => new Promise((r) => setImmediate(r));

/** A sink whose accept resolves only when the test says so. */
function gatedSink() {
  const batches: RawChunk[][] = [];
  let open: (() => void)[] = [];
  return {
    batches,
    release: () => { const o = open; open = []; o.forEach((f) => f()); },
    sink: { accept: (b: RawChunk[]) => { batches.push(b); return new Promise<void>((r) => open.push(r)); } },
  };
}

test('delivers in push order, in batches, one accept at a time, with increasing offsets', async () => {
  const src = new MemorySource({ maxBatch: 2 });
  const g = gatedSink();
  for (let i = 0; i < 5; i++) await src.push(rawAudio({ seq: i }));
  await src.start(g.sink);
  await tick();
  assert.equal(g.batches.length, 1, 'the next batch waits for the previous accept');
  for (let i = 0; i < 3; i++) { g.release(); await tick(); await tick(); }
  const offsets = g.batches.flat().map((r) => r.source.offset);
  assert.deepEqual(offsets, ['0', '1', '2', '3', '4']);
  assert.deepEqual(g.batches.map((b) => b.length), [2, 2, 1]);
  assert.equal(src.inFlight, 5);
  g.release();
  await src.stop();
});

test('block policy: push waits while the queue is full and resumes as the sink drains', async () => {
  const src = new MemorySource({ capacity: 2, maxBatch: 1 });
  const g = gatedSink();
  await src.push(rawAudio({ seq: 0 }));
  await src.push(rawAudio({ seq: 1 }));
  let third = false;
  const p = src.push(rawAudio({ seq: 2 })).then(() => { third = true; });
  await tick();
  assert.equal(third, false, 'blocked: queue holds 2');
  assert.equal(src.depth, 2);
  await src.start(g.sink);
  await tick();
  g.release();
  await p;
  assert.equal(third, true);
  g.release();
  const stopped = src.stop();
  g.release();
  await stopped;
});

test('reject policy: push throws INGEST_OVERLOADED when full; stop rejects blocked producers', async () => {
  const src = new MemorySource({ capacity: 1, overflow: 'reject' });
  await src.push(rawAudio());
  await assert.rejects(src.push(rawAudio()), (e: unknown) => e instanceof AppError && e.code === 'INGEST_OVERLOADED' && e.retriable);
  const blocking = new MemorySource({ capacity: 1 });
  await blocking.push(rawAudio());
  const waiting = blocking.push(rawAudio());
  await blocking.stop();
  await assert.rejects(waiting, (e: unknown) => e instanceof AppError && e.code === 'INGEST_OVERLOADED');
});

test('release is tracked: committedOffset moves only past a contiguous released prefix', async () => {
  const src = new MemorySource();
  const got: RawChunk[] = [];
  await src.start({ accept: async (b) => { got.push(...b); } });
  for (let i = 0; i < 3; i++) await src.push(rawAudio({ seq: i }));
  while (got.length < 3) await tick();
  assert.equal(src.committedOffset(), null);
  src.release([got[1].source, got[2].source]);
  assert.equal(src.committedOffset(), null);
  src.release([got[0].source]);
  assert.equal(src.committedOffset(), '3');
  assert.equal(src.inFlight, 0);
  await src.stop();
});

test('a batch whose accept throws is delivered again after a delay', async () => {
  const errors: unknown[] = [];
  const src = new MemorySource({ retryDelayMs: 5, onError: (e) => errors.push(e) });
  let calls = 0;
  const seen: string[] = [];
  await src.start({ accept: async (b) => { if (calls++ === 0) throw new Error('store down'); seen.push(...b.map((r) => r.source.offset)); } });
  await src.push(rawAudio());
  while (seen.length === 0) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(seen, ['0']);
  assert.equal(errors.length, 1);
  await src.stop();
});
