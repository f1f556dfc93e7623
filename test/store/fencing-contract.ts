/**
 * The ownership-fencing contract (src/store/fencing.ts), run against every store that keeps
 * partition owners: claims bump the epoch for a new owner and keep it for the owner that still
 * holds it; a write under a superseded epoch is refused inside the write (STORE_FENCED, not
 * retriable) and changes nothing; calls left ACTIVE are found per partition.
 */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { OwnershipStore, ScoreStore } from '../../src/core/ports.js';
import { makeCall, makeScore } from './fixtures.js';

export type FencingStoreFactory = (t: TestContext, now?: () => number) => Promise<(ScoreStore & OwnershipStore) | null>;

const P = 'chunks/0';
const fencedError = (e: unknown) => (e as { code?: string; retriable?: boolean }).code === 'STORE_FENCED' && (e as { retriable?: boolean }).retriable === false;

export function runFencingContract(name: string, makeStore: FencingStoreFactory): void {
  describe(`ownership fencing contract: ${name}`, () => {
    async function withStore(t: TestContext, fn: (s: ScoreStore & OwnershipStore) => Promise<void>, now?: () => number): Promise<void> {
      const store = await makeStore(t, now);
      if (!store) return;
      await store.start();
      try {
        await fn(store);
      } finally {
        await store.stop();
      }
    }

    test('a new owner bumps the epoch; the owner that still holds it keeps it', (t) =>
      withStore(t, async (s) => {
        assert.deepEqual(await s.claimPartitions('a', [{ partition: P }, { partition: 'chunks/1' }]), new Map([[P, 1], ['chunks/1', 1]]));
        assert.equal((await s.claimPartitions('a', [{ partition: P, held: 1 }])).get(P), 1, 'kept across a rebalance');
        assert.equal((await s.claimPartitions('b', [{ partition: P, held: 1 }])).get(P), 2, 'another owner never keeps it');
        // a held an epoch b has since superseded: a's claim must fence b, not keep a stale epoch
        assert.equal((await s.claimPartitions('a', [{ partition: P, held: 1 }])).get(P), 3);
        assert.equal((await s.claimPartitions('a', [{ partition: P }])).get(P), 4, 'a claim without held always bumps');
        assert.deepEqual(await s.partitionEpochs([P, 'chunks/1', 'chunks/9']), new Map([[P, 4], ['chunks/1', 1]]));
      }));

    test('a score or call written under a superseded epoch is refused and changes nothing', (t) =>
      withStore(t, async (s) => {
        const old = { partition: P, epoch: (await s.claimPartitions('a', [{ partition: P }])).get(P)! };
        assert.equal(await s.putScore(makeScore({ segmentIndex: 0 }), old), 'inserted');
        const current = { partition: P, epoch: (await s.claimPartitions('b', [{ partition: P }])).get(P)! };
        // the new owner finishes the call
        assert.equal(await s.putScore(makeScore({ segmentIndex: 1, valence: 0.5, label: 'POSITIVE' }), current), 'inserted');
        await s.upsertCall(makeCall({ status: 'ENDED', endedAtMs: 1_700_000_009_000, segmentCount: 2 }), current);
        // the paused old owner wakes up: a shortened revision, a new segment, an idle timeout
        await assert.rejects(s.putScore(makeScore({ segmentIndex: 1, revision: 1, valence: -2 }), old), fencedError);
        await assert.rejects(s.putScore(makeScore({ segmentIndex: 2 }), old), fencedError);
        await assert.rejects(s.upsertCall(makeCall({ status: 'TIMED_OUT', endedAtMs: 1_700_000_003_000 }), old), fencedError);
        // a write for a call the old owner never stored creates nothing either
        await assert.rejects(s.putScore(makeScore({ callId: 'call-new' }), old), fencedError);
        assert.equal(await s.getCall('call-new', 'acme'), null);
        const call = await s.getCall('call-1', 'acme');
        assert.equal(call?.status, 'ENDED');
        assert.equal(call?.endedAtMs, 1_700_000_009_000);
        assert.equal(call?.segmentCount, 2);
        const segs = await s.getSegments({ tenant: 'acme', callId: 'call-1', first: 10, latestOnly: false });
        assert.deepEqual(segs.items.map((i) => [i.node.segmentIndex, i.node.revision, i.node.valence]), [[0, 0, -1.25], [1, 0, 0.5]]);
      }));

    test('a write to a partition never claimed is refused; unfenced writes are unchanged', (t) =>
      withStore(t, async (s) => {
        await assert.rejects(s.putScore(makeScore(), { partition: 'chunks/7', epoch: 1 }), fencedError);
        assert.equal(await s.putScore(makeScore()), 'inserted', 'no token: embedded mode, no check');
        await assert.rejects(s.putScore(makeScore(), { partition: '', epoch: 1 }), (e) => (e as { code?: string }).code === 'BAD_REQUEST');
      }));

    test('calls left ACTIVE are found per partition, with the end of their last stored segment', async (t) => {
      let clock = 1_000;
      await withStore(t, async (s) => {
        const tok = { partition: P, epoch: (await s.claimPartitions('a', [{ partition: P }])).get(P)! };
        const other = { partition: 'chunks/1', epoch: (await s.claimPartitions('a', [{ partition: 'chunks/1' }])).get('chunks/1')! };
        await s.upsertCall(makeCall({ callId: 'left' }), tok);
        await s.putScore(makeScore({ callId: 'left', segmentIndex: 0 }), tok);
        await s.putScore(makeScore({ callId: 'left', segmentIndex: 1 }), tok);
        await s.upsertCall(makeCall({ callId: 'bare' }), tok);
        await s.upsertCall(makeCall({ callId: 'done', status: 'ENDED', endedAtMs: 1_700_000_001_000 }), tok);
        await s.upsertCall(makeCall({ callId: 'elsewhere' }), other);
        clock = 5_000;
        await s.upsertCall(makeCall({ callId: 'fresh' }), tok);
        const stale = await s.staleActiveCalls(P, 2_000, 10);
        assert.deepEqual(stale.map((x) => [x.call.callId, x.lastEndMs]).sort(), [['bare', null], ['left', makeScore({ segmentIndex: 1 }).endMs]]);
      }, () => clock);
    });
  });
}
