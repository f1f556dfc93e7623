/**
 * The settings that shape each partition's Windower reach it: the open budget
 * (WINDOW_OPEN_AUDIO_MB, float32 bytes -> samples, history twice it), the VAD hangover, the
 * latency preset, the overrides, and what the served model fixes. The Windower's own tests cover
 * what it does with them; this checks the wiring of src/app/data-path.ts, which the capacity
 * bench alone showed before (0 early seals at 384 MB).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/app/config.js';
import { windowOptionsFor } from '../../src/app/data-path.js';
import { loadManifest, resolveModelDir } from '../../src/score/manifest.js';
import { Windower } from '../../src/window/index.js';
import { DEFAULT_WINDOW_OPTIONS, resolveWindowOptions } from '../../src/window/options.js';
import { REPO } from '../score/fixtures.js';

const manifest = await loadManifest(resolveModelDir(undefined, REPO));

test('WINDOW_OPEN_AUDIO_MB sets the open budget in samples and the history to twice it; the default is the window default', () => {
  const small = resolveWindowOptions(windowOptionsFor(loadConfig({ WINDOW_OPEN_AUDIO_MB: '8' }), manifest));
  assert.equal(small.maxOpenSamples, 2_000_000); // 8 MB of float32
  assert.equal(small.historyBudget, 4_000_000);
  const large = resolveWindowOptions(windowOptionsFor(loadConfig({ WINDOW_OPEN_AUDIO_MB: '384' }), manifest));
  assert.equal(large.maxOpenSamples, 96_000_000);
  const dflt = resolveWindowOptions(windowOptionsFor(loadConfig({}), manifest));
  assert.equal(dflt.maxOpenSamples, DEFAULT_WINDOW_OPTIONS.maxOpenSamples);
  assert.equal(dflt.historyBudget, 2 * DEFAULT_WINDOW_OPTIONS.maxOpenSamples);
  assert.doesNotThrow(() => new Windower(windowOptionsFor(loadConfig({ WINDOW_OPEN_AUDIO_MB: '8' }), manifest)));
});

test('the model fixes sample rate, longest segment and video frames; the preset and VAD_HANGOVER_MS the VAD; overrides win', () => {
  const o = resolveWindowOptions(windowOptionsFor(loadConfig({}), manifest));
  assert.equal(o.sampleRate, manifest.audio.sampleRate);
  assert.equal(o.maxSegmentMs, (manifest.audio.maxSamples / manifest.audio.sampleRate) * 1000);
  assert.equal(o.maxVideoFrames, manifest.video.maxFrames);
  assert.equal(o.vad.hangoverMs, 800);
  const eos = resolveWindowOptions(windowOptionsFor(loadConfig({ LATENCY_PRESET: 'end-of-speech', WINDOW_OPEN_AUDIO_MB: '16' }), manifest));
  assert.equal(eos.transcriptWaitMs, 0);
  assert.equal(eos.vad.hangoverMs, 400);
  assert.equal(eos.maxOpenSamples, 4_000_000, 'the preset keeps the open budget');
  assert.equal(resolveWindowOptions(windowOptionsFor(loadConfig({ VAD_HANGOVER_MS: '600' }), manifest)).vad.hangoverMs, 600);
  const over = resolveWindowOptions(windowOptionsFor(loadConfig({ WINDOW_OPEN_AUDIO_MB: '8' }), manifest, { maxOpenSamples: 1234, vad: { padMs: 50 } }));
  assert.equal(over.maxOpenSamples, 1234);
  assert.equal(over.vad.padMs, 50);
  assert.equal(over.vad.hangoverMs, 800);
});
