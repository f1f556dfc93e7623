/**
 * The WHERE conditions of the two alert-store lists (alerts, call summaries), built once for
 * both adapters: fixed SQL fragments with `?` placeholders (SQLite binds them as is; the
 * PostgreSQL adapter numbers them: sql.ts `numbered`) and their values. Only values come
 * from input. Both dialects read the same SQL, so filters, order and cursors mean the same on
 * both stores.
 *
 * Tables are aliased: alerts as `a`, call summaries as `s`, channel summaries as `c`.
 */
import { AppError } from '../core/errors.js';
import type { AlertQuery, CallSearch } from '../core/ports.js';
import { decodeCursor } from './cursor.js';
import { type Condition, cond, type ListConditions } from './sql.js';

/** Newest first: ORDER BY a.event_time_ms DESC, a.id DESC. */
export const ALERT_ORDER = 'a.event_time_ms DESC, a.id DESC';

/** Most recent first: ORDER BY s.last_ms DESC, s.call_id DESC, s.tenant DESC. */
export const SUMMARY_ORDER = 's.last_ms DESC, s.call_id DESC, s.tenant DESC';

export function alertConditions(q: AlertQuery): ListConditions {
  if (q.sinceMs !== undefined && !Number.isFinite(q.sinceMs)) throw new AppError('BAD_REQUEST', { reason: 'sinceMs must be a finite number' });
  const filter: Condition[] = [];
  if (q.tenant !== undefined) filter.push(cond('a.tenant = ?', q.tenant));
  if (q.callId !== undefined) filter.push(cond('a.call_id = ?', q.callId));
  if (q.rule !== undefined) filter.push(cond('a.rule = ?', q.rule));
  if (q.sinceMs !== undefined) filter.push(cond('a.event_time_ms >= ?', q.sinceMs));
  let after: Condition | null = null;
  if (q.after !== undefined) {
    const [key, id] = decodeCursor('alert', q.after);
    after = cond('(a.event_time_ms < ? OR (a.event_time_ms = ? AND a.id < ?))', key, key, id);
  }
  return { filter, after };
}

export function summaryConditions(q: CallSearch): ListConditions {
  for (const [name, v] of [['minMeanValence', q.minMeanValence], ['maxMeanValence', q.maxMeanValence], ['fromMs', q.fromMs], ['toMs', q.toMs]] as const) {
    if (v !== undefined && !Number.isFinite(v)) throw new AppError('BAD_REQUEST', { reason: `${name} must be a finite number` });
  }
  const filter: Condition[] = [];
  if (q.tenant !== undefined) filter.push(cond('s.tenant = ?', q.tenant));
  if (q.fromMs !== undefined) filter.push(cond('s.last_ms >= ?', q.fromMs));
  if (q.toMs !== undefined) filter.push(cond('s.first_ms <= ?', q.toMs));
  if (q.hasAlerts !== undefined) filter.push(cond(q.hasAlerts ? 's.alert_count > 0' : 's.alert_count = 0'));
  if (q.minMeanValence !== undefined || q.maxMeanValence !== undefined || q.sentiment !== undefined) {
    const parts = ['c.tenant = s.tenant', 'c.call_id = s.call_id', 'c.channel = ?'];
    const args: unknown[] = [q.channel ?? 'customer'];
    if (q.minMeanValence !== undefined) (parts.push('c.mean_valence >= ?'), args.push(q.minMeanValence));
    if (q.maxMeanValence !== undefined) (parts.push('c.mean_valence <= ?'), args.push(q.maxMeanValence));
    const [lo, hi] = q.neutralBand ?? [-0.5, 0.5];
    if (q.sentiment === 'NEGATIVE') (parts.push('c.mean_valence < ?'), args.push(lo));
    else if (q.sentiment === 'POSITIVE') (parts.push('c.mean_valence > ?'), args.push(hi));
    else if (q.sentiment === 'NEUTRAL') (parts.push('c.mean_valence >= ? AND c.mean_valence <= ?'), args.push(lo, hi));
    filter.push({ sql: `EXISTS (SELECT 1 FROM analytics_channel_summary c WHERE ${parts.join(' AND ')})`, args });
  }
  let after: Condition | null = null;
  if (q.after !== undefined) {
    const [key, id, tenant] = decodeCursor('summary', q.after);
    // A cursor without a tenant (written before tenants keyed summaries) pages by (lastMs, callId).
    after = tenant === undefined
      ? cond('(s.last_ms < ? OR (s.last_ms = ? AND s.call_id < ?))', key, key, id)
      : cond('(s.last_ms < ? OR (s.last_ms = ? AND (s.call_id < ? OR (s.call_id = ? AND s.tenant < ?))))', key, key, id, id, tenant);
  }
  return { filter, after };
}
