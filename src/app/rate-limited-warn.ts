/**
 * Warnings that cannot flood the log: per code, at most `burst` lines per `intervalMs`; the rest
 * are counted, and the next line written for that code carries `suppressed` (how many were left
 * out since the last one). Used for rejected chunks, where a misbehaving producer sends thousands
 * a second (issue 13: a flood of rejects wrote 25 MB of logs, one line each).
 */

/** The slice of a pino logger this needs. */
export interface WarnLogger {
  warn(obj: object, msg: string): void;
}

export interface RateLimitedWarnOptions {
  /** Length of one interval, ms. Default 10,000. */
  intervalMs?: number;
  /** Lines written per code per interval. Default 5. */
  burst?: number;
  /** Wall clock, injectable for tests. */
  now?: () => number;
}

interface CodeState {
  intervalStart: number;
  written: number;
  suppressed: number;
}

export class RateLimitedWarn {
  private readonly intervalMs: number;
  private readonly burst: number;
  private readonly now: () => number;
  private readonly codes = new Map<string, CodeState>();
  /** Lines left out so far, all codes together (for tests and metrics). */
  suppressedTotal = 0;

  constructor(private readonly logger: WarnLogger, options: RateLimitedWarnOptions = {}) {
    this.intervalMs = options.intervalMs ?? 10_000;
    this.burst = options.burst ?? 5;
    this.now = options.now ?? Date.now;
    if (!(this.intervalMs > 0 && Number.isInteger(this.burst) && this.burst > 0)) throw new RangeError('intervalMs and burst must be > 0');
  }

  /** Writes the line unless its code is over its burst this interval. True when written. */
  warn(code: string, obj: object, msg: string): boolean {
    const t = this.now();
    let s = this.codes.get(code);
    if (!s) {
      s = { intervalStart: t, written: 0, suppressed: 0 };
      this.codes.set(code, s);
    }
    if (t - s.intervalStart >= this.intervalMs) {
      s.intervalStart = t;
      s.written = 0;
    }
    if (s.written >= this.burst) {
      s.suppressed++;
      this.suppressedTotal++;
      return false;
    }
    s.written++;
    const suppressed = s.suppressed;
    s.suppressed = 0;
    this.logger.warn(suppressed ? { code, ...obj, suppressed } : { code, ...obj }, msg);
    return true;
  }
}
