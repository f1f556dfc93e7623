/**
 * Ends calls that a stopped owner left ACTIVE in storage (TIMED_OUT at the end of their last
 * stored segment, as the window's idle timeout would have).
 *
 * Why: a call whose chunks were all committed when its owner stopped (a graceful stop seals and
 * stores every open segment, then commits) is never read again after a restart: no chunk of it
 * reaches any window, so no idle timer ever closes it, and it stays ACTIVE forever.
 *
 * When a call may be ended here (all of these, for the partition P the call was last written
 * under, src/store/fencing.ts):
 * - this instance holds P with a settled epoch, claimed at least one idle timeout ago;
 * - this instance has caught up with P as it was when claimed: the first lag sample taken after
 *   the claim gave P's end offset E, and since then the window was fed offset E - 1 or the group
 *   committed E. Every chunk that existed at the claim has then reached this window, so a call
 *   with chunks still to be read is not ended (those chunks make the window hold it);
 * - the window does not hold the call (it met none of its chunks since the claim);
 * - the stored call was last updated more than one idle timeout ago.
 * The end is written like any call update of P: through the pipeline, with P's fence token.
 */
import type { Logger } from 'pino';
import type { OwnershipStore } from '../core/ports.js';
import type { PartitionLag } from '../kafka/lag.js';
import type { Ownership } from './ownership.js';
import type { PartitionedWindow } from '../window/partitioned-window.js';

export interface StaleCallSweeperOptions {
  store: Pick<OwnershipStore, 'staleActiveCalls'>;
  ownership: Pick<Ownership, 'claimed'>;
  window: Pick<PartitionedWindow, 'endStale' | 'holds' | 'seenOffset'>;
  /** The window's idle timeout, ms (a call is stale after this long without a write). */
  idleTimeoutMs: number;
  /** Sweep period, ms. Default idleTimeoutMs / 3, at least 1000. */
  intervalMs?: number;
  /** Calls ended per partition and sweep (the rest next sweep). Default 100. */
  batch?: number;
  logger: Logger;
  /** Wall clock, ms (the store's updated_at_ms clock). Default Date.now. */
  now?: () => number;
}

export class StaleCallSweeper {
  /** Latest lag sample per partition ("topic/partition"). */
  private readonly samples = new Map<string, PartitionLag & { atMs: number }>();
  /** End offset of the first sample after each claim ("partition@epoch"). */
  private readonly endAtClaim = new Map<string, bigint>();
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private readonly now: () => number;
  /** Calls ended so far (tests, logs). */
  ended = 0;

  constructor(private readonly o: StaleCallSweeperOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Feed of the lag sampler (src/kafka/lag.ts). */
  onLag(lags: PartitionLag[]): void {
    const at = this.now();
    for (const l of lags) this.samples.set(`${l.topic}/${l.partition}`, { ...l, atMs: at });
  }

  start(): void {
    const every = this.o.intervalMs ?? Math.max(1000, Math.floor(this.o.idleTimeoutMs / 3));
    this.timer = setInterval(() => void this.sweep(), every);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One pass over the held partitions. Store errors are logged; the next pass tries again. */
  async sweep(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const now = this.now();
      const live = new Set<string>();
      for (const { partition, epoch, claimedAtMs } of this.o.ownership.claimed()) {
        const key = `${partition}@${epoch}`;
        live.add(key);
        if (now - claimedAtMs < this.o.idleTimeoutMs || !this.caughtUp(partition, key, claimedAtMs)) continue;
        const stale = await this.o.store.staleActiveCalls(partition, now - this.o.idleTimeoutMs, this.o.batch ?? 100);
        for (const { call, lastEndMs } of stale) {
          if (this.o.window.holds(call.tenant, call.callId)) continue;
          if (!this.o.window.endStale(call, lastEndMs ?? call.startedAtMs, partition)) continue;
          this.ended++;
          this.o.logger.info({ callId: call.callId, tenant: call.tenant, partition, endedAtMs: lastEndMs ?? call.startedAtMs }, 'call left ACTIVE by a stopped owner: timing it out');
        }
      }
      for (const k of [...this.endAtClaim.keys()]) if (!live.has(k)) this.endAtClaim.delete(k);
    } catch (err) {
      this.o.logger.warn({ err }, 'stale call sweep failed; retrying next period');
    } finally {
      this.busy = false;
    }
  }

  private caughtUp(partition: string, key: string, claimedAtMs: number): boolean {
    const s = this.samples.get(partition);
    if (!s || s.end === undefined || s.committed === undefined) return false;
    let end = this.endAtClaim.get(key);
    if (end === undefined) {
      if (s.atMs < claimedAtMs) return false; // no sample since the claim yet
      end = s.end;
      this.endAtClaim.set(key, end);
    }
    if (end === 0n || s.committed >= end) return true;
    const seen = this.o.window.seenOffset(partition);
    return seen !== undefined && seen + 1n >= end;
  }
}
