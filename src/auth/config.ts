/**
 * Auth configuration from the environment, validated once at start: a bad value throws
 * CONFIG_INVALID naming the variable, before the server opens a port.
 *
 *   AUTH_MODE              dev | jwt | apikey | jwt+apikey            (default dev)
 *   DEV_TENANT             tenant of every caller in dev mode           (default demo)
 *   JWT_HS256_SECRET       shared secret, at least 32 bytes
 *   JWT_RS256_PUBLIC_KEY   PEM (SPKI public key or X.509 certificate) text, or a path to a PEM
 *                          file or to a JWKS JSON file ({"keys": [...]})
 *   JWT_JWKS_URL           https URL of a JWKS (fetched and cached; keys rotate by `kid`)
 *   JWT_ISSUER             required `iss` (comma-separated: any of them)           (optional)
 *   JWT_AUDIENCE           required `aud` (comma-separated: any of them)           (optional)
 *   JWT_TENANT_CLAIM       claim holding the tenant                      (default tenant)
 *   JWT_CLOCK_TOLERANCE_S  leeway for exp/nbf, seconds, 0..300           (default 5)
 *   API_KEYS               tenant:sha256hex[,tenant:sha256hex...] (sha256 of the key, hex)
 *
 * jwt modes need at least one of JWT_HS256_SECRET, JWT_RS256_PUBLIC_KEY, JWT_JWKS_URL; apikey
 * modes need API_KEYS. Keys are configured as hashes so the config never holds a usable key.
 */
import { existsSync, readFileSync } from 'node:fs';
import { AppError } from '../core/errors.js';

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

const MODES: readonly AuthMode[] = ['dev', 'jwt', 'apikey', 'jwt+apikey'];
/** Tenants as the store accepts them, minus the separators of API_KEYS. */
const TENANT_RE = /^[^\s:,]{1,256}$/;

function invalid(variable: string, reason: string): AppError {
  return new AppError('CONFIG_INVALID', { variable, reason });
}

function list(raw: string | undefined): string[] | null {
  const items = (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  return items.length ? items : null;
}

/** Reads the RS256 key setting: inline PEM, a PEM file, or a JWKS file. */
function rs256FromSetting(raw: string): Rs256Keys {
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

function jwtFromEnv(env: NodeJS.ProcessEnv): JwtConfig {
  const secret = env.JWT_HS256_SECRET;
  if (secret !== undefined && secret !== '' && Buffer.byteLength(secret, 'utf8') < 32) {
    throw invalid('JWT_HS256_SECRET', 'must be at least 32 bytes (RFC 7518: a key as long as the SHA-256 output)');
  }
  const rs256: Rs256Keys[] = [];
  if (env.JWT_RS256_PUBLIC_KEY) rs256.push(rs256FromSetting(env.JWT_RS256_PUBLIC_KEY));
  if (env.JWT_JWKS_URL) {
    let url: URL;
    try {
      url = new URL(env.JWT_JWKS_URL);
    } catch {
      throw invalid('JWT_JWKS_URL', 'not a URL');
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname))) {
      throw invalid('JWT_JWKS_URL', 'must be https (plain http only on loopback)');
    }
    rs256.push({ kind: 'jwks-url', url });
  }
  if (!secret && rs256.length === 0) {
    throw invalid('AUTH_MODE', `${env.AUTH_MODE} needs JWT_HS256_SECRET, JWT_RS256_PUBLIC_KEY or JWT_JWKS_URL`);
  }
  const tenantClaim = env.JWT_TENANT_CLAIM || 'tenant';
  if (tenantClaim.length > 256) throw invalid('JWT_TENANT_CLAIM', 'longer than 256 characters');
  const tolRaw = env.JWT_CLOCK_TOLERANCE_S;
  const clockToleranceS = tolRaw === undefined || tolRaw === '' ? 5 : Number(tolRaw);
  if (!Number.isInteger(clockToleranceS) || clockToleranceS < 0 || clockToleranceS > 300) throw invalid('JWT_CLOCK_TOLERANCE_S', 'must be an integer in 0..300');
  return {
    hs256Secret: secret ? new TextEncoder().encode(secret) : null,
    rs256,
    issuer: list(env.JWT_ISSUER),
    audience: list(env.JWT_AUDIENCE),
    tenantClaim,
    clockToleranceS,
  };
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

export function loadAuthConfig(env: NodeJS.ProcessEnv = process.env): AuthConfig {
  const mode = (env.AUTH_MODE || 'dev').trim().toLowerCase() as AuthMode;
  if (!MODES.includes(mode)) throw invalid('AUTH_MODE', `${JSON.stringify(env.AUTH_MODE)} is not one of ${MODES.join(', ')}`);
  const devTenant = env.DEV_TENANT || 'demo';
  if (!TENANT_RE.test(devTenant)) throw invalid('DEV_TENANT', 'must be 1..256 characters without spaces, : or ,');
  return {
    mode,
    devTenant,
    jwt: mode === 'jwt' || mode === 'jwt+apikey' ? jwtFromEnv({ ...env, AUTH_MODE: mode }) : null,
    apiKeys: mode === 'apikey' || mode === 'jwt+apikey' ? parseApiKeys(env.API_KEYS) : null,
  };
}
