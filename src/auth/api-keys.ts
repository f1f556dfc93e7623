/**
 * API keys: the config holds sha256(key) -> tenant, never a key. A presented key is hashed and
 * compared against EVERY configured hash with crypto.timingSafeEqual (no early exit), so the
 * time taken says nothing about which bytes or which entry matched.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { AppError } from '../core/errors.js';
import type { ApiKeyEntry } from './config.js';

/** Longest key accepted, characters. */
export const MAX_API_KEY_LENGTH = 512;

export interface ApiKeyIdentity {
  tenant: string;
  /** 'api-key:<first 8 hex of the hash>', for logs (identifies the key without revealing it). */
  principal: string;
}

/** The hex sha256 of a key: what API_KEYS holds (`printf %s "$KEY" | sha256sum`). */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function createApiKeyVerifier(entries: readonly ApiKeyEntry[]): (key: string) => ApiKeyIdentity {
  const table = entries.map((e) => ({ tenant: e.tenant, sha256: Buffer.from(e.sha256) }));
  return (key) => {
    if (typeof key !== 'string' || key.length === 0 || key.length > MAX_API_KEY_LENGTH) {
      throw new AppError('UNAUTHENTICATED', { reason: 'malformed API key' });
    }
    const digest = createHash('sha256').update(key, 'utf8').digest();
    let found: (typeof table)[number] | null = null;
    for (const e of table) {
      if (timingSafeEqual(digest, e.sha256) && !found) found = e;
    }
    if (!found) throw new AppError('UNAUTHENTICATED', { reason: 'unknown API key' });
    return { tenant: found.tenant, principal: `api-key:${found.sha256.toString('hex').slice(0, 8)}` };
  };
}
