/**
 * Which Kafka offsets may be committed. A partition's records are tracked in the order they were
 * delivered; the pipeline releases them in any order (scores are stored out of order across
 * calls). The committable offset of a partition is one past the highest offset such that every
 * tracked offset at or below it was released: committing it can never skip an unfinished record.
 *
 * Offsets are decimal strings (Kafka's int64); they are compared as BigInt. Offsets of a partition
 * must be tracked in increasing order; gaps (compaction, transaction markers) are fine.
 */
import type { ChunkSourceRef } from '../core/types.js';

/** Offset to commit for a partition: the next offset to read (last finished + 1). */
export interface CommitPoint {
  topic: string;
  partition: number;
  offset: string;
}

class PartitionState {
  /** Delivered, not yet committed-past offsets, ascending (a deque: items before `head` are gone). */
  private readonly pending: bigint[] = [];
  private head = 0;
  private readonly released = new Set<bigint>();
  /** Highest offset tracked so far (redeliveries at or below it are ignored). */
  last: bigint = -1n;
  /** Next offset to commit, advanced as the head of `pending` is released; null when none yet. */
  next: bigint | null = null;
  /** The `next` value last handed out by `committable()` and confirmed by `markCommitted`. */
  committed: bigint | null = null;

  track(offset: bigint): boolean {
    if (offset <= this.last) return false;
    this.last = offset;
    this.pending.push(offset);
    return true;
  }

  release(offset: bigint): void {
    if (!this.isPending(offset)) return;
    this.released.add(offset);
    while (this.head < this.pending.length && this.released.has(this.pending[this.head])) {
      const o = this.pending[this.head++];
      this.released.delete(o);
      this.next = o + 1n;
    }
    // Compact now and then so the array does not grow with the partition's history.
    if (this.head > 1024 && this.head * 2 > this.pending.length) {
      this.pending.splice(0, this.head);
      this.head = 0;
    }
  }

  /**
   * Un-tracks offsets never handed on (a stopping sink did not take them). They are the newest
   * tracked, so the commit point can no longer pass them; a redelivery is tracked again.
   */
  forget(offsets: ReadonlySet<bigint>): void {
    const kept = this.pending.slice(this.head).filter((o) => !offsets.has(o));
    this.pending.length = 0;
    this.pending.push(...kept);
    this.head = 0;
    for (const o of offsets) this.released.delete(o);
    this.last = kept.length ? kept[kept.length - 1] : (this.next ?? 0n) - 1n;
  }

  /** Binary search: is `offset` tracked and not yet committed past? */
  private isPending(offset: bigint): boolean {
    let lo = this.head;
    let hi = this.pending.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = this.pending[mid];
      if (v === offset) return true;
      if (v < offset) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }

  /** Tracked and not yet released. */
  get inFlight(): number {
    return this.pending.length - this.head - this.released.size;
  }
}

export class OffsetTracker {
  private readonly parts = new Map<string, PartitionState>();

  private key(topic: string, partition: number): string {
    return `${topic}\u0000${partition}`;
  }

  private state(topic: string, partition: number): PartitionState {
    const k = this.key(topic, partition);
    let s = this.parts.get(k);
    if (!s) this.parts.set(k, (s = new PartitionState()));
    return s;
  }

  /** Records a delivered offset. Returns false for a redelivery (offset at or below one seen). */
  track(ref: ChunkSourceRef): boolean {
    return this.state(ref.topic, ref.partition).track(BigInt(ref.offset));
  }

  /** Marks records finished. Unknown partitions (revoked) and unknown offsets are ignored. */
  release(refs: readonly ChunkSourceRef[]): void {
    for (const r of refs) this.parts.get(this.key(r.topic, r.partition))?.release(BigInt(r.offset));
  }

  /** Tracked-but-unreleased records of a partition (stop waits for them; tests, metrics). */
  inFlight(topic: string, partition: number): number {
    return this.parts.get(this.key(topic, partition))?.inFlight ?? 0;
  }

  /** Partitions whose commit point moved since the last markCommitted, with that point. */
  committable(): CommitPoint[] {
    const out: CommitPoint[] = [];
    for (const [k, s] of this.parts) {
      if (s.next !== null && s.next !== s.committed) {
        const [topic, p] = k.split('\u0000');
        out.push({ topic, partition: Number(p), offset: s.next.toString() });
      }
    }
    return out;
  }

  /** Confirms commits (only points not overtaken since are recorded). */
  markCommitted(points: readonly CommitPoint[]): void {
    for (const p of points) {
      const s = this.parts.get(this.key(p.topic, p.partition));
      const o = BigInt(p.offset);
      if (s && (s.committed === null || o > s.committed)) s.committed = o;
    }
  }

  /** Un-tracks records delivered but never handed on (see PartitionState.forget). */
  forget(refs: readonly ChunkSourceRef[]): void {
    const by = new Map<string, Set<bigint>>();
    for (const r of refs) {
      const k = this.key(r.topic, r.partition);
      if (!by.has(k)) by.set(k, new Set());
      by.get(k)!.add(BigInt(r.offset));
    }
    for (const [k, offsets] of by) this.parts.get(k)?.forget(offsets);
  }

  /** Forgets a partition (revoked in a rebalance): its late releases are then ignored. */
  drop(topic: string, partition: number): void {
    this.parts.delete(this.key(topic, partition));
  }

  /** Keeps only the given partitions (the new assignment), dropping the rest. */
  retain(assignment: Record<string, readonly number[]>): void {
    for (const k of [...this.parts.keys()]) {
      const [topic, p] = k.split('\u0000');
      if (!assignment[topic]?.includes(Number(p))) this.parts.delete(k);
    }
  }

  /** Partitions currently tracked, as "topic/partition" (for logs and tests). */
  partitions(): string[] {
    return [...this.parts.keys()].map((k) => k.replace('\u0000', '/'));
  }
}
