/**
 * SQLite schema of the analytics tables, as ordered migrations. They live next to the score
 * store's tables in the same file (their own names, their own version table), so either part can
 * migrate without the other. Applied in one transaction each; never edit an applied migration.
 */
import type Database from 'better-sqlite3';

export const ANALYTICS_MIGRATIONS: readonly { version: number; sql: string }[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE analytics_alerts (
        id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        call_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        rule TEXT NOT NULL,
        segment_index INTEGER NOT NULL,
        valence REAL NOT NULL,
        value REAL NOT NULL,
        threshold REAL NOT NULL,
        message TEXT NOT NULL,
        event_time_ms REAL NOT NULL,
        raised_at TEXT NOT NULL
      );
      CREATE INDEX analytics_alerts_tenant_time ON analytics_alerts (tenant, event_time_ms DESC, id DESC);
      CREATE INDEX analytics_alerts_call ON analytics_alerts (call_id);
      CREATE TABLE analytics_alert_rules (
        tenant TEXT PRIMARY KEY,
        rules_json TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE analytics_call_summary (
        call_id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        first_ms REAL NOT NULL,
        last_ms REAL NOT NULL,
        alert_count INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX analytics_call_summary_tenant_last ON analytics_call_summary (tenant, last_ms DESC, call_id DESC);
      CREATE TABLE analytics_channel_summary (
        call_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        segments INTEGER NOT NULL,
        mean_valence REAL NOT NULL,
        min_valence REAL NOT NULL,
        max_valence REAL NOT NULL,
        rolling_valence REAL NOT NULL,
        trend REAL,
        text_missing_share REAL NOT NULL,
        PRIMARY KEY (call_id, channel)
      );
    `,
  },
  {
    // Call ids are unique only within a tenant: key summaries by (tenant, call_id) and put the
    // tenant into alert ids (alert.ts alertId). Existing rows are kept: each old summary had one
    // tenant, so its channel rows take that tenant; alert ids are rewritten to the new form with
    // the same escaping as idPart (% -> %25, : -> %3A), so a restart's hydration and the engine's
    // ids agree. What a collision already lost before this version cannot be recovered.
    version: 2,
    sql: `
      CREATE TABLE analytics_call_summary_v2 (
        tenant TEXT NOT NULL,
        call_id TEXT NOT NULL,
        first_ms REAL NOT NULL,
        last_ms REAL NOT NULL,
        alert_count INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (tenant, call_id)
      );
      INSERT INTO analytics_call_summary_v2 (tenant, call_id, first_ms, last_ms, alert_count)
        SELECT tenant, call_id, first_ms, last_ms, alert_count FROM analytics_call_summary;
      CREATE TABLE analytics_channel_summary_v2 (
        tenant TEXT NOT NULL,
        call_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        segments INTEGER NOT NULL,
        mean_valence REAL NOT NULL,
        min_valence REAL NOT NULL,
        max_valence REAL NOT NULL,
        rolling_valence REAL NOT NULL,
        trend REAL,
        text_missing_share REAL NOT NULL,
        PRIMARY KEY (tenant, call_id, channel)
      );
      INSERT INTO analytics_channel_summary_v2
        SELECT s.tenant, c.call_id, c.channel, c.segments, c.mean_valence, c.min_valence, c.max_valence, c.rolling_valence, c.trend, c.text_missing_share
        FROM analytics_channel_summary c JOIN analytics_call_summary s ON s.call_id = c.call_id;
      DROP TABLE analytics_channel_summary;
      DROP TABLE analytics_call_summary;
      ALTER TABLE analytics_call_summary_v2 RENAME TO analytics_call_summary;
      ALTER TABLE analytics_channel_summary_v2 RENAME TO analytics_channel_summary;
      CREATE INDEX analytics_call_summary_tenant_last ON analytics_call_summary (tenant, last_ms DESC, call_id DESC);
      CREATE INDEX analytics_call_summary_last ON analytics_call_summary (last_ms DESC, call_id DESC, tenant DESC);
      CREATE TABLE analytics_alerts_v2 (
        id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        call_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        rule TEXT NOT NULL,
        segment_index INTEGER NOT NULL,
        valence REAL NOT NULL,
        value REAL NOT NULL,
        threshold REAL NOT NULL,
        message TEXT NOT NULL,
        event_time_ms REAL NOT NULL,
        raised_at TEXT NOT NULL
      );
      INSERT INTO analytics_alerts_v2
        SELECT replace(replace(tenant, '%', '%25'), ':', '%3A') || ':' || replace(replace(call_id, '%', '%25'), ':', '%3A') || ':' ||
               replace(replace(channel, '%', '%25'), ':', '%3A') || ':' || rule || ':' || segment_index,
               tenant, call_id, channel, rule, segment_index, valence, value, threshold, message, event_time_ms, raised_at
        FROM analytics_alerts;
      DROP TABLE analytics_alerts;
      ALTER TABLE analytics_alerts_v2 RENAME TO analytics_alerts;
      CREATE INDEX analytics_alerts_tenant_time ON analytics_alerts (tenant, event_time_ms DESC, id DESC);
      CREATE INDEX analytics_alerts_time ON analytics_alerts (event_time_ms DESC, id DESC);
      CREATE INDEX analytics_alerts_call ON analytics_alerts (tenant, call_id);
    `,
  },
];

/** Applies the migrations not yet applied; returns the versions it applied. */
export function migrateAnalytics(db: Database.Database): number[] {
  db.exec('CREATE TABLE IF NOT EXISTS analytics_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
  const done = new Set((db.prepare('SELECT version FROM analytics_migrations').all() as { version: number }[]).map((r) => r.version));
  const applied: number[] = [];
  for (const m of ANALYTICS_MIGRATIONS) {
    if (done.has(m.version)) continue;
    const ran = db.transaction(() => {
      // Re-checked under the write lock: another process may have applied it meanwhile.
      if (db.prepare('SELECT 1 FROM analytics_migrations WHERE version = ?').get(m.version)) return false;
      db.exec(m.sql);
      db.prepare('INSERT INTO analytics_migrations (version, applied_at) VALUES (?, ?)').run(m.version, new Date().toISOString());
      return true;
    }).immediate();
    if (ran) applied.push(m.version);
  }
  return applied;
}
