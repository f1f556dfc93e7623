import type { Migration } from '../../migrations/types.js';

/**
 * The analytics tables, the PostgreSQL twin of migrations/sqlite/0005 + 0006: calls keyed by
 * (tenant, call_id) from the start (this dialect never had the tenant-less form). Text keys use
 * COLLATE "C" so keyset cursors mean the same as on SQLite. Was version 1 of the analytics part's
 * own migrator (table analytics_schema_migrations; the one migrator adopts that record, see
 * migrate.ts).
 */
export const pg0005: Migration = {
  version: 5,
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
};
