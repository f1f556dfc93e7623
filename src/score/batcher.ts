/**
 * Micro-batching across calls: score() requests from any call join one FIFO queue; a batch
 * leaves when a worker is free and either `maxBatch` items wait or the oldest has waited
 * `maxWaitMs`. While every worker is busy, items keep queueing, so batches grow with load.
 *
 * Bound and overflow policy: at most `maxQueue` items wait (in-flight batches not counted); an
 * item submitted to a full queue is rejected at once with SCORER_OVERLOADED (policy
 * `reject-new`): the caller holds the segment and can retry, and items already queued keep
 * their place and their latency.
 */
import { AppError } from '../core/errors.js';

/** The overflow policy's name, as logged and documented. */
export const OVERFLOW_POLICY = 'reject-new';

/** Batching settings. */
export interface BatcherOptions {
  /** Most items per batch (default 32). */
  maxBatch?: number;
  /** Longest an item waits for others before its batch leaves anyway, ms (default 5). */
  maxWaitMs?: number;
  /** Most items waiting, not counting in-flight batches (default 1024). */
  maxQueue?: number;
}

interface Pending<I, O> {
  item: I;
  at: number;
  resolve: (o: O) => void;
  reject: (e: unknown) => void;
}

export class Batcher<I, O> {
  readonly maxBatch: number;
  readonly maxWaitMs: number;
  readonly maxQueue: number;
  private queue: Pending<I, O>[] = [];
  private timer: NodeJS.Timeout | null = null;
  private inFlight = 0;
  private closed = false;
  private drained: (() => void)[] = [];

  /**
   * @param dispatch runs one batch; resolves one output per item, in order
   * @param ready whether a batch can start now (a worker is free)
   */
  constructor(
    opts: BatcherOptions,
    private readonly dispatch: (items: I[]) => Promise<O[]>,
    private readonly ready: () => boolean,
  ) {
    this.maxBatch = opts.maxBatch ?? 32;
    this.maxWaitMs = opts.maxWaitMs ?? 5;
    this.maxQueue = opts.maxQueue ?? 1024;
    for (const [k, v] of Object.entries({ maxBatch: this.maxBatch, maxQueue: this.maxQueue })) {
      if (!Number.isInteger(v) || v < 1) throw new AppError('BAD_REQUEST', { reason: `${k} ${v} must be an integer >= 1` });
    }
    if (!(this.maxWaitMs >= 0)) throw new AppError('BAD_REQUEST', { reason: `maxWaitMs ${this.maxWaitMs} must be >= 0` });
  }

  /** Items waiting for a batch. */
  depth(): number {
    return this.queue.length;
  }

  /** Queues one item; its promise settles with its batch. */
  submit(item: I): Promise<O> {
    if (this.closed) return Promise.reject(new AppError('SCORER_FAILED', { reason: 'scorer is stopped' }));
    if (this.queue.length >= this.maxQueue) return Promise.reject(new AppError('SCORER_OVERLOADED', { depth: this.queue.length }));
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, at: performance.now(), resolve, reject });
      this.kick();
    });
  }

  /** Re-evaluates whether a batch can leave; call when a worker frees up. */
  kick(): void {
    while (this.queue.length > 0 && this.ready()) {
      const waited = performance.now() - this.queue[0].at;
      if (this.queue.length < this.maxBatch && waited < this.maxWaitMs && !this.closed) {
        this.arm(this.maxWaitMs - waited);
        return;
      }
      this.send(this.queue.splice(0, this.maxBatch));
    }
  }

  /** Stops accepting, sends what waits without waiting for maxWaitMs, resolves when all settled. */
  close(): Promise<void> {
    this.closed = true;
    this.kick();
    if (this.queue.length === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((r) => this.drained.push(r));
  }

  /** Fails everything still queued (used when the workers are gone). */
  failQueued(e: unknown): void {
    for (const p of this.queue.splice(0)) p.reject(e);
    this.settleIfDrained();
  }

  private arm(ms: number): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.kick();
    }, Math.max(0, Math.ceil(ms)));
  }

  private send(batch: Pending<I, O>[]): void {
    if (this.timer && this.queue.length === 0) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.inFlight++;
    this.dispatch(batch.map((p) => p.item)).then(
      (outs) => batch.forEach((p, i) => p.resolve(outs[i])),
      (e) => batch.forEach((p) => p.reject(e)),
    ).finally(() => {
      this.inFlight--;
      this.kick();
      this.settleIfDrained();
    });
  }

  private settleIfDrained(): void {
    if (this.closed && this.queue.length === 0 && this.inFlight === 0) for (const r of this.drained.splice(0)) r();
  }
}
