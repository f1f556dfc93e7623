import type { Migration } from '../types.js';

/**
 * The analytics tables (alerts, per-tenant rules, call and channel summaries), as the analytics
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
