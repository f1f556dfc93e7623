import type { Migration } from '../types.js';

/**
 * Issue 15: the producer's utterance ids a score rests on (JSON array of strings), the segment's
 * talk measures (JSON SegmentTalk: speech intervals, loudness sums) and the call's display name.
 * Nullable: rows stored before this migration read as no ids, no talk measures, no name.
 */
export const m0004: Migration = {
  version: 4,
  name: 'utterances-talk',
  sql: `
ALTER TABLE segment_scores ADD COLUMN utterance_ids TEXT;
ALTER TABLE segment_scores ADD COLUMN talk TEXT;
ALTER TABLE calls ADD COLUMN display_name TEXT;
`,
};
