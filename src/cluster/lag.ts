/**
 * Consumer lag of the chunk consumer group, per partition: the topic's end offset minus the
 * group's committed offset (records not yet finished; a partition with no commit counts from
 * its start). Sampled on a timer with one admin connection, not at scrape time, so a scraper
 * cannot load the broker; a failed sample keeps the last values and counts the failure.
 */
import type { Admin, Kafka } from '../kafka/client.js';

export interface PartitionLag {
  topic: string;
  partition: number;
  lag: number;
  /** The partition's end offset (the next offset to be written) when sampled (sampleLag sets it). */
  end?: bigint;
  /** The group's committed offset (-1: none) when sampled (sampleLag sets it). */
  committed?: bigint;
}

export interface LagSamplerOptions {
  kafka: Kafka;
  groupId: string;
  topic: string;
  /** Sampling period, ms. Default 10_000. */
  intervalMs?: number;
  /** Receives each sample (the app sets a gauge). */
  onSample: (lags: PartitionLag[]) => void;
  onError?: (err: unknown) => void;
}

/** One sample: end offsets vs committed offsets. Exported for tests and the fault tests. */
export async function sampleLag(admin: Admin, groupId: string, topic: string): Promise<PartitionLag[]> {
  const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
  const done = new Map<number, bigint>();
  for (const t of committed) for (const p of t.partitions) done.set(p.partition, BigInt(p.offset));
  return ends.map((e) => {
    const high = BigInt(e.high);
    const low = BigInt(e.low);
    const c = done.get(e.partition) ?? -1n;
    const from = c < 0n ? low : c;
    return { topic, partition: e.partition, lag: Number(high > from ? high - from : 0n), end: high, committed: c };
  });
}

export class LagSampler {
  private admin: Admin | null = null;
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  failures = 0;

  constructor(private readonly o: LagSamplerOptions) {}

  async start(): Promise<void> {
    this.admin = this.o.kafka.admin();
    await this.admin.connect();
    await this.sample();
    this.timer = setInterval(() => void this.sample(), this.o.intervalMs ?? 10_000);
    this.timer.unref();
  }

  async sample(): Promise<void> {
    if (!this.admin || this.busy) return;
    this.busy = true;
    try {
      this.o.onSample(await sampleLag(this.admin, this.o.groupId, this.o.topic));
    } catch (e) {
      this.failures++;
      this.o.onError?.(e);
    } finally {
      this.busy = false;
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const a = this.admin;
    this.admin = null;
    await a?.disconnect();
  }
}
