/**
 * Resume without a gap (issue 4): a reconnecting subscriber gets what it missed from storage,
 * then the live stream.
 *
 * Why there is no gap: the pipeline publishes a score only after storing it, and this opens the
 * live subscription BEFORE reading storage. A score stored before the read is in the history; one
 * stored after the subscription opened is also published to it. Scores in both (stored around the
 * switch) are yielded once: history keys stored since the subscription opened are remembered and
 * their live repeats skipped. The live queue uses policy 'close' so an overflow during a long
 * replay ends the stream with SUBSCRIBER_TOO_SLOW instead of silently leaving a gap.
 *
 * Ending it: the stream is an async generator wrapped so that `return()` first ends the live
 * subscription. A bare generator parked in `await live.next()` would queue `return()` behind
 * that await, which no event may ever resolve (issue 13: every resume subscription closed while
 * idle stayed in the hub for good, with its queue). Ending the live subscription resolves the
 * parked read as done, the generator runs its `finally`, and the queued `return()` settles.
 */
import type { SegmentScore } from '../core/types.js';
import type { FeedSubscription, ScoreFeed, ScoreFilter, ScoreHistory } from '../core/ports.js';

export interface ResumeOptions {
  /** Replay scores stored at or after this wall-clock time (ms since the unix epoch)... */
  sinceMs?: number;
  /** ...or after this storage cursor (from `scoresSince`). */
  after?: string;
  /** History page size. Default 500. */
  pageSize?: number;
  /** Live events held while the history replays. Default 4096; overflow: SUBSCRIBER_TOO_SLOW. */
  liveCapacity?: number;
  /** Wall clock, ms. Default Date.now. */
  now?: () => number;
  /**
   * Clock skew allowed between this process and the writers that stamp `storedAtMs`, ms
   * (another instance's clock, a database clock). Default 5_000.
   */
  skewMs?: number;
}

const keyOf = (s: SegmentScore) => `${s.callId}\u0000${s.channel}\u0000${s.segmentIndex}\u0000${s.revision}`;

export function resumeScores(feed: ScoreFeed, history: ScoreHistory, filter: ScoreFilter, opts: ResumeOptions = {}): AsyncGenerator<SegmentScore> {
  const live = feed.subscribeScores(filter, { capacity: opts.liveCapacity ?? 4096, policy: 'close' });
  const openedAtMs = (opts.now ?? Date.now)() - (opts.skewMs ?? 5_000);
  const gen = replayThenLive(live, openedAtMs, history, filter, opts);
  const end = gen.return.bind(gen);
  return Object.assign(gen, {
    async return(value?: unknown): Promise<IteratorResult<SegmentScore>> {
      await live.return();
      return end(value as undefined);
    },
  });
}

/** `openedAtMs`: when `live` opened, less the allowed clock skew. */
async function* replayThenLive(live: FeedSubscription<SegmentScore>, openedAtMs: number, history: ScoreHistory, filter: ScoreFilter, opts: ResumeOptions): AsyncGenerator<SegmentScore> {
  /** Keys replayed from storage that the live stream may repeat (bounded by scores stored during the replay). */
  const overlap = new Set<string>();
  try {
    let after = opts.after;
    for (;;) {
      const page = await history.scoresSince({ tenant: filter.tenant, callId: filter.callId, sinceMs: opts.sinceMs, after, first: opts.pageSize ?? 500 });
      for (const { node } of page.items) {
        if (filter.channel !== undefined && node.score.channel !== filter.channel) continue;
        if (node.storedAtMs >= openedAtMs) overlap.add(keyOf(node.score));
        yield node.score;
      }
      if (!page.hasNextPage || !page.endCursor) break;
      after = page.endCursor;
    }
    for await (const score of live) {
      if (overlap.size > 0 && overlap.delete(keyOf(score))) continue;
      yield score;
    }
  } finally {
    await live.return();
  }
}
