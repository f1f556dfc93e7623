import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resample, resampleGeneral } from '../../src/ingest/resample.js';

/** A deterministic signal with energy across the band (tones plus a pseudo-random sequence). */
function signal(n: number, seed: number): Float32Array {
  const x = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    x[i] = 0.4 * Math.sin(i * 0.37) + 0.2 * Math.sin(i * 2.9) + (s / 2147483648 - 0.5) * 0.6;
  }
  return x;
}

test('the 2:1 fast path (8 -> 16 kHz) equals the general polyphase loop bit for bit', () => {
  for (const [n, seed] of [[1, 1], [2, 2], [3, 3], [17, 4], [160, 5], [1600, 6], [4001, 7]] as const) {
    for (const [from, to] of [[8000, 16000], [16000, 32000]] as const) {
      const fast = resample(signal(n, seed), from, to);
      const general = resampleGeneral(signal(n, seed), from, to);
      assert.equal(fast.length, 2 * n);
      assert.equal(general.length, 2 * n);
      for (let i = 0; i < fast.length; i++) assert.ok(Object.is(fast[i], general[i]), `n ${n}, ${from}->${to}, sample ${i}: ${fast[i]} vs ${general[i]}`);
    }
  }
});

test('ratios other than 2:1 take the general loop (same output as resampleGeneral)', () => {
  const x = signal(480, 9);
  assert.deepEqual(resample(x, 48000, 16000), resampleGeneral(x, 48000, 16000));
  assert.deepEqual(resample(x, 8000, 24000), resampleGeneral(x, 8000, 24000));
  assert.equal(resample(x, 16000, 16000), x);
});
