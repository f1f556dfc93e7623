/**
 * Sequence checks for one (call, channel, modality) stream, with a small reorder buffer.
 *
 * - seq == next: delivered, then any buffered successors in order.
 * - seq > next: held until the gap fills. When more than `window` chunks are held, the gap is
 *   given up: delivery jumps to the lowest held seq and the skipped seqs are remembered, so one
 *   that turns up later is CHUNK_OUT_OF_ORDER (not a duplicate).
 * - seq < next, or already held: CHUNK_DUPLICATE, unless it was skipped: CHUNK_OUT_OF_ORDER.
 *
 * Bounds: `window` held chunks; `maxSkipped` remembered skipped seqs (oldest forgotten first;
 * a forgotten one that still turns up reads as a duplicate).
 */
import { AppError } from '../core/errors.js';
import type { MediaChunk } from '../core/types.js';

export interface SeqResult<C> {
  /** Chunks now in order, to process. */
  deliver: C[];
  /** This chunk's rejection, if any. */
  error?: AppError;
}

export class SeqTracker<C extends MediaChunk> {
  private held = new Map<number, C>();
  private skipped: number[] = [];

  /** @param next first expected seq (0 for a call opened by call_start). */
  constructor(private next: number, private readonly window: number, private readonly maxSkipped = 256) {}

  offer(chunk: C): SeqResult<C> {
    const { seq } = chunk;
    if (seq < this.next || this.held.has(seq)) {
      const code = this.skipped.includes(seq) ? 'CHUNK_OUT_OF_ORDER' : 'CHUNK_DUPLICATE';
      const error = new AppError(code, {
        seq, lastSeq: this.next - 1, callId: chunk.callId, channel: chunk.channel, modality: chunk.modality,
      });
      return { deliver: [], error };
    }
    if (seq > this.next) {
      this.held.set(seq, chunk);
      return { deliver: this.held.size > this.window ? this.giveUpGap() : [] };
    }
    return { deliver: [chunk, ...this.drain(seq + 1)] };
  }

  /** Delivers everything held, giving up every gap (call end, forced seal). */
  flush(): C[] {
    const out: C[] = [];
    while (this.held.size) out.push(...this.giveUpGap());
    return out;
  }

  get heldCount(): number {
    return this.held.size;
  }

  private giveUpGap(): C[] {
    const lowest = Math.min(...this.held.keys());
    for (let s = Math.max(this.next, lowest - this.maxSkipped); s < lowest; s++) this.skipped.push(s);
    if (this.skipped.length > this.maxSkipped) this.skipped.splice(0, this.skipped.length - this.maxSkipped);
    const first = this.held.get(lowest)!;
    this.held.delete(lowest);
    return [first, ...this.drain(lowest + 1)];
  }

  private drain(from: number): C[] {
    const out: C[] = [];
    let s = from;
    for (let c = this.held.get(s); c; c = this.held.get(s)) {
      this.held.delete(s);
      out.push(c);
      s++;
    }
    this.next = s;
    return out;
  }
}
