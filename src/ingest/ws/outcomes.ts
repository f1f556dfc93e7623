/**
 * What became of each record a socket pushed: the pipeline releases a record once the scores of
 * every segment it fed are stored and published (or it fed none), and rejects it (dead-letter)
 * with a typed error otherwise. The WebSocket ingest asks to hear of both for its own records,
 * keyed by the source ref the in-process source gave the record, so the producer gets an ack
 * or an error frame per record. Entries live only while their record is in the pipeline, which
 * the source queue and the window bound.
 */
import type { AppError } from '../../core/errors.js';
import type { ChunkSourceRef } from '../../core/types.js';

export interface RecordOutcome {
  /** The record is finished: stored and published, or nothing to score (silence, control). */
  done(): void;
  /** The record was refused by the decoder or the window. */
  refused(error: AppError): void;
}

const keyOf = (ref: ChunkSourceRef): string => `${ref.topic}/${ref.partition}/${ref.offset}`;

export class RecordOutcomes {
  private readonly pending = new Map<string, RecordOutcome>();

  /** Listen for `ref`'s outcome (called as the record is queued, before it can be decoded). */
  watch(ref: ChunkSourceRef, outcome: RecordOutcome): void {
    this.pending.set(keyOf(ref), outcome);
  }

  /** The pipeline released these refs (a rejected record is released after `rejected`). */
  released(refs: readonly ChunkSourceRef[]): void {
    for (const ref of refs) {
      const k = keyOf(ref);
      const o = this.pending.get(k);
      if (!o) continue;
      this.pending.delete(k);
      o.done();
    }
  }

  /** The ingest stage refused this record (decode or window error). */
  rejected(ref: ChunkSourceRef, error: AppError): void {
    const k = keyOf(ref);
    const o = this.pending.get(k);
    if (!o) return;
    this.pending.delete(k);
    o.refused(error);
  }

  /** Records still in the pipeline that someone listens for. */
  get size(): number {
    return this.pending.size;
  }
}
