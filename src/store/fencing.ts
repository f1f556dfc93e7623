/**
 * Ownership fencing, the one rule both stores apply (SQLite and PostgreSQL).
 *
 * Each source partition ("topic/partition") has an owner epoch in `partition_owners`. An instance
 * assigned a partition claims it (OwnershipStore.claimPartitions): a new owner bumps the epoch,
 * an owner that kept the partition across a rebalance keeps its own. Every write of a call
 * (segment score, revision, call status and end) carries the epoch it was made under, and the
 * store compares it with the partition's current epoch INSIDE the write's own transaction: an
 * instance that was paused (GC, frozen VM, SIGSTOP) while another took its partitions over can
 * no longer overwrite what the new owner wrote, however long its write was in flight. The check
 * is not made once before a first attempt: a retried write is checked again on each attempt.
 *
 * A refused write is STORE_FENCED (not retriable): the pipeline counts it, logs it once per
 * partition and epoch, does not retry it and does not release its chunks (the new owner re-reads
 * and writes them).
 */
import { AppError } from '../core/errors.js';
import type { FenceToken } from '../core/ports.js';

/** Throws STORE_FENCED unless `current` (the partition's stored epoch; undefined: never claimed) is the token's. */
export function checkFence(fence: FenceToken, current: number | undefined): void {
  if (current !== fence.epoch) {
    throw new AppError('STORE_FENCED', { partition: fence.partition, epoch: fence.epoch, current: current ?? 'none' });
  }
}

/** True for the error a fenced write throws. */
export function isFenced(e: unknown): e is AppError {
  return e instanceof AppError && e.code === 'STORE_FENCED';
}

/** Partition keys are what PartitionedWindow uses ("topic/partition"); bounded so a bad caller cannot grow the table's keys. */
export function checkPartitionKey(partition: string): void {
  if (typeof partition !== 'string' || partition.length === 0 || partition.length > 300) {
    throw new AppError('BAD_REQUEST', { reason: `partition key must be 1..300 characters, got ${JSON.stringify(partition)?.slice(0, 40)}` });
  }
}

/** The `held` value a claim compares with: -1 never matches a stored epoch (epochs start at 1). */
export const NOT_HELD = -1;
