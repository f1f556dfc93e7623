/**
 * Dead-letter sinks: where a rejected chunk goes, with its error, so nothing is lost silently and a
 * producer can see (and replay) exactly what was refused and why.
 *
 * Record layout (Kafka and memory alike): the original key, value and headers, plus
 *   x-error-code       stable code from src/core/errors.ts (e.g. CHUNK_BAD_SAMPLE_RATE)
 *   x-error-message    the rendered message
 *   x-source-topic / x-source-partition / x-source-offset   where the chunk was read
 *   x-dead-lettered-at unix ms (wall clock) of the rejection
 * Kafka: written to `<source topic>.dlq` (suffix configurable), same key, so a call's rejects stay
 * ordered. kafkajs stays behind `DeadLetterProducer` (any client with `send` fits).
 */
import type { DeadLetterSink, RawChunk } from '../core/ports.js';

export const DLQ_HEADERS = {
  code: 'x-error-code',
  message: 'x-error-message',
  topic: 'x-source-topic',
  partition: 'x-source-partition',
  offset: 'x-source-offset',
  at: 'x-dead-lettered-at',
} as const;

/** One dead-letter record, ready for a producer. */
export interface DeadLetterRecord {
  topic: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | string>;
}

/** Builds the dead-letter record for a rejected chunk (pure; both sinks use it). */
export function deadLetterRecord(raw: RawChunk, error: { code: string; message: string }, nowWallMs: number, suffix = '.dlq'): DeadLetterRecord {
  const headers: Record<string, Buffer | string> = {};
  for (const [k, v] of Object.entries(raw.headers)) if (v !== undefined) headers[k] = v;
  headers[DLQ_HEADERS.code] = error.code;
  headers[DLQ_HEADERS.message] = error.message;
  headers[DLQ_HEADERS.topic] = raw.source.topic;
  headers[DLQ_HEADERS.partition] = String(raw.source.partition);
  headers[DLQ_HEADERS.offset] = raw.source.offset;
  headers[DLQ_HEADERS.at] = String(nowWallMs);
  return { topic: `${raw.source.topic}${suffix}`, key: raw.key, value: raw.value, headers };
}

/** The slice of a Kafka producer this sink needs (kafkajs Producer and the Confluent client fit). */
export interface DeadLetterProducer {
  send(record: { topic: string; messages: { key: Buffer | null; value: Buffer | null; headers: Record<string, Buffer | string> }[] }): Promise<unknown>;
}

export interface KafkaDeadLetterOptions {
  /** A connected producer; the sink does not own its lifecycle. */
  producer: DeadLetterProducer;
  /** Appended to the source topic. Default '.dlq'. */
  topicSuffix?: string;
  now?: () => number;
}

/** Writes each rejected chunk to `<topic>.dlq`. A send failure propagates (the caller retries;
 *  the chunk is not released until its dead-letter record is written). */
export class KafkaDeadLetterSink implements DeadLetterSink {
  private readonly suffix: string;
  private readonly now: () => number;
  constructor(private readonly options: KafkaDeadLetterOptions) {
    this.suffix = options.topicSuffix ?? '.dlq';
    this.now = options.now ?? Date.now;
  }

  async deadLetter(raw: RawChunk, error: { code: string; message: string }): Promise<void> {
    const { topic, key, value, headers } = deadLetterRecord(raw, error, this.now(), this.suffix);
    await this.options.producer.send({ topic, messages: [{ key, value, headers }] });
  }
}

export interface MemoryDeadLetterOptions {
  /** Records kept. Default 1000. Overflow policy: sliding (the oldest record is dropped). */
  capacity?: number;
  now?: () => number;
}

/** In-memory dead letters (embedded mode and tests): a bounded ring plus counts by code. */
export class MemoryDeadLetterSink implements DeadLetterSink {
  private readonly ring: DeadLetterRecord[] = [];
  private readonly capacity: number;
  private readonly now: () => number;
  /** Records dropped by the sliding policy. */
  dropped = 0;
  /** Every dead letter ever written, by error code (not bounded by the ring). */
  readonly countByCode = new Map<string, number>();

  constructor(options: MemoryDeadLetterOptions = {}) {
    this.capacity = options.capacity ?? 1000;
    this.now = options.now ?? Date.now;
    if (!(Number.isInteger(this.capacity) && this.capacity > 0)) throw new RangeError(`capacity must be a positive integer, got ${this.capacity}`);
  }

  async deadLetter(raw: RawChunk, error: { code: string; message: string }): Promise<void> {
    this.ring.push(deadLetterRecord(raw, error, this.now()));
    if (this.ring.length > this.capacity) {
      this.ring.shift();
      this.dropped++;
    }
    this.countByCode.set(error.code, (this.countByCode.get(error.code) ?? 0) + 1);
  }

  /** The records kept, oldest first. */
  records(): readonly DeadLetterRecord[] {
    return this.ring;
  }
}
