/**
 * At most one run per `gapMs`, never two at once, and the last poke is never lost: a poke while
 * a run is in flight, or sooner than `gapMs` after the last run started, schedules one trailing
 * run (however many pokes came). The call page uses it to re-read a call's analytics after a
 * burst of updates: each read scans the call's scores on the server, and a live call sends an
 * update per stored segment, so one read per burst, and at most one per `gapMs`.
 *
 * A debounce (restart the wait on every poke) would be wrong here: a call that keeps talking
 * pokes more often than the wait, and its figures would never refresh.
 */
export interface Clock {
  now(): number;
  setTimeout(f: () => void, ms: number): unknown;
  clearTimeout(t: unknown): void;
}

export const realClock: Clock = {
  now: () => performance.now(),
  setTimeout: (f, ms) => setTimeout(f, ms),
  clearTimeout: (t) => clearTimeout(t as ReturnType<typeof setTimeout>),
};

export class Throttle {
  private lastStart = Number.NEGATIVE_INFINITY;
  private inFlight = false;
  /** A poke came while a run was in flight: run again when it ends. */
  private again = false;
  private timer: unknown = null;
  private stopped = false;

  constructor(
    private readonly gapMs: number,
    private readonly run: () => Promise<unknown>,
    private readonly clock: Clock = realClock,
  ) {}

  /** Something changed: run now if allowed, else once later. */
  poke(): void {
    if (this.stopped || this.timer !== null) return;
    if (this.inFlight) {
      this.again = true;
      return;
    }
    const wait = this.lastStart + this.gapMs - this.clock.now();
    if (wait <= 0) this.start();
    else this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      this.poke();
    }, wait);
  }

  /** No more runs (the view went away); a run in flight finishes but is not followed. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  private start(): void {
    this.lastStart = this.clock.now();
    this.inFlight = true;
    this.run()
      .catch(() => undefined)
      .finally(() => {
        this.inFlight = false;
        if (this.again) {
          this.again = false;
          this.poke();
        }
      });
  }
}
