/**
 * The API's auth hook (a ContextFunction of src/auth/api-context.ts) for jwt / apikey modes.
 *
 * Where credentials are read:
 * - HTTP: `Authorization: Bearer <jwt>` or `x-api-key: <key>`.
 * - graphql-ws: connectionParams `{ authorization: 'Bearer <jwt>' }` (the bare token works too)
 *   or `{ apiKey: '<key>' }`, checked once in onConnect; the upgrade request's headers are read
 *   as on HTTP when connectionParams carry nothing (browsers cannot set them; Node clients can).
 * Exactly one credential: a request carrying both a token and a key is refused rather than
 * guessing which one names the tenant. Every refusal is UNAUTHENTICATED (401; socket 4401).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { AppError } from '../core/errors.js';
import type { ApiContext, ContextFunction, ContextRequest } from './api-context.js';
import type { ApiKeyIdentity } from './api-keys.js';
import type { AuthMode } from './config.js';
import type { JwtVerifier } from './jwt.js';

export interface Credentials {
  bearer?: string;
  apiKey?: string;
}

function header(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

/** `Bearer <token>` (scheme case-insensitive) -> token; a bare token (connectionParams) as is. */
function bearerOf(value: string, bareAllowed: boolean): string {
  const m = /^\s*bearer\s+(\S+)\s*$/i.exec(value);
  if (m) return m[1];
  if (bareAllowed && /^[A-Za-z0-9_\-.]+$/.test(value)) return value;
  throw new AppError('UNAUTHENTICATED', { reason: 'Authorization must be "Bearer <token>"' });
}

/** Reads the credentials of a request, without verifying them. */
export function credentialsOf(req: ContextRequest): Credentials {
  const out: Credentials = {};
  const params = req.transport === 'ws' ? req.connectionParams ?? {} : {};
  const fromParams = typeof params.authorization === 'string' || typeof params.apiKey === 'string';
  if (req.transport === 'ws' && fromParams) {
    if (typeof params.authorization === 'string') out.bearer = bearerOf(params.authorization, true);
    if (typeof params.apiKey === 'string') out.apiKey = params.apiKey;
    return out;
  }
  const auth = header(req.headers, 'authorization');
  if (auth !== undefined) out.bearer = bearerOf(auth, false);
  const key = header(req.headers, 'x-api-key');
  if (key !== undefined) out.apiKey = key;
  return out;
}

export interface AuthContextDeps {
  mode: Exclude<AuthMode, 'dev'>;
  jwt: JwtVerifier | null;
  apiKey: ((key: string) => ApiKeyIdentity) | null;
}

export function createAuthContext(d: AuthContextDeps): ContextFunction {
  return async (req): Promise<ApiContext> => {
    const c = credentialsOf(req);
    if (c.bearer !== undefined && c.apiKey !== undefined) throw new AppError('UNAUTHENTICATED', { reason: 'send either a bearer token or an API key, not both' });
    if (c.bearer !== undefined) {
      if (!d.jwt) throw new AppError('UNAUTHENTICATED', { reason: `bearer tokens are not accepted (AUTH_MODE=${d.mode}); send an API key` });
      const t = await d.jwt.verify(c.bearer);
      return { tenant: t.tenant, principal: t.principal, expiresAtMs: t.expiresAtMs };
    }
    if (c.apiKey !== undefined) {
      if (!d.apiKey) throw new AppError('UNAUTHENTICATED', { reason: `API keys are not accepted (AUTH_MODE=${d.mode}); send a bearer token` });
      return d.apiKey(c.apiKey);
    }
    const how = d.mode === 'jwt' ? 'Authorization: Bearer <jwt>' : d.mode === 'apikey' ? 'x-api-key' : 'Authorization: Bearer <jwt> or x-api-key';
    throw new AppError('UNAUTHENTICATED', { reason: `no credentials (send ${how}; over WebSocket, connectionParams ${d.mode === 'apikey' ? '{ apiKey }' : d.mode === 'jwt' ? '{ authorization }' : '{ authorization } or { apiKey }'})` });
  };
}
