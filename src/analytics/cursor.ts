/**
 * Opaque keyset cursors for the analytics lists: base64url(JSON [tag, sortKey, id]). A malformed
 * or foreign cursor is a BAD_CURSOR, never a driver error.
 */
import { AppError } from '../core/errors.js';

export function encodeKey(tag: 'alert' | 'summary', key: number, id: string): string {
  return Buffer.from(JSON.stringify([tag, key, id]), 'utf8').toString('base64url');
}

export function decodeKey(tag: 'alert' | 'summary', cursor: string): { key: number; id: string } {
  const bad = () => new AppError('BAD_CURSOR', { cursor: cursor.slice(0, 64) });
  if (cursor.length > 512 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw bad();
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (!Array.isArray(v) || v.length !== 3 || v[0] !== tag || typeof v[1] !== 'number' || !Number.isFinite(v[1]) || typeof v[2] !== 'string') throw bad();
  return { key: v[1], id: v[2] };
}

/** Page size check shared by the lists (1..500). */
export function pageSize(first: number): number {
  if (!Number.isInteger(first) || first < 1 || first > 500) throw new AppError('BAD_REQUEST', { reason: `first must be an integer in 1..500, got ${first}` });
  return first;
}
