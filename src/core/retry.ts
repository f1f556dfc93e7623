/**
 * The one backoff rule of the server: every retry loop (scoring, storage, partition claims, the
 * scores-topic outbox, dead letters, the ingest topic writer) waits `baseMs` after its first
 * failure and doubles from there, never more than `maxMs`. Each loop picks its own numbers (a
 * store write retries forever and must not spin; a dead letter retries a few times and then lets
 * the batch fail), but not its own formula.
 */
export interface Backoff {
  /** Wait after the first failure, ms. */
  baseMs: number;
  /** The longest wait, ms (default: no cap, for loops that stop after a few attempts). */
  maxMs?: number;
}

/** The wait after failed attempt `attempt` (1 = the first failure). */
export function backoffMs(attempt: number, b: Backoff): number {
  // 2 ** 30 is far past any cap; bounding the exponent keeps the product finite.
  const grown = b.baseMs * 2 ** Math.min(Math.max(attempt, 1) - 1, 30);
  return Math.min(b.maxMs ?? Number.POSITIVE_INFINITY, grown);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Sleeps the backoff of failed attempt `attempt`. */
export function backOff(attempt: number, b: Backoff): Promise<void> {
  return sleep(backoffMs(attempt, b));
}
