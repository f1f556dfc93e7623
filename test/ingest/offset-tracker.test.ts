import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { OffsetTracker } from '../../src/ingest/offset-tracker.js';
import { ref } from '../support/chunks.js';

test('commits only past a contiguous released prefix', () => {
  const t = new OffsetTracker();
  for (let o = 10; o < 15; o++) t.track(ref(o));
  assert.deepEqual(t.committable(), []);
  t.release([ref(11), ref(12)]);
  assert.deepEqual(t.committable(), [], '10 still open: nothing may be committed');
  assert.equal(t.inFlight('test', 0), 3);
  t.release([ref(10)]);
  assert.deepEqual(t.committable(), [{ topic: 'test', partition: 0, offset: '13' }]);
  t.markCommitted(t.committable());
  assert.deepEqual(t.committable(), [], 'nothing new after a commit');
  t.release([ref(14)]);
  assert.deepEqual(t.committable(), [], '13 still open');
  t.release([ref(13)]);
  assert.deepEqual(t.committable(), [{ topic: 'test', partition: 0, offset: '15' }]);
});

test('offset gaps, redeliveries, double releases and unknown offsets are harmless', () => {
  const t = new OffsetTracker();
  assert.equal(t.track(ref(100)), true);
  assert.equal(t.track(ref(105)), true); // gap 101..104 (compaction)
  assert.equal(t.track(ref(105)), false, 'a redelivery is not tracked twice');
  assert.equal(t.track(ref(103)), false);
  t.release([ref(102), ref(999)]);
  t.release([ref(100), ref(100)]);
  assert.deepEqual(t.committable(), [{ topic: 'test', partition: 0, offset: '101' }]);
  t.release([ref(105)]);
  assert.deepEqual(t.committable(), [{ topic: 'test', partition: 0, offset: '106' }]);
  assert.equal(t.inFlight('test', 0), 0);
});

test('partitions are independent; drop and retain forget revoked partitions', () => {
  const t = new OffsetTracker();
  t.track(ref(0, 0));
  t.track(ref(0, 1));
  t.track(ref(5, 0, 'other'));
  t.release([ref(0, 1)]);
  assert.deepEqual(t.committable(), [{ topic: 'test', partition: 1, offset: '1' }]);
  t.retain({ test: [0] });
  assert.deepEqual(t.partitions(), ['test/0']);
  t.release([ref(0, 1), ref(5, 0, 'other')]);
  assert.deepEqual(t.committable(), [], 'releases for revoked partitions are ignored');
  t.drop('test', 0);
  assert.equal(t.inFlight('test', 0), 0);
});

test('offsets beyond 2^53 stay exact', () => {
  const t = new OffsetTracker();
  const big = '9007199254740993';
  t.track({ topic: 'x', partition: 0, offset: big });
  t.release([{ topic: 'x', partition: 0, offset: big }]);
  assert.deepEqual(t.committable(), [{ topic: 'x', partition: 0, offset: '9007199254740994' }]);
});

test('property: the commit point is always one past the longest released prefix', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 60 }), fc.array(fc.nat(), { maxLength: 80 }), (n, picks) => {
      const t = new OffsetTracker();
      for (let o = 0; o < n; o++) t.track(ref(o * 2)); // even offsets: gaps between records
      const released = new Set<number>();
      for (const p of picks) {
        const o = (p % n) * 2;
        released.add(o);
        t.release([ref(o)]);
        let prefix = 0;
        while (prefix < n && released.has(prefix * 2)) prefix++;
        const expected = prefix === 0 ? [] : [{ topic: 'test', partition: 0, offset: String((prefix - 1) * 2 + 1) }];
        assert.deepEqual(t.committable(), expected);
        assert.equal(t.inFlight('test', 0), n - released.size);
      }
    }),
    { numRuns: 200 },
  );
});

test('forget: records a stopping sink did not take hold the commit point back and can be tracked again', () => {
  const t = new OffsetTracker();
  for (let o = 0; o < 6; o++) t.track(ref(o));
  t.release([ref(0), ref(1), ref(2)]);
  t.forget([ref(3), ref(4), ref(5)]);
  assert.equal(t.inFlight('test', 0), 0, 'nothing left to wait for');
  assert.deepEqual(t.committable(), [{ topic: 'test', partition: 0, offset: '3' }], 'the commit stops before the untaken');
  t.release([ref(4)]);
  assert.deepEqual(t.committable(), [{ topic: 'test', partition: 0, offset: '3' }], 'a forgotten offset is not released');
  assert.equal(t.track(ref(3)), true, 'a redelivery is tracked again');
});
