/**
 * This instance's owner epochs for the source partitions it is assigned (src/store/fencing.ts).
 *
 * - `assign(partitions)` after each group join: every assigned partition is claimed in the store
 *   (a partition this instance already held keeps its epoch if nobody claimed it since; else it
 *   gets a new one and its local window state is reset: another owner wrote in between).
 *   Claims are retried until the store answers; writes of a partition wait for its claim.
 * - `token(partition)`: the token every write of that partition carries; null when the partition
 *   is not (or no longer) owned here: the write must not be made.
 * - `fenced(token)`: the store refused a write (another instance claimed the partition): the
 *   partition is lost here until a later assignment claims it again. Logged once per epoch.
 * - `verify()`: re-reads the epochs of every held partition (after the process stalled: a pause
 *   longer than the group's session timeout means another instance may have taken over while the
 *   Kafka client has not noticed yet) and drops the ones that moved on.
 */
import type { Logger } from 'pino';
import type { FenceToken, OwnershipStore } from '../core/ports.js';
import { backOff } from '../core/retry.js';

export interface OwnershipOptions {
  store: OwnershipStore;
  /** This instance's id (INSTANCE_ID). */
  owner: string;
  /** The partition is no longer owned here: drop its window state and its chunks (PartitionedWindow.fence). */
  onLost: (partition: string) => void;
  /** Claimed again, but another owner wrote in between: drop the stale window state (PartitionedWindow.reset). */
  onStale: (partition: string) => void;
  logger: Logger;
  /** Wall clock, ms. Default Date.now. */
  now?: () => number;
}

interface Held {
  /** Resolves with the epoch once claimed; null if the partition was unassigned before that. */
  epoch: Promise<number | null>;
  /** The settled epoch (undefined while claiming). */
  settled?: number;
  claimedAtMs?: number;
}


export class Ownership {
  private readonly held = new Map<string, Held>();
  /** "partition@epoch" already logged as fenced (one line per lost epoch). */
  private readonly logged = new Set<string>();
  private readonly now: () => number;

  constructor(private readonly o: OwnershipOptions) {
    this.now = o.now ?? Date.now;
  }

  /** The group's new assignment ("topic/partition" keys). Claims run in the background. */
  assign(partitions: string[]): void {
    const next = new Set(partitions);
    for (const p of [...this.held.keys()]) if (!next.has(p)) this.held.delete(p);
    for (const p of next) {
      const prev = this.held.get(p);
      const entry: Held = { epoch: Promise.resolve(null) };
      this.held.set(p, entry); // before the claim starts: it checks that the partition is still assigned
      entry.epoch = this.claim(p, prev).then((epoch) => {
        if (epoch !== null && this.held.get(p) === entry) {
          entry.settled = epoch;
          entry.claimedAtMs = this.now();
        }
        return epoch;
      });
    }
  }

  /** The token for a write of `partition`; null when not owned here. Waits for a pending claim. */
  async token(partition: string): Promise<FenceToken | null> {
    const h = this.held.get(partition);
    if (!h) return null;
    const epoch = await h.epoch;
    return epoch === null || this.held.get(partition) !== h ? null : { partition, epoch };
  }

  /** Partitions held with a settled epoch, and when each was claimed (wall ms). */
  claimed(): { partition: string; epoch: number; claimedAtMs: number }[] {
    const out = [];
    for (const [partition, h] of this.held) if (h.settled !== undefined) out.push({ partition, epoch: h.settled, claimedAtMs: h.claimedAtMs! });
    return out;
  }

  /** The store refused a write made under `token`: another instance owns the partition now. */
  fenced(token: FenceToken): void {
    const h = this.held.get(token.partition);
    if (h && h.settled === token.epoch) this.lose(token.partition, `a write under epoch ${token.epoch} was refused`);
    const key = `${token.partition}@${token.epoch}`;
    if (!this.logged.has(key)) {
      this.logged.add(key);
      if (this.logged.size > 10_000) this.logged.delete(this.logged.values().next().value as string);
      this.o.logger.warn({ partition: token.partition, epoch: token.epoch, code: 'STORE_FENCED' }, 'write fenced: another instance owns this partition now; its records are left to it');
    }
  }

  /** Drops held partitions whose stored epoch moved on. Store errors propagate (the caller retries or gives up). */
  async verify(): Promise<void> {
    const settled = [...this.held].filter(([, h]) => h.settled !== undefined);
    if (settled.length === 0) return;
    const current = await this.o.store.partitionEpochs(settled.map(([p]) => p));
    for (const [p, h] of settled) {
      if (this.held.get(p) === h && current.get(p) !== h.settled) this.lose(p, `stored epoch is ${current.get(p) ?? 'none'}, held ${h.settled}`);
    }
  }

  private lose(partition: string, why: string): void {
    this.held.delete(partition);
    this.o.logger.warn({ partition, why }, 'partition lost to another instance');
    this.o.onLost(partition);
  }

  /** Claims until the store answers or the partition is unassigned. */
  private async claim(partition: string, prev: Held | undefined): Promise<number | null> {
    const held = prev ? await prev.epoch : null;
    for (let attempt = 1; ; attempt++) {
      if (!this.held.has(partition)) return null; // unassigned meanwhile
      try {
        const epoch = (await this.o.store.claimPartitions(this.o.owner, [{ partition, held: held ?? undefined }])).get(partition)!;
        // Kept across the rebalance only if nobody claimed it in between; else what this
        // instance holds of it (open windows, known calls) is stale.
        if (held !== null && epoch !== held) this.o.onStale(partition);
        this.o.logger.info({ partition, epoch, kept: epoch === held }, 'partition claimed');
        return epoch;
      } catch (e) {
        this.o.logger.warn({ err: e, partition, attempt }, 'partition claim failed, retrying');
        await backOff(attempt, { baseMs: 200, maxMs: 5000 });
      }
    }
  }
}
