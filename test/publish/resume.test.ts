import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ScoreHub } from '../../src/publish/hub.js';
import { resumeScores } from '../../src/publish/resume.js';
import { SqliteScoreStore } from '../../src/store/sqlite-store.js';
import type { SegmentScore } from '../../src/core/types.js';
import { makeScore } from '../store/fixtures.js';

const key = (s: SegmentScore) => `${s.callId}/${s.channel}/${s.segmentIndex}r${s.revision}`;

/** Store then publish, as the pipeline does. */
async function emit(store: SqliteScoreStore, hub: ScoreHub, s: SegmentScore): Promise<void> {
  if ((await store.putScore(s)) === 'inserted') await hub.publishScore(s);
}

test('resume replays stored scores, then goes live, with no gap and no repeat across the switch', async () => {
  const store = new SqliteScoreStore({ path: ':memory:' });
  await store.start();
  const hub = new ScoreHub({ dedupeWindow: 1 }); // the hub's own dedupe must not be what hides repeats here
  const missed = Array.from({ length: 7 }, (_, i) => makeScore({ segmentIndex: i }));
  const before = makeScore({ segmentIndex: 99, callId: 'old' });
  await emit(store, hub, before);
  const since = Date.now() + 1;
  await new Promise((r) => setTimeout(r, 5));
  for (const s of missed) await emit(store, hub, s);

  const got: string[] = [];
  const stream = resumeScores(hub, store, { tenant: 'acme' }, { sinceMs: since, pageSize: 3, skewMs: 60_000 });
  const reading = (async () => {
    for await (const s of stream) {
      got.push(key(s));
      // While the replay is running, more scores are stored and published: they must arrive once.
      if (got.length === 2) for (let i = 7; i < 10; i++) await emit(store, hub, makeScore({ segmentIndex: i }));
      if (got.length === 14) break;
    }
  })();
  await new Promise((r) => setTimeout(r, 50));
  for (let i = 10; i < 12; i++) await emit(store, hub, makeScore({ segmentIndex: i }));
  await emit(store, hub, makeScore({ segmentIndex: 3, revision: 1 }));
  await emit(store, hub, makeScore({ segmentIndex: 12, channel: 'agent' }));
  await Promise.race([reading, new Promise((_, rej) => setTimeout(() => rej(new Error(`stuck after ${got.length}: ${got}`)), 3000))]);
  const expected = [...Array.from({ length: 12 }, (_, i) => `call-1/customer/${i}r0`), 'call-1/customer/3r1', 'call-1/agent/12r0'];
  assert.equal(new Set(got).size, got.length, `no repeats: ${got}`);
  assert.deepEqual([...got].sort(), [...expected].sort(), 'every score exactly once');
  assert.deepEqual(got.slice(0, 7), missed.map(key), 'the replay comes first, in storage order');
  assert.ok(!got.includes(key(before)), 'nothing stored before `since`');
  assert.equal(hub.stats().subscribers, 0, 'the live subscription is freed when the reader stops');
  await store.stop();
});

test('return() while the stream waits for live events frees its hub subscription at once (issue 13)', async () => {
  // Before: resumeScores was a bare async generator; return() on a generator parked in
  // `await live.next()` queues behind that await, which no event may ever resolve, so the hub
  // subscription (and its queue) stayed for good after the client left.
  const store = new SqliteScoreStore({ path: ':memory:' });
  await store.start();
  const hub = new ScoreHub();
  const stream = resumeScores(hub, store, { tenant: 'acme' }, { sinceMs: 0 });
  const pending = stream.next(); // history is empty: parks on the live queue
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(hub.stats().subscribers, 1);
  const returned = await Promise.race([stream.return(undefined), new Promise((r) => setTimeout(() => r('hung'), 1000))]);
  assert.notEqual(returned, 'hung', 'return() did not settle');
  assert.equal(hub.stats().subscribers, 0);
  assert.deepEqual(await pending, { value: undefined, done: true });
  await store.stop();
});
