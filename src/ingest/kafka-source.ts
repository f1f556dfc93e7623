/**
 * The Kafka ChunkSource: a kafkajs consumer group reading media chunks (key = call id, so a
 * call's chunks stay in one partition, in order).
 *
 * - Batches: one sink.accept per fetched partition batch (eachBatch), awaited before the next
 *   batch (the sink's backpressure, the only flow control here); auto-commit off.
 * - Commits: a record is released by the pipeline once its segments' scores are stored (or it was
 *   dead-lettered). The OffsetTracker turns releases into per-partition commit points, committed
 *   every `commitIntervalMs` and at stop. Nothing unreleased is ever committed past.
 * - No pause on unreleased records: most of them sit in open windows, and only later records of
 *   their calls (behind such a pause) would seal them, so that pause deadlocked a backlog
 *   (issue #13). What the sink holds is bounded by the sink itself: segments in flight by the
 *   pipeline (it makes accept wait), open windows by the window's budget (docs/lifecycle.md).
 * - Shutdown: records of a batch the sink did not take (SinkStopping) are forgotten unreleased,
 *   so the last commit stops before them and the partition's next owner reads them.
 * - Rebalance: on joining, partitions no longer assigned are forgotten (their late releases are
 *   ignored; the new owner re-reads from the last commit). A redelivered record that is still
 *   in flight here is not delivered twice.
 * - Crashes: kafkajs restarts its consumer after a retriable error, but one it deems non-retriable
 *   (a broker's non-retriable answer, a sink error marked so) leaves it stopped for good, and the
 *   instance would stop ingesting while still looking alive. The source then builds a new consumer
 *   in the same group after `restartDelayMs`; it re-reads from the last commit (records still in
 *   flight here are not delivered twice). `consuming()` is false from the crash to the next join.
 * kafkajs stays behind ChunkSource: @confluentinc/kafka-javascript's KafkaJS API fits the same calls.
 */
import type { Consumer, ConsumerConfig, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { ChunkSink, ChunkSource, RawChunk } from '../core/ports.js';
import { SinkStopping } from '../core/stopping.js';
import type { ChunkSourceRef } from '../core/types.js';
import { ConsumerRestarter } from './consumer-restart.js';
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
  /** Partitions processed at once (kafkajs partitionsConsumedConcurrently). Default 1. */
  partitionsConsumedConcurrently?: number;
  /** At stop: the longest wait for in-flight records to be released (or the sink's drain to end)
   *  before the last commit, ms. A safety bound only: the wait normally ends with the drain. Default 30000. */
  drainTimeoutMs?: number;
  logger?: SourceLogger;
  /** Extra kafkajs consumer settings (e.g. maxWaitTimeInMs, sessionTimeout). */
  consumerConfig?: Omit<ConsumerConfig, 'groupId'>;
  /** After a crash kafkajs will not restart: wait before building a new consumer, ms. Default 1000. */
  restartDelayMs?: number;
}

const noop = () => {};
const silent: SourceLogger = { info: noop, warn: noop, error: noop };

export class KafkaSource implements ChunkSource {
  readonly name = 'kafka';
  private readonly o: Required<Omit<KafkaSourceOptions, 'logger' | 'consumerConfig'>> & Pick<KafkaSourceOptions, 'consumerConfig'> & { logger: SourceLogger };
  private readonly tracker = new OffsetTracker();
  /** "topic/partition" -> whether the last batch read from it ended before the log's end. */
  private readonly lagging = new Map<string, boolean>();
  private consumer: Consumer | null = null;
  private commitTimer: NodeJS.Timeout | null = null;
  private committing: Promise<void> = Promise.resolve();
  private assignment: Record<string, number[]> = {};
  private stopping = false;
  private crashed = false;
  private restarter: ConsumerRestarter | null = null;
  /** New consumers built after crashes kafkajs did not restart (metrics, tests). */
  restarts = 0;

  constructor(options: KafkaSourceOptions) {
    this.o = {
      fromBeginning: true, commitIntervalMs: 500, partitionsConsumedConcurrently: 1,
      drainTimeoutMs: 30_000, restartDelayMs: 1000, logger: silent, ...options,
    };
    if (!this.o.topics.length) throw new RangeError('topics must not be empty');
  }

  async start(sink: ChunkSink): Promise<void> {
    this.restarter = new ConsumerRestarter({
      delayMs: this.o.restartDelayMs,
      current: () => this.consumer,
      rebuild: () => this.startConsumer(sink),
      onRestarted: () => {
        this.restarts++;
        this.o.logger.warn({ groupId: this.o.groupId }, 'kafka source consumer restarted after a crash');
      },
      onFailed: (err) => this.o.logger.error({ groupId: this.o.groupId, err }, 'kafka source consumer restart failed; retrying'),
    });
    await this.startConsumer(sink);
    this.commitTimer = setInterval(() => void this.commit(), this.o.commitIntervalMs);
    this.commitTimer.unref();
  }

  /** False from a consumer crash until a consumer of this source has joined the group again. */
  consuming(): boolean {
    return this.consumer !== null && !this.crashed;
  }

  private async startConsumer(sink: ChunkSink): Promise<void> {
    const consumer = this.o.kafka.consumer({ ...this.o.consumerConfig, groupId: this.o.groupId });
    this.consumer = consumer;
    consumer.on(consumer.events.CRASH, (e) => {
      this.crashed = true;
      this.o.logger.error({ groupId: this.o.groupId, err: e.payload.error, restart: e.payload.restart }, 'kafka source consumer crashed');
      if (!e.payload.restart) this.restarter?.schedule(consumer);
    });
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      this.crashed = false;
      this.assignment = e.payload.memberAssignment;
      this.tracker.retain(this.assignment);
      for (const key of [...this.lagging.keys()]) if (!this.tracker.partitions().includes(key)) this.lagging.delete(key);
      this.o.logger.info({ groupId: this.o.groupId, memberId: e.payload.memberId, assignment: e.payload.memberAssignment }, 'kafka source joined group');
    });
    await consumer.connect();
    await consumer.subscribe({ topics: this.o.topics, fromBeginning: this.o.fromBeginning });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.o.partitionsConsumedConcurrently,
      eachBatch: (payload) => this.onBatch(payload, sink),
    });
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
    this.restarter?.cancel();
    const assigned = Object.entries(this.assignment).map(([topic, partitions]) => ({ topic, partitions }));
    if (assigned.length) consumer.pause(assigned);
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
    await consumer.disconnect();
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
        await this.consumer.commitOffsets(points);
        this.tracker.markCommitted(points);
      } catch (err) {
        // Typically a rebalance in progress: the points stay committable and are retried.
        this.o.logger.warn({ groupId: this.o.groupId, err }, 'offset commit failed; will retry');
      }
    });
    return this.committing;
  }

  private async onBatch(p: EachBatchPayload, sink: ChunkSink): Promise<void> {
    const { topic, partition } = p.batch;
    if (!p.batch.messages.length) return;
    // Stale (a rebalance took the partition) or stopping: leave it untracked for the next reader.
    if (this.stopping || !p.isRunning() || p.isStale()) return;
    this.lagging.set(`${topic}/${partition}`, BigInt(p.batch.highWatermark) - 1n > BigInt(p.batch.lastOffset()));
    const fresh: RawChunk[] = [];
    for (const m of p.batch.messages) {
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
      // kafkajs retries from the last commit; forget the partition so the retry is delivered
      // (records still in flight then come twice; the window rejects repeats as duplicates).
      this.tracker.drop(topic, partition);
      this.o.logger.error({ topic, partition, err }, 'sink failed on a batch; partition will be re-read');
      throw err;
    }
    p.resolveOffset(p.batch.lastOffset());
    await p.heartbeat();
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
