/**
 * The one cursor codec of every list the product serves (segments, calls, resume, alerts, call
 * summaries). A cursor is base64url(JSON) of a version, a kind tag and the sort-key values of the
 * last row of a page; the next page starts strictly after that key (keyset pagination), so a row
 * inserted between two page reads can never make a page repeat or skip a row that sorts before
 * it. Clients must treat cursors as opaque; the format is versioned (`v`) so it can change
 * without old cursors being misread.
 *
 * Alert and summary cursors were once written by a second codec as base64url(JSON
 * [tag, sortKey, id, tenant?]); those still decode (a client paging across an upgrade keeps its
 * place), including summary cursors without a tenant, which page by (lastMs, callId) alone.
 */
import { AppError } from '../core/errors.js';

/** The sort keys a cursor can carry, and the JSON type of each value in order. */
export const CURSOR_KINDS = {
  /** Segments of a call: (startMs, channel, segmentIndex, revision) ascending. */
  seg: ['number', 'string', 'number', 'number'],
  /** Calls: (startedAtMs, tenant, callId) descending (newest first). */
  call: ['number', 'string', 'string'],
  /** Scores in storage order: (storedAtMs, storage id) ascending; for resume. */
  since: ['number', 'number'],
  /** Alerts: (eventTimeMs, alert id) descending (newest first). */
  alert: ['number', 'string'],
  /** Call summaries: (lastMs, callId, tenant) descending (most recent first). */
  summary: ['number', 'string', 'string'],
} as const;

export type CursorKind = keyof typeof CURSOR_KINDS;
/** The decoded key tuple of each kind (kept in step with CURSOR_KINDS). */
export interface CursorKeys {
  seg: [startMs: number, channel: string, segmentIndex: number, revision: number];
  call: [startedAtMs: number, tenant: string, callId: string];
  since: [storedAtMs: number, id: number];
  alert: [eventTimeMs: number, id: string];
  /** The tenant is absent only in a legacy cursor written before tenants keyed summaries. */
  summary: [lastMs: number, callId: string, tenant?: string];
}
type KeyOf<K extends CursorKind> = CursorKeys[K];

const VERSION = 1;
/** Longest cursor accepted, in characters: keys are short; this bounds the work on bad input. */
const MAX_CURSOR_LENGTH = 1024;

export function encodeCursor<K extends CursorKind>(kind: K, key: KeyOf<K>): string {
  return Buffer.from(JSON.stringify({ v: VERSION, k: kind, p: key }), 'utf8').toString('base64url');
}

/** Decodes a cursor of the expected kind; anything else throws BAD_CURSOR (never a driver error). */
export function decodeCursor<K extends CursorKind>(kind: K, cursor: string): KeyOf<K> {
  const bad = () => new AppError('BAD_CURSOR', { cursor: typeof cursor === 'string' && cursor.length > 64 ? `${cursor.slice(0, 64)}...` : cursor });
  if (typeof cursor !== 'string' || cursor.length === 0 || cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw bad();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  const key = Array.isArray(parsed) ? legacyKey(kind, parsed) : currentKey(kind, parsed);
  if (!key) throw bad();
  return key as KeyOf<K>;
}

/** The key of a versioned cursor `{ v, k, p }` of this kind, or null. */
function currentKey(kind: CursorKind, parsed: unknown): unknown[] | null {
  if (typeof parsed !== 'object' || parsed === null) return null;
  const { v, k, p } = parsed as { v?: unknown; k?: unknown; p?: unknown };
  if (v !== VERSION || k !== kind || !Array.isArray(p)) return null;
  return typesMatch(CURSOR_KINDS[kind], p) ? p : null;
}

/** The key of a legacy analytics cursor `[tag, sortKey, id, tenant?]` of this kind, or null. */
function legacyKey(kind: CursorKind, parsed: unknown[]): unknown[] | null {
  const [tag, ...p] = parsed;
  if (tag !== kind) return null;
  if (kind === 'alert') return typesMatch(CURSOR_KINDS.alert, p) ? p : null;
  if (kind === 'summary') return typesMatch(CURSOR_KINDS.summary, p) || typesMatch(['number', 'string'], p) ? p : null;
  return null;
}

function typesMatch(types: readonly string[], p: unknown[]): boolean {
  if (p.length !== types.length) return false;
  return types.every((t, i) => typeof p[i] === t && (t !== 'number' || Number.isFinite(p[i])));
}
