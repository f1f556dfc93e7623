/**
 * AlertStore (core/ports.ts) on PostgreSQL, for deployments with several server instances: a
 * bounded node-postgres pool (pool.ts) and the one PostgreSQL migrator (migrate.ts) over the one
 * list, so two instances starting together migrate once. Same keys, order, filters and cursors as
 * the SQLite adapter (alert-conditions.ts, cursor.ts and page.ts are shared), and one behaviour
 * suite (test/analytics/alert-store-contract.ts) runs against both.
 *
 * Concurrency: a call is scored by one instance at a time (its chunks stay on one partition), but
 * alert counts are still updated with single-statement upserts, so two writers never lose a count.
 * Every driver failure is STORE_UNAVAILABLE (retriable); bad input is BAD_REQUEST and bad cursors
 * BAD_CURSOR, before anything reaches the server.
 */
import type pg from 'pg';
import type { Alert, AlertRules, CallSummary } from '../../core/alerts.js';
import { AppError } from '../../core/errors.js';
import type { AlertQuery, AlertStore, CallSearch, Page } from '../../core/ports.js';
import { ALERT_ORDER, alertConditions, type Condition, SUMMARY_ORDER, summaryConditions } from '../alert-conditions.js';
import { ALERT_COLUMNS, type AlertRow, alertValues, CHANNEL_COLUMNS, type ChannelRow, channelsByCall, channelValues, type SummaryRow, summariesOf, toAlert } from '../alert-rows.js';
import { encodeCursor } from '../cursor.js';
import { checkPageSize, each, page } from '../page.js';
import { validateRules } from '../rules.js';
import { migratePostgres } from './migrate.js';
import { POSTGRES_MIGRATIONS } from './migrations/index.js';
import { inTransaction, openMigratedPool, type PgPoolOptions, query } from './pool.js';
import { Where } from './where.js';

/**
 * Pool options (pool.ts). `maxConnections` defaults to 4 here: alerts and
 * summaries are a small share of the writes, and the score store holds its own pool.
 */
export type PostgresAlertStoreOptions = PgPoolOptions;

const numbered = (n: number, from = 1) => Array.from({ length: n }, (_, i) => `$${i + from}`).join(', ');

const INSERT_ALERT = `INSERT INTO analytics_alerts (${ALERT_COLUMNS.join(', ')}) VALUES (${numbered(ALERT_COLUMNS.length)})
  ON CONFLICT (id) DO NOTHING RETURNING 1`;

const UPSERT_CHANNEL = `INSERT INTO analytics_channel_summary (${CHANNEL_COLUMNS.join(', ')}) VALUES (${numbered(CHANNEL_COLUMNS.length)})
  ON CONFLICT (tenant, call_id, channel) DO UPDATE SET ${CHANNEL_COLUMNS.slice(3).map((c) => `${c} = excluded.${c}`).join(', ')}`;

function whereOf(conds: Condition[]): Where {
  const w = new Where();
  for (const c of conds) w.add(c.sql, ...c.args);
  return w;
}

export class PostgresAlertStore implements AlertStore {
  private pool: pg.Pool | null = null;

  constructor(private readonly o: PostgresAlertStoreOptions) {}

  /** Opens the pool and applies pending migrations (under the migrations' advisory lock). */
  async start(): Promise<void> {
    if (this.pool) return;
    const pool = await openMigratedPool({ ...this.o, maxConnections: this.o.maxConnections ?? 4, applicationName: this.o.applicationName ?? 'sentiment-stream-analytics' }, (client) =>
      migratePostgres(client, POSTGRES_MIGRATIONS));
    this.pool = pool;
  }

  async stop(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    if (pool) await pool.end().catch(() => undefined);
  }

  private conn(): pg.Pool {
    if (!this.pool) throw new AppError('STORE_UNAVAILABLE', { reason: 'alert store is not started' });
    return this.pool;
  }

  async putAlert(a: Alert): Promise<'inserted' | 'duplicate'> {
    return inTransaction(this.conn(), async (c) => {
      const r = await c.query(INSERT_ALERT, alertValues(a));
      if (r.rowCount === 0) return 'duplicate';
      // The summary row may not exist yet (alert raised before the first summary write).
      await c.query(
        `INSERT INTO analytics_call_summary (tenant, call_id, first_ms, last_ms, alert_count) VALUES ($1, $2, $3, $3, 1)
         ON CONFLICT (tenant, call_id) DO UPDATE SET alert_count = analytics_call_summary.alert_count + 1`,
        [a.tenant, a.callId, a.eventTimeMs],
      );
      return 'inserted';
    });
  }

  async listAlerts(q: AlertQuery): Promise<Page<Alert>> {
    const first = checkPageSize(q.first);
    const c = alertConditions(q);
    const pool = this.conn();
    const total = await this.count(pool, 'analytics_alerts a', c.filter);
    const w = whereOf(c.after ? [...c.filter, c.after] : c.filter);
    const rows = await query<AlertRow>(pool, `SELECT a.* FROM analytics_alerts a ${w.sql()} ORDER BY ${ALERT_ORDER} LIMIT ${first + 1}`, w.params);
    return page(rows, first, total, each(toAlert), (r) => encodeCursor('alert', [r.event_time_ms, r.id]));
  }

  async alertsOfCall(callId: string, tenant?: string): Promise<Alert[]> {
    const w = new Where().eq('call_id', callId).eqIf('tenant', tenant);
    return (await query<AlertRow>(this.conn(), `SELECT * FROM analytics_alerts ${w.sql()} ORDER BY event_time_ms, id`, w.params)).map(toAlert);
  }

  async getRules(tenant: string): Promise<AlertRules | null> {
    const rows = await query<{ rules: unknown }>(this.conn(), 'SELECT rules FROM analytics_alert_rules WHERE tenant = $1', [tenant]);
    return rows[0] ? validateRules(rows[0].rules) : null;
  }

  async allRules(): Promise<Map<string, AlertRules>> {
    const rows = await query<{ tenant: string; rules: unknown }>(this.conn(), 'SELECT tenant, rules FROM analytics_alert_rules ORDER BY tenant');
    return new Map(rows.map((r) => [r.tenant, validateRules(r.rules)]));
  }

  async setRules(tenant: string, rules: AlertRules): Promise<void> {
    const valid = validateRules(rules);
    await query(
      this.conn(),
      `INSERT INTO analytics_alert_rules (tenant, rules, updated_at) VALUES ($1, $2, now())
       ON CONFLICT (tenant) DO UPDATE SET rules = excluded.rules, updated_at = excluded.updated_at`,
      [tenant, JSON.stringify(valid)],
    );
  }

  async putSummary(s: Omit<CallSummary, 'alertCount'>): Promise<void> {
    await inTransaction(this.conn(), async (c) => {
      await c.query(
        `INSERT INTO analytics_call_summary (tenant, call_id, first_ms, last_ms, alert_count) VALUES ($1, $2, $3, $4, 0)
         ON CONFLICT (tenant, call_id) DO UPDATE SET first_ms = excluded.first_ms, last_ms = excluded.last_ms`,
        [s.tenant, s.callId, s.firstMs, s.lastMs],
      );
      for (const ch of s.channels) await c.query(UPSERT_CHANNEL, channelValues(s.tenant, s.callId, ch));
    });
  }

  async getSummary(callId: string, tenant?: string): Promise<CallSummary | null> {
    const pool = this.conn();
    const w = new Where().eq('call_id', callId).eqIf('tenant', tenant);
    const rows = await query<SummaryRow>(pool, `SELECT * FROM analytics_call_summary ${w.sql()} ORDER BY tenant LIMIT 1`, w.params);
    return rows[0] ? (await this.summaries(pool, rows))[0] : null;
  }

  async searchCalls(q: CallSearch): Promise<Page<CallSummary>> {
    const first = checkPageSize(q.first);
    const c = summaryConditions(q);
    const pool = this.conn();
    const total = await this.count(pool, 'analytics_call_summary s', c.filter);
    const w = whereOf(c.after ? [...c.filter, c.after] : c.filter);
    const rows = await query<SummaryRow>(pool, `SELECT s.* FROM analytics_call_summary s ${w.sql()} ORDER BY ${SUMMARY_ORDER} LIMIT ${first + 1}`, w.params);
    // The page's summaries with their channels (one query), then cut like any other page.
    const nodes = await this.summaries(pool, rows.slice(0, first));
    return page(rows, first, total, () => nodes, (r) => encodeCursor('summary', [r.last_ms, r.call_id, r.tenant]));
  }

  private async count(pool: pg.Pool, from: string, conds: Condition[]): Promise<number> {
    const w = whereOf(conds);
    return (await query<{ n: number }>(pool, `SELECT COUNT(*)::int AS n FROM ${from} ${w.sql()}`, w.params))[0].n;
  }

  /** Summaries with their channel rows (one query for the whole page), each list sorted by channel. */
  private async summaries(pool: pg.Pool, rows: SummaryRow[]): Promise<CallSummary[]> {
    if (rows.length === 0) return [];
    const chans = await query<ChannelRow>(
      pool,
      `SELECT c.* FROM analytics_channel_summary c JOIN unnest($1::text[], $2::text[]) AS k(tenant, call_id)
         ON c.tenant = k.tenant AND c.call_id = k.call_id ORDER BY c.channel`,
      [rows.map((r) => r.tenant), rows.map((r) => r.call_id)],
    );
    return summariesOf(rows, channelsByCall(chans));
  }
}
