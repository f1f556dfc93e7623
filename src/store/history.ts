/**
 * What a subscriber that reconnects needs from storage to resume without a gap (issue 4):
 * every score of a tenant stored at or after a point in time, in storage order, paged.
 *
 * Storage order is (storedAtMs, storage id). On SQLite, one writer makes it commit order. On a
 * database with concurrent writers (PostgreSQL) ids can commit out of order, so a resuming
 * reader starts a safety margin before the point it wants and drops repeats by
 * (callId, channel, segmentIndex, revision).
 */
import type { Page } from '../core/ports.js';
import type { SegmentScore } from '../core/types.js';

export interface HistoryQuery {
  tenant?: string;
  /** Only this call's scores (optional). */
  callId?: string;
  /** Wall-clock ms since the unix epoch; scores stored at or after it. Ignored when `after` is set. */
  sinceMs?: number;
  /** A cursor from a previous page (or from an event's `cursor`). */
  after?: string;
  /** Page size, 1..MAX_PAGE_SIZE. */
  first: number;
}

/** A score with the storage-order cursor that resumes right after it. */
export interface StoredScore {
  score: SegmentScore;
  /** Wall-clock ms when this store inserted the score. */
  storedAtMs: number;
}

export interface ScoreHistory {
  /** Every revision (not only the latest), in storage order. */
  scoresSince(q: HistoryQuery): Promise<Page<StoredScore>>;
}
