import type { Migration } from '../../migrations/types.js';

/** The PostgreSQL twin of migrations/sqlite/0002-partition-owners.ts (ownership fencing). */
export const pg0002: Migration = {
  version: 2,
  name: 'partition-owners',
  sql: `
CREATE TABLE partition_owners (
  partition      TEXT COLLATE "C" NOT NULL PRIMARY KEY,
  epoch          INTEGER          NOT NULL,
  owner          TEXT             NOT NULL,
  claimed_at_ms  BIGINT           NOT NULL
);
ALTER TABLE calls ADD COLUMN source_partition TEXT COLLATE "C";
CREATE INDEX calls_by_partition ON calls (source_partition, status, updated_at_ms);
`,
};
