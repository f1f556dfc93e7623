/**
 * Offsets of a topic and of a group's commits, read by a plain (never subscribing) librdkafka
 * consumer: ListOffsets through `queryWatermarkOffsets`, OffsetFetch through `committed`.
 * Why not the admin API: with @confluentinc/kafka-javascript 1.10.1 an admin offsets request
 * that times out while the broker is down aborts the whole process inside librdkafka
 * (docs/operations.md "Known issue"); these consumer calls fail with an error instead.
 */
import type Ckjs from '@confluentinc/kafka-javascript';
import { kafkaNative } from './client.js';

type NativeConsumer = InstanceType<typeof Ckjs.KafkaConsumer>;

export interface PartitionOffsets {
  partition: number;
  /** First offset still in the log. */
  low: bigint;
  /** The next offset to be written. */
  high: bigint;
  /** The group's committed offset; -1 when it has none. */
  committed: bigint;
}

export class OffsetsReader {
  private readonly consumer: NativeConsumer;

  constructor(brokers: string[], readonly groupId: string, private readonly timeoutMs = 5_000) {
    this.consumer = new (kafkaNative().KafkaConsumer)({
      'metadata.broker.list': brokers.join(','),
      'group.id': groupId,
      'enable.auto.commit': false,
      'client.id': `offsets-${groupId}`,
    }, {});
  }

  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.consumer.connect({ timeout: this.timeoutMs }, (err) => (err ? reject(err) : resolve()));
    });
  }

  disconnect(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.consumer.isConnected()) return resolve();
      this.consumer.disconnect(() => resolve());
    });
  }

  /** End and committed offsets of every partition of `topic`. */
  async read(topic: string): Promise<PartitionOffsets[]> {
    const partitions = await this.partitions(topic);
    const committed = await new Promise<Map<number, bigint>>((resolve, reject) => {
      this.consumer.committed(partitions.map((partition) => ({ topic, partition })), this.timeoutMs, (err, tps) => {
        if (err) return reject(err);
        resolve(new Map(tps.map((tp) => [tp.partition, BigInt(tp.offset ?? -1)])));
      });
    });
    return Promise.all(partitions.map((partition) => new Promise<PartitionOffsets>((resolve, reject) => {
      this.consumer.queryWatermarkOffsets(topic, partition, this.timeoutMs, (err, w) => {
        if (err) return reject(err);
        const c = committed.get(partition) ?? -1n;
        resolve({ partition, low: BigInt(w.lowOffset), high: BigInt(w.highOffset), committed: c < 0n ? -1n : c });
      });
    })));
  }

  private partitions(topic: string): Promise<number[]> {
    return new Promise((resolve, reject) => {
      this.consumer.getMetadata({ topic, timeout: this.timeoutMs }, (err, meta) => {
        if (err) return reject(err);
        const t = meta.topics.find((x) => x.name === topic);
        if (!t || !t.partitions.length) return reject(new Error(`topic ${topic}: no partitions in metadata`));
        resolve(t.partitions.map((p) => p.id).sort((a, b) => a - b));
      });
    });
  }
}
