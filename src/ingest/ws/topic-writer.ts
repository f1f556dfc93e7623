/**
 * Delivery of WebSocket-ingest records to the Kafka chunk topic, for a server that reads its
 * chunks from Kafka: the records then reach the decoder like any producer's, on whichever
 * instance owns the call's partition. An ack means the topic has the record (acks = all),
 * which is what a Kafka producer is told; refusals by the decoder or window go to the
 * dead-letter topic, as for every Kafka producer.
 *
 * Records from every socket wait in one bounded queue (`capacity`, default 4,096; `push` waits
 * while it is full, which pauses the sockets) and are written in batches of up to `maxBatch`,
 * one request at a time, so a call's records stay in order (key = call id -> one partition).
 * A batch the broker refuses is retried (`attempts`, doubling from `backoffMs`); after that its
 * records are refused with INGEST_TOPIC_UNAVAILABLE (retriable: the producer may send them again).
 */
import { backOff } from '../../core/retry.js';
import { AppError } from '../../core/errors.js';
import type { RecordOutcome } from './outcomes.js';
import type { ContractRecord } from './session.js';

/** The slice of a producer this needs: src/kafka/producer.ts's, which is acks=all for every send
 *  (the client takes acks only as a producer setting). */
export interface TopicProducer {
  send(request: { topic: string; messages: { key: Buffer; value: Buffer; headers: Record<string, string> }[] }): Promise<unknown>;
}

export interface TopicWriterOptions {
  producer: TopicProducer;
  topic: string;
  /** Records waiting to be written before push waits. Default 4096. */
  capacity?: number;
  /** Records per request. Default 500. */
  maxBatch?: number;
  /** Tries per batch. Default 5. */
  attempts?: number;
  /** First retry delay, ms (doubling). Default 100. */
  backoffMs?: number;
}

interface Pending {
  record: ContractRecord;
  outcome: RecordOutcome;
}

export class TopicWriter {
  private readonly queue: Pending[] = [];
  private spaceWaiters: (() => void)[] = [];
  private writing: Promise<void> | null = null;
  private readonly o: Required<TopicWriterOptions>;

  constructor(options: TopicWriterOptions) {
    this.o = { capacity: 4096, maxBatch: 500, attempts: 5, backoffMs: 100, ...options };
  }

  /** Queues one record (waits while the queue is full); its outcome comes once written. */
  readonly push = async (record: ContractRecord, outcome: RecordOutcome): Promise<void> => {
    while (this.queue.length >= this.o.capacity) await new Promise<void>((r) => this.spaceWaiters.push(r));
    this.queue.push({ record, outcome });
    this.writing ??= this.drain().finally(() => {
      this.writing = null;
    });
  };

  /** Resolves when everything queued so far was written or refused. */
  async idle(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.o.maxBatch);
      for (const w of this.spaceWaiters.splice(0, batch.length)) w();
      const error = await this.write(batch);
      for (const p of batch) {
        if (error) p.outcome.refused(error);
        else p.outcome.done();
      }
    }
  }

  /** Writes one batch; null when written, else the error every record of it gets. */
  private async write(batch: Pending[]): Promise<AppError | null> {
    const messages = batch.map(({ record }) => ({ key: record.key, value: record.value, headers: record.headers }));
    for (let attempt = 1; ; attempt++) {
      try {
        await this.o.producer.send({ topic: this.o.topic, messages });
        return null;
      } catch (e) {
        if (attempt >= this.o.attempts) return new AppError('INGEST_TOPIC_UNAVAILABLE', { topic: this.o.topic, reason: e instanceof Error ? e.message : String(e) }, { cause: e });
        await backOff(attempt, { baseMs: this.o.backoffMs });
      }
    }
  }
}
