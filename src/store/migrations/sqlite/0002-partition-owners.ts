import type { Migration } from '../types.js';

/**
 * Ownership fencing (src/store/fencing.ts): one row per source partition with its owner epoch,
 * and the partition each call was last written under, so the partition's owner can find calls
 * left ACTIVE by a stopped predecessor (src/store/stale-calls.ts).
 */
export const m0002: Migration = {
  version: 2,
  name: 'partition-owners',
  sql: `
CREATE TABLE partition_owners (
  partition      TEXT    NOT NULL PRIMARY KEY,
  epoch          INTEGER NOT NULL,
  owner          TEXT    NOT NULL,
  claimed_at_ms  INTEGER NOT NULL
);
ALTER TABLE calls ADD COLUMN source_partition TEXT;
CREATE INDEX calls_by_partition ON calls (source_partition, status, updated_at_ms);
`,
};
