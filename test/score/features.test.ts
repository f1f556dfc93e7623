import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../../src/core/errors.js';
import { fixedDim, frameMask, fusionInputs, modalityFlags, validateSegment } from '../../src/score/features.js';
import { fakeManifest, segment } from './fixtures.js';

const presence = (t: { data: Float32Array | BigInt64Array }) => Array.from(t.data as Float32Array);

test('all modalities present: flags PRESENT, presence 1,1,1', async () => {
  const m = await fakeManifest();
  const s = segment();
  assert.deepEqual(modalityFlags(s, m), { text: 'PRESENT', audio: 'PRESENT', video: 'PRESENT' });
  assert.deepEqual(presence(fusionInputs([s], m, null, null).presence), [1, 1, 1]);
});

test('text missing with audio: text SIMULATED, presence text 0, text mask all 0', async () => {
  const m = await fakeManifest();
  for (const text of [null, '   ']) {
    const s = segment({ text });
    assert.deepEqual(modalityFlags(s, m), { text: 'SIMULATED', audio: 'PRESENT', video: 'PRESENT' });
    const ins = fusionInputs([s], m, null, null);
    assert.deepEqual(presence(ins.presence), [0, 1, 1]);
    assert.ok((ins['text.mask'].data as Float32Array).every((x) => x === 0));
    assert.deepEqual(ins['text.embeddings'].dims, [1, 1, 384]);
  }
});

test('audio missing: audio MISSING, length 0, zero PCM; text missing too: SIMULATED from video, or MISSING without a face', async () => {
  const m = await fakeManifest();
  const s = segment({ audio: null });
  assert.deepEqual(modalityFlags(s, m), { text: 'PRESENT', audio: 'MISSING', video: 'PRESENT' });
  const ins = fusionInputs([s], m, null, null);
  assert.deepEqual(Array.from(ins['audio.length'].data as BigInt64Array), [0n]);
  assert.equal(ins['audio.pcm'].dims[1], 512, 'a silent batch still gets one nFft window of zeros');
  assert.ok((ins['audio.pcm'].data as Float32Array).every((x) => x === 0));
  assert.deepEqual(presence(ins.presence), [1, 0, 1]);
  assert.deepEqual(modalityFlags(segment({ audio: null, text: null }), m), { text: 'SIMULATED', audio: 'MISSING', video: 'PRESENT' });
  assert.deepEqual(modalityFlags(segment({ audio: null, text: null, video: null }), m), { text: 'MISSING', audio: 'MISSING', video: 'MISSING' });
  assert.deepEqual(modalityFlags(segment({ text: null, video: null }), m), { text: 'SIMULATED', audio: 'PRESENT', video: 'MISSING' });
});

test('video missing, or every frame without a face: video MISSING, mask 0', async () => {
  const m = await fakeManifest();
  const none = segment({ video: null });
  const blank = segment({ video: new Float32Array(5 * 4), videoFrames: 5 });
  for (const s of [none, blank]) {
    assert.equal(modalityFlags(s, m).video, 'MISSING');
    const ins = fusionInputs([s], m, null, null);
    assert.equal(presence(ins.presence)[2], 0);
    assert.ok((ins['video.mask'].data as Float32Array).every((x) => x === 0));
  }
});

test('frame mask: zero frames, non-finite frames and (when the layout names one) zero confidence are masked', async () => {
  const m = await fakeManifest();
  const v = Float32Array.from([1, 2, 3, 4, 0, 0, 0, 0, 1, NaN, 1, 1, 0.5, 0.5, 0, 0.5, 1, 1, 1, 1]);
  const s = segment({ video: v, videoFrames: 5 });
  assert.deepEqual(Array.from(frameMask(s, m)), [1, 0, 0, 1, 1]);
  const withConf = await fakeManifest((j) => (j.video.confidenceIndex = 2));
  assert.deepEqual(Array.from(frameMask(s, withConf)), [1, 0, 0, 0, 1]);
  const ins = fusionInputs([s], m, null, null);
  const frames = ins['video.frames'].data as Float32Array;
  assert.ok(frames.every(Number.isFinite), 'a masked NaN frame never reaches the graph');
  assert.deepEqual(Array.from(frames.subarray(8, 12)), [0, 0, 0, 0]);
});

test('a batch pads to its longest row and cuts to maxSamples / maxFrames', async () => {
  const m = await fakeManifest(); // maxSamples 48000, maxFrames 5
  const long = segment({ seconds: 4, videoFrames: 9, video: Float32Array.from({ length: 36 }, () => 1) });
  const short = segment({ seconds: 0.5, videoFrames: 2, video: Float32Array.from({ length: 8 }, () => 1) });
  const ins = fusionInputs([short, long], m, null, null);
  assert.deepEqual(ins['audio.pcm'].dims, [2, 48000]);
  assert.deepEqual(Array.from(ins['audio.length'].data as BigInt64Array), [8000n, 48000n]);
  const pcm = ins['audio.pcm'].data as Float32Array;
  assert.equal(pcm[7999], short.audio![7999]);
  assert.equal(pcm[8000], 0, 'padding after the short row');
  assert.equal(pcm[48000 + 47999], long.audio![47999], 'the long row keeps its first maxSamples');
  assert.deepEqual(ins['video.frames'].dims, [2, 5, 4]);
  assert.deepEqual(Array.from(ins['video.mask'].data as Float32Array), [1, 1, 0, 0, 0, 1, 1, 1, 1, 1]);
});

test('fixed dims in the manifest are honoured instead of the batch longest', async () => {
  const m = await fakeManifest((j) => {
    j.graphs.fusion.inputs[0].dims = ['batch', 32000];
    j.graphs.fusion.inputs[4].dims = ['batch', 5, 4];
  });
  assert.equal(fixedDim(m.graphs.fusion.inputs, 'audio.pcm', 1), 32000);
  const ins = fusionInputs([segment({ seconds: 0.1, videoFrames: 1, video: new Float32Array(4).fill(1) })], m, null, null);
  assert.deepEqual(ins['audio.pcm'].dims, [1, 32000]);
  assert.deepEqual(ins['video.frames'].dims, [1, 5, 4]);
});

test('text rows take the encoder output; padding positions and text-less rows stay zero', async () => {
  const m = await fakeManifest();
  const segs = [segment({ text: 'a' }), segment({ text: null }), segment({ text: 'b' })];
  // Two text rows, 3 tokens, row 0 has 2 real tokens; encoder output is all ones (also at padding).
  const plan = {
    rows: [0, 2],
    batch: { rows: 2, tokens: 3, inputIds: new BigInt64Array(6), attentionMask: BigInt64Array.from([1n, 1n, 0n, 1n, 1n, 1n]), tokenTypeIds: new BigInt64Array(6), lengths: [2, 3] },
  };
  const ins = fusionInputs(segs, m, plan, new Float32Array(2 * 3 * 384).fill(1));
  assert.deepEqual(ins['text.embeddings'].dims, [3, 3, 384]);
  assert.deepEqual(Array.from(ins['text.mask'].data as Float32Array), [1, 1, 0, 0, 0, 0, 1, 1, 1]);
  const e = ins['text.embeddings'].data as Float32Array;
  const tokenSum = (row: number, t: number) => e.subarray((row * 3 + t) * 384, (row * 3 + t + 1) * 384).reduce((a, b) => a + b, 0);
  assert.deepEqual([tokenSum(0, 0), tokenSum(0, 1), tokenSum(0, 2), tokenSum(1, 0), tokenSum(2, 2)], [384, 384, 0, 0, 384]);
  assert.deepEqual(presence(ins.presence), [1, 1, 1, 0, 1, 1, 1, 1, 1]);
  assert.throws(() => fusionInputs(segs, m, plan, new Float32Array(5)), (err: AppError) => err.code === 'SCORER_FAILED');
});

test('validateSegment refuses video whose size disagrees with featureDim', async () => {
  const m = await fakeManifest();
  assert.throws(() => validateSegment(segment({ video: new Float32Array(7), videoFrames: 2 }), m),
    (e: AppError) => e.code === 'SCORER_BAD_SEGMENT' && /7 values, expected videoFrames 2 x featureDim 4/.test(e.message));
  validateSegment(segment(), m);
  validateSegment(segment({ text: null, video: null }), m);
});

test('validateSegment refuses a segment with nothing to score (no text, no audio, no face)', async () => {
  const m = await fakeManifest();
  for (const video of [null, new Float32Array(5 * 4)]) {
    assert.throws(() => validateSegment(segment({ text: null, audio: null, video, videoFrames: 5 }), m),
      (e: AppError) => e.code === 'SCORER_BAD_SEGMENT' && /nothing|no text, audio or video/.test(e.message));
  }
});
