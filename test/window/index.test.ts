import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { WindowStage } from '../../src/core/ports.js';
import { DEFAULT_WINDOW_OPTIONS, Windower, resolveWindowOptions } from '../../src/window/index.js';
import { audioChunk, callStart } from '../support/chunks.js';

test('the Windower is the pipeline\'s WindowStage as is', () => {
  const stage: WindowStage = new Windower();
  const out = stage.accept(callStart(), 0);
  assert.deepEqual(out.map((e) => e.type), ['call', 'release']);
  assert.deepEqual(stage.tick(1), []);
  assert.deepEqual(stage.flush(2).map((e) => e.type), ['call']);
});

test('options merge with the defaults, nested vad included', () => {
  const o = resolveWindowOptions({ transcriptWaitMs: 0, vad: { hangoverMs: 200 } });
  assert.equal(o.transcriptWaitMs, 0);
  assert.equal(o.vad.hangoverMs, 200);
  assert.equal(o.vad.frameMs, DEFAULT_WINDOW_OPTIONS.vad.frameMs);
  assert.throws(() => resolveWindowOptions({ maxBufferedMs: 1000 }), /maxBufferedMs/);
});
