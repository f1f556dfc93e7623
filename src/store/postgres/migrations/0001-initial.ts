import type { Migration } from '../../migrations/types.js';

/**
 * Calls and scores, the PostgreSQL twin of migrations/sqlite/0001-initial.ts. Every key starts
 * with tenant. Text keys use COLLATE "C" (byte order) so ORDER BY and the row comparisons of
 * keyset cursors agree with SQLite's BINARY collation whatever the database's locale is: a
 * cursor means the same thing on both stores. Event times are DOUBLE PRECISION ms (fractional
 * ms round-trip, exact for integers below 2^53); storage times are BIGINT ms.
 */
export const pg0001: Migration = {
  version: 1,
  name: 'initial',
  sql: `
CREATE TABLE calls (
  tenant         TEXT COLLATE "C"  NOT NULL,
  call_id        TEXT COLLATE "C"  NOT NULL,
  status         TEXT              NOT NULL CHECK (status IN ('ACTIVE', 'ENDED', 'TIMED_OUT')),
  started_at_ms  DOUBLE PRECISION  NOT NULL,
  ended_at_ms    DOUBLE PRECISION,
  channels       JSONB             NOT NULL DEFAULT '[]',
  segment_count  INTEGER           NOT NULL DEFAULT 0,
  meta           JSONB             NOT NULL DEFAULT '{}',
  updated_at_ms  BIGINT            NOT NULL,
  PRIMARY KEY (tenant, call_id)
);
CREATE INDEX calls_by_start ON calls (tenant, started_at_ms, call_id);
CREATE INDEX calls_by_status ON calls (tenant, status, started_at_ms);

CREATE TABLE segment_scores (
  id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant             TEXT COLLATE "C" NOT NULL,
  call_id            TEXT COLLATE "C" NOT NULL,
  channel            TEXT COLLATE "C" NOT NULL,
  segment_index      INTEGER          NOT NULL,
  revision           INTEGER          NOT NULL,
  start_ms           DOUBLE PRECISION NOT NULL,
  end_ms             DOUBLE PRECISION NOT NULL,
  valence            DOUBLE PRECISION NOT NULL,
  label              TEXT             NOT NULL,
  confidence         DOUBLE PRECISION NOT NULL,
  text_missing       BOOLEAN          NOT NULL,
  mod_text           TEXT             NOT NULL,
  mod_audio          TEXT             NOT NULL,
  mod_video          TEXT             NOT NULL,
  w_text             DOUBLE PRECISION NOT NULL,
  w_audio            DOUBLE PRECISION NOT NULL,
  w_video            DOUBLE PRECISION NOT NULL,
  text               TEXT,
  model_version      TEXT             NOT NULL,
  execution_provider TEXT             NOT NULL,
  scored_at          TEXT             NOT NULL,
  stored_at_ms       BIGINT           NOT NULL,
  UNIQUE (tenant, call_id, channel, segment_index, revision)
);
CREATE INDEX scores_by_start ON segment_scores (tenant, call_id, start_ms, channel, segment_index, revision);
CREATE INDEX scores_by_stored ON segment_scores (tenant, stored_at_ms, id);
`,
};
