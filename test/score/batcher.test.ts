import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../../src/core/errors.js';
import { Batcher, OVERFLOW_POLICY } from '../../src/score/batcher.js';

/** A dispatcher that records batches and settles them when told. */
function harness(opts: ConstructorParameters<typeof Batcher<number, number>>[0], workers = 1) {
  const batches: number[][] = [];
  const pending: (() => void)[] = [];
  let busy = 0;
  const b = new Batcher<number, number>(opts, (items) => {
    batches.push(items);
    busy++;
    return new Promise((resolve) => pending.push(() => {
      busy--;
      resolve(items.map((x) => x * 10));
    }));
  }, () => busy < workers);
  const finishOne = () => pending.shift()?.();
  return { b, batches, finishOne };
}

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

test('items submitted together leave as one batch after maxWaitMs, results in order', async () => {
  const { b, batches, finishOne } = harness({ maxBatch: 32, maxWaitMs: 20 });
  const ps = [1, 2, 3].map((x) => b.submit(x));
  await tick(5);
  assert.equal(batches.length, 0, 'still waiting for more');
  await tick(30);
  assert.deepEqual(batches, [[1, 2, 3]]);
  finishOne();
  assert.deepEqual(await Promise.all(ps), [10, 20, 30]);
});

test('a full batch leaves at once, without waiting', async () => {
  const { b, batches, finishOne } = harness({ maxBatch: 2, maxWaitMs: 10_000 });
  const ps = [b.submit(1), b.submit(2)];
  assert.deepEqual(batches, [[1, 2]]);
  finishOne();
  assert.deepEqual(await Promise.all(ps), [10, 20]);
});

test('while the worker is busy items queue, and the next batch takes up to maxBatch of them', async () => {
  const { b, batches, finishOne } = harness({ maxBatch: 3, maxWaitMs: 0 });
  const ps = [1, 2, 3, 4, 5, 6, 7].map((x) => b.submit(x));
  assert.deepEqual(batches, [[1]], 'first item leaves alone (maxWaitMs 0)');
  assert.equal(b.depth(), 6);
  finishOne();
  await tick();
  assert.deepEqual(batches[1], [2, 3, 4]);
  finishOne();
  await tick();
  finishOne();
  await tick();
  finishOne();
  assert.deepEqual(batches, [[1], [2, 3, 4], [5, 6, 7]]);
  assert.deepEqual(await Promise.all(ps), [10, 20, 30, 40, 50, 60, 70]);
});

test(`overflow policy ${OVERFLOW_POLICY}: a full queue rejects the newest with SCORER_OVERLOADED, queued items keep their place`, async () => {
  const { b, finishOne } = harness({ maxBatch: 1, maxWaitMs: 0, maxQueue: 2 });
  const first = b.submit(1); // in flight: not counted
  const queued = [b.submit(2), b.submit(3)];
  await assert.rejects(b.submit(4), (e: AppError) => e.code === 'SCORER_OVERLOADED' && e.retriable && e.details.depth === 2);
  finishOne();
  await tick();
  finishOne();
  await tick();
  finishOne();
  assert.deepEqual(await Promise.all([first, ...queued]), [10, 20, 30]);
  assert.equal(await Promise.race([b.submit(5), tick(5).then(() => 'queued again')]), 'queued again');
});

test('a failed batch rejects each of its items', async () => {
  const b = new Batcher<number, number>({ maxWaitMs: 0 }, async () => { throw new AppError('SCORER_FAILED', { reason: 'x' }); }, () => true);
  await assert.rejects(b.submit(1), (e: AppError) => e.code === 'SCORER_FAILED');
});

test('close() sends what waits at once and resolves after it settled; later submits are refused', async () => {
  const { b, batches, finishOne } = harness({ maxBatch: 32, maxWaitMs: 60_000 });
  const p = b.submit(1);
  const closed = b.close();
  assert.deepEqual(batches, [[1]]);
  let done = false;
  void closed.then(() => (done = true));
  await tick();
  assert.equal(done, false);
  finishOne();
  await closed;
  assert.equal(await p, 10);
  await assert.rejects(b.submit(2), (e: AppError) => e.code === 'SCORER_FAILED');
});

test('options are validated when the batcher is built', () => {
  assert.throws(() => new Batcher({ maxBatch: 0 }, async () => [], () => true), /maxBatch 0/);
  assert.throws(() => new Batcher({ maxQueue: 1.5 }, async () => [], () => true), /maxQueue 1.5/);
  assert.throws(() => new Batcher({ maxWaitMs: -1 }, async () => [], () => true), /maxWaitMs -1/);
});
