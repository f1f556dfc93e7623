/**
 * PostgreSQL schema of the analytics tables, as versioned migrations applied by the score store's
 * runner (src/store/postgres/migrate.ts) with their own version table and advisory lock key, so
 * the analytics part and the score store migrate independently in one database.
 *
 * The twin of migrations.ts (SQLite) at its version 2: calls keyed by (tenant, call_id) from the
 * start (this adapter never had the tenant-less version 1). Text keys use COLLATE "C" (byte
 * order) so ORDER BY and keyset cursors agree with SQLite's BINARY collation: a cursor means the
 * same on both stores. Times are DOUBLE PRECISION ms like the score store's event times.
 * Append new migrations; never edit one that has shipped.
 */
import type { Migration } from '../store/migrations/types.js';

/** Version table of the analytics migrations (the score store's is schema_migrations). */
export const ANALYTICS_PG_MIGRATIONS_TABLE = 'analytics_schema_migrations';

/**
 * Advisory lock key of the analytics migrations (a bigint as a decimal string): its own, so an
 * analytics start never waits for a score store migration, and vice versa.
 */
export const ANALYTICS_PG_LOCK_KEY = '7378416102916';

export const ANALYTICS_PG_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'analytics-initial',
    sql: `
CREATE TABLE analytics_alerts (
  id             TEXT COLLATE "C"  PRIMARY KEY,
  tenant         TEXT COLLATE "C"  NOT NULL,
  call_id        TEXT COLLATE "C"  NOT NULL,
  channel        TEXT COLLATE "C"  NOT NULL,
  rule           TEXT              NOT NULL CHECK (rule IN ('ROLLING_BELOW', 'SUSTAINED_NEGATIVE', 'SHARP_DROP')),
  segment_index  INTEGER           NOT NULL,
  valence        DOUBLE PRECISION  NOT NULL,
  value          DOUBLE PRECISION  NOT NULL,
  threshold      DOUBLE PRECISION  NOT NULL,
  message        TEXT              NOT NULL,
  event_time_ms  DOUBLE PRECISION  NOT NULL,
  raised_at      TEXT              NOT NULL
);
CREATE INDEX analytics_alerts_tenant_time ON analytics_alerts (tenant, event_time_ms DESC, id DESC);
CREATE INDEX analytics_alerts_time ON analytics_alerts (event_time_ms DESC, id DESC);
CREATE INDEX analytics_alerts_call ON analytics_alerts (tenant, call_id);

CREATE TABLE analytics_alert_rules (
  tenant      TEXT COLLATE "C"  PRIMARY KEY,
  rules       JSONB             NOT NULL,
  updated_at  TIMESTAMPTZ       NOT NULL DEFAULT now()
);

CREATE TABLE analytics_call_summary (
  tenant       TEXT COLLATE "C"  NOT NULL,
  call_id      TEXT COLLATE "C"  NOT NULL,
  first_ms     DOUBLE PRECISION  NOT NULL,
  last_ms      DOUBLE PRECISION  NOT NULL,
  alert_count  INTEGER           NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant, call_id)
);
CREATE INDEX analytics_call_summary_tenant_last ON analytics_call_summary (tenant, last_ms DESC, call_id DESC);
CREATE INDEX analytics_call_summary_last ON analytics_call_summary (last_ms DESC, call_id DESC, tenant DESC);

CREATE TABLE analytics_channel_summary (
  tenant              TEXT COLLATE "C"  NOT NULL,
  call_id             TEXT COLLATE "C"  NOT NULL,
  channel             TEXT COLLATE "C"  NOT NULL,
  segments            INTEGER           NOT NULL,
  mean_valence        DOUBLE PRECISION  NOT NULL,
  min_valence         DOUBLE PRECISION  NOT NULL,
  max_valence         DOUBLE PRECISION  NOT NULL,
  rolling_valence     DOUBLE PRECISION  NOT NULL,
  trend               DOUBLE PRECISION,
  text_missing_share  DOUBLE PRECISION  NOT NULL,
  PRIMARY KEY (tenant, call_id, channel)
);
`,
  },
];
