import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chunkTenantRule, ConfigError, loadConfig } from '../../src/app/config.js';

const KEY = `acme:${'a'.repeat(64)}`;

test('tenant rule for a chunk without x-tenant: dev mode -> DEV_TENANT; authentication on -> CHUNK_DEFAULT_TENANT or none (rejected)', () => {
  assert.equal(chunkTenantRule(loadConfig({})), 'demo');
  assert.equal(chunkTenantRule(loadConfig({ DEV_TENANT: 'lab' })), 'lab');
  assert.equal(chunkTenantRule(loadConfig({ AUTH_MODE: 'apikey', API_KEYS: KEY })), null);
  assert.equal(chunkTenantRule(loadConfig({ AUTH_MODE: 'apikey', API_KEYS: KEY, CHUNK_DEFAULT_TENANT: 'acme' })), 'acme');
  assert.throws(() => loadConfig({ CHUNK_DEFAULT_TENANT: 'a b' }), ConfigError);
  assert.throws(() => loadConfig({ CHUNK_DEFAULT_TENANT: 'x'.repeat(65) }), ConfigError);
});

test('KAFKA_MAX_MESSAGE_BYTES: unset is null (src/app/kafka.ts then assumes 1,000,000); set, an integer >= 4096', () => {
  assert.equal(loadConfig({}).kafkaMaxMessageBytes, null);
  assert.equal(loadConfig({ KAFKA_MAX_MESSAGE_BYTES: '1048588' }).kafkaMaxMessageBytes, 1048588);
  assert.throws(() => loadConfig({ KAFKA_MAX_MESSAGE_BYTES: '100' }), ConfigError);
});
