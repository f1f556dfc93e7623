/**
 * The ingest stage: a ChunkSink that decodes every record of a batch, dead-letters and releases
 * each bad one (counted by code), and forwards each good one to the next stage (the window).
 * A bad record affects nothing but itself: the rest of its batch, and every other call, go on.
 *
 *   source --RawChunk[]--> ingest --(MediaChunk, RawChunk)--> forward (window)
 *                             └─ AppError: dead-letter, count, release
 *
 * The raw record travels with the chunk so a later rejection (e.g. the window's CHUNK_TOO_LATE)
 * can still be dead-lettered with the original bytes through `reject`.
 *
 * Shutdown: when `forward` throws SinkStopping (the pipeline is draining), this record and the
 * rest of the batch were not taken: they are neither dead-lettered nor released, and `accept`
 * throws SinkStopping with their refs so the source leaves them uncommitted for the next owner.
 */
import { backOff } from '../core/retry.js';
import { AppError, toAppError, type ErrorCode } from '../core/errors.js';
import type { ChunkSink, ChunkSource, DeadLetterKind, DeadLetterSink, RawChunk } from '../core/ports.js';
import { SinkStopping } from '../core/stopping.js';
import type { MediaChunk } from '../core/types.js';

export { createDecoder, decodeChunk, type DecodeOptions } from './decode.js';
export { encodeChunk, type WireRecord } from './encode.js';
export { MemorySource, type MemorySourceOptions } from './memory-source.js';
export { KafkaDeadLetterSink, MemoryDeadLetterSink, deadLetterRecord, referenceRecord, DLQ_HEADERS } from './dead-letter.js';
export { OffsetTracker } from './offset-tracker.js';

export interface IngestOptions {
  /** Where released records are acked (its `release`). */
  source: Pick<ChunkSource, 'release'>;
  /** Usually createDecoder(...) with the model manifest's rate and video featureDim. */
  decode: (raw: RawChunk) => MediaChunk;
  deadLetters: DeadLetterSink;
  /** Receives each valid chunk in order; awaited (backpressure). A throw rejects that chunk. */
  forward: (chunk: MediaChunk, raw: RawChunk) => void | Promise<void>;
  /** Called once per rejected record, before its dead letter is written (logs). */
  onRejected?: (raw: RawChunk, error: AppError) => void;
  /** Called once its dead letter is written, as a copy or a reference (dead_letters_total counts
   *  these, so it counts only letters that exist). */
  onDeadLettered?: (raw: RawChunk, error: AppError, kind: DeadLetterKind) => void;
  /** Called for each failed attempt to write a dead letter (the attempt is retried). */
  onDeadLetterFailed?: (raw: RawChunk, error: AppError, cause: unknown) => void;
  /** Tries to write a dead letter before the batch fails (and is redelivered). Default 5. */
  deadLetterAttempts?: number;
  /** Backoff base between dead-letter tries, ms (doubling). Default 50. */
  deadLetterBackoffMs?: number;
}

export interface Ingest extends ChunkSink {
  /** Rejections so far, by code. */
  readonly rejectedByCode: ReadonlyMap<ErrorCode, number>;
  /** Dead-letters, counts and releases one record (also for rejections by later stages). */
  reject(raw: RawChunk, error: AppError): Promise<void>;
}

export function createIngest(options: IngestOptions): Ingest {
  const attempts = options.deadLetterAttempts ?? 5;
  const backoff = options.deadLetterBackoffMs ?? 50;
  const counts = new Map<ErrorCode, number>();

  async function reject(raw: RawChunk, error: AppError): Promise<void> {
    counts.set(error.code, (counts.get(error.code) ?? 0) + 1);
    options.onRejected?.(raw, error);
    for (let attempt = 1; ; attempt++) {
      try {
        const kind = await options.deadLetters.deadLetter(raw, { code: error.code, message: error.message });
        options.onDeadLettered?.(raw, error, kind ?? 'copy');
        break;
      } catch (e) {
        options.onDeadLetterFailed?.(raw, error, e);
        // Not released: if the dead-letter topic stays down, the batch fails and is redelivered
        // rather than the record being lost.
        if (attempt >= attempts) throw toAppError(e, 'INTERNAL');
        await backOff(attempt, { baseMs: backoff });
      }
    }
    options.source.release([raw.source]);
  }

  return {
    rejectedByCode: counts,
    reject,
    async accept(batch: RawChunk[]): Promise<void> {
      for (const [i, raw] of batch.entries()) {
        let chunk: MediaChunk;
        try {
          chunk = options.decode(raw);
        } catch (e) {
          await reject(raw, toAppError(e, 'CHUNK_BAD_PAYLOAD'));
          continue;
        }
        try {
          await options.forward(chunk, raw);
        } catch (e) {
          if (e instanceof SinkStopping) throw new SinkStopping(batch.slice(i).map((r) => r.source));
          await reject(raw, toAppError(e, 'INTERNAL'));
        }
      }
    },
  };
}
