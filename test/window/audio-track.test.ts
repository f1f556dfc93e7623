import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AudioTrack } from '../../src/window/audio-track.js';
import { DEFAULT_VAD } from '../../src/window/options.js';

const ramp = (n: number, from = 0) => Float32Array.from({ length: n }, (_, i) => (from + i) / 1e5);

test('chunks are placed by event time: jitter absorbed, overlap trimmed, gaps filled with silence', () => {
  const t = new AudioTrack(16000, 1000, DEFAULT_VAD, 5000);
  assert.ok(t.append(1000, ramp(160))); // 1000..1010
  assert.ok(t.append(1010.5, ramp(160, 160))); // 0.5 ms jitter: appended right after
  assert.equal(t.endMs, 1020);
  assert.ok(t.append(1015, ramp(160, 1000))); // overlaps 5 ms: first 80 samples dropped
  assert.equal(t.endMs, 1025);
  assert.ok(t.append(1035, ramp(16, 5000))); // 10 ms gap: 160 zeros
  assert.equal(t.endMs, 1036);
  const all = t.slice(1000, 1036, 1e9)!;
  assert.equal(all.length, 576);
  assert.equal(all[319], Math.fround(319 / 1e5));
  assert.equal(all[320], Math.fround(1080 / 1e5), 'the overlapping head was trimmed');
  assert.deepEqual(Array.from(all.subarray(400, 560)), new Array(160).fill(0));
});

test('a gap longer than maxGapMs is refused until restart; slices clip and discard frees the front', () => {
  const t = new AudioTrack(16000, 0, DEFAULT_VAD, 100);
  t.append(0, ramp(1600));
  assert.equal(t.append(300, ramp(16)), false);
  assert.equal(t.slice(50, 500, 1e9)!.length, 800, 'clipped to what exists');
  assert.equal(t.slice(0, 100, 10)!.length, 10, 'at most maxSamples');
  t.discardBefore(50);
  assert.equal(t.heldSamples, 800);
  assert.equal(t.slice(0, 60, 1e9)!.length, 160, 'discarded audio is gone');
  t.restart(300);
  assert.ok(t.append(300, ramp(16)));
  assert.equal(t.endMs, 301);
  assert.equal(t.slice(0, 1000, 1e9)!.length, 16);
});

test('long runs reuse the buffer: memory follows the unsealed span, not the call length', () => {
  const t = new AudioTrack(16000, 0, DEFAULT_VAD, 100);
  for (let i = 0; i < 3000; i++) {
    t.append(i * 20, ramp(320));
    t.discardBefore(i * 20 - 1000);
  }
  assert.ok(t.heldSamples <= 16000 + 320, `held ${t.heldSamples}`);
});
