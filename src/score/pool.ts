/**
 * A pool of scoring worker threads, one batch per worker at a time.
 *
 * Crash policy (retry once): when a worker exits unexpectedly, it is replaced, and the batch it
 * was running is run again once, ahead of new work, on the next free worker. If that second run
 * crashes a worker too, every segment of the batch fails with SCORER_WORKER_CRASHED (retriable):
 * a batch that kills two workers in a row likely holds a segment that kills any worker, and the
 * pipeline's own retry then meets it in a different batch.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { AppError } from '../core/errors.js';
import type { ModelManifest } from './manifest.js';
import type { FromWorker, ToWorker, WireError, WorkerInit } from './protocol.js';
import type { ProviderAttempt } from './providers.js';
import type { RoutedInput, TextRoute } from './speech-route.js';

/** Pool settings. */
export interface PoolOptions {
  manifest: ModelManifest;
  /** Worker threads (default 1). The server passes SCORER_WORKERS, by default `auto`: the usable
   *  cores less one for the main thread (worker-count.ts), so 1 on a 2-core box. */
  size?: number;
  providers: string[];
  /** onnxruntime intra-op threads per worker session (default 1). */
  intraOpThreads?: number;
  /** Most transcripts per text-encoder run (default 1; see RunnerOptions.textBatch). */
  textBatch?: number;
  /** Speech model folder each worker opens for the speech path, or null/absent: no speech path. */
  speechModelDir?: string | null;
  /** The recogniser's shortest encoder context, ms; null/absent: the speech model's. */
  speechMinContextMs?: number | null;
  /** Replacement attempts for a crashed worker before the pool gives that slot up (default 3, 1 s apart). */
  respawnAttempts?: number;
  /** Observability: a batch was handed to a worker (`attempt` 0 first run, 1 the retry). */
  onDispatch?: (e: { workerId: number; batchId: number; attempt: number; size: number }) => void;
  /** Observability: a batch finished; time in the speech recogniser, tokenise + text encoder and fusion, ms. */
  onResult?: (e: { workerId: number; batchId: number; size: number; textMs: number; fusionMs: number; speechMs: number }) => void;
  /** Observability: a worker exited unexpectedly. */
  onCrash?: (e: { workerId: number; reason: string; batchId: number | null }) => void;
}

/** A finished batch: per-row outputs and where it ran. */
export interface PoolResult {
  valence: Float32Array;
  alpha: Float32Array;
  /** Where each row's text came from (speech-route.ts). */
  routes: TextRoute[];
  workerId: number;
  textMs: number;
  fusionMs: number;
  speechMs: number;
}

interface Job {
  id: number;
  segments: RoutedInput[];
  attempt: number;
  resolve: (r: PoolResult) => void;
  reject: (e: AppError) => void;
}

interface Slot {
  id: number;
  worker: Worker;
  ready: boolean;
  job: Job | null;
  /** Set when the pool itself terminates the worker, so its exit is not a crash. */
  retiring: boolean;
  lastError: string | null;
}

export class WorkerPool {
  private readonly slots = new Set<Slot>();
  /** Batches waiting for a free worker: only retries and what arrives while all are busy. */
  private readonly waiting: Job[] = [];
  private nextWorkerId = 1;
  private nextJobId = 1;
  private stopped = false;
  private readonly size: number;
  /** Provider the workers run on and the providers tried, from the first worker's start. */
  provider = 'none';
  attempts: ProviderAttempt[] = [];
  /** Called whenever a worker becomes free, so the batcher can hand it the next batch. */
  onIdle: () => void = () => {};
  /** Called once no worker is left and none could be started again: the scorer is down. */
  onDead: (e: AppError) => void = () => {};

  constructor(private readonly opts: PoolOptions) {
    this.size = opts.size ?? 1;
    if (!Number.isInteger(this.size) || this.size < 1) throw new AppError('BAD_REQUEST', { reason: `pool size ${this.size} must be an integer >= 1` });
  }

  /** Starts every worker; rejects with the first worker's MODEL_LOAD_FAILED / MODEL_MANIFEST_INVALID. */
  async start(): Promise<void> {
    try {
      await Promise.all(Array.from({ length: this.size }, () => this.spawn()));
    } catch (e) {
      await this.stop();
      throw e;
    }
  }

  /** Workers ready to take a batch right now, minus batches already waiting for one. */
  idle(): number {
    let n = 0;
    for (const s of this.slots) if (s.ready && !s.job) n++;
    return n - this.waiting.length;
  }

  /** Live workers. */
  workers(): number {
    return this.slots.size;
  }

  /** Runs a batch on the next free worker. */
  run(segments: RoutedInput[]): Promise<PoolResult> {
    if (this.stopped) return Promise.reject(new AppError('SCORER_FAILED', { reason: 'scorer is stopped' }));
    return new Promise((resolve, reject) => {
      this.waiting.push({ id: this.nextJobId++, segments, attempt: 0, resolve, reject });
      this.pump();
    });
  }

  /** Ids of the live workers (ids grow: a replacement gets a new one). */
  workerIds(): number[] {
    return [...this.slots].map((s) => s.id);
  }

  /**
   * Crashes worker `workerId` (an uncaught exception inside it) and resolves once it has exited;
   * the pool then treats it as any crash. For operators' fault drills and the crash-recovery tests.
   * Not `worker.terminate()`: terminating a thread while onnxruntime-node runs a session (a
   * synchronous native call) aborts the whole process (Napi::Error -> std::terminate), so the
   * worker throws at its next JS step instead: mid-batch, between its two graph runs, when busy.
   */
  async kill(workerId: number): Promise<void> {
    const slot = [...this.slots].find((s) => s.id === workerId);
    if (!slot) return;
    const exited = new Promise((r) => slot.worker.once('exit', r));
    slot.worker.postMessage({ type: 'crash', reason: `kill(${workerId})` } satisfies ToWorker);
    await exited;
  }

  /** Terminates every worker; batches waiting or in flight fail with SCORER_FAILED. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const j of this.waiting.splice(0)) j.reject(new AppError('SCORER_FAILED', { reason: 'scorer stopped before the batch ran' }));
    await Promise.all([...this.slots].map((s) => {
      s.retiring = true;
      s.job?.reject(new AppError('SCORER_FAILED', { reason: 'scorer stopped while the batch ran' }));
      s.job = null;
      return s.worker.terminate();
    }));
    this.slots.clear();
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (this.waiting.length === 0) return;
      if (!slot.ready || slot.job) continue;
      const job = this.waiting.shift()!;
      slot.job = job;
      this.opts.onDispatch?.({ workerId: slot.id, batchId: job.id, attempt: job.attempt, size: job.segments.length });
      slot.worker.postMessage({ type: 'run', id: job.id, segments: job.segments } satisfies ToWorker);
    }
  }

  private spawn(): Promise<void> {
    const init: WorkerInit = { workerId: this.nextWorkerId++, manifest: this.opts.manifest, providers: this.opts.providers, intraOpThreads: this.opts.intraOpThreads ?? 1, textBatch: this.opts.textBatch ?? 1, speechModelDir: this.opts.speechModelDir ?? null, speechMinContextMs: this.opts.speechMinContextMs ?? null };
    const entry = workerEntry();
    const worker = new Worker(entry.script, { workerData: init, eval: entry.eval });
    const slot: Slot = { id: init.workerId, worker, ready: false, job: null, retiring: false, lastError: null };
    this.slots.add(slot);
    return new Promise((resolve, reject) => {
      worker.on('message', (m: FromWorker) => {
        if (m.type === 'ready') {
          slot.ready = true;
          if (this.provider === 'none') {
            this.provider = m.provider;
            this.attempts = m.attempts;
          }
          resolve();
          this.pump();
          this.onIdle();
        } else if (m.type === 'fatal') {
          slot.retiring = true;
          this.slots.delete(slot);
          void worker.terminate();
          reject(fromWire(m.error));
        } else {
          const job = slot.job;
          if (!job || job.id !== m.id) return;
          slot.job = null;
          if (m.type === 'done') this.opts.onResult?.({ workerId: slot.id, batchId: job.id, size: job.segments.length, textMs: m.textMs, fusionMs: m.fusionMs, speechMs: m.speechMs });
          if (m.type === 'done') job.resolve({ valence: m.valence, alpha: m.alpha, routes: m.routes, workerId: slot.id, textMs: m.textMs, fusionMs: m.fusionMs, speechMs: m.speechMs });
          else job.reject(fromWire(m.error));
          this.pump();
          this.onIdle();
        }
      });
      worker.on('error', (e) => {
        slot.lastError = e.message;
      });
      worker.on('exit', (code) => {
        if (slot.retiring) return;
        const reason = slot.lastError ?? `exit code ${code}`;
        this.slots.delete(slot);
        if (!slot.ready) reject(new AppError('SCORER_WORKER_CRASHED', { worker: slot.id, reason: `${reason} before it was ready` }));
        this.onCrashed(slot, reason);
      });
    });
  }

  private onCrashed(slot: Slot, reason: string): void {
    const job = slot.job;
    this.opts.onCrash?.({ workerId: slot.id, reason, batchId: job?.id ?? null });
    if (job) {
      if (job.attempt === 0) this.waiting.unshift({ ...job, attempt: 1 });
      else job.reject(new AppError('SCORER_WORKER_CRASHED', { worker: slot.id, reason }));
    }
    if (!this.stopped && slot.ready) void this.respawn(this.opts.respawnAttempts ?? 3);
  }

  private async respawn(left: number): Promise<void> {
    try {
      await this.spawn();
    } catch (e) {
      if (left > 1 && !this.stopped) {
        await new Promise((r) => setTimeout(r, 1000));
        return this.respawn(left - 1);
      }
      // No worker can be started: fail what waits rather than let it hang.
      if (this.slots.size === 0) {
        const dead = new AppError('SCORER_WORKER_CRASHED', { worker: 'replacement', reason: (e as Error).message });
        for (const j of this.waiting.splice(0)) j.reject(dead);
        this.onDead(dead);
      }
    }
  }
}

function fromWire(e: WireError): AppError {
  const code = e.code as AppError['code'];
  try {
    return new AppError(code, e.details ?? {});
  } catch {
    return new AppError('SCORER_FAILED', { reason: e.message });
  }
}

/**
 * worker.js next to the compiled pool; else (dev, tests) worker.ts behind a small bootstrap that
 * registers tsx inside the thread, because Node 20 does not carry `--import tsx` into workers.
 */
function workerEntry(): { script: URL | string; eval: boolean } {
  const js = new URL('./worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return { script: js, eval: false };
  const ts = new URL('./worker.ts', import.meta.url).href;
  const api = import.meta.resolve('tsx/esm/api');
  return { script: `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(ts)}); })`, eval: true };
}
