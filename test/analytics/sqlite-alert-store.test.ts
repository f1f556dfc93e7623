import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Alert } from '../../src/analytics/alert.js';
import { SqliteAlertStore } from '../../src/analytics/sqlite-alert-store.js';
import { DEFAULT_RULES, mergeRules } from '../../src/analytics/rules.js';
import { isAppError } from '../../src/core/errors.js';

const alert = (callId: string, segmentIndex: number, eventTimeMs: number, tenant = 't1', rule: Alert['rule'] = 'SHARP_DROP'): Alert => ({
  id: `${callId}:customer:${rule}:${segmentIndex}`,
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

const ch = (channel: string, mean: number) => ({ channel, segments: 3, meanValence: mean, minValence: mean - 1, maxValence: mean + 1, rollingValence: mean, trend: null, textMissingShare: 0.5 });

test('alerts: idempotent insert, counted once per call, newest-first keyset paging with stable cursors', async () => {
  const s = new SqliteAlertStore();
  await s.start();
  assert.equal(await s.putAlert(alert('a', 1, 100)), 'inserted');
  assert.equal(await s.putAlert(alert('a', 1, 100)), 'duplicate');
  for (let i = 2; i < 9; i++) await s.putAlert(alert(i % 2 ? 'a' : 'b', i, 100 + (i % 3)));
  await s.putAlert(alert('x', 1, 500, 't2'));
  const seen: string[] = [];
  let after: string | undefined;
  do {
    const p = await s.listAlerts({ tenant: 't1', first: 3, after });
    assert.equal(p.totalCount, 8);
    seen.push(...p.items.map((e) => e.node.id));
    after = p.hasNextPage ? (p.endCursor as string) : undefined;
  } while (after);
  const all = (await s.listAlerts({ tenant: 't1', first: 100 })).items.map((e) => e.node);
  assert.deepEqual(seen, all.map((a) => a.id));
  const sorted = [...all].sort((x, y) => y.eventTimeMs - x.eventTimeMs || (y.id < x.id ? -1 : 1));
  assert.deepEqual(all, sorted);
  assert.equal((await s.listAlerts({ callId: 'b', first: 50 })).totalCount, 4);
  assert.equal((await s.listAlerts({ tenant: 't1', sinceMs: 102, first: 50 })).totalCount, 3);
  assert.equal((await s.getSummary('a'))?.alertCount, 4);
  assert.equal((await s.alertsOfCall('a')).length, 4);
  await assert.rejects(s.listAlerts({ first: 3, after: 'nope!' }), (e) => isAppError(e) && e.code === 'BAD_CURSOR');
  await assert.rejects(s.listAlerts({ first: 0 }), (e) => isAppError(e) && e.code === 'BAD_REQUEST');
  await s.stop();
});

test('rules: stored per tenant, validated, survive a reopen of the same file; migrations run once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'alerts-'));
  try {
    const path = join(dir, 'a.db');
    const s1 = new SqliteAlertStore({ path });
    await s1.start();
    const r = mergeRules(DEFAULT_RULES, { sharpDrop: { drop: 1.5 }, channels: ['customer', 'agent'] });
    await s1.setRules('t1', r);
    await assert.rejects(s1.setRules('t1', { ...r, rollingBelow: { ...r.rollingBelow, window: 0 } }), (e) => isAppError(e) && e.code === 'BAD_REQUEST');
    await s1.stop();
    const s2 = new SqliteAlertStore({ path });
    await s2.start();
    assert.deepEqual(await s2.getRules('t1'), r);
    assert.equal(await s2.getRules('t2'), null);
    assert.deepEqual([...(await s2.allRules()).keys()], ['t1']);
    await s2.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('searchCalls filters match a reference filter over random summaries', async () => {
  const summaryArb = fc.uniqueArray(
    fc.record({
      callId: fc.stringMatching(/^[a-z]{1,6}$/),
      tenant: fc.constantFrom('t1', 't2'),
      firstMs: fc.integer({ min: 0, max: 1000 }),
      len: fc.integer({ min: 0, max: 300 }),
      customer: fc.option(fc.double({ min: -3, max: 3, noNaN: true }), { nil: undefined }),
      agent: fc.double({ min: -3, max: 3, noNaN: true }),
      alerts: fc.integer({ min: 0, max: 2 }),
    }),
    { selector: (s) => s.callId, maxLength: 25 },
  );
  const filterArb = fc.record(
    {
      fromMs: fc.integer({ min: 0, max: 1300 }),
      toMs: fc.integer({ min: 0, max: 1300 }),
      minMeanValence: fc.double({ min: -3, max: 3, noNaN: true }),
      maxMeanValence: fc.double({ min: -3, max: 3, noNaN: true }),
      sentiment: fc.constantFrom('NEGATIVE' as const, 'NEUTRAL' as const, 'POSITIVE' as const),
      hasAlerts: fc.boolean(),
      channel: fc.constantFrom('customer', 'agent'),
    },
    { requiredKeys: [] },
  );
  await fc.assert(
    fc.asyncProperty(summaryArb, filterArb, async (calls, f) => {
      const s = new SqliteAlertStore();
      await s.start();
      for (const c of calls) {
        const channels = [ch('agent', c.agent), ...(c.customer === undefined ? [] : [ch('customer', c.customer)])];
        await s.putSummary({ callId: c.callId, tenant: c.tenant, firstMs: c.firstMs, lastMs: c.firstMs + c.len, channels });
        for (let i = 0; i < c.alerts; i++) await s.putAlert(alert(c.callId, i, c.firstMs, c.tenant));
      }
      const want = calls
        .filter((c) => c.tenant === 't1')
        .filter((c) => f.fromMs === undefined || c.firstMs + c.len >= f.fromMs)
        .filter((c) => f.toMs === undefined || c.firstMs <= f.toMs)
        .filter((c) => f.hasAlerts === undefined || (c.alerts > 0) === f.hasAlerts)
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
      const got: string[] = [];
      let after: string | undefined;
      do {
        const p = await s.searchCalls({ tenant: 't1', ...f, first: 4, after });
        assert.equal(p.totalCount, want.length);
        got.push(...p.items.map((e) => e.node.callId));
        after = p.hasNextPage ? (p.endCursor as string) : undefined;
      } while (after);
      assert.deepEqual(got, want);
      await s.stop();
    }),
    { numRuns: 60 },
  );
});

test('a summary keeps its channels and the alert count written before it', async () => {
  const s = new SqliteAlertStore();
  await s.start();
  await s.putAlert(alert('c', 3, 50));
  await s.putSummary({ callId: 'c', tenant: 't1', firstMs: 0, lastMs: 90, channels: [ch('agent', 1), ch('customer', -1)] });
  const got = await s.getSummary('c');
  assert.deepEqual(got, { callId: 'c', tenant: 't1', firstMs: 0, lastMs: 90, alertCount: 1, channels: [ch('agent', 1), ch('customer', -1)] });
  assert.equal(await s.getSummary('c', 'other'), null);
  await s.stop();
  await assert.rejects(s.putAlert(alert('c', 4, 1)), (e) => isAppError(e) && e.code === 'STORE_UNAVAILABLE');
});
