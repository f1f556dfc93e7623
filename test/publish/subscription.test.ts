import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HubSubscription } from '../../src/publish/subscription.js';

const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;

test('a waiting consumer gets a pushed event directly', async () => {
  const sub = new HubSubscription<number>({ capacity: 2 }, () => {});
  const pending = sub.next();
  sub.push(42);
  assert.deepEqual(await pending, { value: 42, done: false });
  assert.equal(sub.backlog, 0);
});

test('slow consumer under drop-oldest: keeps the newest events and counts the rest', async () => {
  const overflows: string[] = [];
  const sub = new HubSubscription<number>({ capacity: 10, policy: 'drop-oldest' }, () => {}, (w) => overflows.push(w));
  for (let i = 0; i < 1000; i++) sub.push(i);
  assert.equal(sub.backlog, 10);
  assert.equal(sub.dropped, 990);
  assert.equal(overflows.length, 990);
  const got: number[] = [];
  for (let i = 0; i < 10; i++) got.push((await sub.next()).value as number);
  assert.deepEqual(got, [990, 991, 992, 993, 994, 995, 996, 997, 998, 999]);
  // Still open: a later event is delivered.
  sub.push(1000);
  assert.deepEqual(await sub.next(), { value: 1000, done: false });
});

test('slow consumer under close: detached at once, SUBSCRIBER_TOO_SLOW on the next read, then done', async () => {
  let detached = 0;
  const sub = new HubSubscription<number>({ capacity: 3, policy: 'close' }, () => detached++);
  for (let i = 0; i < 4; i++) sub.push(i);
  assert.equal(detached, 1, 'the hub forgets it without waiting for the consumer');
  sub.push(99); // ignored
  await assert.rejects(sub.next(), (e: unknown) => code('SUBSCRIBER_TOO_SLOW')(e) && /fell 3 events behind and was closed/.test((e as Error).message));
  assert.deepEqual(await sub.next(), { value: undefined, done: true });
  assert.equal(detached, 1);
});

test('return() frees the queue, resolves a waiting read and detaches once', async () => {
  let detached = 0;
  const sub = new HubSubscription<number>({ capacity: 5 }, () => detached++);
  const waiting = sub.next();
  await sub.return();
  assert.deepEqual(await waiting, { value: undefined, done: true });
  await sub.return();
  sub.push(1);
  assert.equal(sub.backlog, 0);
  assert.equal(detached, 1);
  assert.ok(sub.closed);
});

test('end() lets the consumer drain what is queued, then completes', async () => {
  const sub = new HubSubscription<string>({ capacity: 5 }, () => {});
  sub.push('a');
  sub.push('b');
  sub.end();
  const got: string[] = [];
  for await (const v of sub) got.push(v);
  assert.deepEqual(got, ['a', 'b']);
});
