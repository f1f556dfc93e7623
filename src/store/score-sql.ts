/**
 * The read queries of both score stores (calls, segments, storage-order history), written once
 * with `?` placeholders (sql.ts): the same filters, order and keyset positions on SQLite and
 * PostgreSQL, so a cursor means the same on both. Writes stay in each adapter: their locking
 * differs (SQLite's one writer vs PostgreSQL's row locks).
 */
import type { CallQuery, HistoryQuery, SegmentQuery } from '../core/ports.js';
import { decodeCursor } from './cursor.js';
import { type Condition, cond, type ListConditions } from './sql.js';

/** Calls, newest first. */
export const CALL_ORDER = 'started_at_ms DESC, tenant DESC, call_id DESC';
/** Segments of a call (table aliased `s`), by start. */
export const SEGMENT_ORDER = 's.start_ms, s.channel, s.segment_index, s.revision';
/** Scores in storage order. */
export const STORAGE_ORDER = 'stored_at_ms, id';

/** One call; without a tenant, the first tenant's in byte order. Values: callId[, tenant]. */
export const callSql = (withTenant: boolean) => `SELECT * FROM calls WHERE call_id = ?${withTenant ? ' AND tenant = ?' : ''} ORDER BY tenant LIMIT 1`;

const eqIf = (out: Condition[], column: string, value: unknown) => {
  if (value !== undefined) out.push(cond(`${column} = ?`, value));
};

export function callConditions(q: CallQuery): ListConditions {
  const filter: Condition[] = [];
  eqIf(filter, 'tenant', q.tenant);
  eqIf(filter, 'status', q.status);
  if (q.startedAfterMs !== undefined) filter.push(cond('started_at_ms >= ?', q.startedAfterMs));
  if (q.startedBeforeMs !== undefined) filter.push(cond('started_at_ms < ?', q.startedBeforeMs));
  const after = q.after === undefined ? null : cond('(started_at_ms, tenant, call_id) < (?, ?, ?)', ...decodeCursor('call', q.after));
  return { filter, after };
}

export function segmentConditions(q: SegmentQuery): ListConditions {
  const filter: Condition[] = [cond('s.call_id = ?', q.callId)];
  eqIf(filter, 's.tenant', q.tenant);
  eqIf(filter, 's.channel', q.channel);
  if (q.latestOnly !== false) {
    filter.push(cond(`NOT EXISTS (SELECT 1 FROM segment_scores n WHERE n.tenant = s.tenant AND n.call_id = s.call_id
      AND n.channel = s.channel AND n.segment_index = s.segment_index AND n.revision > s.revision)`));
  }
  const after = q.after === undefined ? null : cond('(s.start_ms, s.channel, s.segment_index, s.revision) > (?, ?, ?, ?)', ...decodeCursor('seg', q.after));
  return { filter, after };
}

/** History's filter: the position (cursor, else sinceMs) is part of it, so totalCount counts what is left. */
export function historyConditions(q: HistoryQuery): Condition[] {
  const filter: Condition[] = [];
  eqIf(filter, 'tenant', q.tenant);
  eqIf(filter, 'call_id', q.callId);
  if (q.after !== undefined) filter.push(cond('(stored_at_ms, id) > (?, ?)', ...decodeCursor('since', q.after)));
  else if (q.sinceMs !== undefined) filter.push(cond('stored_at_ms >= ?', q.sinceMs));
  return filter;
}

/** ACTIVE calls last written under a partition and not updated since a time, oldest first, with
 *  the end of their last stored segment. Values: partition, updatedBeforeMs, limit. */
export const STALE_CALLS_SQL = `SELECT c.*, (SELECT MAX(s.end_ms) FROM segment_scores s WHERE s.tenant = c.tenant AND s.call_id = c.call_id) AS last_end
  FROM calls c WHERE c.source_partition = ? AND c.status = 'ACTIVE' AND c.updated_at_ms < ?
  ORDER BY c.updated_at_ms LIMIT ?`;
