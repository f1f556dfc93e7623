import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_VAD } from '../../src/window/options.js';
import { Vad } from '../../src/window/vad.js';
import { silence, tone } from '../support/chunks.js';

function run(parts: Float32Array[], noiseRate = 16000) {
  const vad = new Vad(DEFAULT_VAD, noiseRate, 0);
  for (const p of parts) vad.push(p);
  return vad;
}

test('speech bursts become padded intervals; pauses shorter than the hangover stay inside', () => {
  const vad = run([silence(500), tone(1000), silence(200), tone(500), silence(1000), tone(300), silence(900)]);
  vad.finish();
  assert.deepEqual(vad.closed, [
    { startMs: 400, endMs: 2300 }, // 500..2200 (200 ms pause bridged) +-100 pad
    { startMs: 3100, endMs: 3600 },
  ]);
});

test('a 600 ms pause: one speech interval (800 ms hangover), two talk spans (400 ms talk hangover)', () => {
  const vad = run([silence(500), tone(1000), silence(600), tone(500), silence(1000), tone(300), silence(900)]);
  vad.finish();
  assert.deepEqual(vad.closed, [
    { startMs: 400, endMs: 2700 }, // 500..2600, the 600 ms pause bridged, +-100 pad
    { startMs: 3500, endMs: 4000 }, // the 1,000 ms pause was longer than the hangover
  ]);
  assert.deepEqual(vad.talkClosed, [
    { startMs: 400, endMs: 1600 },
    { startMs: 2000, endMs: 2700 },
    { startMs: 3500, endMs: 4000 },
  ]);
  // Inside a bridged pause, a click shorter than minSpeechMs does not resume talk.
  const click = run([silence(500), tone(1000), silence(500), tone(40), silence(300), tone(500), silence(1000)]);
  click.finish();
  assert.deepEqual(click.closed, [{ startMs: 400, endMs: 2940 }]);
  assert.deepEqual(click.talkClosed, [{ startMs: 400, endMs: 1600 }, { startMs: 2240, endMs: 2940 }]);
  // While the pause is open: speech open, talk closed; talk resumes with the speech.
  const pausing = run([silence(500), tone(1000), silence(600)]);
  assert.deepEqual([pausing.open(), pausing.openTalk()], [{ startMs: 400, endMs: 2100 }, null]);
  pausing.push(tone(200));
  assert.deepEqual(pausing.openTalk(), { startMs: 2000, endMs: 2300 });
});

test('clicks shorter than minSpeechMs are not speech', () => {
  const vad = run([silence(300), tone(40), silence(1000)]);
  vad.finish();
  assert.deepEqual(vad.closed, []);
  assert.equal(vad.settledMs(), 1340);
});

test('steady line noise raises the threshold: only speech above it counts', () => {
  const noise = silence(2000, 16000, 0.02); // about -37 dBFS, above the absolute floor
  const vad = run([noise, tone(800, 16000, 0.3), silence(1000, 16000, 0.02)]);
  vad.finish();
  assert.equal(vad.closed.length, 1);
  assert.ok(Math.abs(vad.closed[0].startMs - 1900) <= 20, JSON.stringify(vad.closed));
  assert.ok(Math.abs(vad.closed[0].endMs - 2900) <= 20, JSON.stringify(vad.closed));
});

test('open speech is reported until it ends; settledMs holds back a candidate onset', () => {
  const vad = run([silence(200), tone(500)]);
  assert.deepEqual(vad.open(), { startMs: 100, endMs: 700 });
  const v2 = run([silence(200), tone(40)]);
  assert.equal(v2.open(), null);
  assert.equal(v2.settledMs(), 100, 'a 40 ms onset may still become speech');
});
