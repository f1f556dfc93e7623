/**
 * One subscriber's stream: a bounded queue between the hub (push, synchronous, never blocks
 * the publisher) and the consumer (an async iterator, as graphql-ws expects).
 *
 * States only move forward: open -> failed (overflow under policy 'close'; the consumer gets
 * SUBSCRIBER_TOO_SLOW on its next read) -> closed. `return()` from any state closes it, frees
 * its queue and removes it from the hub.
 */
import { AppError } from '../core/errors.js';
import type { FeedOptions } from '../core/ports.js';
import { BoundedQueue } from './bounded-queue.js';

/** A subscriber's queue bound and overflow policy (declared with the ports: core/ports.ts). */
export type SubscriptionOptions = FeedOptions;

/** Default per-subscriber queue bound, in events. */
export const DEFAULT_SUBSCRIBER_CAPACITY = 256;

type State = 'open' | 'failed' | 'closed';

export class HubSubscription<T> implements AsyncIterableIterator<T> {
  /** Events discarded by 'drop-oldest' since this subscription opened. */
  dropped = 0;
  private state: State = 'open';
  private readonly queue: BoundedQueue<T>;
  private waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | null = null;
  private failure: AppError | null = null;
  /** Set by end(): finish once the queue is drained. */
  private ending = false;

  /**
   * @param onClose called once when the subscription leaves the open state, so the hub can forget it.
   * @param onOverflow called with 'dropped' or 'closed' on every overflow, for the hub's counters.
   */
  constructor(
    opts: SubscriptionOptions,
    private readonly onClose: () => void,
    private readonly onOverflow: (what: 'dropped' | 'closed') => void = () => {},
  ) {
    this.queue = new BoundedQueue<T>(opts.capacity ?? DEFAULT_SUBSCRIBER_CAPACITY, opts.policy ?? 'drop-oldest');
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  /** Events waiting for the consumer. */
  get backlog(): number {
    return this.queue.length;
  }

  /** Hands an event to this subscriber. Synchronous and O(1): a slow consumer never slows the hub. */
  push(event: T): void {
    if (this.state !== 'open') return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.resolve({ value: event, done: false });
      return;
    }
    const r = this.queue.push(event);
    if (r === 'dropped-oldest') {
      this.dropped++;
      this.onOverflow('dropped');
    } else if (r === 'overflow') {
      this.state = 'failed';
      this.failure = new AppError('SUBSCRIBER_TOO_SLOW', { behind: this.queue.capacity, policy: 'closed' });
      this.queue.clear();
      this.onOverflow('closed');
      this.detach(); // stop receiving now, even if the consumer never reads again
      // The consumer is not waiting (else there would be no backlog); it meets the error on its next read.
    }
  }

  /** Ends the stream from the server side (shutdown): the consumer reads what is queued, then done. */
  end(): void {
    if (this.state === 'closed') return;
    if (this.waiter) {
      this.finish();
      return;
    }
    // Leave queued events readable; next() finishes once they are drained.
    this.ending = true;
  }

  async next(): Promise<IteratorResult<T>> {
    if (this.state === 'failed') {
      const e = this.failure!;
      this.finish();
      throw e;
    }
    if (this.state === 'closed') return { value: undefined, done: true };
    if (this.queue.length > 0) return { value: this.queue.shift() as T, done: false };
    if (this.ending) {
      this.finish();
      return { value: undefined, done: true };
    }
    if (this.waiter) throw new AppError('INTERNAL', { reason: 'concurrent next() on a subscription' });
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  async return(): Promise<IteratorResult<T>> {
    this.finish();
    return { value: undefined, done: true };
  }

  async throw(error?: unknown): Promise<IteratorResult<T>> {
    this.finish();
    throw error;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private finish(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.queue.clear();
    const w = this.waiter;
    this.waiter = null;
    w?.resolve({ value: undefined, done: true });
    this.detach();
  }

  private detached = false;

  /** Removes this subscription from its hub, once, when it leaves the open state. */
  private detach(): void {
    if (this.detached) return;
    this.detached = true;
    this.onClose();
  }
}
