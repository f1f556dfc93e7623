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
 * - Each instance reads the whole topic in its own consumer group `<group>.scores.<instanceId>`.
 *   Before joining, the group's offsets are set to the topic's current end, so the instance
 *   sees every record produced after it started (it is `ready()` only then) and none before
 *   (history is in the store; a subscriber that needs it resumes from storage).
 *   Those groups hold no members after the instance stops and expire with the broker's
 *   offsets.retention.minutes (default 7 days); the instance id is unique per process.
 * - A consumer crash that kafkajs does not restart itself (a non-retriable error, e.g. one
 *   thrown by the local fan-out) would leave the instance deaf to the others for good: the bridge
 *   then builds a new consumer after `restartDelayMs`, positioned where the dead one stopped
 *   (the next offset of each partition, tracked as records are handled), so nothing produced in
 *   between is skipped; a record whose handling failed is read again (the hub drops repeats).
 *   Until it has joined again the bridge is not `ready()`.
 * - Alerts ride the same topic (kind "alert"): the scoring instance's analytics publishes a new
 *   alert to its own AlertHub and hands it to `publishAlert`, which only produces it; other
 *   instances deliver it to their `alerts` sink. The AlertHub has no repeat check, so the bridge
 *   drops an alert id it delivered recently (bounded set, `alertDedupCapacity`, evict oldest).
 */
import type { Consumer, Kafka, Producer } from 'kafkajs';
import type { ScorePublisher } from '../core/ports.js';
import type { Alert, CallInfo, SegmentScore } from '../core/types.js';
import { ConsumerRestarter } from '../ingest/consumer-restart.js';
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
  /** New consumers built after crashes kafkajs did not restart. */
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
  /** Extra kafkajs consumer settings (session timeout, ...). */
  consumerConfig?: { sessionTimeout?: number; heartbeatInterval?: number; maxWaitTimeInMs?: number };
  /** After a crash kafkajs will not restart: wait before building a new consumer, ms. Default 1_000. */
  restartDelayMs?: number;
}

const noop = () => {};
const silent: BridgeLogger = { info: noop, warn: noop, error: noop };

export class ScoresBridge implements ScorePublisher {
  readonly groupId: string;
  private readonly outbox: Outbox;
  private readonly log: BridgeLogger;
  private consumer: Consumer | null = null;
  private joined = false;
  private crashed = false;
  private readonly restarter: ConsumerRestarter;
  /** partition -> the next offset to read (set at start to the topic's end, then per record handled). */
  private readonly positions = new Map<number, string>();
  private readonly counters = { produced: 0, produceErrors: 0, consumed: 0, ownSkipped: 0, malformed: 0, alertRepeats: 0, consumerRestarts: 0 };
  /** Remote alert ids delivered, oldest first (a Set keeps insertion order). */
  private readonly seenAlerts = new Set<string>();
  private readonly alertDedupCapacity: number;

  constructor(private readonly o: ScoresBridgeOptions) {
    this.groupId = `${o.groupPrefix}.scores.${o.instanceId}`;
    this.log = o.logger ?? silent;
    this.restarter = new ConsumerRestarter({
      delayMs: o.restartDelayMs ?? 1_000,
      current: () => this.consumer,
      rebuild: async () => {
        await this.positionGroup(false); // where the dead consumer stopped
        await this.startConsumer();
      },
      onRestarted: () => {
        this.counters.consumerRestarts++;
        this.log.warn({ groupId: this.groupId, positions: Object.fromEntries(this.positions) }, 'scores topic consumer restarted after a crash');
      },
      onFailed: (err) => this.log.error({ err, groupId: this.groupId }, 'scores topic consumer restart failed; retrying'),
    });
    this.alertDedupCapacity = Math.max(1, o.alertDedupCapacity ?? 10_000);
    this.outbox = new Outbox({
      capacity: o.outboxCapacity,
      send: async (records) => {
        await o.producer.send({ topic: o.topic, acks: -1, messages: records });
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

  /** Positions the group at the topic's end, then joins and consumes. Resolves once consuming. */
  async start(): Promise<void> {
    await this.positionGroup(true);
    await this.startConsumer();
    this.log.info({ groupId: this.groupId, topic: this.o.topic }, 'scores topic bridge consuming');
  }

  /** Sets the group's offsets: the topic's end at start, else where the last consumer stopped. */
  private async positionGroup(atEnd: boolean): Promise<void> {
    const admin = this.o.kafka.admin();
    await admin.connect();
    try {
      const ends = await admin.fetchTopicOffsets(this.o.topic);
      for (const p of ends) if (atEnd || !this.positions.has(p.partition)) this.positions.set(p.partition, p.high);
      const partitions = ends.map((p) => ({ partition: p.partition, offset: this.positions.get(p.partition) as string }));
      await admin.setOffsets({ groupId: this.groupId, topic: this.o.topic, partitions });
    } finally {
      await admin.disconnect();
    }
  }

  /** Builds, joins and runs a consumer; resolves once it has joined its group. */
  private async startConsumer(): Promise<void> {
    const consumer = this.o.kafka.consumer({ ...this.o.consumerConfig, groupId: this.groupId });
    this.consumer = consumer;
    let gaveUp: (err: unknown) => void = () => {};
    const joined = new Promise<void>((resolve, reject) => {
      gaveUp = reject;
      consumer.on(consumer.events.GROUP_JOIN, () => {
        this.joined = true;
        this.crashed = false;
        resolve();
      });
    });
    consumer.on(consumer.events.CRASH, (e) => {
      this.crashed = true;
      this.log.error({ err: e.payload.error, groupId: this.groupId, restart: e.payload.restart }, 'scores topic consumer crashed');
      if (e.payload.restart) return; // kafkajs rejoins by itself (GROUP_JOIN clears `crashed`)
      gaveUp(e.payload.error);
      this.restarter.schedule(consumer);
    });
    await consumer.connect();
    await consumer.subscribe({ topic: this.o.topic, fromBeginning: false });
    await consumer.run({
      autoCommit: false, // a private group: its position is set by positionGroup, never committed
      eachMessage: async ({ message, partition }) => {
        this.onRecord(message.headers ?? {}, message.value, partition, message.offset);
        this.positions.set(partition, (BigInt(message.offset) + 1n).toString());
      },
    });
    await joined;
  }

  /** True while the consumer is in its group (a subscriber here sees other instances' scores). */
  ready(): boolean {
    return this.consumer !== null && this.joined && !this.crashed;
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
    this.restarter.cancel();
    await this.outbox.close(this.o.stopGraceMs ?? 5_000);
    const c = this.consumer;
    this.consumer = null;
    this.joined = false;
    await c?.disconnect();
  }

  stats(): BridgeStats {
    return { ...this.counters, outboxDepth: this.outbox.depth };
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
