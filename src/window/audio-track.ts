/**
 * A channel's audio as one contiguous buffer on the event-time axis, fed to the VAD as it grows.
 * Chunks are placed by their event time: jitter up to 1 ms is absorbed, overlaps are trimmed
 * (the earlier audio wins), gaps up to `maxGapMs` are filled with silence. Sealed audio is
 * discarded from the front, so memory follows the unsealed span (bounded by maxBufferedMs).
 */
import type { VadOptions } from './options.js';
import { Vad } from './vad.js';

export class AudioTrack {
  /** Event time of absolute sample 0, ms. */
  private originMs: number;
  private buf: Float32Array;
  /** Where the valid samples start in buf (sealed samples before it are dropped lazily). */
  private off = 0;
  /** Absolute index of buf[off]. */
  private base = 0;
  /** Valid samples in buf from off. */
  private len = 0;
  readonly vad: Vad;
  private readonly jitter: number;

  constructor(private readonly rate: number, startMs: number, vad: VadOptions, private readonly maxGapMs: number) {
    this.originMs = startMs;
    this.buf = new Float32Array(rate); // 1 s, grows by doubling
    this.vad = new Vad(vad, rate, startMs);
    this.jitter = Math.ceil(rate / 1000);
  }

  private idx(ms: number): number {
    return Math.round(((ms - this.originMs) * this.rate) / 1000);
  }

  private time(idx: number): number {
    return this.originMs + (idx * 1000) / this.rate;
  }

  /** Event time just after the last sample, ms. */
  get endMs(): number {
    return this.time(this.base + this.len);
  }

  /** Samples held (for bounds and tests). */
  get heldSamples(): number {
    return this.len;
  }

  /** Samples the buffer has room for: the memory it takes (sealed space is reclaimed lazily). */
  get capacitySamples(): number {
    return this.buf.length;
  }

  /** Gives back the room beyond what is held (the window's open budget), keeping 100 ms spare. */
  trim(): void {
    const size = this.len + Math.ceil(this.rate / 10);
    if (size >= this.buf.length) return;
    this.buf = this.buf.slice(this.off, this.off + size);
    this.off = 0;
  }

  /**
   * Places a chunk. Returns false (nothing appended) when it starts more than maxGapMs after the
   * end: the caller seals what it has and calls restart(startMs) first.
   */
  append(startMs: number, samples: Float32Array): boolean {
    const end = this.base + this.len;
    let at = this.idx(startMs);
    if (Math.abs(at - end) <= this.jitter) at = end;
    if (at > end) {
      if (((at - end) * 1000) / this.rate > this.maxGapMs) return false;
      this.write(new Float32Array(at - end));
    }
    const skip = Math.max(0, end - at);
    if (skip < samples.length) this.write(skip ? samples.subarray(skip) : samples);
    return true;
  }

  /** Starts afresh at `startMs` (after a gap longer than maxGapMs): the old audio is dropped. */
  restart(startMs: number): void {
    this.vad.reset(startMs);
    this.originMs = startMs;
    this.base = 0;
    this.off = 0;
    this.len = 0;
  }

  /** Audio in [aMs, bMs), at most `maxSamples`; null when the range holds none. */
  slice(aMs: number, bMs: number, maxSamples: number): Float32Array | null {
    const a = Math.max(this.idx(aMs), this.base);
    const b = Math.min(this.idx(bMs), this.base + this.len, a + maxSamples);
    if (b <= a) return null;
    return this.buf.slice(this.off + a - this.base, this.off + b - this.base);
  }

  /** A view (no copy) of the audio in [aMs, bMs); empty when the range holds none. Valid until
   *  the next append or discard. */
  view(aMs: number, bMs: number): Float32Array {
    const a = Math.max(this.idx(aMs), this.base);
    const b = Math.min(this.idx(bMs), this.base + this.len);
    return b <= a ? new Float32Array(0) : this.buf.subarray(this.off + a - this.base, this.off + b - this.base);
  }

  /** Forgets audio before `ms` (sealed). O(1): the space is reclaimed when the buffer fills. */
  discardBefore(ms: number): void {
    const cut = Math.min(Math.max(this.idx(ms), this.base), this.base + this.len) - this.base;
    if (cut <= 0) return;
    this.off += cut;
    this.base += cut;
    this.len -= cut;
  }

  private write(samples: Float32Array): void {
    if (this.off + this.len + samples.length > this.buf.length) {
      // Compact first; grow (x2) only when the live samples need it; shrink after a long stretch.
      const need = this.len + samples.length;
      let size = this.buf.length;
      while (size < need) size *= 2;
      if (size > 4 * this.rate && need < size / 4) size = Math.max(this.rate, need * 2);
      const next = size === this.buf.length ? this.buf : new Float32Array(size);
      if (next === this.buf) this.buf.copyWithin(0, this.off, this.off + this.len);
      else next.set(this.buf.subarray(this.off, this.off + this.len));
      this.buf = next;
      this.off = 0;
    }
    this.buf.set(samples, this.off + this.len);
    this.len += samples.length;
    this.vad.push(samples);
  }
}
