import type { Migration } from '../types.js';

/**
 * The analytics tables' two shipped migrations, kept together in one file as they shipped (their
 * CREATE TABLE texts repeat each other: 0006 rebuilds the tables 0005 made).
 *
 * 0005: the analytics tables (alerts, per-tenant rules, call and channel summaries), as the analytics
 * part's own migrator created them as its version 1 (table analytics_migrations; the one
 * migrator adopts that record as this version, see migrate-sqlite.ts). Superseded in part by
 * 0006, which keys summaries by tenant; kept as shipped.
 */
export const m0005: Migration = {
  version: 5,
  name: 'analytics-initial',
  // The SQL text is byte for byte what shipped (SQLite keeps it in sqlite_master).
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
};

/**
 * 0006: call ids are unique only within a tenant: key summaries by (tenant, call_id) and put the tenant
 * into alert ids (analytics/alert.ts alertId). Existing rows are kept: each old summary had one
 * tenant, so its channel rows take that tenant; alert ids are rewritten to the new form with the
 * same escaping as idPart (% -> %25, : -> %3A), so a restart's hydration and the engine's ids
 * agree. What a collision already lost before this version cannot be recovered. Was version 2
 * of the analytics part's own migrator.
 */
export const m0006: Migration = {
  version: 6,
  name: 'analytics-tenant-keys',
  // The SQL text is byte for byte what shipped (SQLite keeps it in sqlite_master).
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
};
