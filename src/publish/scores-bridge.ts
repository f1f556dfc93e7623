/**
 * Several instances, one audience: the ScorePublisher that makes every instance's subscribers
 * see every call of their tenant, whichever instance scored it.
 *
 *   pipeline --publishScore--> local hub (at once)  +  scores topic (key = call id)
 *   scores topic --own consumer group, from "now"--> local hub (records of other instances)
 *
 * - Local first: the scoring instance delivers to its own subscribers without the topic round
 *   trip, and skips its own records when they come back (header sst-origin = its instance id).
 *   Records of other instances go to the hub, which drops repeats by (tenant, call, channel,
 *   segment, revision): the topic is at-least-once and a hand-over republishes the last stored
 *   score of each channel.
 * - Delivery to the topic is at-least-once: `publishScore` resolves when the broker acknowledged
 *   the record (Outbox), and the pipeline releases the segment's chunks only then. An instance
 *   killed between storing and producing leaves the chunks uncommitted; the next owner republishes.
 * - Each instance reads the whole topic in its own consumer group `<group>.scores.<instanceId>`
 *   (src/kafka's ManagedConsumer). Before joining, the bridge reads the topic's current end;
 *   each assignment starts there, so the instance sees every record produced after it started
 *   (it is `ready()` only then) and none before (history is in the store; a subscriber that
 *   needs it resumes from storage). Nothing is ever committed: the position lives here (the
 *   next offset of each partition, tracked as records are handled), so a rejoin resumes where
 *   the last batch ended and skips nothing. The groups expire with the broker's
 *   offsets.retention.minutes; the instance id is unique per process.
 * - A batch whose handling failed (e.g. the local fan-out threw) is read again from its first
 *   record after the managed consumer's backoff (the hub drops repeats); the consumer never
 *   stops, so the instance never goes deaf to the others (`consumerRestarts` in stats: batches re-read).
 * - Alerts ride the same topic (kind "alert"): the scoring instance's analytics publishes a new
 *   alert to its own AlertHub and hands it to `publishAlert`, which only produces it; other
 *   instances deliver it to their `alerts` sink. The AlertHub has no repeat check, so the bridge
 *   drops an alert id it delivered recently (bounded set, `alertDedupCapacity`, evict oldest).
 */
import type { ScorePublisher } from '../core/ports.js';
import type { Alert, CallInfo, SegmentScore } from '../core/types.js';
import type { Kafka, Producer } from '../kafka/client.js';
import { topicEnds } from '../kafka/admin.js';
import { type ConsumerTuning, ManagedConsumer, type PartitionBatch } from '../kafka/managed-consumer.js';
import { Outbox } from '../kafka/outbox.js';
import { decodeScoresEvent, encodeScoresEvent, headerString, KIND_HEADER, ORIGIN_HEADER } from './scores-codec.js';

/** Where the bridge delivers (ScoreHub: deliverScore / deliverCall, synchronous fan-out). */
export interface LocalFanOut {
  deliverScore(score: SegmentScore): number;
  deliverCall(call: CallInfo): number;
}

/** Where remote alerts go (AlertHub.publish fits: synchronous fan-out to `alerts` subscribers). */
export interface LocalAlertFanOut {
  publish(alert: Alert): void;
}

/** The slice of a pino logger the bridge uses. */
export interface BridgeLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Counters since start (exported as metrics). */
export interface BridgeStats {
  produced: number;
  produceErrors: number;
  consumed: number;
  /** Own records that came back from the topic (already delivered locally). */
  ownSkipped: number;
  malformed: number;
  /** Remote alerts dropped because their id was delivered recently (topic repeats). */
  alertRepeats: number;
  /** Batches read again after their handling failed. */
  consumerRestarts: number;
  outboxDepth: number;
}

export interface ScoresBridgeOptions {
  kafka: Kafka;
  producer: Producer;
  /** The scores topic (the app uses `<chunk topic>.scores`). Must exist. */
  topic: string;
  /** Unique per process: names the consumer group and marks own records. */
  instanceId: string;
  /** Prefix of the per-instance consumer group (the app passes its chunk consumer group). */
  groupPrefix: string;
  local: LocalFanOut;
  /** Where other instances' alerts go; without it, alert records are consumed and dropped. */
  alerts?: LocalAlertFanOut;
  /** Alert ids remembered to drop repeats (policy: evict oldest). Default 10_000. */
  alertDedupCapacity?: number;
  logger?: BridgeLogger;
  /** Records waiting to be produced before publish blocks (policy block). Default 10_000. */
  outboxCapacity?: number;
  /** At stop: how long queued records may take to go out, ms. Default 5_000. */
  stopGraceMs?: number;
  /** Consumer tuning (session timeout, fetch wait). */
  tuning?: ConsumerTuning;
  /** After a failed batch: first backoff before it is read again, ms (doubles up to 30 s). Default 1_000. */
  retryDelayMs?: number;
}

const noop = () => {};
const silent: BridgeLogger = { info: noop, warn: noop, error: noop };

export class ScoresBridge implements ScorePublisher {
  readonly groupId: string;
  private readonly outbox: Outbox;
  private readonly log: BridgeLogger;
  private consumer: ManagedConsumer | null = null;
  /** partition -> the next offset to read (set at start to the topic's end, then per record handled). */
  private readonly positions = new Map<number, string>();
  private readonly counters = { produced: 0, produceErrors: 0, consumed: 0, ownSkipped: 0, malformed: 0, alertRepeats: 0 };
  /** Remote alert ids delivered, oldest first (a Set keeps insertion order). */
  private readonly seenAlerts = new Set<string>();
  private readonly alertDedupCapacity: number;

  constructor(private readonly o: ScoresBridgeOptions) {
    this.groupId = `${o.groupPrefix}.scores.${o.instanceId}`;
    this.log = o.logger ?? silent;
    this.alertDedupCapacity = Math.max(1, o.alertDedupCapacity ?? 10_000);
    this.outbox = new Outbox({
      capacity: o.outboxCapacity,
      send: async (records) => {
        await o.producer.send({ topic: o.topic, messages: records }); // acks=all: a producer setting (src/kafka/producer.ts)
      },
      onSent: (n) => {
        this.counters.produced += n;
      },
      onError: (err, records, attempt) => {
        this.counters.produceErrors++;
        this.log.warn({ err, topic: o.topic, records, attempt }, 'scores topic produce failed; retrying');
      },
    });
  }

  /** Reads the topic's end, then joins and consumes from there. Resolves once assigned. */
  async start(): Promise<void> {
    const admin = this.o.kafka.admin();
    await admin.connect();
    try {
      for (const [partition, end] of await topicEnds(admin, this.o.topic)) this.positions.set(partition, end);
    } finally {
      await admin.disconnect();
    }
    const consumer = new ManagedConsumer({
      kafka: this.o.kafka,
      groupId: this.groupId,
      topics: [this.o.topic],
      startAt: 'latest', // a partition added after start: from its end, like the others
      tuning: this.o.tuning,
      retry: { initialMs: this.o.retryDelayMs ?? 1_000 },
      logger: this.log,
      // every assignment starts where this instance stopped reading (the end at start)
      onAssign: (parts) => new Map(parts.flatMap((p) => {
        const at = this.positions.get(p.partition);
        return at === undefined ? [] : [[`${p.topic}/${p.partition}`, at] as [string, string]];
      })),
      eachBatch: async (b) => this.onBatch(b),
    });
    this.consumer = consumer;
    await consumer.start();
    this.log.info({ groupId: this.groupId, topic: this.o.topic }, 'scores topic bridge consuming');
  }

  private async onBatch(b: PartitionBatch): Promise<void> {
    for (const m of b.messages) {
      this.onRecord(m.headers ?? {}, m.value, b.partition, m.offset);
      this.positions.set(b.partition, (BigInt(m.offset) + 1n).toString());
    }
  }

  /** True while the consumer is in its group (a subscriber here sees other instances' scores). */
  ready(): boolean {
    return this.consumer?.joined() ?? false;
  }

  async publishScore(score: SegmentScore): Promise<void> {
    this.o.local.deliverScore(score);
    await this.outbox.send(encodeScoresEvent({ kind: 'score', score }, this.o.instanceId));
  }

  async publishCall(call: CallInfo): Promise<void> {
    this.o.local.deliverCall(call);
    await this.outbox.send(encodeScoresEvent({ kind: 'call', call }, this.o.instanceId));
  }

  /**
   * Produces a new alert for the other instances. Unlike scores, it is NOT delivered locally:
   * the analytics service already published it to this instance's AlertHub.
   */
  async publishAlert(alert: Alert): Promise<void> {
    await this.outbox.send(encodeScoresEvent({ kind: 'alert', alert }, this.o.instanceId));
  }

  /** Sends what is queued (up to stopGraceMs), then leaves the group. */
  async stop(): Promise<void> {
    await this.outbox.close(this.o.stopGraceMs ?? 5_000);
    const c = this.consumer;
    this.consumer = null;
    await c?.stop();
  }

  stats(): BridgeStats {
    return { ...this.counters, consumerRestarts: this.consumer?.failedBatches ?? 0, outboxDepth: this.outbox.depth };
  }

  private onRecord(headers: Record<string, unknown>, value: Buffer | null, partition: number, offset: string): void {
    if (headerString(headers[ORIGIN_HEADER]) === this.o.instanceId) {
      this.counters.ownSkipped++;
      return;
    }
    const ev = decodeScoresEvent(headerString(headers[KIND_HEADER]), value);
    if (!ev) {
      this.counters.malformed++;
      this.log.warn({ topic: this.o.topic, partition, offset }, 'scores topic record is not understood; skipped');
      return;
    }
    this.counters.consumed++;
    if (ev.kind === 'score') this.o.local.deliverScore(ev.score);
    else if (ev.kind === 'call') this.o.local.deliverCall(ev.call);
    else this.deliverAlert(ev.alert);
  }

  private deliverAlert(alert: Alert): void {
    if (this.seenAlerts.has(alert.id)) {
      this.counters.alertRepeats++;
      return;
    }
    this.seenAlerts.add(alert.id);
    if (this.seenAlerts.size > this.alertDedupCapacity) this.seenAlerts.delete(this.seenAlerts.values().next().value as string);
    this.o.alerts?.publish(alert);
  }
}
