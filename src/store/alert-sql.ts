/**
 * The statements both alert stores run, written once with `?` placeholders: SQLite binds them
 * as they are, the PostgreSQL adapter numbers them (sql.ts `numbered`). Only SQL that reads
 * the same in both dialects is here (upserts with ON CONFLICT, row-value IN); the rules table, whose
 * column types differ (TEXT vs JSONB), keeps its two statements in the adapters.
 */
import { ALERT_COLUMNS, CHANNEL_COLUMNS } from './alert-rows.js';

const marks = (n: number) => Array.from({ length: n }, () => '?').join(', ');

/** Idempotent on id: a repeat changes no row. Values: alertValues. */
export const INSERT_ALERT = `INSERT INTO analytics_alerts (${ALERT_COLUMNS.join(', ')}) VALUES (${marks(ALERT_COLUMNS.length)})
  ON CONFLICT (id) DO NOTHING`;

/** Counts a new alert on its call's summary, creating the row when the alert comes first. Values: tenant, callId, eventTimeMs, eventTimeMs. */
export const COUNT_ALERT = `INSERT INTO analytics_call_summary (tenant, call_id, first_ms, last_ms, alert_count) VALUES (?, ?, ?, ?, 1)
  ON CONFLICT (tenant, call_id) DO UPDATE SET alert_count = analytics_call_summary.alert_count + 1`;

/** A summary's span; its alert count is left as it is. Values: tenant, callId, firstMs, lastMs. */
export const PUT_SPAN = `INSERT INTO analytics_call_summary (tenant, call_id, first_ms, last_ms, alert_count) VALUES (?, ?, ?, ?, 0)
  ON CONFLICT (tenant, call_id) DO UPDATE SET first_ms = excluded.first_ms, last_ms = excluded.last_ms`;

/** One channel row of a summary, replaced whole. Values: channelValues. */
export const PUT_CHANNEL = `INSERT INTO analytics_channel_summary (${CHANNEL_COLUMNS.join(', ')}) VALUES (${marks(CHANNEL_COLUMNS.length)})
  ON CONFLICT (tenant, call_id, channel) DO UPDATE SET ${CHANNEL_COLUMNS.slice(3).map((c) => `${c} = excluded.${c}`).join(', ')}`;

/** A call's alerts, oldest first. Values: callId[, tenant]. */
export const alertsOfCallSql = (withTenant: boolean) =>
  `SELECT * FROM analytics_alerts WHERE call_id = ?${withTenant ? ' AND tenant = ?' : ''} ORDER BY event_time_ms, id`;

/** One call's summary row; without a tenant, the first tenant's in byte order. Values: callId[, tenant]. */
export const summarySql = (withTenant: boolean) =>
  `SELECT * FROM analytics_call_summary WHERE call_id = ?${withTenant ? ' AND tenant = ?' : ''} ORDER BY tenant LIMIT 1`;

/** The channel rows of `n` calls, by channel. Values: tenant, callId of each call in turn. */
export const channelsOfSql = (n: number) =>
  `SELECT * FROM analytics_channel_summary WHERE (tenant, call_id) IN (VALUES ${Array.from({ length: n }, () => '(?, ?)').join(', ')}) ORDER BY channel`;
