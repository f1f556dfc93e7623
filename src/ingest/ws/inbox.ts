/**
 * One ingest socket's messages, handled one at a time in arrival order (a call's chunks must
 * reach the source in order), with a hard bound and read backpressure.
 *
 * While a message is handled (its record waits for room in the source's bounded queue), later
 * messages wait here. Waiting messages are weighed in bytes (at least `MIN_WEIGHT` each, so a
 * flood of tiny frames is bounded too). At `pauseAtBytes` the socket stops being read
 * (`ws.pause()`: TCP flow control then slows the producer); at `resumeAtBytes` it is read again.
 * `ws` still emits what it had already read from the socket before pausing (up to one socket
 * read, 64 KiB, in practice), so the hard bound `capacityBytes` sits well above `pauseAtBytes`:
 * only a peer that ignores TCP flow control can reach it, and a message over it is refused at
 * once (`onOverflow`, INGEST_OVERLOADED), not queued.
 */
import type { WebSocket } from 'ws';

/** Least weight of one waiting message, bytes (its bookkeeping, whatever its size). */
export const MIN_WEIGHT = 512;

export interface InboxOptions {
  /** Waiting bytes at which the socket is paused. Default 256 KiB. */
  pauseAtBytes?: number;
  /** Waiting bytes at which a paused socket is read again. Default 64 KiB. */
  resumeAtBytes?: number;
  /** Most waiting bytes; a message past it is refused. Default 4 MiB. */
  capacityBytes?: number;
}

export interface InboxMessage {
  /** Position on this socket, from 0, counting every message received (refused ones too). */
  index: number;
  data: Buffer;
  isBinary: boolean;
}

const weight = (m: InboxMessage) => Math.max(MIN_WEIGHT, m.data.length);

export class Inbox {
  private readonly queue: InboxMessage[] = [];
  private bytes = 0;
  private running = false;
  private paused = false;
  private received = 0;
  private idleWaiters: (() => void)[] = [];
  private readonly o: Required<InboxOptions>;

  constructor(
    private readonly ws: WebSocket,
    private readonly handle: (m: InboxMessage) => Promise<void>,
    private readonly onOverflow: (m: InboxMessage, waitingMessages: number) => void,
    options: InboxOptions = {},
  ) {
    this.o = { pauseAtBytes: 256 * 1024, resumeAtBytes: 64 * 1024, capacityBytes: 4 * 1024 * 1024, ...options };
    ws.on('message', (data, isBinary) => this.offer({ index: this.received++, data: toBuffer(data), isBinary }));
  }

  /** Bytes waiting (not counting the message being handled). */
  get waitingBytes(): number {
    return this.bytes;
  }

  /** Resolves when every message received so far was handled. */
  idle(): Promise<void> {
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private offer(m: InboxMessage): void {
    if (this.bytes + weight(m) > this.o.capacityBytes) {
      this.onOverflow(m, this.queue.length);
      return;
    }
    this.queue.push(m);
    this.bytes += weight(m);
    if (!this.paused && this.bytes >= this.o.pauseAtBytes) {
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
        this.bytes -= weight(m);
        if (this.paused && this.bytes <= this.o.resumeAtBytes) {
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
