/**
 * The in-process ChunkSource: the embedded default when no Kafka is configured. Producers (the
 * demo, tests, an HTTP adapter) push records with the same contract as Kafka records; the source
 * numbers them as offsets of one partition, delivers them in order in batches, and tracks releases
 * with the same OffsetTracker the Kafka source uses (so tests can check what would be committed).
 *
 * Queue: bounded (`capacity`, default 1,024 records). Overflow policy, chosen at construction:
 * - `block` (default): `push` waits until there is room (the producer is slowed to the sink's pace);
 * - `reject`: `push` throws INGEST_OVERLOADED at once (retriable: the producer may retry later).
 *
 * A sink that stops (SinkStopping) ends delivery as `stop` does; the records it did not take stay
 * queued and unreleased (what a Kafka source would leave uncommitted).
 */
import { AppError } from '../core/errors.js';
import { SinkStopping } from '../core/stopping.js';
import type { ChunkSink, ChunkSource, RawChunk } from '../core/ports.js';
import type { ChunkSourceRef } from '../core/types.js';
import type { WireRecord } from './encode.js';
import { OffsetTracker, type CommitPoint } from './offset-tracker.js';

export interface MemorySourceOptions {
  /** Records queued before push blocks or rejects. Default 1024. */
  capacity?: number;
  /** What push does when the queue is full. Default 'block'. */
  overflow?: 'block' | 'reject';
  /** Records per sink.accept call. Default 64. */
  maxBatch?: number;
  /** Topic name put in source refs. Default 'memory'. */
  topic?: string;
  /** Delay before re-delivering a batch whose accept threw, ms. Default 100. */
  retryDelayMs?: number;
  /** Called when sink.accept throws (the batch is then delivered again). */
  onError?: (error: unknown) => void;
}

/** What a producer pushes: a record without a source ref (the source assigns it). */
export type PushRecord = Omit<RawChunk, 'source'> | WireRecord;

export class MemorySource implements ChunkSource {
  readonly name = 'memory';
  private readonly o: Required<Omit<MemorySourceOptions, 'onError'>> & Pick<MemorySourceOptions, 'onError'>;
  private readonly queue: RawChunk[] = [];
  private spaceWaiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  private readonly tracker = new OffsetTracker();
  private nextOffset = 0n;
  private sink: ChunkSink | null = null;
  private pumping: Promise<void> | null = null;
  private stopped = false;
  private lastCommitted: string | null = null;

  constructor(options: MemorySourceOptions = {}) {
    this.o = { capacity: 1024, overflow: 'block', maxBatch: 64, topic: 'memory', retryDelayMs: 100, ...options };
    if (!(Number.isInteger(this.o.capacity) && this.o.capacity > 0)) throw new RangeError(`capacity must be a positive integer, got ${this.o.capacity}`);
    if (!(Number.isInteger(this.o.maxBatch) && this.o.maxBatch > 0)) throw new RangeError(`maxBatch must be a positive integer, got ${this.o.maxBatch}`);
  }

  /**
   * Queues one record; see the overflow policy. Resolves once it is queued (not processed).
   * `onQueued` hears the record's source ref synchronously, before the record can be delivered,
   * so a caller can listen for its release or rejection without a race (src/ingest/ws/outcomes.ts).
   */
  async push(record: PushRecord, onQueued?: (ref: ChunkSourceRef) => void): Promise<void> {
    while (this.queue.length >= this.o.capacity) {
      if (this.stopped || this.o.overflow === 'reject') throw new AppError('INGEST_OVERLOADED', { depth: this.queue.length });
      await new Promise<void>((resolve, reject) => this.spaceWaiters.push({ resolve, reject }));
    }
    if (this.stopped) throw new AppError('INGEST_OVERLOADED', { depth: this.queue.length });
    const source: ChunkSourceRef = { topic: this.o.topic, partition: 0, offset: (this.nextOffset++).toString() };
    this.queue.push({ key: record.key, headers: { ...record.headers }, value: record.value, source });
    onQueued?.(source);
    this.kick();
  }

  async start(sink: ChunkSink): Promise<void> {
    this.sink = sink;
    this.stopped = false;
    this.kick();
  }

  /** Acks: tracked so `committed()` says what a Kafka source would commit. */
  release(refs: ChunkSourceRef[]): void {
    this.tracker.release(refs);
  }

  /** Stops delivering; waits for the batch in progress; blocked producers get INGEST_OVERLOADED. */
  async stop(): Promise<void> {
    this.halt();
    await this.pumping;
  }

  /** Records queued, not yet delivered. */
  get depth(): number {
    return this.queue.length;
  }

  /** Delivered, not yet released. */
  get inFlight(): number {
    return this.tracker.inFlight(this.o.topic, 0);
  }

  /** The offset a Kafka source would have committed (next to read), or null before any release. */
  committedOffset(): string | null {
    const points: CommitPoint[] = this.tracker.committable();
    if (points.length) {
      this.tracker.markCommitted(points);
      this.lastCommitted = points[0].offset;
    }
    return this.lastCommitted;
  }

  private kick(): void {
    if (this.pumping || !this.sink || this.stopped || this.queue.length === 0) return;
    this.pumping = this.pump().finally(() => {
      this.pumping = null;
      this.kick();
    });
  }

  private async pump(): Promise<void> {
    while (this.sink && !this.stopped && this.queue.length > 0) {
      const batch = this.queue.slice(0, this.o.maxBatch);
      for (const r of batch) this.tracker.track(r.source);
      try {
        await this.sink.accept(batch);
      } catch (e) {
        if (e instanceof SinkStopping) {
          this.tracker.forget(e.untaken);
          this.take(batch.length - e.untaken.length);
          this.halt();
          return;
        }
        this.o.onError?.(e);
        await new Promise((r) => setTimeout(r, this.o.retryDelayMs));
        continue; // the same batch again: tracking is idempotent for redeliveries
      }
      this.take(batch.length);
    }
  }

  /** Drops the first `n` queued records (delivered) and wakes as many blocked producers. */
  private take(n: number): void {
    this.queue.splice(0, n);
    for (const w of this.spaceWaiters.splice(0, n)) w.resolve();
  }

  /** No more deliveries; blocked producers get INGEST_OVERLOADED. */
  private halt(): void {
    this.stopped = true;
    const waiters = this.spaceWaiters;
    this.spaceWaiters = [];
    for (const w of waiters) w.reject(new AppError('INGEST_OVERLOADED', { depth: this.queue.length }));
  }
}
