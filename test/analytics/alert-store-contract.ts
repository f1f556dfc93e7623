/**
 * The AlertStore contract: behaviour every alert store adapter must show. Each adapter's test
 * file calls `runAlertStoreContract(name, makeStore)`; `makeStore` returns a fresh, empty,
 * not-yet-started store per test (SQLite: ':memory:'; PostgreSQL: a fresh database).
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import fc from 'fast-check';
import { type Alert, alertId } from '../../src/analytics/alert.js';
import { DEFAULT_RULES, mergeRules } from '../../src/analytics/rules.js';
import type { ChannelAnalytics } from '../../src/analytics/stats.js';
import { isAppError } from '../../src/core/errors.js';
import type { AlertStore } from '../../src/core/ports.js';
import { encodeCursor } from '../../src/store/cursor.js';
import { MAX_PAGE_SIZE } from '../../src/store/page.js';

/** A fresh, empty, not-started store, or null when the test was skipped (service absent outside CI). */
export type AlertStoreFactory = (t: TestContext) => Promise<AlertStore | null>;

export const alert = (callId: string, segmentIndex: number, eventTimeMs: number, tenant = 't1', rule: Alert['rule'] = 'SHARP_DROP'): Alert => ({
  id: alertId(tenant, callId, 'customer', rule, segmentIndex),
  tenant,
  callId,
  channel: 'customer',
  rule,
  segmentIndex,
  valence: -2,
  value: 2.5,
  threshold: 2,
  message: 'm',
  eventTimeMs,
  raisedAt: new Date(0).toISOString(),
});

/** A cursor as the former analytics codec wrote it: base64url(JSON [tag, sortKey, id, tenant?]). */
export const legacyCursor = (...key: unknown[]): string => Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');

export const ch = (channel: string, mean: number, trend: number | null = null): ChannelAnalytics => ({
  channel, segments: 3, meanValence: mean, minValence: mean - 1, maxValence: mean + 1, rollingValence: mean, trend, textMissingShare: 0.5,
});

const code = (c: string) => (e: unknown) => isAppError(e) && e.code === c;

/** Every page of a list, following endCursor; checks totalCount on each page. */
async function drain<T>(list: (after: string | undefined) => Promise<{ items: { node: T }[]; hasNextPage: boolean; endCursor: string | null; totalCount: number }>, total?: number): Promise<T[]> {
  const out: T[] = [];
  let after: string | undefined;
  do {
    const p = await list(after);
    if (total !== undefined) assert.equal(p.totalCount, total);
    out.push(...p.items.map((e) => e.node));
    after = p.hasNextPage ? (p.endCursor as string) : undefined;
  } while (after);
  return out;
}

export function runAlertStoreContract(name: string, makeStore: AlertStoreFactory): void {
  describe(`AlertStore contract: ${name}`, () => {
    async function withStore(t: TestContext, fn: (s: AlertStore) => Promise<void>): Promise<void> {
      const s = await makeStore(t);
      if (!s) return;
      await s.start();
      try {
        await fn(s);
      } finally {
        await s.stop();
      }
    }

    test('alerts: idempotent insert, counted once per call, newest-first keyset paging with stable cursors', (t) =>
      withStore(t, async (s) => {
        assert.equal(await s.putAlert(alert('a', 1, 100)), 'inserted');
        assert.equal(await s.putAlert(alert('a', 1, 100)), 'duplicate');
        for (let i = 2; i < 9; i++) await s.putAlert(alert(i % 2 ? 'a' : 'b', i, 100 + (i % 3)));
        await s.putAlert(alert('x', 1, 500, 't2'));
        const seen = await drain((after) => s.listAlerts({ tenant: 't1', first: 3, after }), 8);
        const all = (await s.listAlerts({ tenant: 't1', first: 100 })).items.map((e) => e.node);
        assert.deepEqual(seen.map((a) => a.id), all.map((a) => a.id));
        const sorted = [...all].sort((x, y) => y.eventTimeMs - x.eventTimeMs || (y.id < x.id ? -1 : 1));
        assert.deepEqual(all, sorted);
        assert.deepEqual(all.find((a) => a.id === alert('a', 1, 100).id), alert('a', 1, 100), 'every field round-trips');
        assert.equal((await s.listAlerts({ tenant: 't1', callId: 'b', first: 50 })).totalCount, 4);
        assert.equal((await s.listAlerts({ tenant: 't1', sinceMs: 102, first: 50 })).totalCount, 3);
        assert.equal((await s.listAlerts({ tenant: 't1', rule: 'ROLLING_BELOW', first: 50 })).totalCount, 0);
        assert.equal((await s.listAlerts({ first: 50 })).totalCount, 9, 'no tenant: every tenant (operators)');
        assert.equal((await s.getSummary('a', 't1'))?.alertCount, 4);
        assert.deepEqual((await s.alertsOfCall('a', 't1')).map((a) => a.segmentIndex), [1, 3, 7, 5], 'oldest first (event time, then id)');
      }));

    test('bad input is a typed error before it reaches the database', (t) =>
      withStore(t, async (s) => {
        await assert.rejects(s.listAlerts({ first: 3, after: 'nope!' }), code('BAD_CURSOR'));
        await assert.rejects(s.listAlerts({ first: 3, after: encodeCursor('summary', [1, 'x', 't']) }), code('BAD_CURSOR'), 'a summary cursor is foreign to alerts');
        await assert.rejects(s.listAlerts({ first: 3, after: legacyCursor('summary', 1, 'x', 't') }), code('BAD_CURSOR'), 'so is a legacy one');
        await assert.rejects(s.searchCalls({ first: 3, after: encodeCursor('alert', [1, 'x']) }), code('BAD_CURSOR'), 'an alert cursor is foreign to summaries');
        await assert.rejects(s.searchCalls({ first: 3, after: encodeCursor('call', [1, 't', 'x']) }), code('BAD_CURSOR'), 'a calls cursor is foreign to summaries');
        await assert.rejects(s.listAlerts({ first: 0 }), code('BAD_REQUEST'));
        await assert.rejects(s.searchCalls({ first: MAX_PAGE_SIZE + 1 }), code('BAD_REQUEST'), 'the one page limit (store/page.ts)');
        await assert.rejects(s.searchCalls({ first: 5, minMeanValence: Number.NaN }), code('BAD_REQUEST'));
        await assert.rejects(s.listAlerts({ first: 5, sinceMs: Number.POSITIVE_INFINITY }), code('BAD_REQUEST'));
      }));

    test('rules: stored per tenant, validated, listed', (t) =>
      withStore(t, async (s) => {
        const r = mergeRules(DEFAULT_RULES, { sharpDrop: { drop: 1.5 }, channels: ['customer', 'agent'] });
        await s.setRules('t1', r);
        await assert.rejects(s.setRules('t1', { ...r, rollingBelow: { ...r.rollingBelow, window: 0 } }), code('BAD_REQUEST'));
        assert.deepEqual(await s.getRules('t1'), r);
        assert.equal(await s.getRules('t2'), null);
        const r2 = mergeRules(r, { rollingBelow: { threshold: -2 } });
        await s.setRules('t1', r2);
        await s.setRules('t0', DEFAULT_RULES);
        assert.deepEqual(await s.getRules('t1'), r2, 'set replaces');
        assert.deepEqual([...(await s.allRules()).entries()], [['t0', DEFAULT_RULES], ['t1', r2]]);
      }));

    test('a summary keeps its channels and the alert count written before it; a stopped store is STORE_UNAVAILABLE', async (t) => {
      const s = await makeStore(t);
      if (!s) return;
      await s.start();
      try {
        await s.putAlert(alert('c', 3, 50));
        await s.putSummary({ callId: 'c', tenant: 't1', firstMs: 0, lastMs: 90, channels: [ch('customer', -1, 0.25), ch('agent', 1)] });
        await s.putSummary({ callId: 'c', tenant: 't1', firstMs: 0, lastMs: 95.5, channels: [ch('customer', -1.5, -0.5), ch('agent', 1)] });
        assert.deepEqual(await s.getSummary('c', 't1'), { callId: 'c', tenant: 't1', firstMs: 0, lastMs: 95.5, alertCount: 1, channels: [ch('agent', 1), ch('customer', -1.5, -0.5)] });
        assert.equal(await s.getSummary('c', 'other'), null);
        assert.equal(await s.getSummary('nope', 't1'), null);
      } finally {
        await s.stop();
      }
      await assert.rejects(s.putAlert(alert('c', 4, 1)), code('STORE_UNAVAILABLE'));
    });

    test('two tenants with one call id: separate summaries, channels, alert counts, alerts and pages', (t) =>
      withStore(t, async (s) => {
        // Same call id, same span: only the tenant tells them apart (also in the page order).
        await s.putSummary({ callId: 'shared', tenant: 'acme', firstMs: 0, lastMs: 100, channels: [ch('customer', -2)] });
        await s.putSummary({ callId: 'shared', tenant: 'globex', firstMs: 0, lastMs: 100, channels: [ch('customer', 2), ch('agent', 1)] });
        assert.equal(await s.putAlert(alert('shared', 2, 50, 'acme')), 'inserted');
        assert.equal(await s.putAlert(alert('shared', 2, 50, 'globex')), 'inserted', "the same rule and segment on globex's call is not a repeat");
        await s.putAlert(alert('shared', 5, 60, 'globex'));
        const acme = await s.getSummary('shared', 'acme');
        const globex = await s.getSummary('shared', 'globex');
        assert.deepEqual(acme, { callId: 'shared', tenant: 'acme', firstMs: 0, lastMs: 100, alertCount: 1, channels: [ch('customer', -2)] });
        assert.deepEqual(globex, { callId: 'shared', tenant: 'globex', firstMs: 0, lastMs: 100, alertCount: 2, channels: [ch('agent', 1), ch('customer', 2)] });
        assert.deepEqual(await s.getSummary('shared'), acme, 'no tenant: the first tenant in byte order');
        assert.deepEqual((await s.alertsOfCall('shared', 'acme')).map((a) => [a.tenant, a.segmentIndex]), [['acme', 2]]);
        assert.deepEqual((await s.alertsOfCall('shared', 'globex')).map((a) => [a.tenant, a.segmentIndex]), [['globex', 2], ['globex', 5]]);
        assert.equal((await s.alertsOfCall('shared')).length, 3);
        assert.deepEqual((await s.listAlerts({ tenant: 'acme', callId: 'shared', first: 10 })).items.map((e) => e.node.tenant), ['acme']);
        // Searches per tenant see their own call only; the sentiment filter reads the tenant's own channels.
        const neg = await s.searchCalls({ tenant: 'globex', sentiment: 'NEGATIVE', first: 10 });
        assert.equal(neg.totalCount, 0, "acme's negative channel must not match globex's call");
        const pos = await s.searchCalls({ tenant: 'globex', sentiment: 'POSITIVE', hasAlerts: true, first: 10 });
        assert.deepEqual(pos.items.map((e) => e.node), [globex]);
        // Across tenants (operators), one page at a time: both rows, each once, tenant breaking the tie.
        const all = await drain((after) => s.searchCalls({ first: 1, after }), 2);
        assert.deepEqual(all.map((x) => x.tenant), ['globex', 'acme']);
        assert.deepEqual(all, [globex, acme]);
      }));

    test('a summary cursor without a tenant (before tenants keyed summaries) still pages by (lastMs, callId)', (t) =>
      withStore(t, async (s) => {
        for (const [callId, lastMs] of [['a', 10], ['b', 20], ['c', 20], ['d', 30]] as const) await s.putSummary({ callId, tenant: 't1', firstMs: 0, lastMs, channels: [] });
        const p = await s.searchCalls({ tenant: 't1', first: 10, after: legacyCursor('summary', 20, 'c') });
        assert.deepEqual(p.items.map((e) => e.node.callId), ['b', 'a']);
        assert.equal(p.totalCount, 4);
      }));

    test('cursors of the former analytics codec keep their place: the same next page as the one codec gives', (t) =>
      withStore(t, async (s) => {
        for (let i = 0; i < 4; i++) await s.putAlert(alert('c', i, 100 + (i % 2)));
        const one = await s.listAlerts({ tenant: 't1', first: 2 });
        const last = one.items[1].node;
        assert.equal(one.endCursor, encodeCursor('alert', [last.eventTimeMs, last.id]), 'alert pages end with a one-codec cursor');
        const viaNew = await s.listAlerts({ tenant: 't1', first: 2, after: one.endCursor! });
        const viaOld = await s.listAlerts({ tenant: 't1', first: 2, after: legacyCursor('alert', last.eventTimeMs, last.id) });
        assert.deepEqual(viaOld, viaNew);
        await s.putSummary({ callId: 'x', tenant: 't1', firstMs: 0, lastMs: 5, channels: [] });
        await s.putSummary({ callId: 'y', tenant: 't1', firstMs: 0, lastMs: 5, channels: [] });
        const sums = await s.searchCalls({ tenant: 't1', first: 1 });
        const top = sums.items[0].node;
        const next = await s.searchCalls({ tenant: 't1', first: 5, after: legacyCursor('summary', top.lastMs, top.callId, top.tenant) });
        assert.deepEqual(next, await s.searchCalls({ tenant: 't1', first: 5, after: sums.endCursor! }));
        assert.equal(top.callId, 'c', 'the alerts made c the most recent summary');
        assert.deepEqual(next.items.map((e) => e.node.callId), ['y', 'x']);
      }));

    test('searchCalls filters match a reference filter over random summaries', (t) =>
      withStore(t, async (s) => {
        // One store for every run: each run writes under its own tenants, so runs never see each other.
        let run = 0;
        const summaryArb = fc.uniqueArray(
          fc.record({
            callId: fc.stringMatching(/^[a-z]{1,6}$/),
            tenant: fc.constantFrom('t1', 't2'),
            firstMs: fc.integer({ min: 0, max: 1000 }),
            len: fc.integer({ min: 0, max: 300 }),
            customer: fc.option(fc.double({ min: -3, max: 3, noNaN: true, noDefaultInfinity: true }), { nil: undefined }),
            agent: fc.double({ min: -3, max: 3, noNaN: true, noDefaultInfinity: true }),
            alerts: fc.integer({ min: 0, max: 2 }),
          }),
          { selector: (c) => `${c.tenant}/${c.callId}`, maxLength: 25 },
        );
        const filterArb = fc.record(
          {
            fromMs: fc.integer({ min: 0, max: 1300 }),
            toMs: fc.integer({ min: 0, max: 1300 }),
            minMeanValence: fc.double({ min: -3, max: 3, noNaN: true, noDefaultInfinity: true }),
            maxMeanValence: fc.double({ min: -3, max: 3, noNaN: true, noDefaultInfinity: true }),
            sentiment: fc.constantFrom('NEGATIVE' as const, 'NEUTRAL' as const, 'POSITIVE' as const),
            hasAlerts: fc.boolean(),
            channel: fc.constantFrom('customer', 'agent'),
          },
          { requiredKeys: [] },
        );
        await fc.assert(
          fc.asyncProperty(summaryArb, filterArb, async (calls, f) => {
            const r = run++;
            const tn = (x: string) => `r${r}-${x}`;
            for (const c of calls) {
              const channels = [ch('agent', c.agent), ...(c.customer === undefined ? [] : [ch('customer', c.customer)])];
              await s.putSummary({ callId: c.callId, tenant: tn(c.tenant), firstMs: c.firstMs, lastMs: c.firstMs + c.len, channels });
              for (let i = 0; i < c.alerts; i++) await s.putAlert(alert(c.callId, i, c.firstMs, tn(c.tenant)));
            }
            const want = calls
              .filter((c) => c.tenant === 't1')
              .filter((c) => f.fromMs === undefined || c.firstMs + c.len >= f.fromMs)
              .filter((c) => f.toMs === undefined || c.firstMs <= f.toMs)
              .filter((c) => f.hasAlerts === undefined || c.alerts > 0 === f.hasAlerts)
              .filter((c) => {
                if (f.minMeanValence === undefined && f.maxMeanValence === undefined && f.sentiment === undefined) return true;
                const m = (f.channel ?? 'customer') === 'agent' ? c.agent : c.customer;
                if (m === undefined) return false;
                if (f.minMeanValence !== undefined && m < f.minMeanValence) return false;
                if (f.maxMeanValence !== undefined && m > f.maxMeanValence) return false;
                if (f.sentiment === 'NEGATIVE') return m < -0.5;
                if (f.sentiment === 'POSITIVE') return m > 0.5;
                if (f.sentiment === 'NEUTRAL') return m >= -0.5 && m <= 0.5;
                return true;
              })
              .sort((a, b) => b.firstMs + b.len - (a.firstMs + a.len) || (b.callId < a.callId ? -1 : 1))
              .map((c) => c.callId);
            const got = await drain((after) => s.searchCalls({ tenant: tn('t1'), ...f, first: 4, after }), want.length);
            assert.deepEqual(got.map((c) => c.callId), want);
          }),
          { numRuns: 40 },
        );
      }));
  });
}
