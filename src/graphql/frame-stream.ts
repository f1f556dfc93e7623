/**
 * One subscriber of a shared subscription group (multiplex.ts): a bounded queue of serialised
 * `next` payloads between the group (push: synchronous, O(1), never waits on a socket) and the
 * subscriber's WebSocket. The payload is the group's; only the frame's head, which carries this
 * operation's id, is the subscriber's own, so the frame is the exact bytes graphql-ws would have
 * written: `{"id":<id>,"type":"next","payload":<payload>}`.
 *
 * One write is in flight per subscriber: the next payload is written when `ws` reports the last
 * one handed to the kernel, as graphql-ws does when it awaits each send. Payloads arriving
 * meanwhile wait in the queue, whose bound and overflow policy are the hub's (BoundedQueue):
 * 'drop-oldest' discards the oldest, 'close' ends the subscriber with SUBSCRIBER_TOO_SLOW. So a
 * slow socket costs the group one queue push per event and delays no other member.
 *
 * To graphql-ws this is the operation's async iterator. It never yields (the frames are already
 * written); its one pending `next()` settles when the stream ends: done (client completed, socket
 * closed, source ended and queue drained), or rejected with the overflow or source error, which
 * graphql-ws sends as the operation's `error` message. States only move forward:
 * open -> (ending) -> failed | closed.
 */
import { AppError } from '../core/errors.js';
import type { FeedOptions } from '../core/ports.js';
import { BoundedQueue } from '../publish/bounded-queue.js';
import { DEFAULT_SUBSCRIBER_CAPACITY } from '../publish/subscription.js';

/** The part of a `ws` WebSocket a stream writes to. */
export interface FrameSocket {
  readonly readyState: number;
  readonly OPEN: number;
  send(data: string, cb: (err?: Error) => void): void;
}

type State = 'open' | 'failed' | 'closed';

export class FrameStream implements AsyncIterableIterator<never> {
  /** Payloads discarded by 'drop-oldest' since this stream opened. */
  dropped = 0;
  private state: State = 'open';
  private readonly queue: BoundedQueue<string>;
  private readonly head: string;
  private writing = false;
  /** Set by end(): finish once the queue is drained and the last write is done. */
  private ending = false;
  private failure: unknown = null;
  private parked: { resolve: (r: IteratorResult<never>) => void; reject: (e: unknown) => void } | null = null;
  private detached = false;

  /**
   * @param id the operation's id (graphql-ws `subscribe` message).
   * @param onClose called once when the stream leaves the open state, so the group forgets it.
   * @param onOverflow called with 'dropped' or 'closed' on every overflow (counters).
   */
  constructor(
    id: string,
    private readonly socket: FrameSocket,
    opts: FeedOptions,
    private readonly onClose: () => void,
    private readonly onOverflow: (what: 'dropped' | 'closed') => void = () => {},
  ) {
    this.queue = new BoundedQueue<string>(opts.capacity ?? DEFAULT_SUBSCRIBER_CAPACITY, opts.policy ?? 'drop-oldest');
    this.head = `{"id":${JSON.stringify(id)},"type":"next","payload":`;
  }

  /** Payloads waiting for the socket (not counting the one being written). */
  get backlog(): number {
    return this.queue.length;
  }

  /** Hands one serialised `next` payload to this subscriber. */
  push(payload: string): void {
    if (this.state !== 'open' || this.ending) return;
    if (!this.writing) return this.write(payload);
    const r = this.queue.push(payload);
    if (r === 'dropped-oldest') {
      this.dropped++;
      this.onOverflow('dropped');
    } else if (r === 'overflow') {
      this.onOverflow('closed');
      this.fail(new AppError('SUBSCRIBER_TOO_SLOW', { behind: this.queue.capacity, policy: 'closed' }));
    }
  }

  /** The source ended (hub shutdown): what is queued is still written, then the stream is done. */
  end(): void {
    if (this.state !== 'open') return;
    this.ending = true;
    this.settleIfDrained();
  }

  /** Ends the stream with `error` (the source failed, or this subscriber overflowed). */
  fail(error: unknown): void {
    if (this.state !== 'open') return;
    this.state = 'failed';
    this.failure = error;
    this.queue.clear();
    this.detach();
    if (this.parked) this.settle();
  }

  next(): Promise<IteratorResult<never>> {
    if (this.parked) return Promise.reject(new AppError('INTERNAL', { reason: 'concurrent next() on a subscription' }));
    return new Promise((resolve, reject) => {
      this.parked = { resolve, reject };
      if (this.state !== 'open') this.settle();
      else this.settleIfDrained();
    });
  }

  async return(): Promise<IteratorResult<never>> {
    this.close();
    return { value: undefined, done: true };
  }

  async throw(error?: unknown): Promise<IteratorResult<never>> {
    this.close();
    throw error;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private write(payload: string): void {
    // A socket that is closing writes nothing; its close event ends the operation.
    if (this.socket.readyState !== this.socket.OPEN) return;
    this.writing = true;
    this.socket.send(`${this.head}${payload}}`, (err) => {
      this.writing = false;
      if (err) return this.fail(err);
      const next = this.queue.shift();
      if (next !== undefined && this.state === 'open') this.write(next);
      else this.settleIfDrained();
    });
  }

  private settleIfDrained(): void {
    if (this.ending && !this.writing && this.queue.length === 0 && this.state === 'open') this.close();
  }

  private close(): void {
    if (this.state === 'open') this.state = 'closed';
    this.queue.clear();
    this.detach();
    this.settle();
  }

  /** Settles the pending next(): rejected once with the failure, else done. */
  private settle(): void {
    const p = this.parked;
    if (!p) return;
    this.parked = null;
    if (this.state === 'failed' && this.failure !== null) {
      const e = this.failure;
      this.failure = null;
      this.state = 'closed';
      p.reject(e);
    } else {
      p.resolve({ value: undefined, done: true });
    }
  }

  private detach(): void {
    if (this.detached) return;
    this.detached = true;
    this.onClose();
  }
}
