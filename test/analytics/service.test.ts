/**
 * The analytics stage with the real SQLite score store and the real API server: the service
 * (engine + summaries + alert storage + publish), restart hydration, and every analytics field of
 * the GraphQL API against an independent reference computation.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { pino } from 'pino';
import { createAnalytics } from '../../src/analytics/index.js';
import type { SegmentScore } from '../../src/core/types.js';
import { createApiServer } from '../../src/graphql/index.js';
import { ScoreHub } from '../../src/publish/hub.js';
import { SqliteScoreStore } from '../../src/store/sqlite-store.js';
import { refChannel } from './reference.js';
import { analyticsSchema } from '../../src/graphql/resolvers/analytics.js';

const logger = pino({ level: 'silent' });

function s(callId: string, channel: string, i: number, valence: number, revision = 0, textMissing = false, w = { text: 0.5, audio: 0.3, video: 0.2 }, tenant = 'demo'): SegmentScore {
  return {
    callId, tenant, channel, segmentIndex: i, revision, startMs: 1000 * i, endMs: 1000 * i + 900, valence,
    label: valence < -0.5 ? 'NEGATIVE' : valence > 0.5 ? 'POSITIVE' : 'NEUTRAL', confidence: 0.5, textMissing,
    modalities: { text: textMissing ? 'SIMULATED' : 'PRESENT', audio: 'PRESENT', video: 'PRESENT' }, modalityWeights: w,
    text: textMissing ? null : `t${i}`, modelVersion: 'm', executionProvider: 'cpu', scoredAt: new Date(0).toISOString(),
  };
}

test('onScored: alerts stored and published once; after a restart the history is reloaded and nothing is raised twice', async () => {
  const store = new SqliteScoreStore({ path: ':memory:' });
  await store.start();
  const a1 = createAnalytics({ dbPath: ':memory:', logger, scoreStore: store });
  await a1.start();
  const sub = a1.hub.subscribe({ tenant: 'demo' });
  const feed = async (a: typeof a1, x: SegmentScore) => {
    await store.putScore(x);
    return a.service.onScored(x);
  };
  for (const [i, v] of [0.5, -1, -1].entries()) await feed(a1, s('c1', 'customer', i, v));
  const raised = await feed(a1, s('c1', 'customer', 3, -1));
  assert.deepEqual(raised.map((a) => a.rule), ['SUSTAINED_NEGATIVE']);
  assert.equal((await sub.next()).value.id, 'demo:c1:customer:SUSTAINED_NEGATIVE:3');
  assert.deepEqual(await a1.service.onScored(s('c1', 'customer', 3, -1)), [], 'a repeat raises nothing');
  const sum = await a1.store.getSummary('c1');
  assert.equal(sum?.alertCount, 1);
  assert.equal(sum?.channels[0].segments, 4);
  // Restart: a fresh service over the same alert store (shared connection) and score store.
  const a2 = createAnalytics({ alertStore: a1.store, logger, scoreStore: store });
  await a2.service.start();
  assert.deepEqual(await feed(a2, s('c1', 'customer', 4, -1.2)), [], 'the episode already alerted stays one alert');
  assert.equal((await a2.store.getSummary('c1'))?.channels[0].segments, 5, 'summary counts the reloaded history');
  await a1.stop();
  await store.stop();
});

test('two tenants with one call id: own summaries, alerts, subscriptions, and a restart reloads each tenant\'s own history', async () => {
  const store = new SqliteScoreStore({ path: ':memory:' });
  await store.start();
  const a1 = createAnalytics({ dbPath: ':memory:', logger, scoreStore: store });
  await a1.start();
  const subAcme = a1.hub.subscribe({ tenant: 'acme', callId: 'same' });
  const subGlobex = a1.hub.subscribe({ tenant: 'globex', callId: 'same' });
  const w = { text: 0.5, audio: 0.3, video: 0.2 };
  const feed = async (a: typeof a1, x: SegmentScore) => {
    await store.putScore(x);
    return a.service.onScored(x);
  };
  try {
    // Interleaved, as two tenants' calls arrive on one instance. acme: 3 negatives -> alert.
    const raised = [];
    for (let i = 0; i < 3; i++) {
      raised.push(...(await feed(a1, s('same', 'customer', i, -2, 0, false, w, 'acme'))));
      raised.push(...(await feed(a1, s('same', 'customer', i, 2, 0, false, w, 'globex'))));
    }
    assert.deepEqual(raised.map((a) => [a.tenant, a.rule]), [['acme', 'SUSTAINED_NEGATIVE']]);
    assert.equal((await subAcme.next()).value.tenant, 'acme');
    const acme = await a1.store.getSummary('same', 'acme');
    const globex = await a1.store.getSummary('same', 'globex');
    assert.deepEqual([acme?.channels[0].meanValence, acme?.channels[0].segments, acme?.alertCount], [-2, 3, 1]);
    assert.deepEqual([globex?.channels[0].meanValence, globex?.channels[0].segments, globex?.alertCount], [2, 3, 0]);
    // Restart: each tenant's call reloads its own history and alerts, never the other's.
    const a2 = createAnalytics({ alertStore: a1.store, logger, scoreStore: store });
    await a2.service.start();
    assert.deepEqual(await feed(a2, s('same', 'customer', 3, -2, 0, false, w, 'acme')), [], "acme's episode is already alerted");
    const g = await feed(a2, s('same', 'customer', 3, -2, 0, false, w, 'globex'));
    assert.deepEqual(g.map((a) => [a.tenant, a.rule, a.segmentIndex]), [['globex', 'SHARP_DROP', 3]], "globex's history is its own (positive until now)");
    assert.equal((await a2.store.getSummary('same', 'globex'))?.channels[0].segments, 4);
    assert.equal((await a2.store.getSummary('same', 'acme'))?.channels[0].meanValence, -2);
    // Ending one tenant's call frees only that one.
    a2.service.onCallEnded('same', 'acme');
    assert.ok(!a2.engine.has('same', 'acme') && a2.engine.has('same', 'globex'));
    a1.hub.publish(g[0]);
    assert.equal((await subGlobex.next()).value.tenant, 'globex');
  } finally {
    await a1.stop();
    await store.stop();
  }
});

test('GraphQL: every analytics field matches a reference computed from the same scores', async () => {
  const store = new SqliteScoreStore({ path: ':memory:' });
  await store.start();
  const hub = new ScoreHub();
  const analytics = createAnalytics({ dbPath: ':memory:', logger, scoreStore: store });
  await analytics.start();
  const api = createApiServer({
    store, hub, port: 0, logger, devTenant: 'demo',
    scorerInfo: () => ({ modelVersion: 'm', executionProvider: 'cpu', providerAttempts: [], workers: 0 }),
    health: () => ({ ok: true, source: 's', store: 'ok' }),
    schemaExtensions: [analyticsSchema(analytics)],
  });
  await api.start();
  const gql = async (query: string, variables?: unknown) => {
    const r = await fetch(api.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
    const b = (await r.json()) as { data: any; errors?: { message: string; extensions?: { code: string } }[] };
    return b;
  };
  try {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ ch: fc.constantFrom('customer', 'agent'), i: fc.integer({ min: 0, max: 12 }), rev: fc.integer({ min: 0, max: 2 }), v: fc.double({ min: -3, max: 3, noNaN: true }), miss: fc.boolean(), w: fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true })) }), { minLength: 1, maxLength: 30 }),
        async (rows) => {
          const callId = `g${n++}`;
          await store.upsertCall({ callId, tenant: 'demo', status: 'ACTIVE', startedAtMs: 0, endedAtMs: null, channels: ['customer', 'agent'], segmentCount: 0, meta: {} });
          const scores: SegmentScore[] = [];
          for (const r of rows) {
            const x = s(callId, r.ch, r.i, r.v, r.rev, r.miss, { text: r.w[0], audio: r.w[1], video: r.w[2] });
            if ((await store.putScore(x)) === 'inserted') scores.push(x);
            await analytics.service.onScored(x);
          }
          const b = await gql(`query($id: ID!) { call(id: $id) { analytics { channels { channel segments meanValence minValence maxValence rollingValence rollingWindow trend textMissingShare } customer: channel(name: "customer") { segments } alerts { id } }
            segments(first: 1000) { edges { node { channel segmentIndex revision dominantModality textSimulated modalityWeights { text audio video } modalities { text } } } } } }`, { id: callId });
          assert.equal(b.errors, undefined, JSON.stringify(b.errors));
          const got = b.data.call.analytics;
          const chans = [...new Set(scores.map((x) => x.channel))].sort();
          assert.deepEqual(got.channels.map((c: { channel: string }) => c.channel), chans);
          for (const c of got.channels) {
            const ref = refChannel(scores, c.channel);
            assert.equal(c.segments, ref.segments);
            assert.equal(c.rollingWindow, 5);
            for (const k of ['meanValence', 'minValence', 'maxValence', 'rollingValence', 'textMissingShare'] as const) assert.ok(Math.abs(c[k] - ref[k]) < 1e-9, k);
            if (ref.trend === null) assert.equal(c.trend, null);
            else assert.ok(Math.abs(c.trend - ref.trend) < 1e-9);
          }
          assert.equal(got.customer?.segments ?? null, chans.includes('customer') ? refChannel(scores, 'customer').segments : null);
          const stored = await analytics.store.alertsOfCall(callId);
          assert.deepEqual(got.alerts.map((a: { id: string }) => a.id).sort(), stored.map((a) => a.id).sort());
          for (const e of b.data.call.segments.edges) {
            const w = e.node.modalityWeights;
            const max = Math.max(w.text, w.audio, w.video);
            const dom = w.text === max ? 'text' : w.audio === max ? 'audio' : 'video';
            assert.equal(e.node.dominantModality, dom);
            assert.equal(e.node.textSimulated, e.node.modalities.text === 'SIMULATED');
          }
        },
      ),
      { numRuns: 25 },
    );
    // Rules: defaults, a patch, a bad value with its code; alerts and search queries.
    const r0 = await gql('{ alertRules { sustainedNegative { segments threshold } channels } }');
    assert.deepEqual(r0.data.alertRules, { sustainedNegative: { segments: 3, threshold: -0.5 }, channels: ['customer'] });
    const r1 = await gql('mutation { setAlertRules(rules: { sustainedNegative: { segments: 2 }, channels: ["customer", "agent"] }) { sustainedNegative { segments } channels } }');
    assert.deepEqual(r1.data.setAlertRules, { sustainedNegative: { segments: 2 }, channels: ['customer', 'agent'] });
    assert.equal(analytics.service.rulesFor('demo').sustainedNegative.segments, 2);
    const bad = await gql('mutation { setAlertRules(rules: { rollingBelow: { window: 0 } }) { channels } }');
    assert.equal(bad.errors?.[0].extensions?.code, 'BAD_REQUEST');
    const al = await gql('{ alerts(first: 500) { totalCount edges { node { id callId rule } } } }');
    assert.equal(al.data.alerts.totalCount, (await analytics.store.listAlerts({ tenant: 'demo', first: 500 })).totalCount);
    const sc = await gql('{ searchCalls(filter: { hasAlerts: true }, first: 500) { totalCount edges { node { callId alertCount call { id status } } } } }');
    for (const e of sc.data.searchCalls.edges) {
      assert.ok(e.node.alertCount > 0);
      assert.equal(e.node.call.id, e.node.callId);
    }
  } finally {
    await api.stop();
    await analytics.stop();
    await store.stop();
  }
});
