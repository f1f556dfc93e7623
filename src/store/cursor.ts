/**
 * Opaque page cursors. A cursor is base64url(JSON) of a kind tag and the sort-key values of the
 * last row of a page; the next page starts strictly after that key (keyset pagination), so a
 * row inserted between two page reads can never make a page repeat or skip a row that sorts
 * before it. Clients must treat cursors as opaque; the format is versioned (`v`) so it can
 * change without old cursors being misread.
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
} as const;

export type CursorKind = keyof typeof CURSOR_KINDS;
/** The decoded key tuple of each kind (kept in step with CURSOR_KINDS). */
export interface CursorKeys {
  seg: [startMs: number, channel: string, segmentIndex: number, revision: number];
  call: [startedAtMs: number, tenant: string, callId: string];
  since: [storedAtMs: number, id: number];
}
type KeyOf<K extends CursorKind> = CursorKeys[K];

const VERSION = 1;

export function encodeCursor<K extends CursorKind>(kind: K, key: KeyOf<K>): string {
  return Buffer.from(JSON.stringify({ v: VERSION, k: kind, p: key }), 'utf8').toString('base64url');
}

/** Decodes a cursor of the expected kind; anything else throws BAD_CURSOR (never a driver error). */
export function decodeCursor<K extends CursorKind>(kind: K, cursor: string): KeyOf<K> {
  const bad = () => new AppError('BAD_CURSOR', { cursor: cursor.length > 64 ? `${cursor.slice(0, 64)}...` : cursor });
  if (typeof cursor !== 'string' || cursor.length === 0 || cursor.length > 1024 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw bad();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  const types: readonly string[] = CURSOR_KINDS[kind];
  if (typeof parsed !== 'object' || parsed === null) throw bad();
  const { v, k, p } = parsed as { v?: unknown; k?: unknown; p?: unknown };
  if (v !== VERSION || k !== kind || !Array.isArray(p) || p.length !== types.length) throw bad();
  for (let i = 0; i < types.length; i++) {
    if (typeof p[i] !== types[i]) throw bad();
    if (types[i] === 'number' && !Number.isFinite(p[i])) throw bad();
  }
  return p as KeyOf<K>;
}
