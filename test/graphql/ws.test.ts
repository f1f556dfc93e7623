/** The API over graphql-ws: real server, real graphql-ws client on `ws`, events published into the hub. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import type { Client } from 'graphql-ws';
import { AppError } from '../../src/core/errors.js';
import { makeCall, makeScore } from '../store/fixtures.js';
import { type Harness, SCORE_FIELDS, startHarness, until } from './harness.js';

interface Collector {
  events: any[];
  errors: any[];
  done: Promise<void>;
  stop: () => void;
}

/** Subscribes and collects every `next` payload and the terminal error, if any. */
function collect(client: Client, query: string, variables?: Record<string, unknown>): Collector {
  const c = { events: [] as any[], errors: [] as any[] } as Collector;
  c.done = new Promise<void>((resolve) => {
    c.stop = client.subscribe({ query, variables }, {
      next: (v) => c.events.push(v),
      error: (e) => {
        c.errors.push(e);
        resolve();
      },
      complete: () => resolve(),
    });
  });
  return c;
}

async function withHarness(fn: (h: Harness) => Promise<void>, opts: Parameters<typeof startHarness>[0] = {}): Promise<void> {
  const h = await startHarness(opts);
  try {
    await fn(h);
  } finally {
    await h.close();
  }
}

const SEGMENT_SUB = `subscription($callId: ID, $channel: String) { segmentScored(callId: $callId, channel: $channel) { ${SCORE_FIELDS} } }`;

test('a score published into the hub reaches a graphql-ws subscriber with every field', () =>
  withHarness(async (h) => {
    const sub = collect(h.wsClient(), SEGMENT_SUB);
    await until(() => h.hub.stats().subscribers === 1, 2000, 'subscription registered');
    const score = makeScore({ callId: 'live-1', text: 'hello there', textMissing: false, modalities: { text: 'PRESENT', audio: 'PRESENT', video: 'PRESENT' } });
    await h.hub.publishScore(score);
    await until(() => sub.events.length === 1);
    assert.deepEqual(sub.events[0], { data: { segmentScored: score } });
  }));

test('callId and channel filters, tenant isolation, and a revision as a second event with revision + 1', () =>
  withHarness(async (h) => {
    const client = h.wsClient();
    const one = collect(client, SEGMENT_SUB, { callId: 'c1' });
    const agent = collect(client, SEGMENT_SUB, { callId: 'c1', channel: 'agent' });
    const all = collect(client, SEGMENT_SUB);
    await until(() => h.hub.stats().subscribers === 3);
    await h.hub.publishScore(makeScore({ callId: 'c2', segmentIndex: 0 }));
    await h.hub.publishScore(makeScore({ callId: 'c1', tenant: 'globex', segmentIndex: 0 })); // other tenant
    await h.hub.publishScore(makeScore({ callId: 'c1', segmentIndex: 4 }));
    await h.hub.publishScore(makeScore({ callId: 'c1', channel: 'agent', segmentIndex: 4 }));
    await h.hub.publishScore(makeScore({ callId: 'c1', segmentIndex: 4, revision: 1, text: 'late words', textMissing: false, modalities: { text: 'PRESENT', audio: 'PRESENT', video: 'MISSING' } }));
    await until(() => all.events.length === 4 && one.events.length === 3 && agent.events.length === 1);
    const brief = (c: Collector) => c.events.map((e) => { const s = e.data.segmentScored; return `${s.tenant}:${s.callId}:${s.channel}:${s.segmentIndex}r${s.revision}`; });
    assert.deepEqual(brief(one), ['acme:c1:customer:4r0', 'acme:c1:agent:4r0', 'acme:c1:customer:4r1']);
    assert.deepEqual(brief(agent), ['acme:c1:agent:4r0']);
    assert.deepEqual(brief(all), ['acme:c2:customer:0r0', 'acme:c1:customer:4r0', 'acme:c1:agent:4r0', 'acme:c1:customer:4r1']);
    const [first, , revised] = one.events.map((e) => e.data.segmentScored);
    assert.equal(revised.revision, first.revision + 1);
    assert.equal(revised.segmentIndex, first.segmentIndex);
    assert.equal(revised.textMissing, false);
    assert.equal(revised.modalities.text, 'PRESENT');
  }));

test('callUpdated streams call updates, with nested segments read from the store', () =>
  withHarness(async (h) => {
    await h.store.putScore(makeScore({ callId: 'c9' }));
    const sub = collect(h.wsClient(), `subscription { callUpdated(callId: "c9") { id status endedAt segmentCount segments { totalCount } } }`);
    await until(() => h.hub.stats().subscribers === 1);
    await h.hub.publishCall(makeCall({ callId: 'c8' }));
    await h.hub.publishCall(makeCall({ callId: 'c9', status: 'ENDED', endedAtMs: Date.parse('2024-05-01T10:00:00Z'), segmentCount: 1 }));
    await until(() => sub.events.length === 1);
    assert.deepEqual(sub.events[0].data.callUpdated, { id: 'c9', status: 'ENDED', endedAt: '2024-05-01T10:00:00.000Z', segmentCount: 1, segments: { totalCount: 1 } });
  }));

test('a bad operation fails alone with a catalogue code; the socket keeps serving', () =>
  withHarness(async (h) => {
    const client = h.wsClient();
    const parse = collect(client, 'subscription { segmentScored(');
    const invalid = collect(client, 'subscription { segmentScored { nope } }');
    const badCursor = collect(client, '{ segments(callId: "x", after: "zz") { totalCount } }');
    await Promise.all([parse.done, invalid.done, badCursor.done]);
    assert.equal(parse.errors[0][0].extensions.code, 'GRAPHQL_PARSE_FAILED');
    assert.equal(invalid.errors[0][0].extensions.code, 'GRAPHQL_VALIDATION_FAILED');
    assert.equal(badCursor.events[0].errors[0].extensions.code, 'BAD_CURSOR');
    const ok = collect(client, '{ health { ok } }');
    await ok.done;
    assert.deepEqual(ok.events, [{ data: { health: { ok: true } } }]);
  }));

test('a subscriber too slow for a close-policy queue gets SUBSCRIBER_TOO_SLOW and is removed', () =>
  withHarness(
    async (h) => {
      const sub = collect(h.wsClient(), SEGMENT_SUB);
      await until(() => h.hub.stats().subscribers === 1);
      // One synchronous burst: the server-side reader takes the first event and is busy sending
      // it while the rest arrive, so the 2-slot queue overflows deterministically.
      for (let i = 0; i < 20; i++) h.hub.deliverScore(makeScore({ segmentIndex: i }));
      await sub.done;
      assert.equal(sub.errors.length, 1);
      assert.equal(sub.errors[0][0].extensions.code, 'SUBSCRIBER_TOO_SLOW');
      assert.ok(sub.events.length >= 1 && sub.events.length <= 3);
      assert.equal(h.hub.stats().closedTooSlow, 1);
      assert.equal(h.hub.stats().subscribers, 0);
    },
    { hubOptions: { subscriber: { capacity: 2, policy: 'close' } } },
  ));

test('a connection may hold at most maxOperationsPerConnection operations (TOO_MANY_SUBSCRIPTIONS)', () =>
  withHarness(
    async (h) => {
      const client = h.wsClient();
      const subs = [collect(client, SEGMENT_SUB), collect(client, SEGMENT_SUB)];
      // Identical operations share one hub subscription (src/graphql/multiplex.ts): count members.
      await until(() => h.api.fanOutStats().members === 2);
      const third = collect(client, SEGMENT_SUB);
      await third.done;
      assert.equal(third.errors[0][0].extensions.code, 'TOO_MANY_SUBSCRIPTIONS');
      subs[0].stop();
      await until(() => h.api.fanOutStats().members === 1);
      const fourth = collect(client, SEGMENT_SUB);
      await until(() => h.api.fanOutStats().members === 2, 2000, 'a freed slot is reusable');
      fourth.stop();
    },
    { maxOperationsPerConnection: 2 },
  ));

test('the context hook reads connectionParams; a refused socket closes with 4401', () =>
  withHarness(
    async (h) => {
      const refused = collect(h.wsClient({ apiKey: 'wrong' }), SEGMENT_SUB);
      await refused.done;
      assert.equal((refused.errors[0] as { code?: number }).code, 4401);
      const sub = collect(h.wsClient({ apiKey: 'globex-key' }), SEGMENT_SUB);
      await until(() => h.hub.stats().subscribers === 1);
      await h.hub.publishScore(makeScore({ tenant: 'acme', segmentIndex: 1 }));
      await h.hub.publishScore(makeScore({ tenant: 'globex', segmentIndex: 2 }));
      await until(() => sub.events.length === 1);
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(sub.events.map((e) => e.data.segmentScored.tenant), ['globex']);
    },
    {
      context: (req) => {
        if (req.transport === 'ws' && req.connectionParams?.apiKey === 'globex-key') return { tenant: 'globex', principal: 'api-key:test' };
        throw new AppError('UNAUTHENTICATED', { reason: 'unknown API key' });
      },
    },
  ));

test('stop() drains: sockets close with 1001, hub subscriptions are freed, in-flight HTTP finishes, then nothing listens', async () => {
  let releaseHealth!: () => void;
  const healthGate = new Promise<void>((r) => (releaseHealth = r));
  const h = await startHarness({
    health: async () => {
      await healthGate;
      return { ok: true, source: 'in-process', store: 'sqlite: ok' };
    },
  });
  try {
    const closes: number[] = [];
    const sockets = Array.from({ length: 3 }, () => {
      const ws = new WebSocket(h.api.wsUrl, 'graphql-transport-ws');
      ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init' })));
      ws.on('message', (data) => {
        if (JSON.parse(String(data)).type !== 'connection_ack') return;
        ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: 'subscription { segmentScored { callId } }' } }));
      });
      ws.on('close', (code) => closes.push(code));
      return ws;
    });
    await until(() => h.api.fanOutStats().members === 3 && h.hub.stats().subscribers === 1, 3000, 'three subscriptions, one shared hub subscription');
    const inflight = h.gql('{ health { ok } }');
    await new Promise((r) => setTimeout(r, 50)); // the request is inside the resolver now
    const url = h.api.url;
    const stopping = h.api.stop();
    await until(() => closes.length === 3, 3000, 'sockets closed');
    assert.deepEqual(closes, [1001, 1001, 1001]);
    await until(() => h.hub.stats().subscribers === 0 && h.api.fanOutStats().members === 0, 2000, 'hub subscriptions freed');
    releaseHealth();
    const res = await inflight;
    assert.equal(res.body.data!.health.ok, true, 'the in-flight request completed');
    await stopping;
    await assert.rejects(fetch(url), 'nothing listens after stop');
    assert.equal(sockets.every((s) => s.readyState === WebSocket.CLOSED), true);
  } finally {
    releaseHealth();
    await h.close();
  }
});
