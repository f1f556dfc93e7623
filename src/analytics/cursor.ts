/**
 * Opaque keyset cursors for the analytics lists: base64url(JSON [tag, sortKey, id, tenant?]).
 * Summaries carry the tenant as the last tie-breaker (a call id is unique only within a tenant);
 * a summary cursor without one (written before tenants were part of the key) still reads, and
 * pages by (sortKey, id) alone. A malformed or foreign cursor is a BAD_CURSOR, never a driver
 * error.
 */
import { AppError } from '../core/errors.js';

/** A decoded cursor: the sort key, the id, and (summaries) the tenant. */
export interface CursorKey {
  key: number;
  id: string;
  tenant?: string;
}

/** Encodes a position; `tenant` is given for summaries only. */
export function encodeKey(tag: 'alert' | 'summary', key: number, id: string, tenant?: string): string {
  return Buffer.from(JSON.stringify(tenant === undefined ? [tag, key, id] : [tag, key, id, tenant]), 'utf8').toString('base64url');
}

export function decodeKey(tag: 'alert' | 'summary', cursor: string): CursorKey {
  const bad = () => new AppError('BAD_CURSOR', { cursor: cursor.slice(0, 64) });
  if (cursor.length > 512 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw bad();
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (!Array.isArray(v) || v[0] !== tag || typeof v[1] !== 'number' || !Number.isFinite(v[1]) || typeof v[2] !== 'string') throw bad();
  if (v.length === 3) return { key: v[1], id: v[2] };
  if (v.length === 4 && tag === 'summary' && typeof v[3] === 'string') return { key: v[1], id: v[2], tenant: v[3] };
  throw bad();
}

/** Page size check shared by the lists (1..500). */
export function pageSize(first: number): number {
  if (!Number.isInteger(first) || first < 1 || first > 500) throw new AppError('BAD_REQUEST', { reason: `first must be an integer in 1..500, got ${first}` });
  return first;
}
