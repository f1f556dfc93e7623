/**
 * A bounded FIFO (ring buffer) with a named overflow policy. There is no unbounded mode:
 * every subscriber's backlog is capped, and what happens at the cap is chosen by name.
 *
 * Storage grows only as items arrive: the ring starts at MIN_SLOTS, doubles when full (up to
 * `capacity`) and goes back to MIN_SLOTS once drained. A bound is a ceiling, not a reservation:
 * 40,000 idle resume subscriptions with a 4,096-event bound used to reserve 40,000 x 4,096
 * slots (issue 13: 1.9 GB); now they hold 40,000 x MIN_SLOTS.
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

/** Slots a queue starts with (and shrinks back to when drained). */
export const MIN_SLOTS = 8;

export class BoundedQueue<T> {
  private buf: (T | undefined)[];
  private head = 0;
  private size = 0;

  /** @param capacity maximum queued items, an integer >= 1. */
  constructor(readonly capacity: number, readonly policy: OverflowPolicy) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`queue capacity must be an integer >= 1, got ${capacity}`);
    if (!OVERFLOW_POLICIES.includes(policy)) throw new RangeError(`unknown overflow policy ${String(policy)}`);
    this.buf = new Array(Math.min(capacity, MIN_SLOTS));
  }

  get length(): number {
    return this.size;
  }

  /** Slots held now (for tests and memory accounting): at most `capacity`. */
  get allocated(): number {
    return this.buf.length;
  }

  push(item: T): PushResult {
    if (this.size === this.buf.length && this.buf.length < this.capacity) this.grow();
    if (this.size < this.buf.length) {
      this.buf[(this.head + this.size) % this.buf.length] = item;
      this.size++;
      return 'queued';
    }
    if (this.policy === 'close') return 'overflow';
    // Full ring at capacity: the slot at head holds the oldest item; overwrite it and advance.
    this.buf[this.head] = item;
    this.head = (this.head + 1) % this.buf.length;
    return 'dropped-oldest';
  }

  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.buf[this.head];
    this.buf[this.head] = undefined;
    this.head = (this.head + 1) % this.buf.length;
    this.size--;
    if (this.size === 0) this.reset();
    return item;
  }

  clear(): void {
    this.size = 0;
    this.reset();
  }

  /** Doubles the ring (capped at capacity), unwrapping it so the oldest item is at slot 0. */
  private grow(): void {
    const next: (T | undefined)[] = new Array(Math.min(this.capacity, this.buf.length * 2));
    for (let i = 0; i < this.size; i++) next[i] = this.buf[(this.head + i) % this.buf.length];
    this.buf = next;
    this.head = 0;
  }

  /** Empty: give a grown ring back. */
  private reset(): void {
    this.head = 0;
    if (this.buf.length > MIN_SLOTS) this.buf = new Array(Math.min(this.capacity, MIN_SLOTS));
    else this.buf.fill(undefined);
  }
}
