/**
 * Sockets and subscriptions per source, per tenant and per connection (issue 13, finding 5),
 * and resume subscriptions that give their memory back when the socket closes. Real server,
 * real sockets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { createClient } from 'graphql-ws';
import { Counter, DEFAULT_CONNECTION_LIMITS, TOO_MANY_CONNECTIONS_CLOSE_CODE } from '../../src/http/connection-limits.js';
import type { ContextFunction } from '../../src/auth/api-context.js';
import { type Harness, until, withHarness } from '../graphql/harness.js';
import { loadConfig } from '../../src/app/config.js';

/** The connection-limits part of the one config (API_MAX_SOCKETS_*, API_MAX_SUBSCRIPTIONS_PER_TENANT). */
const loadConnectionLimits = (env: NodeJS.ProcessEnv) => loadConfig(env).connectionLimits;

const SUB = 'subscription { segmentScored { segmentIndex } }';
const RESUME = 'subscription($s: DateTime!) { segmentScored(since: $s) { segmentIndex } }';

/** A raw graphql-transport-ws socket: resolves on ack, or with the HTTP status / close code that refused it. */
function rawSocket(url: string, connectionParams?: Record<string, unknown>): Promise<{ ws: WebSocket; acked: boolean; status?: number; body?: string; close?: number; reason?: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, 'graphql-transport-ws');
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ ws, acked: false, status: res.statusCode, body }));
    });
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: connectionParams })));
    ws.on('message', (m) => {
      if (JSON.parse(String(m)).type === 'connection_ack') resolve({ ws, acked: true });
    });
    ws.on('close', (code, reason) => resolve({ ws, acked: false, close: code, reason: String(reason) }));
    ws.on('error', () => {});
  });
}

function subscribe(ws: WebSocket, id: string, query = SUB, variables?: Record<string, unknown>): void {
  ws.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables } }));
}

/** The next `error` message for operation `id`. */
function errorOf(ws: WebSocket, id: string): Promise<any> {
  return new Promise((resolve) => {
    const on = (m: WebSocket.RawData) => {
      const msg = JSON.parse(String(m));
      if (msg.id === id && msg.type === 'error') {
        ws.off('message', on);
        resolve(msg.payload[0]);
      }
    };
    ws.on('message', on);
  });
}

const closeAll = (sockets: WebSocket[]) => Promise.all(sockets.map((ws) => new Promise<void>((r) => (ws.readyState === ws.CLOSED ? r() : (ws.once('close', () => r()), ws.close())))));

const tenantFromParams: ContextFunction = (req) => ({ tenant: String((req.transport === 'ws' && req.connectionParams?.tenant) || 'acme'), principal: 'test' });

test('sockets per source address: the upgrade past the bound is answered 429 TOO_MANY_CONNECTIONS; a closed socket frees its slot', () =>
  withHarness({ connectionLimits: { maxSocketsPerSource: 2 } }, async (h) => {
    const a = await rawSocket(h.api.wsUrl);
    const b = await rawSocket(h.api.wsUrl);
    assert.ok(a.acked && b.acked);
    const c = await rawSocket(h.api.wsUrl);
    assert.equal(c.status, 429);
    assert.equal(JSON.parse(c.body!).errors[0].extensions.code, 'TOO_MANY_CONNECTIONS');
    await closeAll([a.ws]);
    const d = await rawSocket(h.api.wsUrl);
    assert.ok(d.acked, 'the slot of a closed socket is reusable');
    await closeAll([b.ws, d.ws]);
  }));

test('sockets per tenant: past the bound the socket closes with 1013 TOO_MANY_CONNECTIONS; other tenants are not affected', () =>
  withHarness({ context: tenantFromParams, connectionLimits: { maxSocketsPerTenant: 2 } }, async (h) => {
    const open = [await rawSocket(h.api.wsUrl, { tenant: 'acme' }), await rawSocket(h.api.wsUrl, { tenant: 'acme' })];
    assert.ok(open.every((s) => s.acked));
    const refused = await rawSocket(h.api.wsUrl, { tenant: 'acme' });
    assert.equal(refused.close, TOO_MANY_CONNECTIONS_CLOSE_CODE);
    assert.match(refused.reason!, /^TOO_MANY_CONNECTIONS: tenant already holds 2 sockets/);
    const other = await rawSocket(h.api.wsUrl, { tenant: 'globex' });
    assert.ok(other.acked, 'another tenant still connects');
    await closeAll([open[0].ws]);
    const again = await rawSocket(h.api.wsUrl, { tenant: 'acme' });
    assert.ok(again.acked, 'a closed socket frees its tenant slot');
    await closeAll([open[1].ws, other.ws, again.ws]);
  }));

test('the graphql-ws client retries a 1013 refusal (try again later) and gets in once a slot frees', () =>
  withHarness({ connectionLimits: { maxSocketsPerTenant: 1 } }, async (h) => {
    const first = await rawSocket(h.api.wsUrl);
    let closes = 0;
    const client = createClient({ url: h.api.wsUrl, webSocketImpl: WebSocket, retryAttempts: 20, retryWait: () => new Promise((r) => setTimeout(r, 20)), on: { closed: () => void closes++ } });
    const events: unknown[] = [];
    const stop = client.subscribe({ query: SUB }, { next: (v) => events.push(v), error: () => {}, complete: () => {} });
    await until(() => closes >= 1, 2000, 'a refused attempt');
    assert.equal(h.hub.stats().subscribers, 0);
    await closeAll([first.ws]);
    await until(() => h.hub.stats().subscribers === 1, 3000, 'the retried socket subscribing');
    stop();
    await client.dispose();
  }));

test('subscriptions per tenant, over all its sockets: TOO_MANY_SUBSCRIPTIONS (scope tenant) for that operation only', () =>
  withHarness({ context: tenantFromParams, connectionLimits: { maxSubscriptionsPerTenant: 3 } }, async (h) => {
    const a = (await rawSocket(h.api.wsUrl, { tenant: 'acme' })).ws;
    const b = (await rawSocket(h.api.wsUrl, { tenant: 'acme' })).ws;
    const g = (await rawSocket(h.api.wsUrl, { tenant: 'globex' })).ws;
    // Identical operations of a tenant share one hub subscription (src/graphql/multiplex.ts): count members.
    subscribe(a, '1');
    subscribe(a, '2');
    subscribe(b, '3');
    await until(() => h.api.fanOutStats().members === 3);
    const refused = errorOf(b, '4');
    subscribe(b, '4');
    const e = await refused;
    assert.equal(e.extensions.code, 'TOO_MANY_SUBSCRIPTIONS');
    assert.match(e.message, /^tenant already holds 3 subscriptions/);
    subscribe(g, '1');
    await until(() => h.api.fanOutStats().members === 4, 2000, "another tenant's subscription");
    // Completing one frees its slot; closing a socket frees all of its slots.
    a.send(JSON.stringify({ id: '1', type: 'complete' }));
    await until(() => h.api.fanOutStats().members === 3);
    subscribe(b, '5');
    await until(() => h.api.fanOutStats().members === 4, 2000, 'a completed slot is reusable');
    await closeAll([a, b]);
    await until(() => h.api.fanOutStats().members === 1);
    const c = (await rawSocket(h.api.wsUrl, { tenant: 'acme' })).ws;
    for (const id of ['1', '2', '3']) subscribe(c, id);
    await until(() => h.api.fanOutStats().members === 4, 2000, 'slots of closed sockets are free');
    await closeAll([c, g]);
  }));

test('resume subscriptions (segmentScored(since:)) leave the hub when their socket closes (issue 13)', () =>
  // Before: each stayed parked on its live queue after the socket closed (return() never
  // settled), holding a 4,096-slot queue: 400 x 100 of them kept 1.9 GB after every socket closed.
  withHarness({}, async (h) => {
    const sockets = await Promise.all(Array.from({ length: 5 }, () => rawSocket(h.api.wsUrl)));
    sockets.forEach((s, i) => {
      for (let k = 0; k < 4; k++) subscribe(s.ws, `${i}-${k}`, RESUME, { s: new Date(0).toISOString() });
    });
    await until(() => h.hub.stats().subscribers === 20);
    await closeAll(sockets.map((s) => s.ws));
    await until(() => h.hub.stats().subscribers === 0, 2000, 'every resume subscription to leave the hub');
  }));

test('loadConnectionLimits: defaults, overrides, CONFIG_INVALID naming the variable; Counter forgets keys at 0', () => {
  assert.deepEqual(loadConnectionLimits({}), DEFAULT_CONNECTION_LIMITS);
  assert.deepEqual(loadConnectionLimits({ API_MAX_SOCKETS_PER_SOURCE: '5', API_MAX_SOCKETS_PER_TENANT: '6', API_MAX_SUBSCRIPTIONS_PER_TENANT: '7' }), { maxSocketsPerSource: 5, maxSocketsPerTenant: 6, maxSubscriptionsPerTenant: 7 });
  for (const k of ['API_MAX_SOCKETS_PER_SOURCE', 'API_MAX_SOCKETS_PER_TENANT', 'API_MAX_SUBSCRIPTIONS_PER_TENANT']) {
    assert.throws(() => loadConnectionLimits({ [k]: '0' }), (e: any) => e.code === 'CONFIG_INVALID' && e.message.includes(k));
  }
  const c = new Counter();
  assert.ok(c.tryAdd('x', 1));
  assert.ok(!c.tryAdd('x', 1));
  c.release('x');
  assert.equal(c.size, 0);
});
