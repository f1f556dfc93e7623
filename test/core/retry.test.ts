import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffMs } from '../../src/core/retry.js';

test('backoff starts at baseMs after the first failure, doubles, and stops at maxMs', () => {
  const b = { baseMs: 100, maxMs: 5_000 };
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 50].map((a) => backoffMs(a, b)), [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
});

test('the loops that used their own formulas keep their delays', () => {
  // pipeline scoring was min(2000, 50 * 2^a); storage and partition claims min(5000, 100 * 2^min(a, 6))
  for (let a = 1; a <= 12; a++) {
    assert.equal(backoffMs(a, { baseMs: 100, maxMs: 2000 }), Math.min(2000, 50 * 2 ** a));
    assert.equal(backoffMs(a, { baseMs: 200, maxMs: 5000 }), Math.min(5000, 100 * 2 ** Math.min(a, 6)));
  }
});

test('without a cap the wait stays finite for any attempt, and attempt 0 reads as the first', () => {
  assert.equal(backoffMs(1, { baseMs: 50 }), 50);
  assert.equal(backoffMs(4, { baseMs: 50 }), 400);
  assert.ok(Number.isFinite(backoffMs(10_000, { baseMs: 50 })));
  assert.equal(backoffMs(0, { baseMs: 50 }), 50);
});
