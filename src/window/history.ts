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

/** One transcript piece of a sealed segment: its utterance id (null when the producer sent none) and text. */
export interface TranscriptPart {
  id: string | null;
  text: string;
}

/** A segment's text and utterance ids from its parts, in order (text null when there are none). */
export function transcriptOf(parts: TranscriptPart[]): { text: string | null; utteranceIds: string[] } {
  const ids: string[] = [];
  for (const p of parts) if (p.id !== null && !ids.includes(p.id)) ids.push(p.id);
  return { text: parts.length ? parts.map((p) => p.text).join(' ') : null, utteranceIds: ids };
}

export interface HistoryEntry {
  /** The latest revision of the segment. */
  segment: Segment;
  /** The transcript pieces its text is made of, so a later piece of one utterance can replace its own. */
  parts: TranscriptPart[];
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

  add(segment: Segment, parts: TranscriptPart[] = []): void {
    const entry: HistoryEntry = { segment, parts, cost: (segment.audio?.length ?? 0) + (segment.video?.length ?? 0), dropped: false };
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

  /** The kept segment holding a piece of utterance `id`, or null. */
  findUtterance(id: string): HistoryEntry | null {
    for (const e of this.entries) if (!e.dropped && e.parts.some((p) => p.id === id)) return e;
    return null;
  }

  /** Releases every entry (call forgotten). */
  clear(): void {
    for (const e of this.entries) this.budget.remove(e);
    this.entries = [];
  }
}
