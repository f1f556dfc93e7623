/**
 * One ingest socket's messages, handled one at a time in arrival order (a call's chunks must
 * reach the source in order), with a hard bound and read backpressure.
 *
 * While a message is handled (its record waits for room in the source's bounded queue), later
 * messages wait here. At `pauseAt` waiting messages the socket stops being read (`ws.pause()`:
 * TCP flow control then slows the producer); it is read again at `resumeAt`. `ws` may still
 * emit messages it had already read before pausing, so the queue also has a hard bound
 * (`capacity`): a message over it is refused at once (`onOverflow`, INGEST_OVERLOADED), not queued.
 */
import type { WebSocket } from 'ws';

export interface InboxOptions {
  /** Messages waiting before the socket is paused. Default 16. */
  pauseAt?: number;
  /** Waiting messages at which a paused socket is read again. Default 4. */
  resumeAt?: number;
  /** Most messages waiting; one more is refused. Default 64. */
  capacity?: number;
}

export interface InboxMessage {
  /** Position on this socket, from 0, counting every message received (refused ones too). */
  index: number;
  data: Buffer;
  isBinary: boolean;
}

export class Inbox {
  private readonly queue: InboxMessage[] = [];
  private running = false;
  private paused = false;
  private closed = false;
  private received = 0;
  private idleWaiters: (() => void)[] = [];
  private readonly o: Required<InboxOptions>;

  constructor(
    private readonly ws: WebSocket,
    private readonly handle: (m: InboxMessage) => Promise<void>,
    private readonly onOverflow: (m: InboxMessage, depth: number) => void,
    options: InboxOptions = {},
  ) {
    this.o = { pauseAt: 16, resumeAt: 4, capacity: 64, ...options };
    ws.on('message', (data, isBinary) => this.offer({ index: this.received++, data: toBuffer(data), isBinary }));
  }

  /** Messages waiting (not counting the one being handled). */
  get depth(): number {
    return this.queue.length;
  }

  /** Resolves when every message received so far was handled. */
  idle(): Promise<void> {
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Drops what waits (the socket closed: nobody is left to answer). */
  close(): void {
    this.closed = true;
    this.queue.length = 0;
  }

  private offer(m: InboxMessage): void {
    if (this.closed) return;
    if (this.queue.length >= this.o.capacity) {
      this.onOverflow(m, this.queue.length);
      return;
    }
    this.queue.push(m);
    if (!this.paused && this.queue.length >= this.o.pauseAt) {
      this.paused = true;
      this.ws.pause();
    }
    void this.run();
  }

  private async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const m = this.queue.shift()!;
        if (this.paused && this.queue.length <= this.o.resumeAt) {
          this.paused = false;
          this.ws.resume();
        }
        await this.handle(m);
      }
    } finally {
      this.running = false;
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }
}

function toBuffer(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
