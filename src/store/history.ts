/** The resume port and its types live in core/ports.ts; re-exported for the modules that read them here. */
export type { HistoryQuery, ScoreHistory, StoredScore } from '../core/ports.js';
