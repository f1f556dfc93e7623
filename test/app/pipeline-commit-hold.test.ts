/**
 * The pipeline's side of the commit hold (src/window/commit-hold.ts): a call's first record is
 * released only after the call's final status is stored, whatever released it before (here the
 * window releases a call_start at once). Real PartitionedWindow and Windower, a real SQLite store.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { createMetrics } from '../../src/app/metrics.js';
import { Pipeline } from '../../src/app/pipeline.js';
import { CommitHolds } from '../../src/window/commit-hold.js';
import { PartitionedWindow } from '../../src/window/partitioned-window.js';
import type { RawChunk, Scorer, ScorePublisher } from '../../src/core/ports.js';
import type { CallInfo, ChunkSourceRef } from '../../src/core/types.js';
import { SqliteScoreStore } from '../../src/store/sqlite-store.js';
import { Windower } from '../../src/window/index.js';
import { callEnd, callStart, T0 } from '../support/chunks.js';

const at = (offset: number): ChunkSourceRef => ({ topic: 'chunks', partition: 0, offset: String(offset) });

test('the call_start is released only after the call\'s final status is stored', async () => {
  const store = new SqliteScoreStore({ path: ':memory:' });
  await store.start();
  const log: string[] = [];
  const upsert = store.upsertCall.bind(store);
  store.upsertCall = async (call: CallInfo, fence) => {
    await upsert(call, fence);
    log.push(`stored ${call.status}`);
  };
  const p = new Pipeline({
    window: new PartitionedWindow({ make: () => new Windower(), holds: new CommitHolds({ maxSpanMs: 900_000, maxRecords: 500_000 }) }),
    scorer: {} as Scorer, // control records only: nothing is scored
    store,
    publisher: { publishScore: async () => {}, publishCall: async () => {} } as unknown as ScorePublisher,
    release: (refs) => log.push(...refs.map((r) => `release ${r.offset}`)),
    reject: async () => assert.fail('nothing is rejected'),
    labeler: () => ({ label: 'NEUTRAL', confidence: 1 }),
    flags: () => ({ text: 'MISSING', audio: 'PRESENT', video: 'MISSING' }),
    metrics: createMetrics(),
    logger: pino({ level: 'silent' }),
  });
  await p.onChunk(callStart({ callId: 'c', tenant: 'acme', eventTimeMs: T0, source: at(0) }), {} as RawChunk);
  await p.idle();
  assert.deepEqual(log, ['stored ACTIVE'], 'the call_start is held while the call is open');
  await p.onChunk(callEnd({ callId: 'c', tenant: 'acme', eventTimeMs: T0 + 5_000, seq: 1, source: at(1) }), {} as RawChunk);
  await p.idle();
  assert.deepEqual(log, ['stored ACTIVE', 'release 1', 'stored ENDED', 'release 0'], 'released once ENDED is stored');
  await store.stop();
});
