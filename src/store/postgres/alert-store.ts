/**
 * AlertStore (core/ports.ts) on PostgreSQL, for deployments with several server instances: a
 * bounded node-postgres pool (pool.ts) and the one PostgreSQL migrator (migrate.ts) over the one
 * list, so two instances starting together migrate once. Same keys, order, filters and cursors as
 * the SQLite adapter (alert-sql.ts, alert-conditions.ts, cursor.ts and page.ts are shared; the
 * `?` placeholders of alert-sql.ts are numbered as $1, $2, ... here), and one behaviour
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
import { ALERT_ORDER, alertConditions, SUMMARY_ORDER, summaryConditions } from '../alert-conditions.js';
import { type AlertRow, alertValues, type ChannelRow, channelsByCall, channelValues, type SummaryRow, summariesOf, toAlert } from '../alert-rows.js';
import { alertsOfCallSql, channelsOfSql, COUNT_ALERT, INSERT_ALERT, PUT_CHANNEL, PUT_SPAN, summarySql } from '../alert-sql.js';
import { encodeCursor } from '../cursor.js';
import { checkPageSize, each, page } from '../page.js';
import { validateRules } from '../rules.js';
import { numbered } from '../sql.js';
import { migratePostgres } from './migrate.js';
import { POSTGRES_MIGRATIONS } from './migrations/index.js';
import { inTransaction, openMigratedPool, type PgPoolOptions, query } from './pool.js';
import { countRows, pageRows } from './lists.js';

/**
 * Pool options (pool.ts). `maxConnections` defaults to 4 here: alerts and
 * summaries are a small share of the writes, and the score store holds its own pool.
 */
export type PostgresAlertStoreOptions = PgPoolOptions;

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
      if ((await c.query(numbered(INSERT_ALERT), alertValues(a))).rowCount === 0) return 'duplicate';
      // The summary row may not exist yet (alert raised before the first summary write).
      await c.query(numbered(COUNT_ALERT), [a.tenant, a.callId, a.eventTimeMs, a.eventTimeMs]);
      return 'inserted';
    });
  }

  async listAlerts(q: AlertQuery): Promise<Page<Alert>> {
    const first = checkPageSize(q.first);
    const c = alertConditions(q);
    const pool = this.conn();
    const total = await countRows(pool, 'analytics_alerts a', c.filter);
    const rows = await pageRows<AlertRow>(pool, 'a.*', 'analytics_alerts a', c, ALERT_ORDER, first);
    return page(rows, first, total, each(toAlert), (r) => encodeCursor('alert', [r.event_time_ms, r.id]));
  }

  async alertsOfCall(callId: string, tenant?: string): Promise<Alert[]> {
    const args = tenant === undefined ? [callId] : [callId, tenant];
    return (await query<AlertRow>(this.conn(), numbered(alertsOfCallSql(tenant !== undefined)), args)).map(toAlert);
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
      await c.query(numbered(PUT_SPAN), [s.tenant, s.callId, s.firstMs, s.lastMs]);
      for (const ch of s.channels) await c.query(numbered(PUT_CHANNEL), channelValues(s.tenant, s.callId, ch));
    });
  }

  async getSummary(callId: string, tenant?: string): Promise<CallSummary | null> {
    const pool = this.conn();
    const args = tenant === undefined ? [callId] : [callId, tenant];
    const rows = await query<SummaryRow>(pool, numbered(summarySql(tenant !== undefined)), args);
    return rows[0] ? (await this.summaries(pool, rows))[0] : null;
  }

  async searchCalls(q: CallSearch): Promise<Page<CallSummary>> {
    const first = checkPageSize(q.first);
    const c = summaryConditions(q);
    const pool = this.conn();
    const total = await countRows(pool, 'analytics_call_summary s', c.filter);
    const rows = await pageRows<SummaryRow>(pool, 's.*', 'analytics_call_summary s', c, SUMMARY_ORDER, first);
    // The page's summaries with their channels (one query), then cut like any other page.
    const nodes = await this.summaries(pool, rows.slice(0, first));
    return page(rows, first, total, () => nodes, (r) => encodeCursor('summary', [r.last_ms, r.call_id, r.tenant]));
  }

  /** Summaries with their channel rows (one query for the whole page), each list sorted by channel. */
  private async summaries(pool: pg.Pool, rows: SummaryRow[]): Promise<CallSummary[]> {
    if (rows.length === 0) return [];
    const chans = await query<ChannelRow>(pool, numbered(channelsOfSql(rows.length)), rows.flatMap((r) => [r.tenant, r.call_id]));
    return summariesOf(rows, channelsByCall(chans));
  }
}
