/**
 * AlertStore (core/ports.ts) on SQLite (better-sqlite3, synchronous under an async interface).
 * Opens its own connection (WAL, so it shares the score store's file without blocking its
 * readers), or uses one it is given (then it leaves closing it to the owner). Either way it
 * runs the one SQLite migrator (migrate-sqlite.ts) over the one list, so a file always has every
 * table at one version. Calls are keyed by (tenant, call_id); text compares bytewise (BINARY),
 * like the PostgreSQL adapter's COLLATE "C". Its SQL comes from alert-sql.ts and its list filters
 * from alert-conditions.ts (both shared with the PostgreSQL adapter), paging and cursors from
 * page.ts and cursor.ts (shared with every store).
 */
import Database from 'better-sqlite3';
import type { Alert, AlertRules, CallSummary } from '../core/alerts.js';
import { AppError } from '../core/errors.js';
import type { AlertQuery, AlertStore, CallSearch, Page } from '../core/ports.js';
import { ALERT_ORDER, alertConditions, SUMMARY_ORDER, summaryConditions } from './alert-conditions.js';
import { type AlertRow, alertValues, type ChannelRow, channelsByCall, channelValues, type SummaryRow, summariesOf, toAlert } from './alert-rows.js';
import { alertsOfCallSql, channelsOfSql, COUNT_ALERT, INSERT_ALERT, PUT_CHANNEL, PUT_SPAN, summarySql } from './alert-sql.js';
import { encodeCursor } from './cursor.js';
import { migrateSqlite } from './migrate-sqlite.js';
import { SQLITE_MIGRATIONS } from './migrations/sqlite/index.js';
import { checkPageSize, each, page } from './page.js';
import { validateRules } from './rules.js';
import { countQuery, pageQuery } from './sql.js';
import { guardSqlite } from './sqlite-guard.js';

export interface SqliteAlertStoreOptions {
  /** A file path or ':memory:'; ignored when `db` is given. Default ':memory:'. */
  path?: string;
  /** An open connection to share. */
  db?: Database.Database;
  /** ms to wait for another writer's lock (default 5000). */
  busyTimeoutMs?: number;
}

export class SqliteAlertStore implements AlertStore {
  private db: Database.Database | null = null;
  private readonly owned: boolean;

  constructor(private readonly o: SqliteAlertStoreOptions = {}) {
    this.owned = !o.db;
  }

  async start(): Promise<void> {
    if (this.db) return;
    this.db = guardSqlite(() => {
      const db = this.o.db ?? new Database(this.o.path ?? ':memory:');
      if (this.owned) {
        if (this.o.path && this.o.path !== ':memory:') db.pragma('journal_mode = WAL');
        db.pragma(`busy_timeout = ${this.o.busyTimeoutMs ?? 5000}`);
      }
      migrateSqlite(db, SQLITE_MIGRATIONS);
      return db;
    });
  }

  async stop(): Promise<void> {
    if (this.db && this.owned) this.db.close();
    this.db = null;
  }

  /** Runs driver work on the open connection (guardSqlite: driver failures become STORE_UNAVAILABLE). */
  private run<T>(f: (db: Database.Database) => T): T {
    const db = this.db;
    if (!db) throw new AppError('STORE_UNAVAILABLE', { reason: 'alert store is not started' });
    return guardSqlite(() => f(db));
  }

  async putAlert(a: Alert): Promise<'inserted' | 'duplicate'> {
    return this.run((db) =>
      db.transaction(() => {
        if (db.prepare(INSERT_ALERT).run(...alertValues(a)).changes === 0) return 'duplicate' as const;
        // The summary row may not exist yet (alert raised before the first summary write).
        db.prepare(COUNT_ALERT).run(a.tenant, a.callId, a.eventTimeMs, a.eventTimeMs);
        return 'inserted' as const;
      })(),
    );
  }

  async listAlerts(q: AlertQuery): Promise<Page<Alert>> {
    const first = checkPageSize(q.first);
    const c = alertConditions(q);
    const [list, listArgs] = pageQuery('a.*', 'analytics_alerts a', c, ALERT_ORDER, first);
    const [count, countArgs] = countQuery('analytics_alerts a', c.filter);
    return this.run((db) => {
      const rows = db.prepare(list).all(...listArgs) as AlertRow[];
      const total = (db.prepare(count).get(...countArgs) as { n: number }).n;
      return page(rows, first, total, each(toAlert), (r) => encodeCursor('alert', [r.event_time_ms, r.id]));
    });
  }

  async alertsOfCall(callId: string, tenant?: string): Promise<Alert[]> {
    const args = tenant === undefined ? [callId] : [callId, tenant];
    return this.run((db) => (db.prepare(alertsOfCallSql(tenant !== undefined)).all(...args) as AlertRow[]).map(toAlert));
  }

  async getRules(tenant: string): Promise<AlertRules | null> {
    const row = this.run((db) => db.prepare('SELECT rules_json FROM analytics_alert_rules WHERE tenant = ?').get(tenant) as { rules_json: string } | undefined);
    return row ? validateRules(JSON.parse(row.rules_json)) : null;
  }

  async allRules(): Promise<Map<string, AlertRules>> {
    const rows = this.run((db) => db.prepare('SELECT tenant, rules_json FROM analytics_alert_rules ORDER BY tenant').all() as { tenant: string; rules_json: string }[]);
    return new Map(rows.map((r) => [r.tenant, validateRules(JSON.parse(r.rules_json))]));
  }

  async setRules(tenant: string, rules: AlertRules): Promise<void> {
    const valid = validateRules(rules);
    this.run((db) =>
      db
        .prepare('INSERT INTO analytics_alert_rules (tenant, rules_json, updated_at) VALUES (?, ?, ?) ON CONFLICT(tenant) DO UPDATE SET rules_json = excluded.rules_json, updated_at = excluded.updated_at')
        .run(tenant, JSON.stringify(valid), new Date().toISOString()),
    );
  }

  async putSummary(s: Omit<CallSummary, 'alertCount'>): Promise<void> {
    this.run((db) =>
      db.transaction(() => {
        db.prepare(PUT_SPAN).run(s.tenant, s.callId, s.firstMs, s.lastMs);
        const put = db.prepare(PUT_CHANNEL);
        for (const c of s.channels) put.run(...channelValues(s.tenant, s.callId, c));
      })(),
    );
  }

  /** Summaries with their channel rows (one query for the whole page), each list sorted by channel. */
  private summaries(db: Database.Database, calls: SummaryRow[]): CallSummary[] {
    if (calls.length === 0) return [];
    const rows = db.prepare(channelsOfSql(calls.length)).all(...calls.flatMap((c) => [c.tenant, c.call_id])) as ChannelRow[];
    return summariesOf(calls, channelsByCall(rows));
  }

  async getSummary(callId: string, tenant?: string): Promise<CallSummary | null> {
    return this.run((db) => {
      const r = db.prepare(summarySql(tenant !== undefined)).get(...(tenant === undefined ? [callId] : [callId, tenant])) as SummaryRow | undefined;
      return r ? this.summaries(db, [r])[0] : null;
    });
  }

  async searchCalls(q: CallSearch): Promise<Page<CallSummary>> {
    const first = checkPageSize(q.first);
    const c = summaryConditions(q);
    const [list, listArgs] = pageQuery('s.*', 'analytics_call_summary s', c, SUMMARY_ORDER, first);
    const [count, countArgs] = countQuery('analytics_call_summary s', c.filter);
    return this.run((db) => {
      const rows = db.prepare(list).all(...listArgs) as SummaryRow[];
      const total = (db.prepare(count).get(...countArgs) as { n: number }).n;
      return page(rows, first, total, (kept) => this.summaries(db, kept), (r) => encodeCursor('summary', [r.last_ms, r.call_id, r.tenant]));
    });
  }
}
