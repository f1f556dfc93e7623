/**
 * The auth stage: what the app imports.
 *
 *   const auth = await createAuth(config.auth);   // config: the one schema's (src/app/config.ts)
 *   logger.warn(auth.describe());                                  // print the mode loudly
 *   createApiServer({ ..., context: auth.context });
 */
import { ConfigError } from '../core/errors.js';
import { devContext, type ContextFunction } from './api-context.js';
import { createApiKeyVerifier } from './api-keys.js';
import type { AuthConfig, AuthMode } from './config.js';
import { createAuthContext } from './context.js';
import { createJwtVerifier } from './jwt.js';

export { parseApiKeys, type AuthConfig, type AuthMode } from './config.js';
export { hashApiKey } from './api-keys.js';
export { credentialsOf, createAuthContext } from './context.js';
export { createJwtVerifier, type JwtVerifier, type VerifiedToken } from './jwt.js';
export { TOKEN_EXPIRED_CLOSE_CODE } from './expiry.js';

export interface Auth {
  mode: AuthMode;
  /** The API's context hook for this mode. */
  context: ContextFunction;
  /** True in dev mode: nobody is authenticated. */
  insecure: boolean;
  /** One line saying how callers are identified; dev mode's line is a warning, in capitals. */
  describe(): string;
}

/** One line for the start-up log (the app prints it; dev mode at warn level). */
export function describeAuthMode(cfg: AuthConfig): string {
  switch (cfg.mode) {
    case 'dev':
      return `AUTH DEV MODE: NO AUTHENTICATION. Every caller is tenant "${cfg.devTenant}". Set AUTH_MODE=jwt|apikey|jwt+apikey before exposing this server.`;
    case 'apikey':
      return `auth: API keys (x-api-key / connectionParams.apiKey), ${cfg.apiKeys!.length} key(s) for ${new Set(cfg.apiKeys!.map((k) => k.tenant)).size} tenant(s)`;
    default: {
      const j = cfg.jwt!;
      const algs = [j.hs256Secret ? 'HS256' : null, j.rs256.length ? `RS256 (${j.rs256.map((r) => r.kind).join(', ')})` : null].filter(Boolean).join(' + ');
      const checks = [j.issuer ? `iss in [${j.issuer.join(', ')}]` : null, j.audience ? `aud in [${j.audience.join(', ')}]` : null].filter(Boolean);
      const keys = cfg.mode === 'jwt+apikey' ? `; also API keys (${cfg.apiKeys!.length})` : '';
      return `auth: JWT ${algs}, tenant claim "${j.tenantClaim}"${checks.length ? `, ${checks.join(', ')}` : ''}${keys}`;
    }
  }
}

/** Builds the context hook for a validated config (imports PEM keys; a bad key is CONFIG_INVALID). */
export async function createAuth(cfg: AuthConfig): Promise<Auth> {
  let context: ContextFunction;
  if (cfg.mode === 'dev') context = devContext(cfg.devTenant);
  else {
    let jwt = null;
    if (cfg.jwt) {
      try {
        jwt = await createJwtVerifier(cfg.jwt);
      } catch (e) {
        throw new ConfigError([{ variable: 'JWT_RS256_PUBLIC_KEY', reason: `key cannot be imported: ${(e as Error).message}` }], { cause: e });
      }
    }
    context = createAuthContext({ mode: cfg.mode, jwt, apiKey: cfg.apiKeys ? createApiKeyVerifier(cfg.apiKeys) : null });
  }
  return { mode: cfg.mode, context, insecure: cfg.mode === 'dev', describe: () => describeAuthMode(cfg) };
}
