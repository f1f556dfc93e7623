/**
 * Consumer lag of the chunk consumer group, per partition: the topic's end offset minus the
 * group's committed offset (records not yet finished; a partition with no commit counts from
 * its start). Sampled on a timer with one connection (src/kafka/offsets.ts, not the admin API),
 * not at scrape time, so a scraper cannot load the broker; a failed sample keeps the last values
 * and counts the failure.
 */
import { OffsetsReader } from '../kafka/offsets.js';

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
  brokers: string[];
  groupId: string;
  topic: string;
  /** Sampling period, ms. Default 10_000. */
  intervalMs?: number;
  /** Receives each sample (the app sets a gauge). */
  onSample: (lags: PartitionLag[]) => void;
  onError?: (err: unknown) => void;
}

/** One sample: end offsets vs committed offsets. */
export async function sampleLag(reader: OffsetsReader, topic: string): Promise<PartitionLag[]> {
  return (await reader.read(topic)).map((p) => {
    const from = p.committed < 0n ? p.low : p.committed;
    return { topic, partition: p.partition, lag: Number(p.high > from ? p.high - from : 0n), end: p.high, committed: p.committed };
  });
}

export class LagSampler {
  private reader: OffsetsReader | null = null;
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  failures = 0;

  constructor(private readonly o: LagSamplerOptions) {}

  async start(): Promise<void> {
    this.reader = new OffsetsReader(this.o.brokers, this.o.groupId);
    await this.reader.connect();
    await this.sample();
    this.timer = setInterval(() => void this.sample(), this.o.intervalMs ?? 10_000);
    this.timer.unref();
  }

  async sample(): Promise<void> {
    if (!this.reader || this.busy) return;
    this.busy = true;
    try {
      this.o.onSample(await sampleLag(this.reader, this.o.topic));
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
    const r = this.reader;
    this.reader = null;
    await r?.disconnect();
  }
}
