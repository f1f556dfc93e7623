import type { Migration } from '../../migrations/types.js';

/** The PostgreSQL twin of migrations/sqlite/0003-text-source.ts (text source, recognised words). */
export const pg0003: Migration = {
  version: 3,
  name: 'text-source',
  sql: `
ALTER TABLE segment_scores ADD COLUMN text_source TEXT;
ALTER TABLE segment_scores ADD COLUMN recognised_text TEXT;
`,
};
