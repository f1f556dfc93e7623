import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../../src/core/errors.js';
import { createOnnxScorer, type OnnxScorerOptions } from '../../src/score/onnx-scorer.js';
import { loadManifest } from '../../src/score/manifest.js';
import { copyModelDir, requireModel, segment } from './fixtures.js';

async function started(t: TestContext, opts: OnnxScorerOptions = {}) {
  const dir = await requireModel(t);
  if (!dir) return null;
  const m = await loadManifest(dir, { verifyHashes: false });
  const scorer = createOnnxScorer({ modelDir: dir, providers: ['cpu'], ...opts });
  t.after(() => scorer.stop());
  await scorer.start();
  const seg = (o: Parameters<typeof segment>[0] = {}) => segment({ featureDim: m.video.featureDim, ...o });
  return { scorer, seg, dir };
}

test('a bogus and an unavailable provider listed first fall back to cpu, and info() says so', async (t) => {
  const ctx = await started(t, { providers: ['bogus', 'cuda', 'cpu'] });
  if (!ctx) return;
  const info = ctx.scorer.info();
  assert.equal(info.executionProvider, 'cpu');
  assert.deepEqual(info.providerAttempts.map((a) => [a.provider, a.ok]), [['bogus', false], ['cuda', false], ['cpu', true]]);
  assert.ok(info.providerAttempts[0].error && info.providerAttempts[1].error, 'each skipped provider carries its error');
  assert.equal(info.workers, 1);
  assert.equal(info.modelVersion, ctx.scorer.manifest().version);
  const out = await ctx.scorer.score(ctx.seg());
  assert.ok(Number.isFinite(out.valence));
});

test('no loadable provider: start() fails with MODEL_LOAD_FAILED listing the attempts', async (t) => {
  const dir = await requireModel(t);
  if (!dir) return;
  const scorer = createOnnxScorer({ modelDir: dir, providers: ['bogus', 'cuda'] });
  await assert.rejects(scorer.start(), (e: AppError) => {
    assert.equal(e.code, 'MODEL_LOAD_FAILED');
    assert.match(e.message, /bogus: .*; cuda: /);
    return true;
  });
  await scorer.stop();
});

test('manifest names that disagree with the ONNX file are caught at start', async (t) => {
  const src = await requireModel(t);
  if (!src) return;
  const m = JSON.parse(readFileSync(join(src, 'manifest.json'), 'utf8'));
  const dir = copyModelDir(src, [m.graphs.textEncoder.file, m.graphs.fusion.file, m.text.tokenizer]);
  m.graphs.fusion.inputs[0].name = 'no_such_input';
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
  const scorer = createOnnxScorer({ modelDir: dir, providers: ['cpu'] });
  await assert.rejects(scorer.start(), (e: AppError) => e.code === 'MODEL_MANIFEST_INVALID' && /no_such_input/.test(e.message));
  await scorer.stop();
});

test('concurrent score() calls from different calls come back in one batch, equal to batch-1 results', async (t) => {
  const sizes: number[] = [];
  const ctx = await started(t, { maxWaitMs: 50, onDispatch: (e) => sizes.push(e.size) });
  if (!ctx) return;
  const segs = [
    ctx.seg({ callId: 'a', text: 'this is wonderful, thank you', seconds: 1.5 }),
    ctx.seg({ callId: 'b', text: null, seconds: 0.7 }),
    ctx.seg({ callId: 'c', text: 'I want to cancel, this is the third time it broke', video: null }),
    ctx.seg({ callId: 'd', text: null, audio: null }),
    ctx.seg({ callId: 'e', text: 'ok', seconds: 2 }),
  ];
  const batched = await Promise.all(segs.map((s) => ctx.scorer.score(s)));
  assert.deepEqual(sizes, [5], 'one micro-batch across five calls');
  for (const [i, s] of segs.entries()) {
    const alone = await ctx.scorer.score(s);
    assert.ok(Math.abs(alone.valence - batched[i].valence) <= 1e-4, `row ${i}: ${alone.valence} vs ${batched[i].valence}`);
    for (const k of ['text', 'audio', 'video'] as const) {
      assert.ok(Math.abs(alone.modalityWeights[k] - batched[i].modalityWeights[k]) <= 1e-4, `row ${i} alpha.${k}`);
    }
  }
  assert.deepEqual(sizes.slice(1), [1, 1, 1, 1, 1]);
});

test('outputs: valence in the label range, alpha sums to 1 and is 0 for missing audio / video', async (t) => {
  const ctx = await started(t);
  if (!ctx) return;
  const { valenceMin, valenceMax } = ctx.scorer.manifest().labels;
  const cases = { all: ctx.seg(), noText: ctx.seg({ text: null }), noVideo: ctx.seg({ video: null }), noAudio: ctx.seg({ audio: null }), textOnly: ctx.seg({ audio: null, video: null }), videoOnly: ctx.seg({ audio: null, text: null }) };
  const outs = Object.fromEntries(await Promise.all(Object.entries(cases).map(async ([k, s]) => [k, await ctx.scorer.score(s)] as const)));
  for (const [k, o] of Object.entries(outs)) {
    assert.ok(o.valence >= valenceMin && o.valence <= valenceMax, `${k} valence ${o.valence}`);
    const w = o.modalityWeights;
    assert.ok(Math.abs(w.text + w.audio + w.video - 1) < 1e-4, `${k} alpha sums to 1`);
  }
  assert.ok(outs.noVideo.modalityWeights.video < 1e-5);
  assert.ok(outs.noAudio.modalityWeights.audio < 1e-5);
  assert.ok(outs.textOnly.modalityWeights.text > 0.9999);
  assert.ok(outs.videoOnly.modalityWeights.audio < 1e-5, 'video only: text is simulated from video, audio weighs 0');
  assert.ok(outs.noText.modalityWeights.text > 0, 'simulated text carries weight');
  await assert.rejects(ctx.scorer.score(ctx.seg({ audio: null, video: null, text: null })), (e: AppError) => e.code === 'SCORER_BAD_SEGMENT');
});

test(`overload: a full queue rejects new segments with SCORER_OVERLOADED, the others are scored`, async (t) => {
  const ctx = await started(t, { maxBatch: 1, maxWaitMs: 0, maxQueue: 3 });
  if (!ctx) return;
  const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => ctx.scorer.score(ctx.seg({ callId: `c${i}` }))));
  const codes = results.map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as AppError).code));
  // 1 in flight + 3 queued are accepted; the other 4 arrive at a full queue.
  assert.deepEqual(codes, ['ok', 'ok', 'ok', 'ok', 'SCORER_OVERLOADED', 'SCORER_OVERLOADED', 'SCORER_OVERLOADED', 'SCORER_OVERLOADED']);
  assert.equal(ctx.scorer.queueDepth(), 0);
});

test('a malformed segment is refused alone with SCORER_BAD_SEGMENT; its batch mates are scored', async (t) => {
  const ctx = await started(t, { maxWaitMs: 20 });
  if (!ctx) return;
  const bad = { ...ctx.seg(), video: new Float32Array(3), videoFrames: 2 };
  const [a, b, c] = await Promise.allSettled([ctx.scorer.score(ctx.seg()), ctx.scorer.score(bad), ctx.scorer.score(ctx.seg({ text: null }))]);
  assert.equal(a.status, 'fulfilled');
  assert.equal(c.status, 'fulfilled');
  assert.equal(b.status === 'rejected' && (b.reason as AppError).code, 'SCORER_BAD_SEGMENT');
});

test('lifecycle: score() before start or after stop is refused; stop() lets queued work finish', async (t) => {
  const dir = await requireModel(t);
  if (!dir) return;
  const scorer = createOnnxScorer({ modelDir: dir, providers: ['cpu'], maxWaitMs: 10_000 });
  await assert.rejects(scorer.score(segment()), (e: AppError) => e.code === 'SCORER_FAILED' && /created/.test(e.message));
  await scorer.start();
  const m = scorer.manifest();
  const pending = scorer.score(segment({ featureDim: m.video.featureDim }));
  await scorer.stop();
  assert.ok(Number.isFinite((await pending).valence), 'queued segment was flushed on stop, not dropped');
  await assert.rejects(scorer.score(segment({ featureDim: m.video.featureDim })), (e: AppError) => e.code === 'SCORER_FAILED' && /stopped/.test(e.message));
});
