/**
 * AlertHub: in-process fan-out of alerts to GraphQL subscribers. Each subscriber has its own
 * bounded buffer (`bufferSize`, default 256) with a sliding overflow policy: when a subscriber
 * is that far behind, its oldest undelivered alert is dropped and counted (`dropped`), so one
 * slow dashboard never holds memory or slows the others. Alerts are rare (a few per call), so a
 * subscriber that hits the bound is stuck, and the dashboard re-queries `alerts` on reconnect.
 */
import type { Alert } from './alert.js';

/**
 * Which alerts a subscriber gets. Both set: one tenant's call, as (tenant, callId), because call
 * ids are unique only within a tenant. `tenant` undefined matches every tenant (operators only;
 * the resolvers always pass the caller's tenant).
 */
export interface AlertFilter {
  tenant?: string;
  callId?: string;
}

export interface AlertHubOptions {
  /** Undelivered alerts held per subscriber (default 256). */
  bufferSize?: number;
}

export class AlertHub {
  private readonly subs = new Set<Subscriber>();
  private readonly bufferSize: number;
  /** Alerts dropped by the sliding policy since start, all subscribers together. */
  dropped = 0;

  constructor(o: AlertHubOptions = {}) {
    this.bufferSize = o.bufferSize ?? 256;
  }

  /** Subscribers now. */
  get size(): number {
    return this.subs.size;
  }

  publish(alert: Alert): void {
    for (const s of this.subs) {
      if (s.filter.tenant !== undefined && s.filter.tenant !== alert.tenant) continue;
      if (s.filter.callId !== undefined && s.filter.callId !== alert.callId) continue;
      s.push(alert);
    }
  }

  /** An async iterator of matching alerts from now on; `return()` unsubscribes. */
  subscribe(filter: AlertFilter = {}): AsyncIterableIterator<Alert> {
    const sub = new Subscriber(filter, this.bufferSize, () => {
      this.dropped++;
    });
    this.subs.add(sub);
    const done = () => this.subs.delete(sub);
    return {
      [Symbol.asyncIterator]() {
        return this;
      },
      next: () => sub.next(),
      return: async () => {
        done();
        sub.close();
        return { value: undefined, done: true };
      },
      throw: async (e?: unknown) => {
        done();
        sub.close();
        throw e;
      },
    };
  }

  /** Ends every subscription (shutdown). */
  close(): void {
    for (const s of this.subs) s.close();
    this.subs.clear();
  }
}

class Subscriber {
  private readonly buffer: Alert[] = [];
  private waiting: ((r: IteratorResult<Alert>) => void) | null = null;
  private closed = false;

  constructor(
    readonly filter: AlertFilter,
    private readonly bound: number,
    private readonly onDrop: () => void,
  ) {}

  push(a: Alert): void {
    if (this.closed) return;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w({ value: a, done: false });
      return;
    }
    if (this.buffer.length >= this.bound) {
      this.buffer.shift();
      this.onDrop();
    }
    this.buffer.push(a);
  }

  next(): Promise<IteratorResult<Alert>> {
    const a = this.buffer.shift();
    if (a) return Promise.resolve({ value: a, done: false });
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((r) => {
      this.waiting = r;
    });
  }

  close(): void {
    this.closed = true;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w({ value: undefined, done: true });
    }
  }
}
