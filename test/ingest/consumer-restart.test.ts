/**
 * ConsumerRestarter without a broker: it disconnects the dead consumer, rebuilds after the delay,
 * retries after a failed rebuild, absorbs repeated schedules, and does nothing once cancelled or
 * when the owner already holds another consumer. The real-broker paths are in
 * kafka-source.test.ts and scores-bridge.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Consumer } from 'kafkajs';
import { ConsumerRestarter } from '../../src/ingest/consumer-restart.js';

function fakeConsumer(): Consumer & { disconnects: number } {
  const c = { disconnects: 0, disconnect: async () => { c.disconnects++; } };
  return c as unknown as Consumer & { disconnects: number };
}

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('rebuilds after the delay, retries a failed rebuild, and absorbs repeated schedules', async () => {
  let held: Consumer | null = fakeConsumer();
  const dead = held as ReturnType<typeof fakeConsumer>;
  const events: string[] = [];
  let attempts = 0;
  const r = new ConsumerRestarter({
    delayMs: 20,
    current: () => held,
    rebuild: async () => {
      attempts++;
      if (attempts === 1) throw new Error('broker still down');
      held = fakeConsumer();
    },
    onRestarted: () => events.push('restarted'),
    onFailed: (err) => events.push(`failed: ${(err as Error).message}`),
  });
  r.schedule(dead);
  r.schedule(dead); // a second crash report before the restart: one restart
  assert.equal(attempts, 0, 'nothing before the delay');
  await tick(120);
  assert.deepEqual(events, ['failed: broker still down', 'restarted']);
  assert.equal(attempts, 2);
  assert.ok(dead.disconnects >= 1, 'the dead consumer is disconnected first');
  assert.notEqual(held, dead);
});

test('cancelled, or the owner holds another consumer: nothing is rebuilt', async () => {
  const dead = fakeConsumer();
  let rebuilt = 0;
  const cancelled = new ConsumerRestarter({ delayMs: 10, current: () => dead, rebuild: async () => { rebuilt++; }, onRestarted: () => {}, onFailed: () => {} });
  cancelled.schedule(dead);
  cancelled.cancel();
  cancelled.schedule(dead);
  const other = fakeConsumer();
  const moved = new ConsumerRestarter({ delayMs: 10, current: () => other, rebuild: async () => { rebuilt++; }, onRestarted: () => {}, onFailed: () => {} });
  moved.schedule(dead);
  await tick(60);
  assert.equal(rebuilt, 0);
  assert.equal(dead.disconnects, 1, 'only the second restarter touched it (the cancelled one never fired)');
});
