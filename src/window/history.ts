/**
 * Sealed segments kept for late transcripts. A text chunk that lands on a sealed segment makes a
 * revision of it (same index, revision + 1, same audio and video, the text added).
 *
 * Bounds, both `drop-oldest`: `historySize` segments per channel, and `historyBudget` audio
 * samples + video floats across every channel of every call (one FIFO), so many calls cannot
 * hold more than the budget however long their segments are. A transcript for a dropped
 * segment is CHUNK_TOO_LATE.
 */
import type { Segment } from '../core/types.js';

export interface HistoryEntry {
  /** The latest revision of the segment. */
  segment: Segment;
  cost: number;
  dropped: boolean;
}

export class HistoryBudget {
  private readonly fifo = new Set<HistoryEntry>();
  private total = 0;

  constructor(private readonly budget: number) {}

  add(entry: HistoryEntry): void {
    this.fifo.add(entry);
    this.total += entry.cost;
    for (const old of this.fifo) {
      if (this.total <= this.budget) break;
      this.remove(old);
    }
  }

  remove(entry: HistoryEntry): void {
    if (!this.fifo.delete(entry)) return;
    entry.dropped = true;
    this.total -= entry.cost;
  }

  /** Samples + floats held (tests, metrics). */
  get held(): number {
    return this.total;
  }
}

/** One channel's sealed segments, oldest first. */
export class ChannelHistory {
  private entries: HistoryEntry[] = [];

  constructor(private readonly size: number, private readonly budget: HistoryBudget) {}

  add(segment: Segment): void {
    const entry: HistoryEntry = { segment, cost: (segment.audio?.length ?? 0) + (segment.video?.length ?? 0), dropped: false };
    this.entries.push(entry);
    this.budget.add(entry);
    while (this.entries.length > this.size) this.budget.remove(this.entries.shift()!);
    this.entries = this.entries.filter((e) => !e.dropped);
  }

  /** The kept segment overlapping [startMs, endMs] the most (ties: the earlier), or null. */
  find(startMs: number, endMs: number): HistoryEntry | null {
    let best: HistoryEntry | null = null;
    let bestOverlap = -1;
    for (const e of this.entries) {
      if (e.dropped) continue;
      const s = e.segment;
      // A zero-length piece (a word stamped at one instant) overlaps the segment it lies in.
      const overlap = Math.min(endMs, s.endMs) - Math.max(startMs, s.startMs);
      const inside = startMs === endMs && startMs >= s.startMs && startMs < s.endMs;
      if ((overlap > 0 || inside) && overlap > bestOverlap) {
        best = e;
        bestOverlap = overlap;
      }
    }
    return best;
  }

  /** Releases every entry (call forgotten). */
  clear(): void {
    for (const e of this.entries) this.budget.remove(e);
    this.entries = [];
  }
}
