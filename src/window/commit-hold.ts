/**
 * Commit holds: the record that opened a call stays unreleased (so its partition's commit point
 * stays at or before it) until the call's final status (ENDED / TIMED_OUT) is stored. An instance
 * that takes the partition over then reads the call from its first record and windows it exactly
 * as its first owner did (hand-over replay, src/window/partitioned-window.ts), instead of
 * continuing from a stored cut with a fresh window state.
 *
 * Why this cannot deadlock: the source never pauses on unreleased records (docs/lifecycle.md,
 * flow control), so the later records that end the call (call_end) keep arriving, and an idle
 * call is timed out by the wall clock; either stores the final status, which releases the hold.
 *
 * Bounds (a hold is given up, and the call's later hand-over is the approximate cut path):
 * - `maxSpanMs`: the call is open longer than this, event time from its first record;
 * - `maxRecords`: holding it would keep more than this many records of its partition
 *   uncommitted (offsets after it; every one is tracked by the source's OffsetTracker);
 * - the window sealed the call early for the sake of other calls (open budget): its cuts then
 *   depend on more than its own records, so a replay would not reproduce them;
 * - shutdown (`releaseAll`): the flush seals open calls at the stop, cuts a replay would not make.
 * A given-up hold whose record was already finished is released at once; otherwise the record's
 * own release passes through when it comes.
 */
import type { ChunkSourceRef } from '../core/types.js';

export interface CommitHoldOptions {
  /** Event-time span of a call beyond which its hold is given up, ms. 0: no holds at all. */
  maxSpanMs: number;
  /** Records of a partition a hold may keep uncommitted (offsets after the held one). */
  maxRecords: number;
  /** Told when a hold is given up, and why (metrics). */
  onGiveUp?: (reason: HoldGiveUp) => void;
}

export type HoldGiveUp = 'span' | 'records' | 'early-seal' | 'shutdown';

interface Hold {
  ref: ChunkSourceRef;
  offset: bigint;
  /** Event time of the call's first record, ms. */
  startMs: number;
  /** The pipeline tried to release the record (its work is done): release it when the hold ends. */
  finished: boolean;
}

const refKey = (r: ChunkSourceRef): string => `${r.topic}\u0000${r.partition}\u0000${r.offset}`;

export class CommitHolds {
  /** partition key -> call key -> hold; insertion order is offset order within a partition. */
  private readonly byPart = new Map<string, Map<string, Hold>>();
  /** ref key -> [partition key, call key] of the hold on that record. */
  private readonly byRef = new Map<string, [string, string]>();

  constructor(private readonly o: CommitHoldOptions) {}

  get enabled(): boolean {
    return this.o.maxSpanMs > 0 && this.o.maxRecords > 0;
  }

  /** Holds `ref`, the record that opened call `key` of partition `part`. */
  hold(part: string, key: string, ref: ChunkSourceRef, startMs: number): void {
    if (!this.enabled) return;
    let holds = this.byPart.get(part);
    if (!holds) this.byPart.set(part, (holds = new Map()));
    holds.set(key, { ref, offset: BigInt(ref.offset), startMs, finished: false });
    this.byRef.set(refKey(ref), [part, key]);
  }

  /** True while call `key` of `part` holds its first record. */
  holds(part: string, key: string): boolean {
    return this.byPart.get(part)?.has(key) ?? false;
  }

  /** Of refs the pipeline is done with, those that may be released now; held ones are noted. */
  releasable(refs: readonly ChunkSourceRef[]): ChunkSourceRef[] {
    if (this.byRef.size === 0) return [...refs];
    const out: ChunkSourceRef[] = [];
    for (const r of refs) {
      const at = this.byRef.get(refKey(r));
      const h = at && this.byPart.get(at[0])?.get(at[1]);
      if (h) h.finished = true;
      else out.push(r);
    }
    return out;
  }

  /** The call's final status is stored: ends its hold; the record to release now, if any. */
  end(part: string, key: string): ChunkSourceRef[] {
    return this.remove(part, key);
  }

  /**
   * Applies the bounds after a record of call `key` at event time `eventTimeMs`; `seen` is the
   * partition's highest offset read. Returns the held records to release now.
   */
  check(part: string, key: string, eventTimeMs: number, seen: bigint | undefined): ChunkSourceRef[] {
    const holds = this.byPart.get(part);
    if (!holds) return [];
    const out: ChunkSourceRef[] = [];
    const own = holds.get(key);
    if (own && eventTimeMs - own.startMs > this.o.maxSpanMs) out.push(...this.giveUp(part, key, 'span'));
    if (seen === undefined) return out;
    for (const [k, h] of holds) {
      if (seen - h.offset <= BigInt(this.o.maxRecords)) break; // oldest first
      out.push(...this.giveUp(part, k, 'records'));
    }
    return out;
  }

  /** Gives up the hold of call `key` (see the bounds above). */
  giveUp(part: string, key: string, reason: HoldGiveUp): ChunkSourceRef[] {
    if (!this.holds(part, key)) return [];
    this.o.onGiveUp?.(reason);
    return this.remove(part, key);
  }

  /** Shutdown: every hold is given up (the flush seals their calls). */
  releaseAll(): ChunkSourceRef[] {
    const out: ChunkSourceRef[] = [];
    for (const [part, holds] of [...this.byPart]) for (const key of [...holds.keys()]) out.push(...this.giveUp(part, key, 'shutdown'));
    return out;
  }

  /** The partition left this instance: its holds go with it (the new owner reads from the commit). */
  drop(part: string): void {
    const holds = this.byPart.get(part);
    if (!holds) return;
    for (const h of holds.values()) this.byRef.delete(refKey(h.ref));
    this.byPart.delete(part);
  }

  /** Holds in place (tests, metrics). */
  get size(): number {
    return this.byRef.size;
  }

  private remove(part: string, key: string): ChunkSourceRef[] {
    const holds = this.byPart.get(part);
    const h = holds?.get(key);
    if (!holds || !h) return [];
    holds.delete(key);
    if (holds.size === 0) this.byPart.delete(part);
    this.byRef.delete(refKey(h.ref));
    return h.finished ? [h.ref] : [];
  }
}
