/** Test keys and token minting for the auth tests (real jose signatures, nothing mocked). */
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type JWTPayload } from 'jose';

export const HS_SECRET = 'test-secret-that-is-at-least-32-bytes-long!';

export interface RsaPair {
  privateKey: CryptoKey;
  publicPem: string;
  publicJwk: Record<string, unknown>;
}

export async function rsaPair(kid = 'k1'): Promise<RsaPair> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  return { privateKey, publicPem: await exportSPKI(publicKey), publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

export interface MintOptions {
  alg?: 'HS256' | 'RS256';
  key?: CryptoKey | Uint8Array;
  kid?: string;
  /** Seconds from now; null: no exp claim. Default 3600. */
  expiresInS?: number | null;
  claims?: JWTPayload;
}

/** A signed JWT; default HS256 with HS_SECRET, tenant acme, 1 h. */
export async function mint(o: MintOptions = {}): Promise<string> {
  const alg = o.alg ?? 'HS256';
  const jwt = new SignJWT({ tenant: 'acme', ...o.claims }).setProtectedHeader({ alg, ...(o.kid ? { kid: o.kid } : {}) }).setIssuedAt().setSubject('user-1');
  if (o.expiresInS !== null) jwt.setExpirationTime(Math.floor(Date.now() / 1000) + (o.expiresInS ?? 3600));
  return jwt.sign(o.key ?? new TextEncoder().encode(HS_SECRET));
}

/** An unsigned `alg: none` token, as an attacker would send it. */
export function unsignedToken(claims: JWTPayload): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ exp: Math.floor(Date.now() / 1000) + 3600, ...claims })}.`;
}
