import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Alert } from '../../src/analytics/alert.js';
import { createAlertHub } from '../../src/analytics/hub.js';

const a = (callId: string, tenant: string, i: number) => ({ id: `${callId}:${i}`, callId, tenant }) as Alert;

test('subscribers get only their tenant / call, in order', async () => {
  const hub = createAlertHub();
  const t1 = hub.subscribe({ tenant: 't1' });
  const c = hub.subscribe({ tenant: 't1', callId: 'c2' });
  hub.publish(a('c1', 't1', 0));
  hub.publish(a('c2', 't2', 1));
  hub.publish(a('c2', 't1', 2));
  assert.equal((await t1.next()).value.id, 'c1:0');
  assert.equal((await t1.next()).value.id, 'c2:2');
  assert.equal((await c.next()).value.id, 'c2:2');
  await t1.return?.();
  assert.equal(hub.stats().subscribers, 1);
  hub.close();
  assert.equal((await c.next()).done, true);
});

test('a slow subscriber keeps only the newest `bufferSize` alerts (sliding), and drops are counted', async () => {
  const hub = createAlertHub({ bufferSize: 3 });
  const s = hub.subscribe({});
  for (let i = 0; i < 5; i++) hub.publish(a('c', 't', i));
  assert.equal(hub.stats().droppedOldest, 2);
  const got = [];
  for (let i = 0; i < 3; i++) got.push((await s.next()).value.id);
  assert.deepEqual(got, ['c:2', 'c:3', 'c:4']);
  const pending = s.next();
  hub.publish(a('c', 't', 9));
  assert.equal((await pending).value.id, 'c:9');
});
