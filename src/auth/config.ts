/**
 * The auth stage's options and the parsers of its settings' values. The environment is read once,
 * by the one config schema (src/app/config/schema.ts: AUTH_MODE, DEV_TENANT, JWT_*, API_KEYS); it
 * calls the parsers below, so a bad value is one CONFIG_INVALID problem naming the variable.
 *
 * jwt modes need at least one of JWT_HS256_SECRET, JWT_RS256_PUBLIC_KEY, JWT_JWKS_URL; apikey
 * modes need API_KEYS. Keys are configured as hashes so the config never holds a usable key.
 */
import { existsSync, readFileSync } from 'node:fs';
import { ConfigError } from '../core/errors.js';

export type AuthMode = 'dev' | 'jwt' | 'apikey' | 'jwt+apikey';

/** Where RS256 public keys come from. */
export type Rs256Keys = { kind: 'pem'; pem: string } | { kind: 'jwks'; jwks: { keys: Record<string, unknown>[] } } | { kind: 'jwks-url'; url: URL };

export interface JwtConfig {
  hs256Secret: Uint8Array | null;
  rs256: Rs256Keys[];
  issuer: string[] | null;
  audience: string[] | null;
  /** Claim holding the tenant. Default 'tenant'. */
  tenantClaim: string;
  /** Leeway for exp and nbf, seconds. Default 5. */
  clockToleranceS: number;
}

/** One configured API key: the sha256 (32 bytes) of the key and its tenant. */
export interface ApiKeyEntry {
  tenant: string;
  sha256: Buffer;
}

export interface AuthConfig {
  mode: AuthMode;
  /** Tenant of every caller in dev mode. Default 'demo'. */
  devTenant: string;
  /** Set in jwt modes. */
  jwt: JwtConfig | null;
  /** Set in apikey modes. */
  apiKeys: ApiKeyEntry[] | null;
}

export const AUTH_MODES: readonly AuthMode[] = ['dev', 'jwt', 'apikey', 'jwt+apikey'];
/** Tenants as the store accepts them, minus the separators of API_KEYS. */
export const TENANT_RE = /^[^\s:,]{1,256}$/;

/** The value is not echoed: these settings hold keys or key hashes. */
function invalid(variable: string, reason: string): ConfigError {
  return new ConfigError([{ variable, reason }]);
}

function list(raw: string | undefined): string[] | null {
  const items = (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  return items.length ? items : null;
}

/** Reads JWT_RS256_PUBLIC_KEY: inline PEM, a PEM file, or a JWKS file. */
export function parseRs256Keys(raw: string): Rs256Keys {
  const v = 'JWT_RS256_PUBLIC_KEY';
  // PEM in one env line often carries literal "\n" sequences instead of newlines.
  let text = raw.trim().replace(/\\n/g, '\n');
  if (!text.startsWith('-----BEGIN') && !text.startsWith('{')) {
    if (!existsSync(text)) throw invalid(v, `not PEM text and no file at ${JSON.stringify(text)}`);
    try {
      text = readFileSync(text, 'utf8').trim();
    } catch (e) {
      throw invalid(v, `cannot read ${text}: ${(e as Error).message}`);
    }
  }
  if (text.startsWith('-----BEGIN PUBLIC KEY-----') || text.startsWith('-----BEGIN CERTIFICATE-----')) return { kind: 'pem', pem: text };
  if (text.startsWith('-----BEGIN')) throw invalid(v, 'PEM must be a PUBLIC KEY (SPKI) or a CERTIFICATE, never a private key');
  let jwks: unknown;
  try {
    jwks = JSON.parse(text);
  } catch {
    throw invalid(v, 'neither PEM nor JSON');
  }
  const keys = (jwks as { keys?: unknown }).keys;
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every((k) => typeof k === 'object' && k !== null)) throw invalid(v, 'JWKS must be {"keys": [ ...at least one JWK ]}');
  if (keys.some((k) => 'd' in k)) throw invalid(v, 'JWKS holds a private key (member "d"); give the public keys only');
  return { kind: 'jwks', jwks: { keys: keys as Record<string, unknown>[] } };
}

/** Reads JWT_HS256_SECRET: at least 32 bytes (RFC 7518: a key as long as the SHA-256 output). */
export function parseHs256Secret(raw: string): Uint8Array {
  if (Buffer.byteLength(raw, 'utf8') < 32) throw invalid('JWT_HS256_SECRET', 'must be at least 32 bytes (RFC 7518: a key as long as the SHA-256 output)');
  return new TextEncoder().encode(raw);
}

/** Reads JWT_JWKS_URL: https, or plain http on loopback only. */
export function parseJwksUrl(raw: string): Rs256Keys {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalid('JWT_JWKS_URL', 'not a URL');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname))) {
    throw invalid('JWT_JWKS_URL', 'must be https (plain http only on loopback)');
  }
  return { kind: 'jwks-url', url };
}

/** Parses API_KEYS (`tenant:sha256hex,...`). */
export function parseApiKeys(raw: string | undefined): ApiKeyEntry[] {
  const v = 'API_KEYS';
  const items = list(raw);
  if (!items) throw invalid(v, 'apikey modes need at least one tenant:sha256hex entry');
  const seen = new Map<string, string>();
  return items.map((item, i) => {
    const at = item.lastIndexOf(':');
    const tenant = item.slice(0, at);
    const hex = item.slice(at + 1).toLowerCase();
    if (at <= 0 || !TENANT_RE.test(tenant)) throw invalid(v, `entry ${i + 1} must be tenant:sha256hex with a tenant of 1..256 characters (no spaces, ':' or ',')`);
    if (!/^[0-9a-f]{64}$/.test(hex)) throw invalid(v, `entry ${i + 1} (${tenant}) must end in 64 hex digits (the key's sha256), not the key itself`);
    const other = seen.get(hex);
    if (other !== undefined && other !== tenant) throw invalid(v, `one key hash is given to two tenants (${other}, ${tenant})`);
    seen.set(hex, tenant);
    return { tenant, sha256: Buffer.from(hex, 'hex') };
  });
}
