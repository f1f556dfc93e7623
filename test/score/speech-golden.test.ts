/**
 * Golden test of the speech model, Node side (issue 12). The committed clips of
 * models/speech-whisper-tiny-en/golden through the TypeScript runtime must give:
 *  - the log-mel of models/sdumc/speech/mel.py within 1e-4;
 *  - the greedy tokens and text onnxruntime-python gave on the same int8 graphs (golden.json; how
 *    close those are to CTranslate2's float tokens is bounded by models/tests/test_speech.py: the
 *    int8 logits may pick the other of two near-tied tokens);
 *  - the encoder states onnxruntime-python gave on the same int8 graph, within INT8_ABS (the
 *    graph quantises activations per run, so float kernels that differ by CPU or onnxruntime
 *    build move the states slightly; measured on this machine: see the assertion message), and
 *    a mean cosine > 0.99 to the float torch states (what int8 costs).
 * Plus the typed errors for bad audio.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../../src/core/errors.js';
import { logMel } from '../../src/score/speech/mel.js';
import { SpeechRecogniser } from '../../src/score/speech/recogniser.js';
import { REPO } from './fixtures.js';

const DIR = join(REPO, 'models/speech-whisper-tiny-en');
const GOLD = join(DIR, 'golden');
const MEL_ABS = 1e-4;
const INT8_ABS = 0.05;

interface Clip { name: string; samples: number; minContextSeconds: number; melFrames: number; frames: number; tokens: number[]; int8Tokens: number[]; text: string; int8Text: string }
const clips = (JSON.parse(readFileSync(join(GOLD, 'golden.json'), 'utf8')) as { clips: Clip[] }).clips;

/** 16-bit PCM WAV (44-byte header, as sox writes it) -> float samples in [-1, 1). */
function readWav(path: string): Float32Array {
  const buf = readFileSync(path);
  const dataAt = buf.indexOf('data', 12) + 8;
  const n = buf.readUInt32LE(dataAt - 4) / 2;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = buf.readInt16LE(dataAt + 2 * i) / 32768;
  return out;
}
const f32 = (path: string): Float32Array => {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};
const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  assert.equal(a.length, b.length, 'sizes');
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
};

test('speech golden: the TypeScript log-mel equals the Python reference within 1e-4', () => {
  for (const c of clips) {
    const audio = readWav(join(GOLD, `${c.name}.wav`));
    assert.equal(audio.length, c.samples);
    const mel = logMel(audio, Math.round(c.minContextSeconds * 16000));
    assert.equal(mel.melFrames, c.melFrames, `${c.name}: mel frames`);
    const d = maxAbs(mel.data, f32(join(GOLD, `${c.name}.mel.f32`)));
    assert.ok(d < MEL_ABS, `${c.name}: log-mel max |diff| ${d}`);
  }
});

test('speech golden: onnxruntime-node gives the reference tokens, text and int8 states', async (t) => {
  const recognisers = new Map<number, SpeechRecogniser>();
  t.after(async () => { for (const r of recognisers.values()) await r.release(); });
  for (const c of clips) {
    if (!recognisers.has(c.minContextSeconds)) recognisers.set(c.minContextSeconds, await SpeechRecogniser.open(DIR, { minContextSeconds: c.minContextSeconds }));
    const r = await recognisers.get(c.minContextSeconds)!.recognise(readWav(join(GOLD, `${c.name}.wav`)));
    assert.deepEqual(r.tokens, c.int8Tokens, `${c.name}: tokens vs onnxruntime-python`);
    assert.equal(r.text, c.int8Text.trim());
    assert.equal(r.stop, 'eot');
    assert.equal(r.frames, c.frames);
    assert.equal(r.states.length, c.frames * 384);
    const d = maxAbs(r.states, f32(join(GOLD, `${c.name}.states-int8.f32`)));
    assert.ok(d < INT8_ABS, `${c.name}: states vs onnxruntime-python max |diff| ${d}`);
    const ref = f32(join(GOLD, `${c.name}.states.f32`));
    let cos = 0;
    for (let f = 0; f < c.frames; f++) {
      let ab = 0, aa = 0, bb = 0;
      for (let j = 0; j < 384; j++) {
        const a = r.states[f * 384 + j], b = ref[f * 384 + j];
        ab += a * b; aa += a * a; bb += b * b;
      }
      cos += ab / Math.sqrt(aa * bb) / c.frames;
    }
    assert.ok(cos > 0.99, `${c.name}: mean cosine to the float torch states ${cos}`);
    t.diagnostic(`${c.name}: "${r.text}" states vs python int8 max |diff| ${d.toExponential(2)}, mean cos to torch ${cos.toFixed(4)}`);
  }
});

test('speech: bad audio gets a typed error and the recogniser stays usable', async (t) => {
  const r = await SpeechRecogniser.open(DIR, { minContextSeconds: clips[0].minContextSeconds });
  t.after(() => r.release());
  const code = async (audio: Float32Array, rate?: number): Promise<string> => {
    try {
      await r.recognise(audio, rate);
    } catch (e) {
      assert.ok(e instanceof AppError);
      return e.code;
    }
    return 'none';
  };
  assert.equal(await code(new Float32Array(0)), 'SPEECH_AUDIO_EMPTY');
  assert.equal(await code(new Float32Array(30 * 16000 + 1)), 'SPEECH_AUDIO_TOO_LONG');
  assert.equal(await code(Float32Array.of(0, Number.NaN, 0)), 'SPEECH_AUDIO_INVALID');
  assert.equal(await code(new Float32Array(8000), 8000), 'SPEECH_AUDIO_INVALID');
  // a full 30 s window is accepted (the longest segment), and silence decodes to few tokens
  const silent = await r.encode(new Float32Array(30 * 16000));
  assert.equal(silent.frames, 1500);
  const ok = await r.recognise(readWav(join(GOLD, `${clips[0].name}.wav`)));
  assert.equal(ok.text, clips[0].text.trim());
});

test('speech: the recogniser runs inside a worker thread, as the scoring workers would host it', async () => {
  const api = import.meta.resolve('tsx/esm/api');
  const mod = new URL('../../src/score/speech/recogniser.ts', import.meta.url).href;
  const wav = join(GOLD, `${clips[0].name}.wav`);
  // the same tsx bootstrap as src/score/pool.ts (Node 20 does not carry --import tsx into workers)
  const code = `
    const { parentPort, workerData } = await import('node:worker_threads');
    const { readFileSync } = await import('node:fs');
    (await import(${JSON.stringify(api)})).register();
    const { SpeechRecogniser } = await import(${JSON.stringify(mod)});
    const b = readFileSync(workerData.wav);
    const at = b.indexOf('data', 12) + 8, n = b.readUInt32LE(at - 4) / 2;
    const audio = new Float32Array(n);
    for (let i = 0; i < n; i++) audio[i] = b.readInt16LE(at + 2 * i) / 32768;
    const r = await SpeechRecogniser.open(workerData.dir, { minContextSeconds: workerData.context });
    const out = await r.recognise(audio);
    await r.release();
    parentPort.postMessage({ text: out.text, tokens: out.tokens, frames: out.frames });`;
  const { Worker } = await import('node:worker_threads');
  const w = new Worker(`(async () => {${code}})()`, { eval: true, workerData: { wav, dir: DIR, context: clips[0].minContextSeconds } });
  const got = await new Promise<{ text: string; tokens: number[]; frames: number }>((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  await w.terminate();
  assert.deepEqual(got.tokens, clips[0].int8Tokens);
  assert.equal(got.frames, clips[0].frames);
});
