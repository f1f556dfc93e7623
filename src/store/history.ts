/**
 * What a subscriber that reconnects needs from storage to resume without a gap (issue 4):
 * every score of a tenant stored at or after a point in time, in storage order, paged.
 *
 * Storage order is (storedAtMs, storage id). On SQLite, one writer makes it commit order. On a
 * database with concurrent writers (PostgreSQL) ids can commit out of order, so a resuming
 * reader starts a safety margin before the point it wants and drops repeats by
 * (callId, channel, segmentIndex, revision).
 */
export type { HistoryQuery, ScoreHistory, StoredScore } from '../core/ports.js';
