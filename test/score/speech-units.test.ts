/** Speech runtime parts without the graphs: FFT, greedy stops, manifest validation. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../../src/core/errors.js';
import { Fft } from '../../src/score/speech/fft.js';
import { repeatingTail, tokenBudget } from '../../src/score/speech/greedy.js';
import { loadSpeechManifest } from '../../src/score/speech/manifest.js';
import { REPO } from './fixtures.js';

const DIR = join(REPO, 'models/speech-whisper-tiny-en');

test('Fft(400) equals a direct DFT of a real signal', () => {
  const n = 400;
  const x = Float64Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) + ((i * 7919) % 13) / 13 - 0.5);
  const f = new Fft(n);
  f.real(x);
  let worst = 0;
  for (let k = 0; k <= n / 2; k++) {
    let re = 0, im = 0;
    for (let j = 0; j < n; j++) {
      re += x[j] * Math.cos((-2 * Math.PI * k * j) / n);
      im += x[j] * Math.sin((-2 * Math.PI * k * j) / n);
    }
    worst = Math.max(worst, Math.abs(re - f.re[k]), Math.abs(im - f.im[k]));
  }
  assert.ok(worst < 1e-9, `max |fft - dft| ${worst}`);
  assert.throws(() => new Fft(7 * 11));
});

test('greedy stops: repeating tails and the token budget (same cases as models/tests/test_speech.py)', () => {
  const rules = loadSpeechManifest(DIR).decode;
  assert.equal(repeatingTail([5, 1, 2, 1, 2, 1, 2, 1, 2], rules), 6);
  assert.equal(repeatingTail([1, 1, 1], rules), 0);
  assert.equal(repeatingTail([7, 8, 9], rules), 0);
  const phrase = [40, 6, 7, 8, 9, 10, 13];
  assert.equal(repeatingTail([3, ...phrase, ...phrase], rules), 7);
  assert.equal(repeatingTail([1, 2, 3, 4, 5, 1, 2, 3, 4, 5], rules), 0);
  assert.equal(tokenBudget(2, rules), 24);
  assert.equal(tokenBudget(60, rules), 224);
});

test('a speech manifest with a wrong field is refused with MODEL_MANIFEST_INVALID naming it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'speech-manifest-'));
  cpSync(DIR, dir, { recursive: true });
  const good = JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8')) as Record<string, Record<string, unknown>>;
  const cases: [string, (m: Record<string, Record<string, unknown>>) => void][] = [
    ['mel', (m) => { m.mel.nFft = 512; }],
    ['decode.maxNewTokens', (m) => { m.decode.maxNewTokens = 1000; }],
    ['graphs.decoder.file', (m) => { (m.graphs.decoder as Record<string, unknown>).file = 'missing.onnx'; }],
    ['tokens.suppress', (m) => { m.tokens.suppress = 'x'; }],
  ];
  for (const [field, spoil] of cases) {
    const m = structuredClone(good);
    spoil(m);
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
    assert.throws(() => loadSpeechManifest(dir), (e: unknown) => e instanceof AppError && e.code === 'MODEL_MANIFEST_INVALID' && e.message.includes(field), field);
  }
  assert.equal(loadSpeechManifest(DIR).decode.minContextSeconds, 10);
});
