/**
 * Whether the score store accepts writes, for readiness (/readyz). A read probe is not enough:
 * a full disk (SQLITE_FULL, PostgreSQL's "could not extend file") fails every write while reads
 * still answer, and an instance in that state must say it is not ready.
 *
 * `watchWrites(store, health)` wraps a store: each write's outcome (putScore, upsertCall,
 * claimPartitions) updates `health`. Only STORE_UNAVAILABLE counts as a failure: a fenced write
 * (STORE_FENCED) or a refused input (BAD_REQUEST) is the store working as designed. The first
 * write that succeeds again clears the failure (the pipeline retries failed writes until then).
 */
import { isAppError } from '../core/errors.js';

export class WriteHealth {
  private failing: { sinceMs: number; reason: string; failures: number } | null = null;

  constructor(private readonly now: () => number = Date.now) {}

  succeeded(): void {
    this.failing = null;
  }

  failed(reason: string): void {
    if (this.failing) {
      this.failing.failures++;
      this.failing.reason = reason;
    } else {
      this.failing = { sinceMs: this.now(), reason, failures: 1 };
    }
  }

  /** Why writes fail (for /readyz), or null while they succeed. */
  problem(): string | null {
    if (!this.failing) return null;
    const f = this.failing;
    return `store writes failing for ${Math.round((this.now() - f.sinceMs) / 1000)} s (${f.failures} failed): ${f.reason}`;
  }
}

const WRITES = new Set(['putScore', 'upsertCall', 'claimPartitions']);

/** The same store, its writes reported to `health`. */
export function watchWrites<S extends object>(store: S, health: WriteHealth): S {
  return new Proxy(store, {
    get(target, prop) {
      const v: unknown = Reflect.get(target, prop, target);
      if (typeof v !== 'function') return v;
      if (typeof prop !== 'string' || !WRITES.has(prop)) return v.bind(target);
      return async (...args: unknown[]) => {
        try {
          const out: unknown = await v.apply(target, args);
          health.succeeded();
          return out;
        } catch (e) {
          if (isAppError(e) && e.code === 'STORE_UNAVAILABLE') health.failed(e.message);
          else health.succeeded();
          throw e;
        }
      };
    },
  });
}
