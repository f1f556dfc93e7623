/**
 * The one owner of start and stop order (docs/lifecycle.md, the process). The graph
 * (src/app/graph.ts) lists its long-lived parts in start order; `stop` runs the parts that
 * started, backwards, once. Nothing else starts or stops a part.
 *
 * States only move forward: idle -> starting -> started -> stopping -> stopped. A start that
 * fails leaves the parts it started running; `stop` then stops exactly those.
 */
import type { Logger } from 'pino';

/** One long-lived part of the running product. */
export interface Part {
  /** For logs and docs: what starts and stops here. */
  readonly name: string;
  /** Absent: the part is open from the moment it was built (e.g. a connected Kafka producer). */
  start?(): Promise<void> | void;
  stop?(): Promise<void> | void;
}

type State = 'idle' | 'starting' | 'started' | 'stopping' | 'stopped';

export class Lifecycle {
  private state: State = 'idle';
  /** Parts open now, in the order they were started. */
  private readonly open: Part[];

  constructor(
    private readonly parts: readonly Part[],
    private readonly logger: Pick<Logger, 'error'>,
  ) {
    this.open = parts.filter((p) => !p.start);
  }

  /** The start order (stop is its reverse). */
  order(): string[] {
    return this.parts.map((p) => p.name);
  }

  async start(): Promise<void> {
    if (this.state !== 'idle') throw new Error(`cannot start: ${this.state}`);
    this.state = 'starting';
    for (const part of this.parts) {
      if (!part.start) continue;
      await part.start();
      this.open.push(part);
    }
    this.state = 'started';
  }

  /**
   * Stops every open part, last started first. A part whose stop fails is logged and the rest
   * still stop (a failed flush must not leave the store or the workers open); the first
   * failure is thrown at the end. A second call waits for nothing and returns.
   */
  async stop(): Promise<void> {
    if (this.state === 'stopping' || this.state === 'stopped') return;
    this.state = 'stopping';
    const failures: unknown[] = [];
    for (let part = this.open.pop(); part; part = this.open.pop()) {
      try {
        await part.stop?.();
      } catch (err) {
        this.logger.error({ err, part: part.name }, 'part did not stop cleanly');
        failures.push(err);
      }
    }
    this.state = 'stopped';
    if (failures.length > 0) throw failures[0];
  }
}
