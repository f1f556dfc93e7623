import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BoundedQueue, MIN_SLOTS } from '../../src/publish/bounded-queue.js';

function drain<T>(q: BoundedQueue<T>): T[] {
  const out: T[] = [];
  for (let v = q.shift(); v !== undefined; v = q.shift()) out.push(v);
  return out;
}

test('FIFO below capacity', () => {
  const q = new BoundedQueue<number>(4, 'drop-oldest');
  assert.deepEqual([1, 2, 3].map((v) => q.push(v)), ['queued', 'queued', 'queued']);
  assert.equal(q.length, 3);
  assert.deepEqual(drain(q), [1, 2, 3]);
  assert.equal(q.shift(), undefined);
});

test('drop-oldest keeps the newest `capacity` items across ring wrap-around', () => {
  const q = new BoundedQueue<number>(3, 'drop-oldest');
  q.push(0);
  q.shift(); // move head off slot 0 so the ring wraps
  const results = [1, 2, 3, 4, 5, 6, 7].map((v) => q.push(v));
  assert.deepEqual(results.filter((r) => r === 'dropped-oldest').length, 4);
  assert.equal(q.length, 3);
  assert.deepEqual(drain(q), [5, 6, 7]);
});

test('close refuses the item past capacity and keeps what it had', () => {
  const q = new BoundedQueue<string>(2, 'close');
  assert.equal(q.push('a'), 'queued');
  assert.equal(q.push('b'), 'queued');
  assert.equal(q.push('c'), 'overflow');
  assert.deepEqual(drain(q), ['a', 'b']);
});

test('a queue must have a bound and a known policy', () => {
  assert.throws(() => new BoundedQueue(0, 'drop-oldest'), RangeError);
  assert.throws(() => new BoundedQueue(Infinity, 'drop-oldest'), RangeError);
  assert.throws(() => new BoundedQueue(4, 'unbounded' as never), RangeError);
});

test('storage grows only as items arrive and is given back once drained (issue 13)', () => {
  // Before: the ring reserved `capacity` slots up front (a 4,096-event resume queue per subscription).
  const q = new BoundedQueue<number>(4096, 'close');
  assert.ok(q.allocated <= MIN_SLOTS, `an empty queue holds ${q.allocated} slots`);
  for (let i = 0; i < 100; i++) q.push(i);
  assert.ok(q.allocated >= 100 && q.allocated <= 256, `100 items hold ${q.allocated} slots`);
  assert.deepEqual(drain(q), Array.from({ length: 100 }, (_, i) => i));
  assert.ok(q.allocated <= MIN_SLOTS, `a drained queue still holds ${q.allocated} slots`);
});

test('growth keeps FIFO order across a wrapped ring, and the bound still holds', () => {
  const q = new BoundedQueue<number>(20, 'drop-oldest');
  for (let i = 0; i < 5; i++) q.push(i);
  for (let i = 0; i < 3; i++) q.shift(); // head moves: the next pushes wrap before growing
  for (let i = 5; i < 40; i++) q.push(i);
  assert.equal(q.allocated, 20);
  assert.deepEqual(drain(q), Array.from({ length: 20 }, (_, i) => 20 + i));
  const c = new BoundedQueue<number>(10, 'close');
  for (let i = 0; i < 10; i++) assert.equal(c.push(i), 'queued');
  assert.equal(c.push(10), 'overflow');
  assert.deepEqual(drain(c), Array.from({ length: 10 }, (_, i) => i));
});
