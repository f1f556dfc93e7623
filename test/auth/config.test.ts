/** loadAuthConfig: every mode, every variable, and a clear CONFIG_INVALID naming the variable. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuth, describeAuthMode, hashApiKey } from '../../src/auth/index.js';
import { HS_SECRET, rsaPair } from './keys.js';
import { loadConfig } from '../../src/app/config.js';
/** The auth part of the one config (the schema parses AUTH_MODE, JWT_*, API_KEYS, DEV_TENANT). */
const loadAuthConfig = (env: NodeJS.ProcessEnv) => loadConfig(env).auth;

const invalid = (variable: string, pattern?: RegExp) => (e: any) =>
  e.code === 'CONFIG_INVALID' && e.details.variable === variable && (!pattern || pattern.test(e.message));

test('dev is the default; its description is loud and names the tenant', async () => {
  const cfg = loadAuthConfig({});
  assert.equal(cfg.mode, 'dev');
  assert.equal(cfg.devTenant, 'demo');
  const auth = await createAuth(loadAuthConfig({ DEV_TENANT: 'acme' }));
  assert.equal(auth.insecure, true);
  assert.match(auth.describe(), /^AUTH DEV MODE: NO AUTHENTICATION\. Every caller is tenant "acme"/);
  assert.deepEqual(await auth.context({ transport: 'http', headers: {} }), { tenant: 'acme', principal: 'dev' });
});

test('bad AUTH_MODE, short secrets, missing keys and bad API_KEYS are CONFIG_INVALID naming the variable', () => {
  assert.throws(() => loadAuthConfig({ AUTH_MODE: 'oauth' }), invalid('AUTH_MODE', /not one of dev, jwt, apikey, jwt\+apikey/));
  assert.throws(() => loadAuthConfig({ AUTH_MODE: 'jwt' }), invalid('AUTH_MODE', /needs JWT_HS256_SECRET/));
  assert.throws(() => loadAuthConfig({ AUTH_MODE: 'jwt', JWT_HS256_SECRET: 'short' }), invalid('JWT_HS256_SECRET', /32 bytes/));
  assert.throws(() => loadAuthConfig({ AUTH_MODE: 'jwt', JWT_HS256_SECRET: HS_SECRET, JWT_CLOCK_TOLERANCE_S: '-1' }), invalid('JWT_CLOCK_TOLERANCE_S'));
  assert.throws(() => loadAuthConfig({ AUTH_MODE: 'jwt', JWT_RS256_PUBLIC_KEY: '/no/such/key.pem' }), invalid('JWT_RS256_PUBLIC_KEY', /no file/));
  assert.throws(() => loadAuthConfig({ AUTH_MODE: 'jwt', JWT_RS256_PUBLIC_KEY: '-----BEGIN PRIVATE KEY-----\nabc' }), invalid('JWT_RS256_PUBLIC_KEY', /never a private key/));
  assert.throws(() => loadAuthConfig({ AUTH_MODE: 'jwt', JWT_JWKS_URL: 'http://keys.example.com/jwks.json' }), invalid('JWT_JWKS_URL', /https/));
  assert.throws(() => loadAuthConfig({ AUTH_MODE: 'apikey' }), invalid('API_KEYS'));
  assert.throws(() => loadAuthConfig({ AUTH_MODE: 'apikey', API_KEYS: 'acme:my-secret-key' }), invalid('API_KEYS', /64 hex digits/));
  assert.throws(() => loadAuthConfig({ AUTH_MODE: 'apikey', API_KEYS: `:${hashApiKey('k')}` }), invalid('API_KEYS'));
  const h = hashApiKey('k');
  assert.throws(() => loadAuthConfig({ AUTH_MODE: 'apikey', API_KEYS: `acme:${h},globex:${h}` }), invalid('API_KEYS', /two tenants/));
  assert.throws(() => loadAuthConfig({ AUTH_MODE: 'dev', DEV_TENANT: 'a b' }), invalid('DEV_TENANT'));
});

test('jwt+apikey with HS256, a PEM file, a JWKS file, issuer and audience lists', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'auth-config-'));
  try {
    const pair = await rsaPair();
    writeFileSync(join(dir, 'key.pem'), pair.publicPem);
    writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [pair.publicJwk] }));
    const base = { AUTH_MODE: 'jwt+apikey', JWT_HS256_SECRET: HS_SECRET, JWT_ISSUER: 'https://idp.example, other', JWT_AUDIENCE: 'sentiment', JWT_TENANT_CLAIM: 'org', API_KEYS: `acme:${hashApiKey('a')}, globex:${hashApiKey('g')}` };
    const fromPem = loadAuthConfig({ ...base, JWT_RS256_PUBLIC_KEY: join(dir, 'key.pem') });
    assert.equal(fromPem.jwt!.rs256[0].kind, 'pem');
    assert.deepEqual(fromPem.jwt!.issuer, ['https://idp.example', 'other']);
    assert.deepEqual(fromPem.jwt!.audience, ['sentiment']);
    assert.equal(fromPem.jwt!.tenantClaim, 'org');
    assert.equal(fromPem.apiKeys!.length, 2);
    assert.equal(loadAuthConfig({ ...base, JWT_RS256_PUBLIC_KEY: join(dir, 'jwks.json') }).jwt!.rs256[0].kind, 'jwks');
    // Inline PEM with literal \n (one env line) works too.
    assert.equal(loadAuthConfig({ ...base, JWT_RS256_PUBLIC_KEY: pair.publicPem.replace(/\n/g, '\\n') }).jwt!.rs256[0].kind, 'pem');
    const auth = await createAuth(fromPem);
    assert.equal(auth.insecure, false);
    assert.equal(auth.describe(), 'auth: JWT HS256 + RS256 (pem), tenant claim "org", iss in [https://idp.example, other], aud in [sentiment]; also API keys (2)');
    assert.match(describeAuthMode(loadAuthConfig({ AUTH_MODE: 'apikey', API_KEYS: base.API_KEYS })), /API keys .* 2 key\(s\) for 2 tenant\(s\)/);
    // A PEM that parses as text but is not a key fails when the auth is built, still as CONFIG_INVALID.
    await assert.rejects(createAuth(loadAuthConfig({ ...base, JWT_RS256_PUBLIC_KEY: '-----BEGIN PUBLIC KEY-----\nnot-a-key\n-----END PUBLIC KEY-----' })), invalid('JWT_RS256_PUBLIC_KEY'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
