import type { Migration } from '../../migrations/types.js';

/** The PostgreSQL twin of migrations/sqlite/0004-utterances-talk.ts (utterance ids, talk measures, display name). */
export const pg0004: Migration = {
  version: 4,
  name: 'utterances-talk',
  sql: `
ALTER TABLE segment_scores ADD COLUMN utterance_ids JSONB;
ALTER TABLE segment_scores ADD COLUMN talk JSONB;
ALTER TABLE calls ADD COLUMN display_name TEXT;
`,
};
