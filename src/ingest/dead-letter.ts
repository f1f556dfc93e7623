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
 * ordered. The Kafka client stays behind `DeadLetterProducer` (any client with `send` fits).
 *
 * Dead-lettering always succeeds while the broker answers: a copy that would not fit the broker's
 * message size (estimated against `maxMessageBytes`, or refused by the broker as too large) is
 * written as a reference instead: no payload and none of the original headers, but
 *   x-dead-letter-kind=reference, x-payload-sha256, x-payload-bytes, x-reference-reason
 * besides the error and the source position above, so the record can be found (and replayed from
 * the source topic while it is retained) and checked byte for byte. Before, such a record made the
 * batch fail and the consumer restart forever behind it (issue 13, finding 2).
 */
import { createHash } from 'node:crypto';
import type { DeadLetterKind, DeadLetterSink, RawChunk } from '../core/ports.js';
import type { MediaChunk } from '../core/types.js';
import { encodeChunk } from './encode.js';

export const DLQ_HEADERS = {
  code: 'x-error-code',
  message: 'x-error-message',
  topic: 'x-source-topic',
  partition: 'x-source-partition',
  offset: 'x-source-offset',
  at: 'x-dead-lettered-at',
  kind: 'x-dead-letter-kind',
  sha256: 'x-payload-sha256',
  bytes: 'x-payload-bytes',
  reason: 'x-reference-reason',
  reencoded: 'x-dead-letter-reencoded',
} as const;

/**
 * The record of a chunk the window rejected after holding it (reorder buffer, call end), whose
 * raw bytes were not kept: the decoded chunk encoded again (contract v1; audio at the model rate
 * the decoder resampled it to), marked `x-dead-letter-reencoded: true`, at its source position.
 * Keeping every raw record until release would double the memory of data in flight.
 */
export function reencodedRaw(chunk: MediaChunk & { source: RawChunk['source'] }): RawChunk {
  const rec = encodeChunk(chunk);
  return { key: rec.key, value: rec.value, headers: { ...rec.headers, [DLQ_HEADERS.reencoded]: 'true' }, source: chunk.source };
}

/** Longest key kept in a reference letter, bytes (a longer key is itself what was wrong). */
const MAX_REFERENCE_KEY_BYTES = 256;
/** Longest error message kept in any letter, characters. */
const MAX_MESSAGE_CHARS = 1024;
/** Per-record bytes Kafka adds beyond key, value and header bytes (record and batch framing). */
const RECORD_OVERHEAD_BYTES = 128;
/** Per-header framing bytes (varint lengths). */
const HEADER_OVERHEAD_BYTES = 10;

/** Bytes a record takes on the wire before compression (an upper estimate). */
export function recordBytes(rec: Pick<DeadLetterRecord, 'key' | 'value' | 'headers'>): number {
  let n = RECORD_OVERHEAD_BYTES + (rec.key?.length ?? 0) + (rec.value?.length ?? 0);
  for (const [k, v] of Object.entries(rec.headers)) n += HEADER_OVERHEAD_BYTES + Buffer.byteLength(k) + (typeof v === 'string' ? Buffer.byteLength(v) : v.length);
  return n;
}

/** The reference letter for a record whose copy cannot be written: where it is, what was wrong,
 *  and a fingerprint of its payload; no payload, no original headers. */
export function referenceRecord(raw: RawChunk, error: { code: string; message: string }, nowWallMs: number, reason: string, suffix = '.dlq'): DeadLetterRecord {
  const value = raw.value ?? Buffer.alloc(0);
  const headers: Record<string, Buffer | string> = {
    [DLQ_HEADERS.code]: error.code,
    [DLQ_HEADERS.message]: error.message.slice(0, MAX_MESSAGE_CHARS),
    [DLQ_HEADERS.topic]: raw.source.topic,
    [DLQ_HEADERS.partition]: String(raw.source.partition),
    [DLQ_HEADERS.offset]: raw.source.offset,
    [DLQ_HEADERS.at]: String(nowWallMs),
    [DLQ_HEADERS.kind]: 'reference',
    [DLQ_HEADERS.sha256]: createHash('sha256').update(value).digest('hex'),
    [DLQ_HEADERS.bytes]: String(value.length),
    [DLQ_HEADERS.reason]: reason.slice(0, MAX_MESSAGE_CHARS),
  };
  const key = raw.key && raw.key.length <= MAX_REFERENCE_KEY_BYTES ? raw.key : null;
  return { topic: `${raw.source.topic}${suffix}`, key, value: null, headers };
}

/** True when a producer error says the record is over the broker's size limits. */
export function isTooLarge(e: unknown): boolean {
  const t = (e as { type?: unknown })?.type;
  const msg = e instanceof Error ? e.message : String(e);
  return t === 'MESSAGE_TOO_LARGE' || t === 'RECORD_LIST_TOO_LARGE' || /too large|MESSAGE_TOO_LARGE|RECORD_LIST_TOO_LARGE/i.test(msg);
}

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
  headers[DLQ_HEADERS.message] = error.message.slice(0, MAX_MESSAGE_CHARS);
  headers[DLQ_HEADERS.kind] = 'copy';
  headers[DLQ_HEADERS.topic] = raw.source.topic;
  headers[DLQ_HEADERS.partition] = String(raw.source.partition);
  headers[DLQ_HEADERS.offset] = raw.source.offset;
  headers[DLQ_HEADERS.at] = String(nowWallMs);
  return { topic: `${raw.source.topic}${suffix}`, key: raw.key, value: raw.value, headers };
}

/** The slice of a Kafka producer this sink needs (src/kafka's Producer fits). */
export interface DeadLetterProducer {
  send(record: { topic: string; messages: { key: Buffer | null; value: Buffer | null; headers: Record<string, Buffer | string> }[] }): Promise<unknown>;
}

export interface KafkaDeadLetterOptions {
  /** A connected producer; the sink does not own its lifecycle. */
  producer: DeadLetterProducer;
  /** Appended to the source topic. Default '.dlq'. */
  topicSuffix?: string;
  /** Largest record the dead-letter topic takes, bytes: the broker's `message.max.bytes` or the
   *  topic's `max.message.bytes` (KAFKA_MAX_MESSAGE_BYTES; src/app/kafka.ts).
   *  A copy estimated larger is written as a reference at once. Default 1,000,000 (under the
   *  broker default 1,048,588). A copy the broker still refuses as too large also becomes a
   *  reference. */
  maxMessageBytes?: number;
  now?: () => number;
}

/** Writes each rejected chunk to `<topic>.dlq`, as a copy or, when the copy cannot fit, as a
 *  reference. Any other send failure propagates (the caller retries; the chunk is not released
 *  until its dead-letter record is written). */
export class KafkaDeadLetterSink implements DeadLetterSink {
  private readonly suffix: string;
  private readonly now: () => number;
  readonly maxMessageBytes: number;
  constructor(private readonly options: KafkaDeadLetterOptions) {
    this.suffix = options.topicSuffix ?? '.dlq';
    this.now = options.now ?? Date.now;
    this.maxMessageBytes = options.maxMessageBytes ?? 1_000_000;
    if (!(Number.isInteger(this.maxMessageBytes) && this.maxMessageBytes >= 4096)) throw new RangeError(`maxMessageBytes must be an integer >= 4096, got ${this.maxMessageBytes}`);
  }

  async deadLetter(raw: RawChunk, error: { code: string; message: string }): Promise<DeadLetterKind> {
    const copy = deadLetterRecord(raw, error, this.now(), this.suffix);
    const size = recordBytes(copy);
    if (size > this.maxMessageBytes) {
      await this.send(referenceRecord(raw, error, this.now(), `copy of ${size} bytes exceeds the limit of ${this.maxMessageBytes}`, this.suffix));
      return 'reference';
    }
    try {
      await this.send(copy);
      return 'copy';
    } catch (e) {
      if (!isTooLarge(e)) throw e;
      await this.send(referenceRecord(raw, error, this.now(), `broker refused the copy of ${size} bytes: ${e instanceof Error ? e.message : String(e)}`, this.suffix));
      return 'reference';
    }
  }

  private async send({ topic, key, value, headers }: DeadLetterRecord): Promise<void> {
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

  async deadLetter(raw: RawChunk, error: { code: string; message: string }): Promise<DeadLetterKind> {
    this.ring.push(deadLetterRecord(raw, error, this.now()));
    if (this.ring.length > this.capacity) {
      this.ring.shift();
      this.dropped++;
    }
    this.countByCode.set(error.code, (this.countByCode.get(error.code) ?? 0) + 1);
    return 'copy';
  }

  /** The records kept, oldest first. */
  records(): readonly DeadLetterRecord[] {
    return this.ring;
  }
}
