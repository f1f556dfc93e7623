/**
 * The live scores as one resumable stream: the dashboard's only gap repair, the server's own
 * (docs/api.md, Resume).
 *
 * `segmentScored` is always sent with `since:`, which makes it a resume operation on the server:
 * storage first, then live, with no gap; its live queue holds 4,096 events under policy `close`,
 * so a dashboard that falls that far behind is told (SUBSCRIBER_TOO_SLOW) instead of losing
 * scores silently. Whenever the stream breaks (the socket reconnected, or the server ended the
 * operation as too slow) it is opened again from the newest `scoredAt` received less
 * RESUME_MARGIN_MS: the server replays what was stored since, then goes live. The overlap comes
 * again as repeats (same callId, channel, segmentIndex, revision), which the model drops (a
 * segment keeps its highest revision).
 *
 * The first opening passes the browser's clock: there is nothing to resume yet (the snapshot,
 * read after the operation opened, has what came before), so `since` only makes it a resume
 * operation, and a skewed clock costs at most a replay of the skew. Until a live score brings the
 * server's clock, a resume cannot be trusted to reach back far enough, so `resume()` says so and
 * the caller reloads the snapshot as at page open.
 */
import type { Api } from './api.js';
import type { Score } from './types.js';

/** Reach back this far before the newest `scoredAt` received, ms: clock skew between instances
 *  and the scores topic's delay (the schema's advice: 10 s is plenty). */
export const RESUME_MARGIN_MS = 10_000;

const tooSlow = (e: unknown) => Array.isArray(e) && e.some((x) => x?.extensions?.code === 'SUBSCRIBER_TOO_SLOW');

export class ScoreStream {
  /** ms: the newest `scoredAt` received, or the browser's clock at the first opening. */
  private resumeFromMs = 0;
  /** True once `resumeFromMs` is the server's clock (a live score carried it). */
  private serverClock = false;
  private dispose: (() => void) | null = null;
  /** Times the stream was opened again from its resume point (the browser test reads it). */
  resumes = 0;

  constructor(
    private readonly api: Api,
    private readonly document: () => string,
    private readonly onScore: (s: Score) => void,
  ) {}

  /** First opening, before the snapshot is read. */
  open(): void {
    this.resumeFromMs = Date.now();
    this.subscribe(this.resumeFromMs);
  }

  /**
   * Replaces the operation with one resuming from the newest score received. Call it
   * synchronously in graphql-ws's `connected` event, so the old operation (with its old `since`)
   * is not re-sent. Returns false when the resume point is still the browser's clock: the caller
   * should then reload what the snapshot holds.
   */
  resume(): boolean {
    this.dispose?.();
    this.resumes++;
    this.subscribe(this.resumeFromMs - RESUME_MARGIN_MS);
    return this.serverClock;
  }

  private subscribe(sinceMs: number): void {
    this.dispose = this.api.subscribe<{ segmentScored: Score }>(
      this.document(),
      (d) => {
        const at = Date.parse(d.segmentScored.scoredAt ?? '');
        if (at > this.resumeFromMs || (!this.serverClock && Number.isFinite(at))) {
          this.resumeFromMs = at;
          this.serverClock = true;
        }
        this.onScore(d.segmentScored);
      },
      {
        variables: { since: sinceMs },
        onError: (e) => {
          if (tooSlow(e)) this.resume();
          else console.warn('scores subscription ended with an error; the next reconnect resumes it', e);
        },
      },
    );
  }
}
