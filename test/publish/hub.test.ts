import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hub, type Route, ScoreHub } from '../../src/publish/hub.js';
import type { HubSubscription } from '../../src/publish/subscription.js';
import type { SegmentScore } from '../../src/core/types.js';
import { makeCall, makeScore } from '../store/fixtures.js';

/** Reads everything queued right now without waiting for more. */
async function queued<T>(sub: HubSubscription<T>): Promise<T[]> {
  const out: T[] = [];
  while (sub.backlog > 0) out.push((await sub.next()).value as T);
  return out;
}

test('filters: tenant always, callId and channel when given', async () => {
  const hub = new ScoreHub();
  await hub.start();
  const all = hub.subscribeScores({ tenant: 'acme' });
  const one = hub.subscribeScores({ tenant: 'acme', callId: 'c1' });
  const agent = hub.subscribeScores({ tenant: 'acme', callId: 'c1', channel: 'agent' });
  const agentAnyCall = hub.subscribeScores({ tenant: 'acme', channel: 'agent' });
  const other = hub.subscribeScores({ tenant: 'globex' });
  const events = [
    makeScore({ callId: 'c1', channel: 'customer' }),
    makeScore({ callId: 'c1', channel: 'agent' }),
    makeScore({ callId: 'c2', channel: 'agent' }),
    makeScore({ callId: 'c1', channel: 'agent', tenant: 'globex' }),
  ];
  for (const e of events) await hub.publishScore(e);
  const ids = async (s: HubSubscription<SegmentScore>) => (await queued(s)).map((e) => `${e.tenant}:${e.callId}:${e.channel}`);
  assert.deepEqual(await ids(all), ['acme:c1:customer', 'acme:c1:agent', 'acme:c2:agent']);
  assert.deepEqual(await ids(one), ['acme:c1:customer', 'acme:c1:agent']);
  assert.deepEqual(await ids(agent), ['acme:c1:agent']);
  assert.deepEqual(await ids(agentAnyCall), ['acme:c1:agent', 'acme:c2:agent']);
  assert.deepEqual(await ids(other), ['globex:c1:agent']);
});

test('call updates fan out by tenant and call id', async () => {
  const hub = new ScoreHub();
  const any = hub.subscribeCalls({ tenant: 'acme' });
  const c2 = hub.subscribeCalls({ tenant: 'acme', callId: 'c2' });
  await hub.publishCall(makeCall({ callId: 'c1' }));
  await hub.publishCall(makeCall({ callId: 'c2', status: 'ENDED', endedAtMs: 5 }));
  await hub.publishCall(makeCall({ callId: 'c2', tenant: 'globex' }));
  assert.deepEqual((await queued(any)).map((c) => c.callId), ['c1', 'c2']);
  assert.deepEqual((await queued(c2)).map((c) => c.status), ['ENDED']);
});

test('a repeat of the same (call, channel, segment, revision) is dropped; a revision passes', async () => {
  const hub = new ScoreHub({ dedupeWindow: 100 });
  const sub = hub.subscribeScores({ tenant: 'acme' });
  await hub.publishScore(makeScore({ segmentIndex: 1 }));
  await hub.publishScore(makeScore({ segmentIndex: 1 }));
  await hub.publishScore(makeScore({ segmentIndex: 1, revision: 1 }));
  assert.deepEqual((await queued(sub)).map((s) => s.revision), [0, 1]);
  assert.equal(hub.stats().duplicatesDropped, 1);
});

test('a slow subscriber drops its oldest events (counted) while a fast one receives everything', async () => {
  const hub = new ScoreHub({ subscriber: { capacity: 8, policy: 'drop-oldest' } });
  const slow = hub.subscribeScores({ tenant: 'acme' });
  const fast = hub.subscribeScores({ tenant: 'acme' });
  const fastGot: number[] = [];
  const reader = (async () => {
    for await (const s of fast) {
      fastGot.push(s.segmentIndex);
      if (s.segmentIndex === 199) break;
    }
  })();
  for (let i = 0; i < 200; i++) {
    await hub.publishScore(makeScore({ segmentIndex: i }));
    await new Promise((r) => setImmediate(r)); // let the fast consumer run between events
  }
  await reader;
  assert.deepEqual(fastGot, Array.from({ length: 200 }, (_, i) => i));
  assert.equal(slow.dropped, 192);
  assert.deepEqual((await queued(slow)).map((s) => s.segmentIndex), Array.from({ length: 8 }, (_, i) => 192 + i));
  assert.equal(hub.stats().droppedOldest, 192);
});

test('policy close: the slow subscriber is removed and counted; others keep going', async () => {
  const hub = new ScoreHub();
  const strict = hub.subscribeScores({ tenant: 'acme' }, { capacity: 4, policy: 'close' });
  const normal = hub.subscribeScores({ tenant: 'acme' }, { capacity: 100 });
  for (let i = 0; i < 10; i++) await hub.publishScore(makeScore({ segmentIndex: i }));
  assert.equal(hub.stats().closedTooSlow, 1);
  assert.equal(hub.stats().subscribers, 1);
  await assert.rejects(strict.next(), (e: unknown) => (e as { code?: string }).code === 'SUBSCRIBER_TOO_SLOW');
  assert.equal((await queued(normal)).length, 10);
});

test('unsubscribing frees the subscriber and its index slots', async () => {
  const hub = new ScoreHub();
  const subs = Array.from({ length: 50 }, (_, i) => hub.subscribeScores({ tenant: `t${i % 5}`, callId: `c${i}` }));
  const wide = hub.subscribeScores({ tenant: 't0' });
  assert.equal(hub.stats().subscribers, 51);
  for (const s of subs) await s.return();
  await wide.return();
  assert.equal(hub.stats().subscribers, 0);
  assert.equal(hub.deliverScore(makeScore({ tenant: 't0', callId: 'c0' })), 0);
  // Internal maps are empty again, so churn does not leak.
  const internals = hub as unknown as { scores: { index: { byTenant: Map<unknown, unknown> } } };
  assert.equal(internals.scores.index.byTenant.size, 0);
});

test('stop() completes every subscriber after its queue drains and ignores later publishes', async () => {
  const hub = new ScoreHub();
  await hub.start();
  const sub = hub.subscribeScores({ tenant: 'acme' });
  const calls = hub.subscribeCalls({ tenant: 'acme' });
  await hub.publishScore(makeScore({ segmentIndex: 7 }));
  await hub.stop();
  await hub.publishScore(makeScore({ segmentIndex: 8 }));
  const got: number[] = [];
  for await (const s of sub) got.push(s.segmentIndex);
  assert.deepEqual(got, [7]);
  assert.deepEqual(await calls.next(), { value: undefined, done: true });
  assert.equal(hub.stats().subscribers, 0);
});

/** A kind of event the publish stage does not know: the hub is generic over event and filter. */
interface Note {
  tenant: string;
  callId: string;
  id: string;
  loud: boolean;
}
interface NoteFilter {
  tenant?: string;
  callId?: string;
  loudOnly?: boolean;
}
const noteRoute: Route<Note, NoteFilter> = { callOf: (n) => n, scopeOf: (f) => f, accepts: (f, n) => !f.loudOnly || n.loud };
const note = (tenant: string, callId: string, id: string, loud = false): Note => ({ tenant, callId, id, loud });

test('a Hub of any kind: an open tenant means every tenant, `accepts` filters the rest, no repeat check without a key', async () => {
  const hub = new Hub(noteRoute);
  const everyone = hub.subscribe({});
  const acme = hub.subscribe({ tenant: 'acme' });
  const loudC1 = hub.subscribe({ tenant: 'acme', callId: 'c1', loudOnly: true });
  assert.equal(hub.publish(note('acme', 'c1', 'a')), 2);
  assert.equal(hub.publish(note('acme', 'c1', 'b', true)), 3);
  assert.equal(hub.publish(note('acme', 'c1', 'b', true)), 3, 'no repeatKey: a repeat is delivered again');
  assert.equal(hub.publish(note('globex', 'c1', 'c', true)), 1);
  const ids = async (s: HubSubscription<Note>) => (await queued(s)).map((n) => n.id).join('');
  assert.equal(await ids(everyone), 'abbc');
  assert.equal(await ids(acme), 'abb');
  assert.equal(await ids(loudC1), 'bb');
  assert.deepEqual(hub.stats(), { subscribers: 3, published: 4, duplicatesDropped: 0, delivered: 9, droppedOldest: 0, closedTooSlow: 0 });
});

test('a closed Hub ends new subscribers at once and ignores publishes until start()', async () => {
  const hub = new Hub(noteRoute, { subscriber: { capacity: 2, policy: 'drop-oldest' } });
  hub.close();
  const late = hub.subscribe({ tenant: 'acme' });
  assert.equal(hub.publish(note('acme', 'c1', 'x')), 0);
  assert.deepEqual(await late.next(), { value: undefined, done: true });
  hub.start();
  const sub = hub.subscribe({ tenant: 'acme' });
  for (const id of ['a', 'b', 'c']) hub.publish(note('acme', 'c1', id));
  assert.equal((await queued(sub)).map((n) => n.id).join(''), 'bc', 'the default queue (2, drop-oldest) applied');
  assert.equal(hub.stats().droppedOldest, 1);
});
