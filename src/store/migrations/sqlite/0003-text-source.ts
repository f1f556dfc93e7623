import type { Migration } from '../types.js';

/**
 * Where a score's text came from (SegmentScore.textSource: PLATFORM, RECOGNISED, SIMULATED,
 * NONE) and the words the speech recogniser heard when it was RECOGNISED. Nullable: rows stored
 * before this migration have neither, and readers derive the source from mod_text
 * (core/types.ts textSourceOf).
 */
export const m0003: Migration = {
  version: 3,
  name: 'text-source',
  sql: `
ALTER TABLE segment_scores ADD COLUMN text_source TEXT;
ALTER TABLE segment_scores ADD COLUMN recognised_text TEXT;
`,
};
