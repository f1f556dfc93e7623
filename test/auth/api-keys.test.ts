/** API keys: hashed config, every entry compared, the right tenant, refusals UNAUTHENTICATED. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createApiKeyVerifier, hashApiKey } from '../../src/auth/api-keys.js';
import { parseApiKeys } from '../../src/auth/config.js';

test('hashApiKey is the hex sha256 an operator gets from `printf %s KEY | sha256sum`', () => {
  assert.equal(hashApiKey('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});

test('a configured key gives its tenant; unknown, empty and oversized keys are refused', () => {
  const verify = createApiKeyVerifier(parseApiKeys(`acme:${hashApiKey('key-a')},globex:${hashApiKey('key-g')},acme:${hashApiKey('key-a2')}`));
  assert.deepEqual(verify('key-a'), { tenant: 'acme', principal: `api-key:${hashApiKey('key-a').slice(0, 8)}` });
  assert.equal(verify('key-g').tenant, 'globex');
  assert.equal(verify('key-a2').tenant, 'acme', 'a tenant may hold several keys (rotation)');
  const refused = (reason: RegExp) => (e: any) => e.code === 'UNAUTHENTICATED' && reason.test(e.message);
  assert.throws(() => verify('key-b'), refused(/unknown API key/));
  assert.throws(() => verify(hashApiKey('key-a')), refused(/unknown API key/), 'the hash itself is not a key');
  assert.throws(() => verify(''), refused(/malformed/));
  assert.throws(() => verify('k'.repeat(513)), refused(/malformed/));
});

test('uppercase hex in API_KEYS is accepted', () => {
  const hex = createHash('sha256').update('K').digest('hex').toUpperCase();
  assert.equal(createApiKeyVerifier(parseApiKeys(`t1:${hex}`))('K').tenant, 't1');
});
