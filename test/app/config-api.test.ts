/** The GraphQL / WebSocket part of loadConfig: defaults follow the auth mode (issue 13). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/app/config.js';
import { DEFAULT_CONNECTION_LIMITS } from '../../src/http/connection-limits.js';

const JWT = { AUTH_MODE: 'jwt', JWT_HS256_SECRET: 'x'.repeat(32) };

test('dev mode: introspection on, loopback origins only; other modes: introspection off, same origin', () => {
  const dev = loadConfig({});
  assert.equal(dev.queryLimits.introspection, true);
  assert.deepEqual(dev.origins, { allowed: [], devMode: true });
  assert.deepEqual(dev.connectionLimits, DEFAULT_CONNECTION_LIMITS);
  const jwt = loadConfig(JWT);
  assert.equal(jwt.queryLimits.introspection, false);
  assert.equal(jwt.origins.devMode, false);
});

test('API_* variables are read and validated at start', () => {
  const c = loadConfig({ ...JWT, API_INTROSPECTION: 'on', API_ALLOWED_ORIGINS: 'https://dash.example.com', API_MAX_SOCKETS_PER_TENANT: '9', API_MAX_TOKENS: '800' });
  assert.equal(c.queryLimits.introspection, true);
  assert.deepEqual(c.origins.allowed, ['https://dash.example.com']);
  assert.equal(c.connectionLimits.maxSocketsPerTenant, 9);
  assert.equal(c.queryLimits.maxTokens, 800);
  for (const [k, v] of [['API_ALLOWED_ORIGINS', 'dash.example.com/x'], ['API_MAX_SOCKETS_PER_SOURCE', 'many'], ['API_INTROSPECTION', 'sometimes']]) {
    assert.throws(() => loadConfig({ [k]: v }), (e: any) => e.code === 'CONFIG_INVALID' && e.message.includes(k));
  }
});
