import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateLimitedWarn } from '../../src/app/rate-limited-warn.js';

test('a flood of warnings is bounded per code per interval, and the next line says how many were left out', () => {
  const lines: { obj: Record<string, unknown>; msg: string }[] = [];
  let now = 0;
  const w = new RateLimitedWarn({ warn: (obj, msg) => lines.push({ obj: obj as Record<string, unknown>, msg }) }, { intervalMs: 1000, burst: 3, now: () => now });
  for (let i = 0; i < 10_000; i++) w.warn('CHUNK_BAD_PAYLOAD', { i }, 'bad');
  w.warn('CHUNK_TOO_LATE', {}, 'late'); // another code has its own budget
  assert.equal(lines.length, 4);
  assert.equal(w.suppressedTotal, 9_997);
  now = 1000;
  w.warn('CHUNK_BAD_PAYLOAD', { i: -1 }, 'bad');
  assert.equal(lines.length, 5);
  assert.deepEqual(lines[4].obj, { code: 'CHUNK_BAD_PAYLOAD', i: -1, suppressed: 9_997 });
  assert.equal(lines.filter((l) => l.obj.suppressed !== undefined).length, 1);
});
