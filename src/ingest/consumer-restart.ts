/**
 * kafkajs restarts a crashed consumer only after a retriable error; after a non-retriable one
 * (a broker's non-retriable answer, a handler error marked so) it leaves it stopped for good,
 * and whoever owns it would go on looking alive while reading nothing. ConsumerRestarter builds
 * a new one instead: `schedule(dead)` waits `delayMs`, disconnects the dead consumer and calls
 * `rebuild`, again after each failure, until it works or `cancel()` (at stop).
 * Used by the chunk source (src/ingest/kafka-source.ts) and the scores bridge
 * (src/publish/scores-bridge.ts), which each know where their new consumer must start.
 */
import type { Consumer } from 'kafkajs';

export interface ConsumerRestarterOptions {
  delayMs: number;
  /** The consumer the owner holds now: a restart goes ahead only while that is still `dead`. */
  current: () => Consumer | null;
  /** Builds, positions and runs the new consumer; rejects when it could not. */
  rebuild: () => Promise<void>;
  onRestarted: () => void;
  onFailed: (err: unknown) => void;
}

export class ConsumerRestarter {
  private timer: NodeJS.Timeout | null = null;
  private cancelled = false;

  constructor(private readonly o: ConsumerRestarterOptions) {}

  /** Restarts after `delayMs` (once: a restart already pending absorbs this one). */
  schedule(dead: Consumer): void {
    if (this.cancelled || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.restart(dead);
    }, this.o.delayMs);
    this.timer.unref();
  }

  cancel(): void {
    this.cancelled = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async restart(dead: Consumer): Promise<void> {
    await dead.disconnect().catch(() => {});
    if (this.cancelled || this.o.current() !== dead) return;
    try {
      await this.o.rebuild();
      this.o.onRestarted();
    } catch (err) {
      this.o.onFailed(err);
      const now = this.o.current();
      if (now) this.schedule(now);
    }
  }
}
