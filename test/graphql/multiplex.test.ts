/**
 * Shared subscription execution (src/graphql/multiplex.ts) through the real server and real
 * graphql-ws clients: one execution and one serialised payload per event per group, groups never
 * mixing tenants or variables, slow sockets handled by their own queue, resumes running alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import type { Client } from 'graphql-ws';
import type { ContextFunction } from '../../src/auth/api-context.js';
import { AppError } from '../../src/core/errors.js';
import { makeScore } from '../store/fixtures.js';
import { type Harness, SCORE_FIELDS, startHarness, until } from './harness.js';
import { createClient } from 'graphql-ws';
import { getOperationAST, parse } from 'graphql';
import { canonicalJson } from '../../src/graphql/multiplex.js';
import { contextKey, readsOwnPosition } from '../../src/graphql/shared-operations.js';

const SUB = `subscription($callId: ID) { segmentScored(callId: $callId) { ${SCORE_FIELDS} } }`;

/** A `ws` WebSocket that keeps every raw text frame it receives (and can stop reading). */
class RecordingSocket extends WebSocket {
  static opened: RecordingSocket[] = [];
  readonly frames: string[] = [];
  constructor(url: string, protocols?: string | string[]) {
    super(url, protocols);
    RecordingSocket.opened.push(this);
    this.on('message', (d) => this.frames.push(String(d)));
  }
  /** Next-frame payloads, the operation id cut off: what the group shares. */
  payloads(): string[] {
    return this.frames.filter((f) => JSON.parse(f).type === 'next').map((f) => f.replace(/^\{"id":"[^"]*","type":"next","payload":/, '').slice(0, -1));
  }
  /** Stops reading from the TCP socket: the server's writes back up in the kernel, then in `ws`. */
  stall(): void {
    (this as unknown as { _socket: { pause(): void } })._socket.pause();
  }
}

interface Sub {
  socket: RecordingSocket;
  client: Client;
  events: any[];
  errors: unknown[];
}

/** One real graphql-ws client on its own socket, subscribed to `query`. */
async function subscriber(h: Harness, query: string, variables?: Record<string, unknown>, connectionParams?: Record<string, unknown>): Promise<Sub> {
  const before = RecordingSocket.opened.length;
  const client = createClient({ url: h.api.wsUrl, webSocketImpl: RecordingSocket, connectionParams, retryAttempts: 0, lazy: false });
  const s = { client, events: [] as any[], errors: [] as unknown[] } as Sub;
  await new Promise<void>((resolve) => client.on('connected', () => resolve()));
  s.socket = RecordingSocket.opened[before];
  client.subscribe({ query, variables }, { next: (v) => s.events.push(v), error: (e) => s.errors.push(e), complete: () => {} });
  return s;
}

async function withHarness(fn: (h: Harness, subs: Sub[]) => Promise<void>, opts: Parameters<typeof startHarness>[0] = {}): Promise<void> {
  const h = await startHarness(opts);
  const subs: Sub[] = [];
  try {
    await fn(h, subs);
  } finally {
    await Promise.all(subs.map((s) => s.client.dispose()));
    await h.close();
  }
}

/** Tenant from connectionParams.tenant; the principal differs per socket (same tenant may share). */
const tenantFromParams: ContextFunction = (req) => {
  const p = req.transport === 'ws' ? req.connectionParams : undefined;
  if (typeof p?.tenant !== 'string') throw new AppError('UNAUTHENTICATED', { reason: 'no tenant' });
  return { tenant: p.tenant, principal: `api-key:${String(p.who)}` };
};

test('N subscribers of one document: one execution per event, byte-identical payloads, the bytes graphql-ws sends alone', async () => {
  const N = 12;
  const scores = Array.from({ length: 4 }, (_, i) => makeScore({ callId: 'c1', segmentIndex: i, text: `words ${i}`, textMissing: false }));
  const run = async (fanOut: 'shared' | 'per-subscriber'): Promise<string[][]> => {
    let payloads: string[][] = [];
    await withHarness(async (h, subs) => {
      for (let i = 0; i < N; i++) subs.push(await subscriber(h, SUB, { callId: 'c1' }));
      await until(() => (fanOut === 'shared' ? h.api.fanOutStats().members === N : h.hub.stats().subscribers === N), 3000, 'subscribed');
      for (const s of scores) h.hub.deliverScore(s);
      await until(() => subs.every((s) => s.events.length === scores.length), 3000, 'every event at every subscriber');
      const f = h.api.fanOutStats();
      if (fanOut === 'shared') {
        assert.deepEqual({ groups: f.groups, members: f.members, executions: f.executions }, { groups: 1, members: N, executions: scores.length });
        assert.equal(h.hub.stats().subscribers, 1, 'one hub subscription for the group');
      } else {
        assert.equal(f.executions, 0);
        assert.equal(h.hub.stats().subscribers, N);
      }
      payloads = subs.map((s) => s.socket.payloads());
    }, { fanOut });
    return payloads;
  };
  const shared = await run('shared');
  for (const p of shared) assert.deepEqual(p, shared[0], 'byte-identical payloads at every subscriber');
  assert.deepEqual(JSON.parse(shared[0][2]), { data: { segmentScored: JSON.parse(JSON.stringify(scores[2])) } });
  const alone = await run('per-subscriber');
  assert.deepEqual(alone[0], shared[0], 'the shared frame is what graphql-ws wrote for each subscriber');
});

test('groups never mix tenants or variables; the same tenant shares across principals', () =>
  withHarness(
    async (h, subs) => {
      const acmeAll1 = await subscriber(h, SUB, {}, { tenant: 'acme', who: 1 });
      const acmeAll2 = await subscriber(h, SUB, {}, { tenant: 'acme', who: 2 });
      const acmeC1 = await subscriber(h, SUB, { callId: 'c1' }, { tenant: 'acme', who: 1 });
      const acmeC2 = await subscriber(h, SUB, { callId: 'c2' }, { tenant: 'acme', who: 3 });
      const globexAll = await subscriber(h, SUB, {}, { tenant: 'globex', who: 1 });
      const globexC1 = await subscriber(h, SUB, { callId: 'c1' }, { tenant: 'globex', who: 1 });
      subs.push(acmeAll1, acmeAll2, acmeC1, acmeC2, globexAll, globexC1);
      await until(() => h.api.fanOutStats().members === 6, 3000, 'subscribed');
      assert.equal(h.api.fanOutStats().groups, 5, 'acme x {all, c1, c2} and globex x {all, c1}');
      const sent = [
        makeScore({ tenant: 'globex', callId: 'c1', segmentIndex: 1 }),
        makeScore({ tenant: 'acme', callId: 'c1', segmentIndex: 2 }),
        makeScore({ tenant: 'acme', callId: 'c2', segmentIndex: 3 }),
        makeScore({ tenant: 'globex', callId: 'c9', segmentIndex: 4 }),
      ];
      for (const s of sent) h.hub.deliverScore(s);
      const seen = (s: Sub) => s.events.map((e) => `${e.data.segmentScored.tenant}:${e.data.segmentScored.callId}:${e.data.segmentScored.segmentIndex}`);
      await until(() => acmeAll1.events.length === 2 && acmeAll2.events.length === 2 && globexAll.events.length === 2, 3000, 'events');
      await until(() => acmeC1.events.length === 1 && acmeC2.events.length === 1 && globexC1.events.length === 1, 3000, 'events');
      await new Promise((r) => setTimeout(r, 50)); // anything misrouted would have arrived too
      assert.deepEqual(seen(acmeAll1), ['acme:c1:2', 'acme:c2:3']);
      assert.deepEqual(seen(acmeAll2), ['acme:c1:2', 'acme:c2:3']);
      assert.deepEqual(seen(acmeC1), ['acme:c1:2']);
      assert.deepEqual(seen(acmeC2), ['acme:c2:3']);
      assert.deepEqual(seen(globexAll), ['globex:c1:1', 'globex:c9:4']);
      assert.deepEqual(seen(globexC1), ['globex:c1:1']);
      // Per group: acme-all 2, acme-c1 1, acme-c2 1, globex-all 2, globex-c1 1. The two acme-all
      // sockets (different principals) shared one execution per event.
      assert.equal(h.api.fanOutStats().executions, 7);
    },
    { context: tenantFromParams },
  ));

test('a stalled socket meets its own queue policy (close); the others get every event', () =>
  withHarness(
    async (h, subs) => {
      for (let i = 0; i < 3; i++) subs.push(await subscriber(h, SUB));
      const slow = await subscriber(h, SUB);
      subs.push(slow);
      await until(() => h.api.fanOutStats().members === 4, 3000, 'subscribed');
      slow.socket.stall();
      const text = 'x'.repeat(64 * 1024); // fills the kernel's socket buffers in tens of events
      let sent = 0;
      while (h.api.fanOutStats().closedTooSlow === 0 && sent < 2000) {
        h.hub.deliverScore(makeScore({ segmentIndex: sent++, text, textMissing: false }));
        await until(() => subs.slice(0, 3).every((s) => s.events.length === sent), 3000, `event ${sent} at the fast subscribers`);
      }
      assert.equal(h.api.fanOutStats().closedTooSlow, 1, 'the stalled socket overflowed');
      for (let i = 0; i < 5; i++) h.hub.deliverScore(makeScore({ segmentIndex: sent++ }));
      await until(() => subs.slice(0, 3).every((s) => s.events.length === sent), 3000, 'the others go on');
      const f = h.api.fanOutStats();
      assert.deepEqual({ members: f.members, groups: f.groups, executions: f.executions }, { members: 3, groups: 1, executions: sent });
      for (const s of subs.slice(0, 3)) assert.deepEqual(s.events.map((e) => e.data.segmentScored.segmentIndex), Array.from({ length: sent }, (_, i) => i));
    },
    { subscriberQueue: { capacity: 4, policy: 'close' } },
  ));

test('a stalled socket under drop-oldest loses its oldest payloads and stays; the others get every event', () =>
  withHarness(
    async (h, subs) => {
      const fast = await subscriber(h, SUB);
      const slow = await subscriber(h, SUB);
      subs.push(fast, slow);
      await until(() => h.api.fanOutStats().members === 2, 3000, 'subscribed');
      slow.socket.stall();
      const text = 'x'.repeat(64 * 1024);
      let sent = 0;
      while (h.api.fanOutStats().droppedOldest === 0 && sent < 2000) {
        h.hub.deliverScore(makeScore({ segmentIndex: sent++, text, textMissing: false }));
        await until(() => fast.events.length === sent, 3000, `event ${sent} at the fast subscriber`);
      }
      assert.ok(h.api.fanOutStats().droppedOldest >= 1);
      assert.equal(h.api.fanOutStats().members, 2, 'drop-oldest keeps the slow subscriber');
      assert.equal(h.api.fanOutStats().closedTooSlow, 0);
    },
    { subscriberQueue: { capacity: 4, policy: 'drop-oldest' } },
  ));

test('a resume (since:) replays its own history alone, then goes live; completing the last member frees the group', () =>
  withHarness(async (h, subs) => {
    await h.store.putScore(makeScore({ callId: 'old', segmentIndex: 7 }));
    const live = await subscriber(h, SUB);
    const resume = await subscriber(h, `subscription($since: DateTime) { segmentScored(since: $since) { callId segmentIndex } }`, { since: 0 });
    subs.push(live, resume);
    await until(() => resume.events.length === 1, 3000, 'the replay');
    assert.deepEqual(resume.events[0].data.segmentScored, { callId: 'old', segmentIndex: 7 });
    await until(() => h.api.fanOutStats().members === 1 && h.hub.stats().subscribers === 2, 3000, 'one shared, one alone');
    h.hub.deliverScore(makeScore({ callId: 'new', segmentIndex: 1 }));
    await until(() => resume.events.length === 2 && live.events.length === 1, 3000, 'live event at both');
    assert.equal(h.api.fanOutStats().executions, 1, 'only the shared operation counts');
    await live.client.dispose();
    await until(() => h.api.fanOutStats().groups === 0 && h.hub.stats().subscribers === 1, 3000, 'the group and its hub subscription gone');
  }));

test('the source failing ends every member with the error; a rejected subscribe reaches each waiting member', () =>
  withHarness(
    async (h, subs) => {
      for (let i = 0; i < 3; i++) subs.push(await subscriber(h, SUB));
      await until(() => h.api.fanOutStats().members === 3, 3000, 'subscribed');
      // The group's hub subscription has a 2-slot close-policy queue: a synchronous burst overflows it.
      for (let i = 0; i < 20; i++) h.hub.deliverScore(makeScore({ segmentIndex: i }));
      await until(() => subs.every((s) => s.errors.length === 1), 3000, 'errors');
      for (const s of subs) assert.equal((s.errors[0] as any)[0].extensions.code, 'SUBSCRIBER_TOO_SLOW');
      assert.deepEqual({ members: h.api.fanOutStats().members, groups: h.api.fanOutStats().groups, hub: h.hub.stats().subscribers }, { members: 0, groups: 0, hub: 0 });
      const bad = await subscriber(h, 'subscription($n: ID) { segmentScored(callId: $n) { callId } }', { n: { not: 'an id' } });
      subs.push(bad);
      // graphql's subscribe answers a bad variable with a result, not a stream: sent as one `next`.
      await until(() => bad.events.length === 1, 3000, 'variable error');
      assert.ok(bad.events[0].errors?.length >= 1 && bad.events[0].data === undefined);
      assert.equal(h.api.fanOutStats().groups, 0);
    },
    { hubOptions: { subscriber: { capacity: 2, policy: 'close' } } },
  ));

test('hub shutdown: each member gets what was published, then complete; the group closes', () =>
  withHarness(async (h, subs) => {
    const completed: number[] = [];
    for (let i = 0; i < 3; i++) {
      const s = await subscriber(h, SUB);
      subs.push(s);
      s.client.subscribe({ query: SUB, variables: { callId: 'other' } }, { next: () => {}, error: () => {}, complete: () => completed.push(i) });
    }
    await until(() => h.api.fanOutStats().members === 6, 3000, 'subscribed');
    for (let i = 0; i < 3; i++) h.hub.deliverScore(makeScore({ segmentIndex: i }));
    await h.hub.stop();
    await until(() => completed.length === 3 && h.api.fanOutStats().groups === 0 && h.api.fanOutStats().members === 0, 3000, 'completed');
    for (const s of subs) assert.deepEqual(s.events.map((e) => e.data.segmentScored.segmentIndex), [0, 1, 2]);
  }));

test('readsOwnPosition: since set by literal, variable or default runs alone; null or absent shares; canonicalJson orders keys', () => {
  const op = (q: string) => getOperationAST(parse(q))!;
  assert.equal(readsOwnPosition(op('subscription { segmentScored(since: 5) { callId } }'), {}), true);
  assert.equal(readsOwnPosition(op('subscription { segmentScored(since: null) { callId } }'), {}), false);
  assert.equal(readsOwnPosition(op('subscription($s: DateTime) { segmentScored(since: $s) { callId } }'), { s: 5 }), true);
  assert.equal(readsOwnPosition(op('subscription($s: DateTime) { segmentScored(since: $s) { callId } }'), {}), false);
  assert.equal(readsOwnPosition(op('subscription($s: DateTime = 5) { segmentScored(since: $s) { callId } }'), {}), true);
  assert.equal(readsOwnPosition(op('subscription { ...F } fragment F on Subscription { segmentScored { callId } }'), {}), true);
  assert.equal(readsOwnPosition(op('subscription { segmentScored(callId: "c") { callId } }'), {}), false);
  assert.equal(canonicalJson({ b: 1, a: { d: [1, { f: 2, e: 3 }], c: null }, u: undefined }), '{"a":{"c":null,"d":[1,{"e":3,"f":2}]},"b":1}');
  assert.equal(contextKey({ tenant: 'acme', principal: 'a' }), contextKey({ tenant: 'acme', principal: 'b', expiresAtMs: 1 }));
  assert.notEqual(contextKey({ tenant: 'acme', principal: 'a' }), contextKey({ tenant: 'globex', principal: 'a' }));
});
