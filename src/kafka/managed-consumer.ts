/**
 * The one managed consumer: group membership, assignment callbacks, per-partition batches,
 * pause/resume, per-partition commits and the retry policy, for every Kafka reader of the server
 * (the chunk source, src/ingest/kafka-source.ts; the scores bridge, src/publish/scores-bridge.ts).
 *
 * - Rebalances are eager (range/round-robin): `onRevoke` runs with the partitions being taken
 *   away before any of the new assignment is read, `onAssign` with the new assignment before its
 *   first batch; `onAssign` may return start offsets that override the group's commits.
 * - Batches: one partition at a time per call of `eachBatch`, awaited before that partition's
 *   next batch. Auto-commit is off: the owner commits the points it chooses (`commit`).
 * - Retry policy (replaces kafkajs' crash-and-restart): when `eachBatch` throws, the partition is
 *   paused and, after a backoff (doubling from `retry.initialMs` to `retry.maxMs`, reset by the
 *   next batch that succeeds), re-read from the failed batch's first record. The consumer itself
 *   never stops: librdkafka reconnects, rejoins and refetches on its own, so there is no consumer
 *   to rebuild and nothing that looks alive while reading nothing.
 */
import type { Consumer, ConsumerConstructorConfig, EachBatchPayload, Kafka, KafkaMessage, TopicPartition, TopicPartitionOffset } from './client.js';
import { kafkaErrorCodes } from './client.js';

/** A batch of one partition. */
export interface PartitionBatch {
  topic: string;
  partition: number;
  messages: KafkaMessage[];
  /** The batch ends before the partition's end offset as last seen (a backlog is being read). */
  behind: boolean;
  /** The partition was revoked since this batch was fetched: its records are the next owner's. */
  stale(): boolean;
}

/** Consumer tuning, in the project's units. */
export interface ConsumerTuning {
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  /** How long a fetch waits for data at most (fetch.wait.max.ms). */
  maxWaitTimeMs?: number;
  /** Bytes fetched per partition per request at most (max.partition.fetch.bytes). */
  maxBytesPerPartition?: number;
  /** Records per batch at most (librdkafka prefetches, so fetch sizes do not bound batches). Default: no limit. */
  maxBatchRecords?: number;
}

export interface ConsumerLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface ManagedConsumerOptions {
  kafka: Kafka;
  groupId: string;
  topics: string[];
  /** Where a partition without a committed offset starts. Default 'earliest' (lose nothing). */
  startAt?: 'earliest' | 'latest';
  tuning?: ConsumerTuning;
  eachBatch(batch: PartitionBatch): Promise<void>;
  /** New assignment, before its first batch. Returns "topic/partition" -> offset to start there instead. */
  onAssign?(partitions: TopicPartition[]): Map<string, string> | void;
  /** Partitions being taken away, before the new assignment is read. */
  onRevoke?(partitions: TopicPartition[]): void;
  /** Backoff after a failed batch. Defaults 1_000 and 30_000 ms. */
  retry?: { initialMs?: number; maxMs?: number };
  logger?: ConsumerLogger;
}

/** What librdkafka may hold fetched ahead of the handler, KiB. */
export const PREFETCH_KIB = 16_384;

const noop = () => {};
const silent: ConsumerLogger = { info: noop, warn: noop, error: noop };
const key = (topic: string, partition: number) => `${topic}/${partition}`;

export class ManagedConsumer {
  private consumer: Consumer | null = null;
  private assigned: TopicPartition[] = [];
  private hasJoined = false;
  private stopping = false;
  private readonly log: ConsumerLogger;
  /** "topic/partition" -> consecutive failed batches (drives the backoff). */
  private readonly failuresInARow = new Map<string, number>();
  private readonly resumeTimers = new Set<NodeJS.Timeout>();
  private joinWaiters: (() => void)[] = [];
  /** Batches that failed and were scheduled to be read again (metrics, tests). */
  failedBatches = 0;

  constructor(private readonly o: ManagedConsumerOptions) {
    if (!o.topics.length) throw new RangeError('topics must not be empty');
    this.log = o.logger ?? silent;
  }

  /** Joins the group and starts reading; resolves once the first assignment arrived. */
  async start(): Promise<void> {
    const t = this.o.tuning ?? {};
    const config: ConsumerConstructorConfig = {
      kafkaJS: {
        groupId: this.o.groupId,
        fromBeginning: (this.o.startAt ?? 'earliest') === 'earliest',
        autoCommit: false,
        ...(t.sessionTimeoutMs !== undefined ? { sessionTimeout: t.sessionTimeoutMs } : {}),
        ...(t.heartbeatIntervalMs !== undefined ? { heartbeatInterval: t.heartbeatIntervalMs } : {}),
        ...(t.maxWaitTimeMs !== undefined ? { maxWaitTimeInMs: t.maxWaitTimeMs } : {}),
        ...(t.maxBytesPerPartition !== undefined ? { maxBytesPerPartition: t.maxBytesPerPartition } : {}),
      },
      // whole fetched batches by default, as kafkajs handed them (the client's own default is 32)
      'js.consumer.max.batch.size': t.maxBatchRecords ?? -1,
      // librdkafka prefetches ahead of the handler: bound it (default 64 MiB) to 16 MiB per
      // consumer, the same order as kafkajs' 10 MiB fetch (docs/lifecycle.md "What bounds memory")
      'queued.max.messages.kbytes': PREFETCH_KIB,
      rebalance_cb: (err: { code: number }, assignment: TopicPartition[]) => this.onRebalance(err.code, assignment),
    };
    const consumer = this.o.kafka.consumer(config);
    this.consumer = consumer;
    const joined = new Promise<void>((resolve) => this.joinWaiters.push(resolve));
    await consumer.connect();
    await consumer.subscribe({ topics: this.o.topics });
    await consumer.run({ eachBatch: async (p) => this.onBatch(p) });
    await joined;
  }

  private onRebalance(code: number, partitions: TopicPartition[]): TopicPartitionOffset[] | void {
    if (code === kafkaErrorCodes().ERR__REVOKE_PARTITIONS) {
      const gone = new Set(partitions.map((p) => key(p.topic, p.partition)));
      this.assigned = this.assigned.filter((p) => !gone.has(key(p.topic, p.partition)));
      for (const k of gone) this.failuresInARow.delete(k);
      this.o.onRevoke?.(partitions);
      return;
    }
    if (code !== kafkaErrorCodes().ERR__ASSIGN_PARTITIONS) return;
    this.assigned = [...this.assigned, ...partitions];
    const starts = this.o.onAssign?.(partitions);
    this.hasJoined = true;
    for (const w of this.joinWaiters.splice(0)) w();
    this.log.info({ groupId: this.o.groupId, assignment: partitions.map((p) => key(p.topic, p.partition)) }, 'kafka consumer assigned');
    if (!starts || !starts.size) return;
    // Returning the assignment with offsets makes the client start there (librdkafka's assign
    // takes numbers: offsets stay below 2^53 for any topic this server will see).
    return partitions.map((p) => {
      const at = starts.get(key(p.topic, p.partition));
      return at === undefined ? p : { ...p, offset: Number(at) };
    }) as unknown as TopicPartitionOffset[];
  }

  private async onBatch(p: EachBatchPayload): Promise<void> {
    const { topic, partition, messages } = p.batch;
    if (!messages.length || this.stopping || p.isStale()) return;
    const high = BigInt(p.batch.highWatermark);
    const behind = high >= 0n && high - 1n > BigInt(p.batch.lastOffset());
    const k = key(topic, partition);
    try {
      await this.o.eachBatch({ topic, partition, messages, behind, stale: () => p.isStale() });
      this.failuresInARow.delete(k);
    } catch (err) {
      // Pause, then let the client seek back to this batch's first record; resume after the backoff.
      const n = (this.failuresInARow.get(k) ?? 0) + 1;
      this.failuresInARow.set(k, n);
      this.failedBatches++;
      const initial = this.o.retry?.initialMs ?? 1_000;
      const delayMs = Math.min(this.o.retry?.maxMs ?? 30_000, initial * 2 ** (n - 1));
      this.log.error({ groupId: this.o.groupId, topic, partition, err, attempt: n, retryInMs: delayMs }, 'batch failed; partition paused, re-read after the backoff');
      this.pause([{ topic, partitions: [partition] }]);
      const timer = setTimeout(() => {
        this.resumeTimers.delete(timer);
        if (!this.stopping) this.resume([{ topic, partitions: [partition] }]);
      }, delayMs);
      timer.unref();
      this.resumeTimers.add(timer);
      throw err;
    }
  }

  /** True once the consumer got its first assignment (and until stop). */
  joined(): boolean {
    return this.consumer !== null && this.hasJoined;
  }

  /** The partitions this member holds now. */
  assignment(): TopicPartition[] {
    return [...this.assigned];
  }

  pause(partitions: { topic: string; partitions: number[] }[]): void {
    if (partitions.length) this.consumer?.pause(partitions);
  }

  resume(partitions: { topic: string; partitions: number[] }[]): void {
    if (partitions.length) this.consumer?.resume(partitions);
  }

  /** Commits these offsets (the next offset to read, per partition). */
  async commit(points: TopicPartitionOffset[]): Promise<void> {
    if (!points.length || !this.consumer) return;
    await this.consumer.commitOffsets(points);
  }

  /** Stops reading and leaves the group (its partitions go to the other members at once). */
  async stop(): Promise<void> {
    const c = this.consumer;
    if (!c) return;
    this.stopping = true;
    for (const t of this.resumeTimers) clearTimeout(t);
    this.resumeTimers.clear();
    this.consumer = null;
    this.hasJoined = false;
    await c.disconnect();
  }
}
