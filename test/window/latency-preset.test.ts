/**
 * LATENCY_PRESET's window settings (src/window/options.ts LATENCY_PRESETS): how far past a
 * segment's end a channel's audio must reach before the segment is sealed. balanced waits
 * lateness + transcript wait (2 s); end-of-speech seals as soon as the VAD has seen the speech end
 * (400 ms hangover) and a 250 ms lateness has passed, whichever is later.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withPreset, type LatencyPreset } from '../../src/window/options.js';
import { Windower } from '../../src/window/windower.js';
import { callStart } from '../support/chunks.js';
import { T0, audioStream, segmentsOf } from './script.js';

/** The event end (ms from T0) of the audio chunk whose arrival seals the one segment. */
function sealedAt(preset: LatencyPreset): { endMs: number; sealedByMs: number } {
  const w = new Windower(withPreset(preset));
  w.accept(callStart(), 0);
  for (const [i, c] of audioStream({ pattern: [['speech', 1000], ['silence', 4000]], chunkMs: 50 }).entries()) {
    const segs = segmentsOf(w.accept(c, i + 1));
    if (segs.length) return { endMs: segs[0].endMs - T0, sealedByMs: c.eventTimeMs + c.durationMs - T0 };
  }
  assert.fail(`${preset}: nothing sealed before the call ended`);
}

test('balanced seals a segment 2 s past its end; end-of-speech 300 ms past it (VAD hangover less pad)', () => {
  const balanced = sealedAt('balanced');
  const eos = sealedAt('end-of-speech');
  assert.equal(balanced.endMs, 1100, 'speech end + 100 ms pad');
  assert.equal(eos.endMs, 1100, 'the preset does not change where a segment ends');
  assert.equal(balanced.sealedByMs - balanced.endMs, 2000);
  assert.equal(eos.sealedByMs - eos.endMs, 300);
});
