/**
 * A bounded, batching send queue in front of a Kafka producer. `send` resolves when its record
 * is acknowledged (acks = all), so a caller that awaits it before committing its input gets
 * at-least-once delivery to the topic.
 *
 * Batching: while one request is in flight, new records wait and go out together in the next
 * (up to `maxBatch`): one round trip carries many scores under load, and none waits when idle.
 * Bound: `capacity` records waiting; policy `block`: `send` waits for room (backpressure reaches
 * the pipeline, whose in-flight bound then holds the source). Failures: retried with backoff
 * (100 ms doubling to 5 s) until they succeed, or until `close` gives up after its grace.
 */
import { backOff } from '../core/retry.js';

export interface OutboxRecord {
  key: string;
  value: string;
  headers: Record<string, string>;
}

/** The one producer call the outbox needs (src/kafka/producer.ts's send fits). */
export type SendBatch = (records: OutboxRecord[]) => Promise<void>;

export interface OutboxOptions {
  send: SendBatch;
  /** Records waiting before `send` blocks. Default 10_000. */
  capacity?: number;
  /** Most records per request. Default 500. */
  maxBatch?: number;
  /** Called on each failed request (logs, metrics). */
  onError?: (err: unknown, records: number, attempt: number) => void;
  /** Called after each acknowledged request. */
  onSent?: (records: number) => void;
}

interface Item {
  rec: OutboxRecord;
  resolve: () => void;
  reject: (e: unknown) => void;
}


export class Outbox {
  private readonly queue: Item[] = [];
  private readonly roomWaiters: (() => void)[] = [];
  private running: Promise<void> | null = null;
  private closing = false;
  private giveUp = false;
  private readonly capacity: number;
  private readonly maxBatch: number;

  constructor(private readonly o: OutboxOptions) {
    this.capacity = o.capacity ?? 10_000;
    this.maxBatch = o.maxBatch ?? 500;
    if (!(this.capacity >= 1 && this.maxBatch >= 1)) throw new RangeError('outbox capacity and maxBatch must be >= 1');
  }

  /** Records waiting or in flight. */
  get depth(): number {
    return this.queue.length;
  }

  /** Queues one record; resolves when the broker acknowledged it. Rejects after `close` gave up. */
  async send(rec: OutboxRecord): Promise<void> {
    if (this.closing) throw new Error('outbox is closed');
    while (this.queue.length >= this.capacity) await new Promise<void>((r) => this.roomWaiters.push(r));
    const done = new Promise<void>((resolve, reject) => this.queue.push({ rec, resolve, reject }));
    this.running ??= this.run().finally(() => {
      this.running = null;
    });
    return done;
  }

  /** Waits up to `graceMs` for queued records to go out; then fails the rest. */
  async close(graceMs = 5_000): Promise<void> {
    this.closing = true;
    const timer = setTimeout(() => {
      this.giveUp = true;
    }, graceMs);
    try {
      await this.running;
    } finally {
      clearTimeout(timer);
      const rest = this.queue.splice(0);
      for (const it of rest) it.reject(new Error('outbox closed before the record was sent'));
    }
  }

  private async run(): Promise<void> {
    let attempt = 0;
    while (this.queue.length > 0 && !this.giveUp) {
      const batch = this.queue.slice(0, this.maxBatch);
      try {
        await this.o.send(batch.map((it) => it.rec));
      } catch (e) {
        attempt++;
        this.o.onError?.(e, batch.length, attempt);
        await backOff(attempt, { baseMs: 100, maxMs: 5_000 });
        continue;
      }
      attempt = 0;
      this.queue.splice(0, batch.length);
      this.o.onSent?.(batch.length);
      for (const it of batch) it.resolve();
      const w = this.roomWaiters.splice(0);
      for (const r of w) r();
    }
  }
}
