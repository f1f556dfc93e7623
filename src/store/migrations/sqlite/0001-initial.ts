import type { Migration } from '../types.js';

/**
 * Calls and scores. Every key starts with tenant: a call id that two tenants happen to share
 * stays two calls, so no tenant can overwrite or see another's rows.
 * Times are REAL ms since the unix epoch (exact for integers below 2^53).
 */
export const m0001: Migration = {
  version: 1,
  name: 'initial',
  sql: `
CREATE TABLE calls (
  tenant         TEXT    NOT NULL,
  call_id        TEXT    NOT NULL,
  status         TEXT    NOT NULL CHECK (status IN ('ACTIVE', 'ENDED', 'TIMED_OUT')),
  started_at_ms  REAL    NOT NULL,
  ended_at_ms    REAL,
  channels       TEXT    NOT NULL DEFAULT '[]',
  segment_count  INTEGER NOT NULL DEFAULT 0,
  meta           TEXT    NOT NULL DEFAULT '{}',
  updated_at_ms  INTEGER NOT NULL,
  PRIMARY KEY (tenant, call_id)
);
CREATE INDEX calls_by_start ON calls (tenant, started_at_ms, call_id);
CREATE INDEX calls_by_status ON calls (tenant, status, started_at_ms);

CREATE TABLE segment_scores (
  id                 INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant             TEXT    NOT NULL,
  call_id            TEXT    NOT NULL,
  channel            TEXT    NOT NULL,
  segment_index      INTEGER NOT NULL,
  revision           INTEGER NOT NULL,
  start_ms           REAL    NOT NULL,
  end_ms             REAL    NOT NULL,
  valence            REAL    NOT NULL,
  label              TEXT    NOT NULL,
  confidence         REAL    NOT NULL,
  text_missing       INTEGER NOT NULL,
  mod_text           TEXT    NOT NULL,
  mod_audio          TEXT    NOT NULL,
  mod_video          TEXT    NOT NULL,
  w_text             REAL    NOT NULL,
  w_audio            REAL    NOT NULL,
  w_video            REAL    NOT NULL,
  text               TEXT,
  model_version      TEXT    NOT NULL,
  execution_provider TEXT    NOT NULL,
  scored_at          TEXT    NOT NULL,
  stored_at_ms       INTEGER NOT NULL,
  UNIQUE (tenant, call_id, channel, segment_index, revision)
);
CREATE INDEX scores_by_start ON segment_scores (tenant, call_id, start_ms, channel, segment_index, revision);
CREATE INDEX scores_by_stored ON segment_scores (tenant, stored_at_ms, id);
`,
};
