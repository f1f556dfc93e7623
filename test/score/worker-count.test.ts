/**
 * SCORER_WORKERS=auto (src/score/worker-count.ts): the usable cores less one for the main
 * thread, the cgroup quota counted, capped at MAX_AUTO_WORKERS. The core count is injected (no
 * patching of os or fs), so the many-core choices are checked on this 2-core box, and one of them
 * drives a real pool: every worker it starts scores.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { scorerWorkers } from '../../src/app/graph.js';
import { loadManifest } from '../../src/score/manifest.js';
import { WorkerPool } from '../../src/score/pool.js';
import { autoWorkerCount, cgroupCores, MAX_AUTO_WORKERS, systemCpuSources, type CpuSources } from '../../src/score/worker-count.js';
import { requireModel, segment } from './fixtures.js';

const cpu = (parallelism: number, cgroupCpuMax: string | null = null): CpuSources => ({ parallelism: () => parallelism, cgroupCpuMax: () => cgroupCpuMax });

test('cgroup CPU limits: v2 cpu.max and v1 quota/period in cores; no limit is null', () => {
  assert.equal(cgroupCores('200000 100000\n'), 2);
  assert.equal(cgroupCores('150000 100000'), 1.5);
  assert.equal(cgroupCores('max 100000'), null);
  assert.equal(cgroupCores('-1 100000'), null, 'v1: -1 is no quota');
  assert.equal(cgroupCores(null), null);
  assert.equal(cgroupCores('garbage'), null);
});

test('auto: usable cores less one, at least 1, at most MAX_AUTO_WORKERS; the cgroup quota lowers the cores', () => {
  const workers = (src: CpuSources) => autoWorkerCount(src).workers;
  assert.equal(workers(cpu(1)), 1);
  assert.equal(workers(cpu(2)), 1, 'this box: one worker, one core for the main thread');
  assert.equal(workers(cpu(4)), 3);
  assert.equal(workers(cpu(9)), 8);
  assert.equal(workers(cpu(64)), MAX_AUTO_WORKERS);
  assert.equal(workers(cpu(64, '200000 100000')), 1, 'a 2-CPU container on a 64-core host');
  assert.equal(workers(cpu(64, '250000 100000')), 1, '2.5 CPUs: a half core keeps no second thread busy');
  assert.equal(workers(cpu(64, '400000 100000')), 3);
  assert.equal(workers(cpu(4, '1600000 100000')), 3, 'a quota above the affinity mask does not add cores');
  assert.equal(workers(cpu(64, '50000 100000')), 1, 'half a core: still one worker');
  assert.deepEqual(autoWorkerCount(cpu(64, '400000 100000')), { workers: 3, cores: 4, parallelism: 64, cgroupCores: 4 });
  // The real sources answer on this machine (no quota file here is null, not an error).
  const here = autoWorkerCount(systemCpuSources());
  assert.ok(here.workers >= 1 && here.workers <= MAX_AUTO_WORKERS && here.cores <= here.parallelism, JSON.stringify(here));
});

test('an explicit SCORER_WORKERS wins over auto; the choice is logged with its source', () => {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>) });
  assert.equal(scorerWorkers({ scorerWorkers: 5 }, logger, cpu(2)), 5);
  assert.equal(scorerWorkers({ scorerWorkers: 'auto' }, logger, cpu(16, '600000 100000')), 5);
  assert.deepEqual(lines.map((l) => [l.workers, l.source, l.cores ?? null]), [[5, 'SCORER_WORKERS', null], [5, 'auto', 6]]);
});

test('auto on 3 usable cores starts a pool of 2 real workers, and both score', async (t) => {
  const dir = await requireModel(t);
  if (!dir) return;
  const manifest = await loadManifest(dir, { verifyHashes: false });
  const size = autoWorkerCount(cpu(3)).workers;
  assert.equal(size, 2);
  const ran = new Set<number>();
  const pool = new WorkerPool({ manifest, providers: ['cpu'], size, onDispatch: (e) => ran.add(e.workerId) });
  t.after(() => pool.stop());
  await pool.start();
  assert.equal(pool.workers(), 2);
  const segs = [segment({ featureDim: manifest.video.featureDim, text: 'thank you, that was quick' })];
  // Two batches at once: the second goes to the other worker while the first is busy.
  const [a, b] = await Promise.all([pool.run(segs), pool.run(segs)]);
  assert.deepEqual(ran, new Set(pool.workerIds()));
  assert.notEqual(a.workerId, b.workerId);
  assert.deepEqual(Array.from(a.valence), Array.from(b.valence), 'same segment, same score on either worker');
});
