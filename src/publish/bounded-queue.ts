/**
 * A fixed-capacity FIFO (ring buffer) with a named overflow policy. There is no unbounded mode:
 * every subscriber's backlog is capped, and what happens at the cap is chosen by name.
 */

/**
 * What a full queue does with one more item:
 * - 'drop-oldest': discard the oldest queued item, keep the new one, count the drop (a live
 *   dashboard wants the newest scores; old ones can be re-read from storage).
 * - 'close': refuse the item and report overflow; the owner ends the subscriber with
 *   SUBSCRIBER_TOO_SLOW (for clients that must see every event or none).
 */
export type OverflowPolicy = 'drop-oldest' | 'close';

export const OVERFLOW_POLICIES: readonly OverflowPolicy[] = ['drop-oldest', 'close'];

/** Result of a push: queued as is, queued after dropping the oldest, or refused (policy 'close'). */
export type PushResult = 'queued' | 'dropped-oldest' | 'overflow';

export class BoundedQueue<T> {
  private readonly buf: (T | undefined)[];
  private head = 0;
  private size = 0;

  /** @param capacity maximum queued items, an integer >= 1. */
  constructor(readonly capacity: number, readonly policy: OverflowPolicy) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`queue capacity must be an integer >= 1, got ${capacity}`);
    if (!OVERFLOW_POLICIES.includes(policy)) throw new RangeError(`unknown overflow policy ${String(policy)}`);
    this.buf = new Array(capacity);
  }

  get length(): number {
    return this.size;
  }

  push(item: T): PushResult {
    if (this.size < this.capacity) {
      this.buf[(this.head + this.size) % this.capacity] = item;
      this.size++;
      return 'queued';
    }
    if (this.policy === 'close') return 'overflow';
    // Full ring: the slot at head holds the oldest item; overwrite it and advance.
    this.buf[this.head] = item;
    this.head = (this.head + 1) % this.capacity;
    return 'dropped-oldest';
  }

  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.buf[this.head];
    this.buf[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.size--;
    return item;
  }

  clear(): void {
    this.buf.fill(undefined);
    this.head = 0;
    this.size = 0;
  }
}
