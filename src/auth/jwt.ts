/**
 * JWT verification with `jose`: HS256 with the shared secret, RS256 with configured public keys
 * (PEM, JWKS file, or a remote JWKS). The algorithm a token may use is decided by the config,
 * never by the token: with only RS256 keys configured an HS256 token is refused (the classic
 * "sign with the public key as HMAC secret" confusion), `alg: none` is always refused, and `exp`
 * is required so no token is valid forever.
 */
import { createLocalJWKSet, createRemoteJWKSet, errors, importSPKI, importX509, jwtVerify, type JWTPayload, type JWTVerifyGetKey, type JWSHeaderParameters, type FlattenedJWSInput } from 'jose';
import { AppError } from '../core/errors.js';
import type { JwtConfig, Rs256Keys } from './config.js';

/** Who a verified token says the caller is. */
export interface VerifiedToken {
  tenant: string;
  /** 'jwt:<sub>' (or 'jwt:?' without sub), for logs. */
  principal: string;
  /** When the token stops being valid (exp + clock tolerance), ms since the unix epoch. */
  expiresAtMs: number;
}

export interface JwtVerifier {
  /** Verifies a compact JWS; any failure is UNAUTHENTICATED with a reason a client can act on. */
  verify(token: string): Promise<VerifiedToken>;
}

/** Longest token accepted, characters: bounds the work an anonymous caller can cause. */
export const MAX_TOKEN_LENGTH = 8192;

type KeyGetter = (header: JWSHeaderParameters, input: FlattenedJWSInput) => ReturnType<JWTVerifyGetKey>;

async function rs256Getter(src: Rs256Keys): Promise<KeyGetter> {
  if (src.kind === 'pem') {
    const key = src.pem.startsWith('-----BEGIN CERTIFICATE-----') ? await importX509(src.pem, 'RS256') : await importSPKI(src.pem, 'RS256');
    return async () => key;
  }
  if (src.kind === 'jwks') {
    const set = createLocalJWKSet(src.jwks as Parameters<typeof createLocalJWKSet>[0]);
    return (h, i) => set(h, i);
  }
  // Remote JWKS: fetched on first use, cached, refetched (at most every 30 s) for an unknown kid.
  const set = createRemoteJWKSet(src.url, { timeoutDuration: 5_000, cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000 });
  return (h, i) => set(h, i);
}

/** Maps jose's errors onto reasons (the code is always UNAUTHENTICATED). */
function reasonOf(e: unknown): string {
  if (e instanceof errors.JWTExpired) return 'token expired';
  if (e instanceof errors.JWTClaimValidationFailed) return `claim "${e.claim}" is invalid (${e.reason})`;
  if (e instanceof errors.JOSEAlgNotAllowed) return 'token algorithm is not allowed';
  if (e instanceof errors.JWSSignatureVerificationFailed) return 'bad token signature';
  if (e instanceof errors.JWKSNoMatchingKey || e instanceof errors.JWKSMultipleMatchingKeys) return 'no configured key matches the token';
  if (e instanceof errors.JWSInvalid || e instanceof errors.JWTInvalid) return 'malformed token';
  // A remote JWKS that timed out or could not be fetched: not the client's fault, but no key.
  if (e instanceof errors.JWKSTimeout || !(e instanceof errors.JOSEError)) return 'signing keys are unavailable';
  return 'token rejected';
}

export async function createJwtVerifier(cfg: JwtConfig): Promise<JwtVerifier> {
  const rs = await Promise.all(cfg.rs256.map(rs256Getter));
  const algorithms = [...(cfg.hs256Secret ? ['HS256'] : []), ...(rs.length ? ['RS256'] : [])];
  const getKey = async (header: JWSHeaderParameters, input: FlattenedJWSInput) => {
    if (header.alg === 'HS256' && cfg.hs256Secret) return cfg.hs256Secret;
    if (header.alg === 'RS256' && rs.length) {
      // Several RS256 sources: the first that has a key for this token wins.
      let last: unknown;
      for (const get of rs) {
        try {
          return await get(header, input);
        } catch (e) {
          last = e;
        }
      }
      throw last;
    }
    throw new errors.JOSEAlgNotAllowed(`"alg" (Algorithm) Header Parameter value not allowed`);
  };
  return {
    async verify(token) {
      if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
        throw new AppError('UNAUTHENTICATED', { reason: 'malformed token' });
      }
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, getKey, {
          algorithms,
          issuer: cfg.issuer ?? undefined,
          audience: cfg.audience ?? undefined,
          clockTolerance: cfg.clockToleranceS,
          requiredClaims: ['exp'],
        }));
      } catch (e) {
        throw new AppError('UNAUTHENTICATED', { reason: reasonOf(e) }, { cause: e });
      }
      const tenant = payload[cfg.tenantClaim];
      if (typeof tenant !== 'string' || tenant.length === 0 || tenant.length > 256) {
        throw new AppError('UNAUTHENTICATED', { reason: `token has no tenant claim "${cfg.tenantClaim}" (a non-empty string)` });
      }
      return {
        tenant,
        principal: `jwt:${typeof payload.sub === 'string' ? payload.sub.slice(0, 128) : '?'}`,
        expiresAtMs: (payload.exp as number) * 1000 + cfg.clockToleranceS * 1000,
      };
    },
  };
}
