/**
 * AlertStore on SQLite (better-sqlite3, synchronous under an async interface). Opens its own
 * connection (WAL, so it shares the score store's file without blocking its readers), or uses
 * one it is given (then it leaves closing it to the owner).
 */
import Database from 'better-sqlite3';
import { AppError } from '../core/errors.js';
import type { Page } from '../core/ports.js';
import type { Alert } from './alert.js';
import type { AlertQuery, AlertStore, CallSearch, CallSummary } from './alert-store.js';
import { decodeKey, encodeKey, pageSize } from './cursor.js';
import { migrateAnalytics } from './migrations.js';
import { type AlertRuleKind, type AlertRules, validateRules } from './rules.js';
import type { ChannelAnalytics } from './stats.js';

export interface SqliteAlertStoreOptions {
  /** A file path or ':memory:'; ignored when `db` is given. Default ':memory:'. */
  path?: string;
  /** An open connection to share. */
  db?: Database.Database;
  /** ms to wait for another writer's lock (default 5000). */
  busyTimeoutMs?: number;
}

interface AlertRow {
  id: string;
  tenant: string;
  call_id: string;
  channel: string;
  rule: string;
  segment_index: number;
  valence: number;
  value: number;
  threshold: number;
  message: string;
  event_time_ms: number;
  raised_at: string;
}

interface ChannelRow {
  call_id: string;
  channel: string;
  segments: number;
  mean_valence: number;
  min_valence: number;
  max_valence: number;
  rolling_valence: number;
  trend: number | null;
  text_missing_share: number;
}

interface SummaryRow {
  call_id: string;
  tenant: string;
  first_ms: number;
  last_ms: number;
  alert_count: number;
}

const toAlert = (r: AlertRow): Alert => ({
  id: r.id,
  tenant: r.tenant,
  callId: r.call_id,
  channel: r.channel,
  rule: r.rule as AlertRuleKind,
  segmentIndex: r.segment_index,
  valence: r.valence,
  value: r.value,
  threshold: r.threshold,
  message: r.message,
  eventTimeMs: r.event_time_ms,
  raisedAt: r.raised_at,
});

const toChannel = (r: ChannelRow): ChannelAnalytics => ({
  channel: r.channel,
  segments: r.segments,
  meanValence: r.mean_valence,
  minValence: r.min_valence,
  maxValence: r.max_valence,
  rollingValence: r.rolling_valence,
  trend: r.trend,
  textMissingShare: r.text_missing_share,
});

export class SqliteAlertStore implements AlertStore {
  private db: Database.Database | null = null;
  private readonly owned: boolean;

  constructor(private readonly o: SqliteAlertStoreOptions = {}) {
    this.owned = !o.db;
  }

  async start(): Promise<void> {
    if (this.db) return;
    try {
      const db = this.o.db ?? new Database(this.o.path ?? ':memory:');
      if (this.owned) {
        if (this.o.path && this.o.path !== ':memory:') db.pragma('journal_mode = WAL');
        db.pragma(`busy_timeout = ${this.o.busyTimeoutMs ?? 5000}`);
      }
      migrateAnalytics(db);
      this.db = db;
    } catch (e) {
      throw new AppError('STORE_UNAVAILABLE', { reason: e instanceof Error ? e.message : String(e) }, { cause: e });
    }
  }

  async stop(): Promise<void> {
    if (this.db && this.owned) this.db.close();
    this.db = null;
  }

  private conn(): Database.Database {
    if (!this.db) throw new AppError('STORE_UNAVAILABLE', { reason: 'alert store is not started' });
    return this.db;
  }

  /** Runs a statement, turning driver errors (locked, disk full) into a retriable STORE_UNAVAILABLE. */
  private run<T>(f: (db: Database.Database) => T): T {
    const db = this.conn();
    try {
      return f(db);
    } catch (e) {
      if (e instanceof AppError) throw e;
      throw new AppError('STORE_UNAVAILABLE', { reason: e instanceof Error ? e.message : String(e) }, { cause: e });
    }
  }

  async putAlert(a: Alert): Promise<'inserted' | 'duplicate'> {
    return this.run((db) =>
      db.transaction(() => {
        const r = db
          .prepare(
            `INSERT OR IGNORE INTO analytics_alerts (id, tenant, call_id, channel, rule, segment_index, valence, value, threshold, message, event_time_ms, raised_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(a.id, a.tenant, a.callId, a.channel, a.rule, a.segmentIndex, a.valence, a.value, a.threshold, a.message, a.eventTimeMs, a.raisedAt);
        if (r.changes === 0) return 'duplicate' as const;
        // The summary row may not exist yet (alert raised before the first summary write).
        db.prepare(
          `INSERT INTO analytics_call_summary (call_id, tenant, first_ms, last_ms, alert_count) VALUES (?, ?, ?, ?, 1)
           ON CONFLICT(call_id) DO UPDATE SET alert_count = alert_count + 1`,
        ).run(a.callId, a.tenant, a.eventTimeMs, a.eventTimeMs);
        return 'inserted' as const;
      })(),
    );
  }

  async listAlerts(q: AlertQuery): Promise<Page<Alert>> {
    const first = pageSize(q.first);
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.tenant !== undefined) (where.push('tenant = ?'), args.push(q.tenant));
    if (q.callId !== undefined) (where.push('call_id = ?'), args.push(q.callId));
    if (q.rule !== undefined) (where.push('rule = ?'), args.push(q.rule));
    if (q.sinceMs !== undefined) (where.push('event_time_ms >= ?'), args.push(q.sinceMs));
    const countWhere = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const countArgs = [...args];
    if (q.after) {
      const k = decodeKey('alert', q.after);
      where.push('(event_time_ms < ? OR (event_time_ms = ? AND id < ?))');
      args.push(k.key, k.key, k.id);
    }
    const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
    return this.run((db) => {
      const rows = db.prepare(`SELECT * FROM analytics_alerts ${w} ORDER BY event_time_ms DESC, id DESC LIMIT ?`).all(...args, first + 1) as AlertRow[];
      const total = (db.prepare(`SELECT COUNT(*) AS n FROM analytics_alerts ${countWhere}`).get(...countArgs) as { n: number }).n;
      const items = rows.slice(0, first).map((r) => ({ node: toAlert(r), cursor: encodeKey('alert', r.event_time_ms, r.id) }));
      return { items, hasNextPage: rows.length > first, endCursor: items.length ? items[items.length - 1].cursor : null, totalCount: total };
    });
  }

  async alertsOfCall(callId: string): Promise<Alert[]> {
    return this.run((db) => (db.prepare('SELECT * FROM analytics_alerts WHERE call_id = ? ORDER BY event_time_ms, id').all(callId) as AlertRow[]).map(toAlert));
  }

  async getRules(tenant: string): Promise<AlertRules | null> {
    const row = this.run((db) => db.prepare('SELECT rules_json FROM analytics_alert_rules WHERE tenant = ?').get(tenant) as { rules_json: string } | undefined);
    return row ? validateRules(JSON.parse(row.rules_json)) : null;
  }

  async allRules(): Promise<Map<string, AlertRules>> {
    const rows = this.run((db) => db.prepare('SELECT tenant, rules_json FROM analytics_alert_rules').all() as { tenant: string; rules_json: string }[]);
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
        db.prepare(
          `INSERT INTO analytics_call_summary (call_id, tenant, first_ms, last_ms, alert_count) VALUES (?, ?, ?, ?, 0)
           ON CONFLICT(call_id) DO UPDATE SET first_ms = excluded.first_ms, last_ms = excluded.last_ms`,
        ).run(s.callId, s.tenant, s.firstMs, s.lastMs);
        const put = db.prepare(
          `INSERT OR REPLACE INTO analytics_channel_summary (call_id, channel, segments, mean_valence, min_valence, max_valence, rolling_valence, trend, text_missing_share)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        );
        for (const c of s.channels) put.run(s.callId, c.channel, c.segments, c.meanValence, c.minValence, c.maxValence, c.rollingValence, c.trend, c.textMissingShare);
      })(),
    );
  }

  private channelsOf(db: Database.Database, callIds: string[]): Map<string, ChannelAnalytics[]> {
    const out = new Map<string, ChannelAnalytics[]>();
    if (callIds.length === 0) return out;
    const rows = db.prepare(`SELECT * FROM analytics_channel_summary WHERE call_id IN (${callIds.map(() => '?').join(',')}) ORDER BY channel`).all(...callIds) as ChannelRow[];
    for (const r of rows) {
      const list = out.get(r.call_id) ?? [];
      list.push(toChannel(r));
      out.set(r.call_id, list);
    }
    return out;
  }

  async getSummary(callId: string, tenant?: string): Promise<CallSummary | null> {
    return this.run((db) => {
      const r = db.prepare('SELECT * FROM analytics_call_summary WHERE call_id = ?').get(callId) as SummaryRow | undefined;
      if (!r || (tenant !== undefined && r.tenant !== tenant)) return null;
      return { callId: r.call_id, tenant: r.tenant, firstMs: r.first_ms, lastMs: r.last_ms, alertCount: r.alert_count, channels: this.channelsOf(db, [r.call_id]).get(r.call_id) ?? [] };
    });
  }

  async searchCalls(q: CallSearch): Promise<Page<CallSummary>> {
    const first = pageSize(q.first);
    for (const [name, v] of [['minMeanValence', q.minMeanValence], ['maxMeanValence', q.maxMeanValence], ['fromMs', q.fromMs], ['toMs', q.toMs]] as const) {
      if (v !== undefined && !Number.isFinite(v)) throw new AppError('BAD_REQUEST', { reason: `${name} must be a finite number` });
    }
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.tenant !== undefined) (where.push('s.tenant = ?'), args.push(q.tenant));
    if (q.fromMs !== undefined) (where.push('s.last_ms >= ?'), args.push(q.fromMs));
    if (q.toMs !== undefined) (where.push('s.first_ms <= ?'), args.push(q.toMs));
    if (q.hasAlerts !== undefined) where.push(q.hasAlerts ? 's.alert_count > 0' : 's.alert_count = 0');
    if (q.minMeanValence !== undefined || q.maxMeanValence !== undefined || q.sentiment !== undefined) {
      const conds = ['c.call_id = s.call_id', 'c.channel = ?'];
      args.push(q.channel ?? 'customer');
      if (q.minMeanValence !== undefined) (conds.push('c.mean_valence >= ?'), args.push(q.minMeanValence));
      if (q.maxMeanValence !== undefined) (conds.push('c.mean_valence <= ?'), args.push(q.maxMeanValence));
      const [lo, hi] = q.neutralBand ?? [-0.5, 0.5];
      if (q.sentiment === 'NEGATIVE') (conds.push('c.mean_valence < ?'), args.push(lo));
      else if (q.sentiment === 'POSITIVE') (conds.push('c.mean_valence > ?'), args.push(hi));
      else if (q.sentiment === 'NEUTRAL') (conds.push('c.mean_valence >= ? AND c.mean_valence <= ?'), args.push(lo, hi));
      where.push(`EXISTS (SELECT 1 FROM analytics_channel_summary c WHERE ${conds.join(' AND ')})`);
    }
    const countWhere = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const countArgs = [...args];
    if (q.after) {
      const k = decodeKey('summary', q.after);
      where.push('(s.last_ms < ? OR (s.last_ms = ? AND s.call_id < ?))');
      args.push(k.key, k.key, k.id);
    }
    const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
    return this.run((db) => {
      const rows = db.prepare(`SELECT s.* FROM analytics_call_summary s ${w} ORDER BY s.last_ms DESC, s.call_id DESC LIMIT ?`).all(...args, first + 1) as SummaryRow[];
      const total = (db.prepare(`SELECT COUNT(*) AS n FROM analytics_call_summary s ${countWhere}`).get(...countArgs) as { n: number }).n;
      const page = rows.slice(0, first);
      const channels = this.channelsOf(db, page.map((r) => r.call_id));
      const items = page.map((r) => ({
        node: { callId: r.call_id, tenant: r.tenant, firstMs: r.first_ms, lastMs: r.last_ms, alertCount: r.alert_count, channels: channels.get(r.call_id) ?? [] },
        cursor: encodeKey('summary', r.last_ms, r.call_id),
      }));
      return { items, hasNextPage: rows.length > first, endCursor: items.length ? items[items.length - 1].cursor : null, totalCount: total };
    });
  }
}
