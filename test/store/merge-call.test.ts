/**
 * The one call-merge rule (src/store/validate.ts mergeCall) that both stores apply in upsertCall:
 * whatever order updates arrive in, a call never moves backwards. Property-tested over random
 * update sequences; the store contract (contract.ts) checks both stores apply it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { CallInfo } from '../../src/core/types.js';
import { mergeCall } from '../../src/store/validate.js';
import { makeCall } from './fixtures.js';

const update = fc.record({
  status: fc.constantFrom('ACTIVE' as const, 'ENDED' as const, 'TIMED_OUT' as const),
  startedAtMs: fc.integer({ min: 0, max: 1000 }),
  endedAtMs: fc.option(fc.integer({ min: 0, max: 2000 }), { nil: null }),
  channels: fc.uniqueArray(fc.constantFrom('customer', 'agent', 'bot'), { maxLength: 3 }),
  segmentCount: fc.integer({ min: 0, max: 50 }),
  meta: fc.dictionary(fc.constantFrom('queue', 'lang'), fc.string({ maxLength: 3 })),
  displayName: fc.option(fc.string({ minLength: 1, maxLength: 4 }), { nil: null }),
}).map((u) => makeCall(u));

test('mergeCall never moves a call backwards, whatever order its updates arrive in', () => {
  fc.assert(
    fc.property(update, fc.array(update, { minLength: 1, maxLength: 8 }), (first, rest) => {
      let call: CallInfo = first;
      for (const next of rest) {
        const merged = mergeCall(call, next);
        if (call.status !== 'ACTIVE') assert.notEqual(merged.status, 'ACTIVE', 'an ended call is never reopened');
        assert.equal(merged.startedAtMs, Math.min(call.startedAtMs, next.startedAtMs));
        assert.equal(merged.segmentCount, Math.max(call.segmentCount, next.segmentCount));
        assert.deepEqual(new Set(merged.channels), new Set([...call.channels, ...next.channels]));
        assert.deepEqual(merged.meta, { ...call.meta, ...next.meta });
        assert.equal(merged.endedAtMs, next.endedAtMs ?? call.endedAtMs);
        assert.equal(merged.displayName, next.displayName ?? call.displayName);
        call = merged;
      }
    }),
    { numRuns: 300 },
  );
});

test('mergeCall keeps the incoming status when it moves forward, and the stored one when a replay would reopen', () => {
  assert.equal(mergeCall(makeCall({ status: 'ACTIVE' }), makeCall({ status: 'ENDED' })).status, 'ENDED');
  assert.equal(mergeCall(makeCall({ status: 'TIMED_OUT' }), makeCall({ status: 'ACTIVE' })).status, 'TIMED_OUT');
  assert.equal(mergeCall(makeCall({ status: 'ENDED' }), makeCall({ status: 'TIMED_OUT' })).status, 'TIMED_OUT', 'one final status may replace the other, as before');
});
