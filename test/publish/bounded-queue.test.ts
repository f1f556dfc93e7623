import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BoundedQueue } from '../../src/publish/bounded-queue.js';

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
