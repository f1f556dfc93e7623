/** The timeline axes (dashboard/src/scale.ts): valence follows the spread, time ticks are round. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clockOffset, timeTicks, valenceDomain, valenceTicks } from '../../dashboard/src/scale.js';

test('the valence axis spans what is shown plus the neutral band, padded, within -3..+3', () => {
  const d = valenceDomain([-0.8, 0.1, 0.6]);
  assert.ok(d.lo < -0.8 && d.lo > -1, `lo ${d.lo}`);
  assert.ok(d.hi > 0.6 && d.hi < 0.8, `hi ${d.hi}`);
  // A calm call still shows the neutral band whole.
  const calm = valenceDomain([0.1, 0.2]);
  assert.ok(calm.lo <= -0.5 && calm.hi >= 0.5);
  // Nothing goes past the model's range, and non-finite values are ignored.
  assert.deepEqual(valenceDomain([-3, 3, Number.NaN]), { lo: -3, hi: 3 });
  assert.deepEqual(valenceDomain([]), { lo: -0.6, hi: 0.6 });
});

test('valence ticks are round, include 0 and stay within the axis and the count asked for', () => {
  assert.deepEqual(valenceTicks({ lo: -0.94, hi: 0.74 }, 8), [-0.75, -0.5, -0.25, 0, 0.25, 0.5]);
  assert.deepEqual(valenceTicks({ lo: -0.94, hi: 0.74 }, 4), [-0.5, 0, 0.5]);
  assert.deepEqual(valenceTicks({ lo: -3, hi: 3 }, 4), [-2, 0, 2]);
  for (const max of [2, 3, 5, 9]) assert.ok(valenceTicks({ lo: -2.2, hi: 1.3 }, max).length <= Math.max(2, max));
});

test('time ticks fall on round offsets from the call start, at most as many as asked', () => {
  const origin = 1_700_000_000_000;
  assert.deepEqual(timeTicks(origin, origin + 17_800, origin, 4).map((t) => t - origin), [0, 10_000]);
  assert.deepEqual(timeTicks(origin, origin + 17_800, origin, 6).map((t) => t - origin), [0, 5_000, 10_000, 15_000]);
  // A live card's window that starts mid-call: ticks still count from the call start.
  const ticks = timeTicks(origin + 61_000, origin + 190_000, origin, 5).map((t) => t - origin);
  assert.deepEqual(ticks, [120_000, 180_000]);
  assert.deepEqual(['0:00', '0:05', '2:00', '1:01:05'], [0, 5_000, 120_000, 3_665_000].map(clockOffset));
});
