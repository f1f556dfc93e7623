import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { callAnalytics, latestRevisions, ROLLING_WINDOW, rollingMean, trend } from '../../src/analytics/stats.js';
import { type Pt, refChannel } from './reference.js';

const close = (a: number | null, b: number | null) => {
  if (a === null || b === null) return assert.equal(a, b);
  assert.ok(Math.abs(a - b) < 1e-9, `${a} != ${b}`);
};

/** Random scores of a call: channels, indices with gaps, several revisions, shuffled order. */
const scoresArb = fc
  .array(
    fc.record({
      channel: fc.constantFrom('customer', 'agent'),
      segmentIndex: fc.integer({ min: 0, max: 40 }),
      revision: fc.integer({ min: 0, max: 2 }),
      valence: fc.double({ min: -3, max: 3, noNaN: true }),
      textMissing: fc.boolean(),
    }),
    { minLength: 1, maxLength: 120 },
  )
  // One score per key (a repeat of a key carries the same values).
  .map((xs) => [...new Map(xs.map((s) => [`${s.channel}/${s.segmentIndex}/${s.revision}`, s])).values()] as Pt[]);

test('every ChannelAnalytics field matches the reference over random, shuffled, revised scores', () => {
  fc.assert(
    fc.property(scoresArb, (scores) => {
      const got = callAnalytics(scores);
      const channels = [...new Set(scores.map((s) => s.channel))].sort();
      assert.deepEqual(got.map((c) => c.channel), channels);
      for (const c of got) {
        const ref = refChannel(scores, c.channel);
        assert.equal(c.segments, ref.segments);
        close(c.meanValence, ref.meanValence);
        close(c.minValence, ref.minValence);
        close(c.maxValence, ref.maxValence);
        close(c.rollingValence, ref.rollingValence);
        close(c.trend, ref.trend);
        close(c.textMissingShare, ref.textMissingShare);
      }
    }),
    { numRuns: 300 },
  );
});

test('order and repeats do not change the analytics', () => {
  fc.assert(
    fc.property(scoresArb, fc.integer(), (scores, seed) => {
      const shuffled = [...scores, ...scores].sort((a, b) => ((a.segmentIndex * 7919 + seed) % 13) - ((b.segmentIndex * 7919 + seed) % 13));
      assert.deepEqual(callAnalytics(shuffled), callAnalytics(scores));
    }),
  );
});

test('the latest revision wins, whatever order revisions arrive in', () => {
  const s = (revision: number, valence: number): Pt => ({ channel: 'customer', segmentIndex: 0, revision, valence, textMissing: revision === 0 });
  const latest = latestRevisions([s(1, 2), s(0, -2), s(2, 1)]);
  assert.equal(latest.length, 1);
  assert.equal(latest[0].revision, 2);
  const [c] = callAnalytics([s(1, 2), s(0, -2)]);
  assert.equal(c.meanValence, 2);
  assert.equal(c.textMissingShare, 0);
});

test('worked example: rolling window, trend thirds, text-missing share', () => {
  const v = [1, 2, 3, -1, -2, -3, 0];
  const pts: Pt[] = v.map((valence, i) => ({ channel: 'customer', segmentIndex: i, revision: 0, valence, textMissing: i % 2 === 0 }));
  const [c] = callAnalytics(pts);
  assert.equal(ROLLING_WINDOW, 5);
  close(c.rollingValence, (3 - 1 - 2 - 3 + 0) / 5);
  // n = 7, k = 2: mean(-3, 0) - mean(1, 2)
  close(c.trend, -1.5 - 1.5);
  close(c.textMissingShare, 4 / 7);
  assert.equal(trend([1, 2]), null);
  close(rollingMean([4, 2]), 3);
});
