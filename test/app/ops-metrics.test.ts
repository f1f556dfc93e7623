/**
 * Operator metrics: each gauge reads its part at scrape time, so a scrape shows the values of
 * that moment; a scorer that has not started yet is no sample rather than a failed scrape.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { registerOpsMetrics } from '../../src/app/ops-metrics.js';
import type { BridgeStats } from '../../src/publish/scores-bridge.js';
import type { HubStats } from '../../src/publish/hub.js';

function sample(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

test('hub, bridge, provider and lag gauges show what the parts report at scrape time', async () => {
  const hub: HubStats = { subscribers: 3, scoresPublished: 10, callsPublished: 2, duplicatesDropped: 1, delivered: 25, droppedOldest: 4, closedTooSlow: 1 };
  const bridge: BridgeStats = { produced: 7, produceErrors: 1, consumed: 9, ownSkipped: 6, malformed: 2, alertRepeats: 5, consumerRestarts: 4, outboxDepth: 3 };
  let workers = 2;
  let restarts = 0;
  const registry = new Registry();
  const ops = registerOpsMetrics(registry, {
    hub: () => hub,
    scorer: () => ({ modelVersion: 'sdumc-v1', executionProvider: 'cpu', providerAttempts: [], workers }),
    scorerWorkers: 2,
    bridge: () => bridge,
    chunkConsumerRestarts: () => restarts,
    fanOut: () => ({ groups: 2, members: 9000, executions: 40, delivered: 180_000, droppedOldest: 3, closedTooSlow: 1 }),
  });
  ops.setLag([{ topic: 'chunks', partition: 0, lag: 12 }, { topic: 'chunks', partition: 1, lag: 0 }]);
  let text = await registry.metrics();
  assert.equal(sample(text, 'subscribers'), 3);
  assert.equal(sample(text, 'hub_events', 'kind="delivered"'), 25);
  assert.equal(sample(text, 'hub_events', 'kind="closed_too_slow"'), 1);
  assert.equal(sample(text, 'subscription_fan_out', 'kind="members"'), 9000);
  assert.equal(sample(text, 'subscription_fan_out', 'kind="executions"'), 40);
  const kinds = { produced: 7, produce_errors: 1, consumed: 9, own_skipped: 6, malformed: 2, alert_repeats: 5, consumer_restarts: 4, outbox_depth: 3 };
  for (const [kind, v] of Object.entries(kinds)) assert.equal(sample(text, 'scores_topic', `kind="${kind}"`), v, kind);
  assert.equal(sample(text, 'execution_provider', 'provider="cpu",model="sdumc-v1"'), 1);
  assert.equal(sample(text, 'scorer_workers', 'state="chosen"'), 2);
  assert.equal(sample(text, 'scorer_workers', 'state="live"'), 2);
  assert.equal(sample(text, 'consumer_lag', 'topic="chunks",partition="0"'), 12);

  assert.equal(sample(text, 'chunk_consumer_restarts'), 0);
  restarts = 2;
  hub.subscribers = 0;
  bridge.alertRepeats = 6;
  workers = 0;
  text = await registry.metrics();
  assert.equal(sample(text, 'subscribers'), 0);
  assert.equal(sample(text, 'scores_topic', 'kind="alert_repeats"'), 6);
  assert.equal(sample(text, 'chunk_consumer_restarts'), 2);
  assert.equal(sample(text, 'execution_provider', 'provider="cpu",model="sdumc-v1"'), 0, 'no worker runs');
  assert.deepEqual([sample(text, 'scorer_workers', 'state="chosen"'), sample(text, 'scorer_workers', 'state="live"')], [2, 0]);
});

test('a scorer that has not started is no sample, and no bridge means no scores_topic gauge', async () => {
  const registry = new Registry();
  registerOpsMetrics(registry, {
    hub: () => ({ subscribers: 0, scoresPublished: 0, callsPublished: 0, duplicatesDropped: 0, delivered: 0, droppedOldest: 0, closedTooSlow: 0 }),
    scorer: () => { throw new Error('not started'); },
    scorerWorkers: 1,
  });
  const text = await registry.metrics();
  assert.equal(sample(text, 'subscribers'), 0);
  assert.ok(!text.split('\n').some((l) => l.startsWith('execution_provider{')), 'no provider sample');
  assert.deepEqual([sample(text, 'scorer_workers', 'state="chosen"'), sample(text, 'scorer_workers', 'state="live"')], [1, undefined]);
  assert.ok(!text.includes('scores_topic'), 'no bridge gauge without a bridge');
});
