/**
 * ScoresBridge with alerts, two instances over a real Kafka topic: an alert raised by instance
 * A's analytics (real service, SQLite stores) reaches instance B's AlertHub subscriber exactly
 * once, A's subscriber sees it only from its local publish (its own record coming back is
 * skipped), and a repeat of the record on the topic is dropped by alert id.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import type { Alert } from '../../src/analytics/alert.js';
import { createAnalytics } from '../../src/analytics/index.js';
import { ScoresBridge, type LocalFanOut } from '../../src/publish/scores-bridge.js';
import type { CallInfo, SegmentScore } from '../../src/core/types.js';
import { SqliteScoreStore } from '../../src/store/sqlite-store.js';
import { makeScore } from '../store/fixtures.js';
import { freshGroupId, freshTopic, requireKafka, testKafka, testProducer } from '../support/kafka.js';

const logger = pino({ level: 'silent' });

/** Records what the bridge hands to the score hub. */
class Recorder implements LocalFanOut {
  scores: SegmentScore[] = [];
  calls: CallInfo[] = [];
  deliverScore(s: SegmentScore): number {
    this.scores.push(s);
    return 1;
  }
  deliverCall(c: CallInfo): number {
    this.calls.push(c);
    return 1;
  }
}

/** Collects what an alert subscription yields until `return()` ends it. */
function collect(it: AsyncIterableIterator<Alert>): { got: Alert[]; done: Promise<void> } {
  const got: Alert[] = [];
  const done = (async () => {
    for await (const a of it) got.push(a);
  })();
  return { got, done };
}

async function until(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A fresh scores topic, a group prefix, and one connected producer per instance. */
async function twoInstances(name: string, partitions: number) {
  const topic = await freshTopic(name, partitions);
  const groupPrefix = freshGroupId(name);
  const kafka = testKafka(name);
  const producerA = testProducer(kafka);
  const producerB = testProducer(kafka);
  await producerA.connect();
  await producerB.connect();
  return { topic, groupPrefix, kafka, producerA, producerB };
}

test('an alert raised on instance A reaches B\'s alert subscribers once, and A\'s only from its local publish', { timeout: 90_000 }, async (t) => {
  if (!(await requireKafka(t))) return;
  const { topic, groupPrefix, kafka, producerA, producerB } = await twoInstances('scores-alerts', 3);

  const scoreStore = new SqliteScoreStore({ path: ':memory:' });
  await scoreStore.start();
  const localA = new Recorder();
  const localB = new Recorder();
  // Declared before the analytics that forwards to it, as in src/app/app.ts.
  let bridgeA: ScoresBridge | null = null;
  const analyticsA = createAnalytics({ dbPath: ':memory:', scoreStore, logger, onAlert: (a) => bridgeA?.publishAlert(a) });
  const analyticsB = createAnalytics({ dbPath: ':memory:', scoreStore, logger });
  await analyticsA.start();
  await analyticsB.start();
  bridgeA = new ScoresBridge({ kafka, producer: producerA, topic, instanceId: 'inst-a', groupPrefix, local: localA, alerts: analyticsA.hub });
  const bridgeB = new ScoresBridge({ kafka, producer: producerB, topic, instanceId: 'inst-b', groupPrefix, local: localB, alerts: analyticsB.hub });
  const a = bridgeA;
  t.after(async () => {
    await a.stop();
    await bridgeB.stop();
    await analyticsA.stop();
    await analyticsB.stop();
    await scoreStore.stop();
    await producerA.disconnect();
    await producerB.disconnect();
  });
  await Promise.all([a.start(), bridgeB.start()]);

  const subA = collect(analyticsA.hub.subscribe({ tenant: 'acme' }));
  const subB = collect(analyticsB.hub.subscribe({ tenant: 'acme' }));
  const otherTenantB = collect(analyticsB.hub.subscribe({ tenant: 'other' }));

  // Instance A scores a call: the 4th segment completes a SUSTAINED_NEGATIVE run.
  let raised: Alert[] = [];
  for (const [i, v] of [0.5, -1, -1, -1].entries()) {
    const s = makeScore({ callId: 'c1', tenant: 'acme', channel: 'customer', segmentIndex: i, valence: v });
    await scoreStore.putScore(s);
    await a.publishScore(s);
    raised = raised.concat(await analyticsA.service.onScored(s));
  }
  assert.deepEqual(raised.map((x) => x.id), ['acme:c1:customer:SUSTAINED_NEGATIVE:3'], 'the rule fired once');
  const id = raised[0].id;

  // B got the 4 scores and the alert; A skipped all 5 of its own records.
  await until('B to consume 4 scores and 1 alert', () => bridgeB.stats().consumed === 5 && subB.got.length >= 1);
  await until('A to skip its own 5 records', () => a.stats().ownSkipped === 5);
  assert.equal(localB.scores.length, 4);

  // The topic is at-least-once: the same alert again (e.g. a producer retry) is dropped on B.
  await a.publishAlert(raised[0]);
  await until('B to see the repeat', () => bridgeB.stats().alertRepeats === 1);
  // A marker record from B proves A has read past everything before it (same partition: key c1).
  await bridgeB.publishScore(makeScore({ callId: 'c1', tenant: 'acme', channel: 'agent', segmentIndex: 0, valence: 0 }));
  await until('A to consume B\'s marker', () => a.stats().consumed === 1);

  assert.deepEqual(subB.got.map((x) => x.id), [id], 'B\'s subscriber got the alert exactly once');
  assert.deepEqual(subB.got[0], raised[0], 'as raised, field for field');
  assert.deepEqual(subA.got.map((x) => x.id), [id], 'A\'s subscriber got it once, from the local publish only');
  assert.equal(a.stats().ownSkipped, 6);
  assert.equal(a.stats().alertRepeats, 0);
  assert.equal(bridgeB.stats().malformed + a.stats().malformed, 0);
  assert.deepEqual(otherTenantB.got, [], 'another tenant\'s subscriber sees nothing');
  assert.equal(await analyticsB.store.getSummary('c1'), null, 'B stored nothing: the alert lives in A\'s store');

  analyticsA.hub.close();
  analyticsB.hub.close();
  await Promise.all([subA.done, subB.done, otherTenantB.done]);
});

test('a failing fan-out: the bridge re-reads the batch after a backoff, stays in its group, and loses nothing', { timeout: 90_000 }, async (t) => {
  if (!(await requireKafka(t))) return;
  const { topic, groupPrefix, kafka, producerA, producerB } = await twoInstances('scores-crash', 2);
  // B's fan-out throws once, on the second score (with kafkajs such an error could leave the
  // consumer dead for good and the instance deaf to the others).
  const localB = new Recorder();
  let calls = 0;
  const flaky: LocalFanOut = {
    deliverScore: (s) => {
      if (++calls === 2) throw new Error('fan-out failed once');
      return localB.deliverScore(s);
    },
    deliverCall: (c) => localB.deliverCall(c),
  };
  const fast = { sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000, maxWaitTimeMs: 100 };
  const a = new ScoresBridge({ kafka, producer: producerA, topic, instanceId: 'inst-a', groupPrefix, local: new Recorder(), tuning: fast });
  const b = new ScoresBridge({ kafka, producer: producerB, topic, instanceId: 'inst-b', groupPrefix, local: flaky, tuning: fast, retryDelayMs: 200, logger });
  t.after(async () => {
    await a.stop();
    await b.stop();
    await producerA.disconnect();
    await producerB.disconnect();
  });
  await Promise.all([a.start(), b.start()]);
  assert.ok(b.ready());

  const sent = [0, 1, 2, 3, 4, 5].map((i) => makeScore({ callId: `c${i % 3}`, tenant: 'acme', channel: 'customer', segmentIndex: i, valence: 0 }));
  for (const s of sent.slice(0, 3)) await a.publishScore(s);
  await until('B to fail a batch', () => b.stats().consumerRestarts >= 1, 30_000);
  for (const s of sent.slice(3)) await a.publishScore(s); // produced after the failure
  await until('B to deliver all six scores', () => new Set(localB.scores.map((s) => s.segmentIndex)).size === 6, 30_000);
  await until('B ready again', () => b.ready(), 10_000);
  assert.deepEqual([...new Set(localB.scores.map((s) => s.segmentIndex))].sort(), [0, 1, 2, 3, 4, 5]);
  assert.ok(localB.scores.length <= 6 + 2, `repeats stay few (${localB.scores.length} deliveries)`);
  assert.equal(b.stats().consumerRestarts, 1);
});
