/** Where the auth hook reads credentials from, and what each mode accepts. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAuth, credentialsOf, hashApiKey } from '../../src/auth/index.js';
import { HS_SECRET, mint } from './keys.js';
import { loadConfig } from '../../src/app/config.js';
/** The auth part of the one config (the schema parses AUTH_MODE, JWT_*, API_KEYS, DEV_TENANT). */
const loadAuthConfig = (env: NodeJS.ProcessEnv) => loadConfig(env).auth;

test('credentialsOf: HTTP headers; graphql-ws connectionParams first, upgrade headers otherwise', () => {
  assert.deepEqual(credentialsOf({ transport: 'http', headers: { authorization: 'bearer abc.def.ghi' } }), { bearer: 'abc.def.ghi' });
  assert.deepEqual(credentialsOf({ transport: 'http', headers: { 'x-api-key': 'k' } }), { apiKey: 'k' });
  assert.deepEqual(credentialsOf({ transport: 'ws', headers: { 'x-api-key': 'h' }, connectionParams: { authorization: 'abc.def.ghi' } }), { bearer: 'abc.def.ghi' });
  assert.deepEqual(credentialsOf({ transport: 'ws', headers: { 'x-api-key': 'h' }, connectionParams: { apiKey: 'p' } }), { apiKey: 'p' });
  assert.deepEqual(credentialsOf({ transport: 'ws', headers: { 'x-api-key': 'h' }, connectionParams: undefined }), { apiKey: 'h' });
  assert.throws(() => credentialsOf({ transport: 'http', headers: { authorization: 'abc.def.ghi' } }), (e: any) => e.code === 'UNAUTHENTICATED', 'HTTP needs the Bearer scheme');
  assert.throws(() => credentialsOf({ transport: 'ws', headers: {}, connectionParams: { authorization: 'Basic x y' } }), (e: any) => e.code === 'UNAUTHENTICATED');
});

test('each mode accepts only its credentials and says what to send', async () => {
  const env = { JWT_HS256_SECRET: HS_SECRET, API_KEYS: `acme:${hashApiKey('key')}` };
  const jwtOnly = (await createAuth(loadAuthConfig({ ...env, AUTH_MODE: 'jwt' }))).context;
  const keyOnly = (await createAuth(loadAuthConfig({ ...env, AUTH_MODE: 'apikey' }))).context;
  const both = (await createAuth(loadAuthConfig({ ...env, AUTH_MODE: 'jwt+apikey' }))).context;
  const token = await mint({ claims: { tenant: 'globex' } });
  const viaToken = { transport: 'http' as const, headers: { authorization: `Bearer ${token}` } };
  const viaKey = { transport: 'http' as const, headers: { 'x-api-key': 'key' } };
  const refused = (reason: RegExp) => (e: any) => e.code === 'UNAUTHENTICATED' && reason.test(e.message);
  const ctx = await jwtOnly(viaToken);
  assert.equal(ctx.tenant, 'globex');
  assert.equal(ctx.principal, 'jwt:user-1');
  assert.ok(ctx.expiresAtMs! > Date.now());
  await assert.rejects(async () => jwtOnly(viaKey), refused(/API keys are not accepted \(AUTH_MODE=jwt\)/));
  await assert.rejects(async () => keyOnly(viaToken), refused(/bearer tokens are not accepted/));
  assert.deepEqual(await keyOnly(viaKey), { tenant: 'acme', principal: `api-key:${hashApiKey('key').slice(0, 8)}` });
  assert.equal((await both(viaKey)).tenant, 'acme');
  assert.equal((await both(viaToken)).tenant, 'globex');
  await assert.rejects(async () => both({ transport: 'http', headers: {} }), refused(/no credentials \(send Authorization: Bearer <jwt> or x-api-key/));
});
