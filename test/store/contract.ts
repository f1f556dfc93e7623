/**
 * The ScoreStore contract: behaviour every store adapter must show. Each adapter's test file
 * calls `runStoreContract(name, makeStore)`; `makeStore` returns a fresh, empty, not-yet-started
 * store per test (SQLite: ':memory:'; PostgreSQL: a fresh schema or database).
 */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { ScoreStore } from '../../src/core/ports.js';
import type { SegmentScore } from '../../src/core/types.js';
import type { ScoreHistory } from '../../src/core/ports.js';
import { encodeCursor } from '../../src/store/cursor.js';
import { makeCall, makeScore, shuffled } from './fixtures.js';

/**
 * Makes a fresh, empty, not-yet-started store for one test. It may register cleanup on `t`
 * (e.g. drop a database), and returns null when it skipped the test (a service is absent
 * outside CI; see test/support/services.ts).
 */
export type StoreFactory = (t: TestContext) => Promise<(ScoreStore & Partial<ScoreHistory>) | null>;

const key = (s: SegmentScore) => `${s.tenant}/${s.callId}/${s.channel}/${s.segmentIndex}/${s.revision}`;
const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;

export function runStoreContract(name: string, makeStore: StoreFactory): void {
  describe(`ScoreStore contract: ${name}`, () => {
    async function withStore(t: TestContext, fn: (s: ScoreStore & Partial<ScoreHistory>) => Promise<void>): Promise<void> {
      const store = await makeStore(t);
      if (!store) return;
      await store.start();
      try {
        await fn(store);
      } finally {
        await store.stop();
      }
    }

    test('putScore is idempotent on (call, channel, segment, revision) and a repeat changes nothing', (t) =>
      withStore(t, async (store) => {
        const s = makeScore({ valence: -2, label: 'NEGATIVE' });
        assert.equal(await store.putScore(s), 'inserted');
        assert.equal(await store.putScore(s), 'duplicate');
        assert.equal(await store.putScore({ ...s, valence: 2.5, label: 'POSITIVE', text: 'changed' }), 'duplicate');
        const page = await store.getSegments({ tenant: 'acme', callId: 'call-1', first: 10 });
        assert.equal(page.totalCount, 1);
        assert.deepEqual(page.items[0].node, s);
        const call = await store.getCall('call-1', 'acme');
        assert.equal(call?.segmentCount, 1, 'a duplicate must not count as a new segment');
      }));

    test('a score round-trips every field, including text and all modality states', (t) =>
      withStore(t, async (store) => {
        const s = makeScore({
          text: 'thanks, that fixed it', textMissing: false, valence: 2.125, label: 'POSITIVE', confidence: 0.875,
          modalities: { text: 'PRESENT', audio: 'MISSING', video: 'PRESENT' }, modalityWeights: { text: 0.5, audio: 0, video: 0.5 },
          executionProvider: 'webgpu', startMs: 1_700_000_000_123.5, endMs: 1_700_000_001_000,
        });
        await store.putScore(s);
        const page = await store.getSegments({ tenant: 'acme', callId: 'call-1', first: 1 });
        assert.deepEqual(page.items[0].node, s);
      }));

    test('text source and recognised words round-trip (migration 0003); a score without them reads back derived', (t) =>
      withStore(t, async (store) => {
        const recognised = makeScore({ segmentIndex: 1, textSource: 'RECOGNISED', recognisedText: 'my bill is wrong again' });
        const { textSource: _, recognisedText: __, ...older } = makeScore({ segmentIndex: 2 });
        await store.putScore(recognised);
        await store.putScore(older);
        const page = await store.getSegments({ tenant: 'acme', callId: 'call-1', first: 10 });
        assert.deepEqual(page.items.map((i) => [i.node.textSource, i.node.recognisedText]), [['RECOGNISED', 'my bill is wrong again'], ['SIMULATED', null]]);
      }));

    test('utterance ids, talk measures and display names round-trip (migration 0004); older rows read back empty', (t) =>
      withStore(t, async (store) => {
        const talk = { speech: [[1_700_000_000_100, 1_700_000_000_900.5]] as [number, number][], speechSamples: 12_808, sumSquares: 576.25, peak: 0.5 };
        const s = makeScore({ segmentIndex: 1, text: 'I want to cancel', textMissing: false, modalities: { text: 'PRESENT', audio: 'PRESENT', video: 'MISSING' }, utteranceIds: ['u-1', 'u-2'], talk });
        const { utteranceIds: _, talk: __, ...older } = makeScore({ segmentIndex: 2 });
        await store.putScore(s);
        await store.putScore(older);
        const page = await store.getSegments({ tenant: 'acme', callId: 'call-1', first: 10 });
        assert.deepEqual(page.items[0].node, s);
        assert.deepEqual([page.items[1].node.utteranceIds, page.items[1].node.talk], [[], undefined]);
        await store.upsertCall(makeCall({ displayName: 'Jane Roe (billing)' }));
        await store.upsertCall(makeCall({ status: 'ENDED', endedAtMs: 1_700_000_009_000 })); // call_end names none: the name stays
        assert.equal((await store.getCall('call-1', 'acme'))?.displayName, 'Jane Roe (billing)');
        assert.equal((await store.listCalls({ tenant: 'acme', first: 5 })).items[0].node.displayName, 'Jane Roe (billing)');
      }));

    test('revisions: latest only by default, all on request, whatever order they arrive in', (t) =>
      withStore(t, async (store) => {
        const r1 = makeScore({ segmentIndex: 3, revision: 1, text: 'late transcript', textMissing: false, modalities: { text: 'PRESENT', audio: 'PRESENT', video: 'MISSING' } });
        const r0 = makeScore({ segmentIndex: 3, revision: 0 });
        const other = makeScore({ segmentIndex: 4 });
        assert.equal(await store.putScore(r1), 'inserted');
        assert.equal(await store.putScore(r0), 'inserted', 'an older revision arriving late is still stored');
        await store.putScore(other);
        const latest = await store.getSegments({ tenant: 'acme', callId: 'call-1', first: 10 });
        assert.deepEqual(latest.items.map((i) => [i.node.segmentIndex, i.node.revision]), [[3, 1], [4, 0]]);
        assert.equal(latest.totalCount, 2);
        const all = await store.getSegments({ tenant: 'acme', callId: 'call-1', first: 10, latestOnly: false });
        assert.deepEqual(all.items.map((i) => [i.node.segmentIndex, i.node.revision]), [[3, 0], [3, 1], [4, 0]]);
        assert.equal((await store.getCall('call-1', 'acme'))?.segmentCount, 2, 'revisions are not new segments');
      }));

    test('pagination walks every segment exactly once, in (startMs, channel) order, across pages', (t) =>
      withStore(t, async (store) => {
        const scores: SegmentScore[] = [];
        for (let i = 0; i < 60; i++) {
          for (const channel of ['agent', 'customer']) {
            // Equal start times across channels exercise the tie-breaker.
            scores.push(makeScore({ channel, segmentIndex: i, startMs: 1_000 + Math.floor(i / 2) * 500 }));
          }
        }
        for (const s of shuffled(scores, 7)) await store.putScore(s);
        const seen: string[] = [];
        let after: string | undefined;
        let pages = 0;
        for (;;) {
          const page = await store.getSegments({ tenant: 'acme', callId: 'call-1', first: 7, after });
          assert.equal(page.totalCount, 120);
          seen.push(...page.items.map((i) => key(i.node)));
          pages++;
          if (!page.hasNextPage) break;
          assert.ok(page.endCursor);
          after = page.endCursor;
        }
        assert.equal(pages, Math.ceil(120 / 7));
        assert.equal(new Set(seen).size, 120, 'no duplicates');
        const expected = [...scores]
          .sort((a, b) => a.startMs - b.startMs || (a.channel < b.channel ? -1 : a.channel > b.channel ? 1 : 0) || a.segmentIndex - b.segmentIndex)
          .map(key);
        assert.deepEqual(seen, expected, 'no gaps, stable order');
        const channelOnly = await store.getSegments({ tenant: 'acme', callId: 'call-1', channel: 'agent', first: 1000 });
        assert.equal(channelOnly.totalCount, 60);
        assert.ok(channelOnly.items.every((i) => i.node.channel === 'agent'));
      }));

    test('concurrent puts: exactly one insert per key, and revisions stored together count as one segment', (t) =>
      withStore(t, async (store) => {
        const s = makeScore({ segmentIndex: 7 });
        const results = await Promise.all(Array.from({ length: 8 }, () => store.putScore(s)));
        assert.equal(results.filter((r) => r === 'inserted').length, 1);
        const revisions = Array.from({ length: 6 }, (_, r) => makeScore({ segmentIndex: 8, revision: r, channel: r % 2 ? 'agent' : 'customer' }));
        assert.deepEqual(await Promise.all(revisions.map((r) => store.putScore(r))), revisions.map(() => 'inserted'));
        const call = await store.getCall('call-1', 'acme');
        assert.equal(call?.segmentCount, 3, 'segment 7, segment 8 on customer, segment 8 on agent');
        assert.deepEqual(new Set(call?.channels), new Set(['customer', 'agent']));
        const all = await store.getSegments({ tenant: 'acme', callId: 'call-1', first: 100, latestOnly: false });
        assert.equal(all.totalCount, 7);
      }));

    test('a row inserted between page reads neither repeats nor hides rows', (t) =>
      withStore(t, async (store) => {
        for (let i = 0; i < 10; i++) await store.putScore(makeScore({ segmentIndex: i }));
        const p1 = await store.getSegments({ tenant: 'acme', callId: 'call-1', first: 5 });
        await store.putScore(makeScore({ segmentIndex: 10 }));
        await store.putScore(makeScore({ segmentIndex: 2, revision: 1 })); // sorts inside page 1: it is a revision
        const p2 = await store.getSegments({ tenant: 'acme', callId: 'call-1', first: 50, after: p1.endCursor! });
        assert.deepEqual(p2.items.map((i) => i.node.segmentIndex), [5, 6, 7, 8, 9, 10]);
        assert.equal(p2.hasNextPage, false);
      }));

    test('an empty result is a page with no cursor', (t) =>
      withStore(t, async (store) => {
        const page = await store.getSegments({ tenant: 'acme', callId: 'nope', first: 10 });
        assert.deepEqual(page, { items: [], hasNextPage: false, endCursor: null, totalCount: 0 });
      }));

    test('tenants are isolated even when call ids collide', (t) =>
      withStore(t, async (store) => {
        await store.upsertCall(makeCall({ tenant: 'acme', meta: { owner: 'acme' } }));
        await store.upsertCall(makeCall({ tenant: 'globex', meta: { owner: 'globex' }, status: 'ENDED', endedAtMs: 1_700_000_100_000 }));
        const a = makeScore({ tenant: 'acme', valence: -2 });
        const b = makeScore({ tenant: 'globex', valence: 2, label: 'POSITIVE' });
        assert.equal(await store.putScore(a), 'inserted');
        assert.equal(await store.putScore(b), 'inserted', 'same key in another tenant is another score');
        const pa = await store.getSegments({ tenant: 'acme', callId: 'call-1', first: 10 });
        assert.deepEqual(pa.items.map((i) => i.node), [a]);
        const pb = await store.getSegments({ tenant: 'globex', callId: 'call-1', first: 10 });
        assert.deepEqual(pb.items.map((i) => i.node), [b]);
        assert.equal((await store.getCall('call-1', 'acme'))?.meta.owner, 'acme');
        assert.equal((await store.getCall('call-1', 'globex'))?.status, 'ENDED');
        assert.equal(await store.getCall('call-1', 'initech'), null);
        const calls = await store.listCalls({ tenant: 'acme', first: 10 });
        assert.deepEqual(calls.items.map((i) => [i.node.tenant, i.node.callId]), [['acme', 'call-1']]);
        assert.equal(calls.totalCount, 1);
        assert.equal((await store.getSegments({ tenant: 'initech', callId: 'call-1', first: 10 })).totalCount, 0);
      }));

    test('garbage, tampered and wrong-kind cursors fail with BAD_CURSOR', (t) =>
      withStore(t, async (store) => {
        await store.putScore(makeScore());
        const q = { tenant: 'acme', callId: 'call-1', first: 5 };
        const bad = [
          'garbage!!',
          Buffer.from('not json').toString('base64url'),
          Buffer.from(JSON.stringify({ v: 1, k: 'seg', p: ['x', 1, 2, 3] })).toString('base64url'),
          Buffer.from(JSON.stringify({ v: 99, k: 'seg', p: [1, 'a', 2, 3] })).toString('base64url'),
          encodeCursor('call', [1, 'acme', 'call-1']),
          '',
        ];
        for (const after of bad) await assert.rejects(store.getSegments({ ...q, after }), code('BAD_CURSOR'), `cursor ${after}`);
        await assert.rejects(store.listCalls({ tenant: 'acme', first: 5, after: encodeCursor('seg', [1, 'a', 2, 3]) }), code('BAD_CURSOR'));
      }));

    test('bad page sizes and invalid scores fail with BAD_REQUEST before touching storage', (t) =>
      withStore(t, async (store) => {
        for (const first of [0, -1, 1.5, 100_000]) {
          await assert.rejects(store.getSegments({ tenant: 'acme', callId: 'call-1', first }), code('BAD_REQUEST'));
          await assert.rejects(store.listCalls({ tenant: 'acme', first }), code('BAD_REQUEST'));
        }
        await assert.rejects(store.putScore(makeScore({ valence: Number.NaN })), code('BAD_REQUEST'));
        await assert.rejects(store.putScore(makeScore({ revision: -1 })), code('BAD_REQUEST'));
        await assert.rejects(store.putScore(makeScore({ label: 'HAPPY' as never })), code('BAD_REQUEST'));
        await assert.rejects(store.putScore(makeScore({ tenant: '' })), code('BAD_REQUEST'));
        await assert.rejects(store.upsertCall(makeCall({ status: 'DONE' as never })), code('BAD_REQUEST'));
        assert.equal((await store.getSegments({ tenant: 'acme', callId: 'call-1', first: 5 })).totalCount, 0);
      }));

    test('a score for an unknown call creates the call; upsertCall merges and never moves status back', (t) =>
      withStore(t, async (store) => {
        await store.putScore(makeScore({ channel: 'agent', startMs: 5_000 }));
        let call = await store.getCall('call-1', 'acme');
        assert.deepEqual(call && { s: call.status, ch: call.channels, n: call.segmentCount, t: call.startedAtMs }, { s: 'ACTIVE', ch: ['agent'], n: 1, t: 5_000 });
        await store.upsertCall(makeCall({ startedAtMs: 4_000, channels: ['customer'], meta: { queue: 'billing' } }));
        await store.upsertCall(makeCall({ status: 'ENDED', endedAtMs: 9_000, startedAtMs: 4_000, channels: [], meta: { agent: 'a7' } }));
        await store.upsertCall(makeCall({ status: 'ACTIVE', startedAtMs: 4_000, channels: [] })); // a replayed call_start
        call = await store.getCall('call-1', 'acme');
        assert.equal(call?.status, 'ENDED');
        assert.equal(call?.endedAtMs, 9_000);
        assert.equal(call?.startedAtMs, 4_000);
        assert.deepEqual(new Set(call?.channels), new Set(['agent', 'customer']));
        assert.equal(call?.segmentCount, 1);
        assert.deepEqual(call?.meta, { queue: 'billing', agent: 'a7' });
      }));

    test('listCalls: newest first, filters by status and start time, pages without gaps', (t) =>
      withStore(t, async (store) => {
        for (let i = 0; i < 25; i++) {
          await store.upsertCall(makeCall({ callId: `c${String(i).padStart(2, '0')}`, startedAtMs: 10_000 + (i % 5) * 1000, status: i % 3 === 0 ? 'ENDED' : 'ACTIVE', endedAtMs: i % 3 === 0 ? 20_000 : null }));
        }
        const ids: string[] = [];
        let after: string | undefined;
        do {
          const page = await store.listCalls({ tenant: 'acme', first: 4, after });
          assert.equal(page.totalCount, 25);
          ids.push(...page.items.map((i) => i.node.callId));
          after = page.hasNextPage ? page.endCursor! : undefined;
        } while (after);
        assert.equal(new Set(ids).size, 25);
        const starts = await Promise.all(ids.map(async (id) => (await store.getCall(id, 'acme'))!.startedAtMs));
        assert.deepEqual(starts, [...starts].sort((a, b) => b - a), 'newest first');
        const ended = await store.listCalls({ tenant: 'acme', status: 'ENDED', first: 100 });
        assert.equal(ended.totalCount, 9);
        assert.ok(ended.items.every((i) => i.node.status === 'ENDED'));
        const window = await store.listCalls({ tenant: 'acme', startedAfterMs: 11_000, startedBeforeMs: 13_000, first: 100 });
        assert.equal(window.totalCount, 10);
        assert.ok(window.items.every((i) => i.node.startedAtMs >= 11_000 && i.node.startedAtMs < 13_000));
      }));

    test('scoresSince returns every revision stored since a time, in storage order, resumable by cursor', async (t) => {
      await withStore(t, async (store) => {
        if (typeof store.scoresSince !== 'function') return void t.skip(`${name} has no scoresSince`);
        await store.putScore(makeScore({ segmentIndex: 0 }));
        const mark = Date.now() + 1;
        await new Promise((r) => setTimeout(r, 5));
        const later = [makeScore({ segmentIndex: 1 }), makeScore({ segmentIndex: 0, revision: 1 }), makeScore({ segmentIndex: 2, tenant: 'globex' }), makeScore({ segmentIndex: 3 })];
        for (const s of later) await store.putScore(s);
        const p1 = await store.scoresSince!({ tenant: 'acme', sinceMs: mark, first: 2 });
        assert.deepEqual(p1.items.map((i) => key(i.node.score)), [key(later[0]), key(later[1])]);
        assert.equal(p1.totalCount, 3);
        assert.ok(p1.items.every((i) => i.node.storedAtMs >= mark));
        const p2 = await store.scoresSince!({ tenant: 'acme', after: p1.endCursor!, first: 10 });
        assert.deepEqual(p2.items.map((i) => key(i.node.score)), [key(later[3])]);
        assert.equal(p2.hasNextPage, false);
        await assert.rejects(store.scoresSince!({ tenant: 'acme', after: 'zzz', first: 1 }), code('BAD_CURSOR'));
      });
    });

    test('a store that is not started fails with STORE_UNAVAILABLE', async (t) => {
      const store = await makeStore(t);
      if (!store) return;
      await assert.rejects(store.putScore(makeScore()), code('STORE_UNAVAILABLE'));
      await assert.rejects(store.getSegments({ tenant: 'acme', callId: 'call-1', first: 1 }), code('STORE_UNAVAILABLE'));
    });
  });
}
