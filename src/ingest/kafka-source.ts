/**
 * The Kafka ChunkSource: a consumer group (src/kafka's ManagedConsumer) reading media chunks
 * (key = call id, so a call's chunks stay in one partition, in order).
 *
 * - Batches: one sink.accept per fetched partition batch, awaited before that partition's next
 *   batch (the sink's backpressure, the only flow control here); auto-commit off.
 * - Commits: a record is released by the pipeline once its segments' scores are stored (or it was
 *   dead-lettered). The OffsetTracker turns releases into per-partition commit points, committed
 *   every `commitIntervalMs` and at stop. Nothing unreleased is ever committed past.
 * - No pause on unreleased records: most of them sit in open windows, and only later records of
 *   their calls (behind such a pause) would seal them, so that pause deadlocked a backlog
 *   (issue #13). What the sink holds is bounded by the sink itself: segments in flight by the
 *   pipeline (it makes accept wait), open windows by the window's budget (docs/lifecycle.md).
 * - Shutdown: records of a batch the sink did not take (SinkStopping) are forgotten unreleased,
 *   and their partition paused, so the last commit stops before them and the partition's next
 *   owner reads them.
 * - Rebalance: the client's rebalances are eager (every partition is revoked, then the new
 *   assignment given), and a broker restart makes one that gives the member back the partitions it
 *   had. So what is tracked is settled at the assignment, not the revoke: partitions no longer
 *   held are forgotten (their late releases are ignored; the new owner re-reads from the last
 *   commit), partitions held again keep their in-flight records, so the client's re-read from the
 *   last commit does not deliver them twice (forgetting them at the revoke re-delivered every
 *   open call's records since its commit hold: hundreds of duplicates dead-lettered in
 *   test/fault/kafka-restart.test.ts, where kafkajs' join-time retain had none).
 * - A failing sink (any other error): the batch's records are forgotten and the managed consumer
 *   pauses the partition, then re-reads it from the batch's first record after its backoff (the
 *   window rejects repeats of records it had taken as duplicates). The consumer never stops, so
 *   the kafkajs-era rebuild after a crash is gone; `restarts` counts such re-reads (the recovery
 *   that replaced the rebuild; metric `chunk_consumer_restarts`, same name as before).
 */
import type { ChunkSink, ChunkSource, RawChunk } from '../core/ports.js';
import { SinkStopping } from '../core/stopping.js';
import type { ChunkSourceRef } from '../core/types.js';
import type { Kafka, KafkaMessage } from '../kafka/client.js';
import { type ConsumerTuning, ManagedConsumer, type PartitionBatch } from '../kafka/managed-consumer.js';
import { OffsetTracker } from './offset-tracker.js';

/** The slice of a pino logger this source uses. */
export interface SourceLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface KafkaSourceOptions {
  kafka: Kafka;
  groupId: string;
  topics: string[];
  /** Read from the earliest offset when the group has no commit. Default true (lose nothing). */
  fromBeginning?: boolean;
  /** How often released offsets are committed, ms. Default 500. */
  commitIntervalMs?: number;
  /** At stop: the longest wait for in-flight records to be released (or the sink's drain to end)
   *  before the last commit, ms. A safety bound only: the wait normally ends with the drain. Default 30000. */
  drainTimeoutMs?: number;
  logger?: SourceLogger;
  /** Consumer tuning (session timeout, fetch wait, fetch size). */
  tuning?: ConsumerTuning;
  /** After a failed batch: first backoff before the partition is re-read, ms (doubles up to 30 s). Default 1000. */
  retryDelayMs?: number;
  /** Called with the chunk partitions ("topic/partition") this member holds after each assignment. */
  onAssign?: (partitions: string[]) => void;
}

const noop = () => {};
const silent: SourceLogger = { info: noop, warn: noop, error: noop };

export class KafkaSource implements ChunkSource {
  readonly name = 'kafka';
  private readonly o: Required<Omit<KafkaSourceOptions, 'logger' | 'tuning' | 'onAssign'>> & Pick<KafkaSourceOptions, 'tuning' | 'onAssign'> & { logger: SourceLogger };
  private readonly tracker = new OffsetTracker();
  /** "topic/partition" -> whether the last batch read from it ended before the log's end. */
  private readonly lagging = new Map<string, boolean>();
  private consumer: ManagedConsumer | null = null;
  private commitTimer: NodeJS.Timeout | null = null;
  private committing: Promise<void> = Promise.resolve();
  private stopping = false;

  constructor(options: KafkaSourceOptions) {
    this.o = {
      fromBeginning: true, commitIntervalMs: 500, drainTimeoutMs: 30_000, retryDelayMs: 1000, logger: silent, ...options,
    };
    if (!this.o.topics.length) throw new RangeError('topics must not be empty');
  }

  /** Joins the group; resolves once this member has its first assignment. */
  async start(sink: ChunkSink): Promise<void> {
    const consumer = new ManagedConsumer({
      kafka: this.o.kafka,
      groupId: this.o.groupId,
      topics: this.o.topics,
      startAt: this.o.fromBeginning ? 'earliest' : 'latest',
      tuning: this.o.tuning,
      retry: { initialMs: this.o.retryDelayMs },
      logger: this.o.logger,
      eachBatch: (b) => this.onBatch(b, sink),
      onAssign: () => this.onAssign(),
    });
    this.consumer = consumer;
    await consumer.start();
    this.commitTimer = setInterval(() => void this.commit(), this.o.commitIntervalMs);
    this.commitTimer.unref();
  }

  /** Re-reads of a partition after the sink failed on a batch (metrics, tests). */
  get restarts(): number {
    return this.consumer?.failedBatches ?? 0;
  }

  /** True while this source is in its group with an assignment (the consumer itself never stops). */
  consuming(): boolean {
    return this.consumer?.joined() ?? false;
  }

  private onAssign(): void {
    const assignment = this.assignmentByTopic();
    this.tracker.retain(assignment);
    const held = Object.entries(assignment).flatMap(([topic, ps]) => ps.map((p) => `${topic}/${p}`));
    for (const k of [...this.lagging.keys()]) if (!held.includes(k)) this.lagging.delete(k);
    this.o.logger.info({ groupId: this.o.groupId, assignment: held }, 'kafka source assigned');
    this.o.onAssign?.(held);
  }

  private assignmentByTopic(): Record<string, number[]> {
    const by: Record<string, number[]> = {};
    for (const p of this.consumer?.assignment() ?? []) (by[p.topic] ??= []).push(p.partition);
    return by;
  }

  release(refs: ChunkSourceRef[]): void {
    this.tracker.release(refs);
  }

  /**
   * Stops fetching, waits for in-flight records to be released or for the sink's drain to end
   * (records a stopping sink refused stay unreleased for the next owner), at most drainTimeoutMs,
   * commits, leaves the group. Waiting for the drain, not a fixed time: under load the drain can
   * take longer than any fixed wait, and a commit before it ends re-delivers finished calls.
   */
  async stop(drained?: Promise<void>): Promise<void> {
    const consumer = this.consumer;
    if (!consumer) return;
    this.stopping = true;
    const assigned = Object.entries(this.assignmentByTopic()).map(([topic, partitions]) => ({ topic, partitions }));
    consumer.pause(assigned);
    const deadline = Date.now() + this.o.drainTimeoutMs;
    let sinkDrained = false;
    void drained?.then(() => (sinkDrained = true), () => (sinkDrained = true));
    const busy = () => !sinkDrained && assigned.some((a) => a.partitions.some((p) => this.tracker.inFlight(a.topic, p) > 0));
    while (Date.now() < deadline && busy()) {
      await new Promise((r) => setTimeout(r, 20));
    }
    if (this.commitTimer) clearInterval(this.commitTimer);
    await this.commit();
    this.consumer = null;
    await consumer.stop();
  }

  /**
   * True while this source reads a partition's backlog: the last batch fetched from it ended
   * before the log's end. The window holds idle timeouts of that partition's calls meanwhile
   * (their next chunks are in the backlog, however long reading it takes).
   */
  behind(partitionKey: string): boolean {
    return this.lagging.get(partitionKey) ?? false;
  }

  /** Unreleased records of a partition (tests, metrics). */
  inFlight(topic: string, partition: number): number {
    return this.tracker.inFlight(topic, partition);
  }

  /** Commits every partition whose commit point moved. Serialised; failures are retried next time. */
  commit(): Promise<void> {
    this.committing = this.committing.then(async () => {
      const points = this.tracker.committable();
      if (!points.length || !this.consumer) return;
      try {
        await this.consumer.commit(points);
        this.tracker.markCommitted(points);
      } catch (err) {
        // Typically a rebalance in progress: the points stay committable and are retried.
        this.o.logger.warn({ groupId: this.o.groupId, err }, 'offset commit failed; will retry');
      }
    });
    return this.committing;
  }

  private async onBatch(b: PartitionBatch, sink: ChunkSink): Promise<void> {
    const { topic, partition } = b;
    // Stale (a rebalance took the partition) or stopping: leave it untracked for the next reader.
    if (this.stopping || b.stale()) return;
    this.lagging.set(`${topic}/${partition}`, b.behind);
    const fresh: RawChunk[] = [];
    for (const m of b.messages) {
      const source: ChunkSourceRef = { topic, partition, offset: m.offset };
      // A redelivery of a record still in flight here is not delivered twice.
      if (this.tracker.track(source)) fresh.push(toRaw(m, source));
    }
    try {
      if (fresh.length) await sink.accept(fresh);
    } catch (err) {
      if (err instanceof SinkStopping) {
        // Shutdown: what the sink did not take stays unreleased and uncommitted, for the next
        // owner; the partition is paused so it is not fetched again meanwhile.
        this.tracker.forget(err.untaken);
        this.consumer?.pause([{ topic, partitions: [partition] }]);
        this.o.logger.info({ topic, partition, untaken: err.untaken.length }, 'sink stopping: rest of the batch left for the next owner');
        return;
      }
      // The managed consumer re-reads the partition from this batch's first record after its
      // backoff: un-track the batch so the re-read is delivered (records the sink had taken come
      // twice; the window rejects repeats as duplicates).
      this.tracker.forget(fresh.map((r) => r.source));
      this.o.logger.error({ topic, partition, err }, 'sink failed on a batch; partition will be re-read');
      throw err;
    }
  }
}

function toRaw(m: KafkaMessage, source: ChunkSourceRef): RawChunk {
  const headers: RawChunk['headers'] = {};
  for (const [k, v] of Object.entries(m.headers ?? {})) {
    // Repeated headers arrive as arrays: passed through so decode rejects them as malformed.
    headers[k] = v as Buffer | string | undefined;
  }
  return { key: m.key, headers, value: m.value, source };
}
