/**
 * Ownership (src/store/ownership.ts) on a real SQLite store: two instances' views of the same
 * partitions, claims, tokens, a refused write, and the re-check after a stall.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { Ownership } from '../../src/store/ownership.js';
import { SqliteScoreStore } from '../../src/store/sqlite-store.js';
import { makeScore } from './fixtures.js';

const logger = pino({ level: 'silent' });

function instance(store: SqliteScoreStore, owner: string) {
  const lost: string[] = [];
  const stale: string[] = [];
  const o = new Ownership({ store, owner, logger, onLost: (p) => lost.push(p), onStale: (p) => stale.push(p) });
  return { o, lost, stale };
}

test('a paused owner is fenced: its token is refused, verify drops what moved on, a re-assignment re-claims', async () => {
  const store = new SqliteScoreStore({ path: ':memory:' });
  await store.start();
  try {
    const a = instance(store, 'a');
    const b = instance(store, 'b');
    a.o.assign(['t/0', 't/1']);
    const aTok = (await a.o.token('t/0'))!;
    assert.deepEqual(aTok, { partition: 't/0', epoch: 1 });
    assert.equal(await a.o.token('t/9'), null, 'not assigned: no token');
    assert.equal(await store.putScore(makeScore({ segmentIndex: 0 }), aTok), 'inserted');

    // a pauses; the group gives both partitions to b
    b.o.assign(['t/0', 't/1']);
    assert.deepEqual(await b.o.token('t/0'), { partition: 't/0', epoch: 2 });
    // a wakes: a write under its old epoch is refused inside the store
    await assert.rejects(store.putScore(makeScore({ segmentIndex: 1 }), aTok), (e) => (e as { code?: string }).code === 'STORE_FENCED');
    a.o.fenced(aTok);
    assert.deepEqual(a.lost, ['t/0']);
    assert.equal(await a.o.token('t/0'), null, 'lost: no more writes');
    // its stall check finds the other partition moved on too
    await a.o.verify();
    assert.deepEqual(a.lost, ['t/0', 't/1']);

    // the group rejoins: a gets t/1 back, b keeps t/0 (its epoch unchanged)
    a.o.assign(['t/1']);
    b.o.assign(['t/0']);
    assert.deepEqual(await a.o.token('t/1'), { partition: 't/1', epoch: 3 });
    assert.deepEqual(await b.o.token('t/0'), { partition: 't/0', epoch: 2 }, 'kept across the rebalance');
    assert.deepEqual(b.stale, []);
    // b held t/1 at epoch 2 when a took it: b's later claim of t/1 resets its stale state
    b.o.assign(['t/0', 't/1']);
    await b.o.token('t/1');
    assert.deepEqual(b.stale, [], 'b had dropped t/1 from its assignment, so it claims it fresh');
    assert.deepEqual((await b.o.token('t/1'))!.epoch, 4);
  } finally {
    await store.stop();
  }
});

test('an owner that kept a partition while another claimed it in between resets its state', async () => {
  const store = new SqliteScoreStore({ path: ':memory:' });
  await store.start();
  try {
    const a = instance(store, 'a');
    a.o.assign(['t/0']);
    await a.o.token('t/0');
    // another owner claimed t/0 between two of a's assignments (a was out of the group meanwhile)
    await store.claimPartitions('b', [{ partition: 't/0' }]);
    a.o.assign(['t/0']);
    assert.deepEqual(await a.o.token('t/0'), { partition: 't/0', epoch: 3 });
    assert.deepEqual(a.stale, ['t/0'], 'its windows of t/0 are stale: b wrote in between');
  } finally {
    await store.stop();
  }
});
