import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { AppError } from '../../src/core/errors.js';
import { loadManifest } from '../../src/score/manifest.js';
import { WorkerPool, type PoolOptions } from '../../src/score/pool.js';
import { copyModelDir, requireModel, segment } from './fixtures.js';

const waitFor = async (cond: () => boolean, ms = 20_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
};

async function setup(t: import('node:test').TestContext, extra: Partial<PoolOptions> = {}) {
  const dir = await requireModel(t);
  if (!dir) return null;
  const manifest = await loadManifest(dir, { verifyHashes: false });
  const segs = [segment({ featureDim: manifest.video.featureDim, text: 'I am so happy with this' }), segment({ featureDim: manifest.video.featureDim, text: null })];
  const pool = new WorkerPool({ manifest, providers: ['cpu'], size: 1, ...extra });
  t.after(() => pool.stop());
  await pool.start();
  return { pool, segs };
}

test('a worker killed while its batch is in flight is replaced and the batch is retried once', async (t) => {
  const crashes: { workerId: number; batchId: number | null }[] = [];
  const dispatches: { workerId: number; attempt: number }[] = [];
  let killNext = false;
  const ctx = await setup(t, {
    onCrash: (e) => crashes.push(e),
    onDispatch: (e) => {
      dispatches.push(e);
      if (killNext) {
        killNext = false;
        void ctx!.pool.kill(e.workerId);
      }
    },
  });
  if (!ctx) return;
  const { pool, segs } = ctx;
  const clean = await pool.run(segs);
  const [first] = pool.workerIds();
  killNext = true;
  const retried = await pool.run(segs);
  assert.equal(crashes.length, 1);
  assert.equal(crashes[0].workerId, first);
  assert.deepEqual(dispatches.slice(1).map((d) => d.attempt), [0, 1], 'first run, then the one retry');
  assert.notEqual(retried.workerId, first, 'the retry ran on the replacement');
  assert.deepEqual(Array.from(retried.valence), Array.from(clean.valence), 'same inputs, same worker code: same numbers');
  assert.equal(pool.workers(), 1);
});

test('a batch that crashes two workers fails with SCORER_WORKER_CRASHED (retriable); the pool keeps serving', async (t) => {
  const ctx = await setup(t, {
    onDispatch: (e) => {
      if (e.batchId === doomed) void ctx!.pool.kill(e.workerId);
    },
  });
  let doomed = -1;
  if (!ctx) return;
  const { pool, segs } = ctx;
  doomed = 1; // the first batch this pool runs
  await assert.rejects(pool.run(segs), (e: AppError) => {
    assert.equal(e.code, 'SCORER_WORKER_CRASHED');
    assert.equal(e.retriable, true);
    return true;
  });
  await waitFor(() => pool.idle() === 1);
  const ok = await pool.run(segs);
  assert.equal(ok.valence.length, 2);
  assert.ok(ok.valence.every(Number.isFinite));
});

test('stop() ends every worker, fails the batch in flight, and refuses later runs', async (t) => {
  const ctx = await setup(t);
  if (!ctx) return;
  const inFlight = assert.rejects(ctx.pool.run(ctx.segs), (e: AppError) => e.code === 'SCORER_FAILED' && /while the batch ran/.test(e.message));
  await ctx.pool.stop();
  await inFlight;
  assert.equal(ctx.pool.workers(), 0);
  await assert.rejects(ctx.pool.run(ctx.segs), (e: AppError) => e.code === 'SCORER_FAILED');
});

test('when no replacement can start, waiting batches fail and onDead fires (no silent hang)', async (t) => {
  const src = await requireModel(t);
  if (!src) return;
  const real = await loadManifest(src, { verifyHashes: false });
  const dir = copyModelDir(src, [real.graphs.textEncoder.file, real.graphs.fusion.file, real.text.tokenizer, 'manifest.json']);
  const manifest = await loadManifest(dir, { verifyHashes: false });
  const pool = new WorkerPool({ manifest, providers: ['cpu'], respawnAttempts: 2 });
  t.after(() => pool.stop());
  await pool.start();
  let dead: AppError | null = null;
  pool.onDead = (e) => (dead = e);
  rmSync(manifest.graphs.fusion.path); // the replacement cannot load the model
  await pool.kill(pool.workerIds()[0]);
  const seg = segment({ featureDim: manifest.video.featureDim });
  await assert.rejects(pool.run([seg]), (e: AppError) => e.code === 'SCORER_WORKER_CRASHED');
  assert.equal(dead!.code, 'SCORER_WORKER_CRASHED');
  assert.equal(pool.workers(), 0);
});
