/**
 * JWT verification: HS256, RS256 from PEM, a JWKS file and a remote JWKS (a real local HTTP
 * server), and every refusal as UNAUTHENTICATED: bad signature, wrong or forged algorithm,
 * `alg: none`, expired, no exp, wrong issuer/audience, missing tenant claim.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createJwtVerifier } from '../../src/auth/index.js';
import { HS_SECRET, mint, rsaPair, unsignedToken } from './keys.js';
import { loadConfig } from '../../src/app/config.js';
/** The auth part of the one config (the schema parses AUTH_MODE, JWT_*, API_KEYS, DEV_TENANT). */
const loadAuthConfig = (env: NodeJS.ProcessEnv) => loadConfig(env).auth;

const refused = (reason: RegExp) => (e: any) => e.code === 'UNAUTHENTICATED' && reason.test(e.message);
const verifier = (env: Record<string, string>) => createJwtVerifier(loadAuthConfig({ AUTH_MODE: 'jwt', JWT_CLOCK_TOLERANCE_S: '0', ...env }).jwt!);

test('HS256: a good token gives tenant, principal and expiry; tampering and wrong secrets are refused', async () => {
  const v = await verifier({ JWT_HS256_SECRET: HS_SECRET });
  const token = await mint({ expiresInS: 60 });
  const ok = await v.verify(token);
  assert.equal(ok.tenant, 'acme');
  assert.equal(ok.principal, 'jwt:user-1');
  assert.ok(Math.abs(ok.expiresAtMs - (Date.now() + 60_000)) < 2000);
  const [h, p, s] = token.split('.');
  const forgedPayload = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), tenant: 'globex' })).toString('base64url');
  await assert.rejects(v.verify(`${h}.${forgedPayload}.${s}`), refused(/bad token signature/));
  await assert.rejects(v.verify(await mint({ key: new TextEncoder().encode('another-secret-that-is-32-bytes-long!!') })), refused(/bad token signature/));
  await assert.rejects(v.verify('not.a.jwt'), refused(/malformed token/));
  await assert.rejects(v.verify('x'.repeat(10_000)), refused(/malformed token/));
});

test('expired, no exp, not-yet-valid, missing or empty tenant claim, wrong issuer and audience are refused', async () => {
  const v = await verifier({ JWT_HS256_SECRET: HS_SECRET, JWT_ISSUER: 'https://idp.example', JWT_AUDIENCE: 'sentiment' });
  const good = { iss: 'https://idp.example', aud: 'sentiment' };
  assert.equal((await v.verify(await mint({ claims: good }))).tenant, 'acme');
  await assert.rejects(v.verify(await mint({ claims: good, expiresInS: -10 })), refused(/token expired/));
  await assert.rejects(v.verify(await mint({ claims: good, expiresInS: null })), refused(/claim "exp" is invalid/));
  await assert.rejects(v.verify(await mint({ claims: { ...good, nbf: Math.floor(Date.now() / 1000) + 600 } })), refused(/claim "nbf"/));
  await assert.rejects(v.verify(await mint({ claims: { ...good, tenant: undefined } })), refused(/no tenant claim "tenant"/));
  await assert.rejects(v.verify(await mint({ claims: { ...good, tenant: '' } })), refused(/no tenant claim/));
  await assert.rejects(v.verify(await mint({ claims: { ...good, tenant: 42 as never } })), refused(/no tenant claim/));
  await assert.rejects(v.verify(await mint({ claims: { ...good, iss: 'https://evil.example' } })), refused(/claim "iss"/));
  await assert.rejects(v.verify(await mint({ claims: { ...good, aud: 'other-api' } })), refused(/claim "aud"/));
});

test('the tenant claim name is configurable', async () => {
  const v = await verifier({ JWT_HS256_SECRET: HS_SECRET, JWT_TENANT_CLAIM: 'https://example.com/org' });
  assert.equal((await v.verify(await mint({ claims: { tenant: 'ignored', 'https://example.com/org': 'globex' } }))).tenant, 'globex');
  await assert.rejects(v.verify(await mint()), refused(/no tenant claim "https:\/\/example.com\/org"/));
});

test('RS256 from PEM; algorithm confusion (HS256 signed with the public key) and alg none are refused', async () => {
  const pair = await rsaPair();
  const v = await verifier({ JWT_RS256_PUBLIC_KEY: pair.publicPem });
  assert.equal((await v.verify(await mint({ alg: 'RS256', key: pair.privateKey }))).tenant, 'acme');
  const confused = await mint({ alg: 'HS256', key: new TextEncoder().encode(pair.publicPem) });
  await assert.rejects(v.verify(confused), refused(/algorithm is not allowed/));
  await assert.rejects(v.verify(unsignedToken({ tenant: 'acme' })), refused(/algorithm is not allowed|malformed/));
  const other = await rsaPair();
  await assert.rejects(v.verify(await mint({ alg: 'RS256', key: other.privateKey })), refused(/bad token signature/));
  // With only HS256 configured, an RS256 token is refused however it is signed.
  const hsOnly = await verifier({ JWT_HS256_SECRET: HS_SECRET });
  await assert.rejects(hsOnly.verify(await mint({ alg: 'RS256', key: pair.privateKey })), refused(/algorithm is not allowed/));
});

test('RS256 from a JWKS file picks the key by kid; an unknown kid is refused', async () => {
  const a = await rsaPair('a');
  const b = await rsaPair('b');
  const v = await verifier({ JWT_RS256_PUBLIC_KEY: JSON.stringify({ keys: [a.publicJwk, b.publicJwk] }) });
  assert.equal((await v.verify(await mint({ alg: 'RS256', key: b.privateKey, kid: 'b' }))).tenant, 'acme');
  const c = await rsaPair('c');
  await assert.rejects(v.verify(await mint({ alg: 'RS256', key: c.privateKey, kid: 'c' })), refused(/no configured key matches/));
});

test('RS256 from a remote JWKS (real HTTP server on loopback), fetched once and cached', async (t) => {
  const pair = await rsaPair('remote');
  let fetches = 0;
  const server = createServer((_req, res) => {
    fetches++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [pair.publicJwk] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  const v = await verifier({ JWT_JWKS_URL: url });
  for (let i = 0; i < 3; i++) assert.equal((await v.verify(await mint({ alg: 'RS256', key: pair.privateKey, kid: 'remote' }))).tenant, 'acme');
  assert.equal(fetches, 1);
});

test('HS256 and RS256 together: each token is checked with the key of its own algorithm', async () => {
  const pair = await rsaPair();
  const v = await verifier({ JWT_HS256_SECRET: HS_SECRET, JWT_RS256_PUBLIC_KEY: pair.publicPem });
  assert.equal((await v.verify(await mint({ claims: { tenant: 'hs' } }))).tenant, 'hs');
  assert.equal((await v.verify(await mint({ alg: 'RS256', key: pair.privateKey, claims: { tenant: 'rs' } }))).tenant, 'rs');
  await assert.rejects(v.verify(await mint({ alg: 'HS256', key: new TextEncoder().encode(pair.publicPem) })), refused(/bad token signature/));
});
