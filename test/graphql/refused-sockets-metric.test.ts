/**
 * Refused API sockets are counted in /metrics by reason (`api_sockets_refused_total`): a page
 * of a foreign origin (upgrade 403), a source address at its socket limit (upgrade 429), a tenant
 * at its socket limit (closed 1013 at connection_init). Before, a refusal was only a debug log
 * line, so an operator could not see a hijacking attempt or a client hitting its limit. Real
 * server, real sockets, the app's real counter.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { createMetrics } from '../../src/app/metrics.js';
import { TOO_MANY_CONNECTIONS_CLOSE_CODE } from '../../src/http/connection-limits.js';
import { startHarness } from './harness.js';

/** Opens a graphql-transport-ws socket: resolves on ack (socket left open), or with how it was refused. */
function open(url: string, headers: Record<string, string> = {}): Promise<{ ws: WebSocket; acked: boolean; status?: number; close?: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, 'graphql-transport-ws', { headers });
    ws.on('unexpected-response', (_req, res) => {
      res.resume();
      resolve({ ws, acked: false, status: res.statusCode });
    });
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init' })));
    ws.on('message', (m) => {
      if (JSON.parse(String(m)).type === 'connection_ack') resolve({ ws, acked: true });
    });
    ws.on('close', (code) => resolve({ ws, acked: false, close: code }));
    ws.on('error', () => {});
  });
}

async function refusals(metrics: ReturnType<typeof createMetrics>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const line of (await metrics.registry.metrics()).split('\n')) {
    const m = /^api_sockets_refused_total\{reason="([a-z_]+)"\} (\d+)$/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

test('refused sockets are counted by reason: origin, source_limit, tenant_limit', async () => {
  const metrics = createMetrics();
  const onSocketRefused = (reason: string) => metrics.socketsRefused.inc({ reason });
  const bySource = await startHarness({ onSocketRefused, connectionLimits: { maxSocketsPerSource: 1 } });
  const byTenant = await startHarness({ onSocketRefused, connectionLimits: { maxSocketsPerSource: 10, maxSocketsPerTenant: 1 } });
  const held: WebSocket[] = [];
  try {
    assert.deepEqual(await refusals(metrics), {}, 'nothing refused yet');
    const foreign = await open(bySource.api.wsUrl, { origin: 'https://evil.example' });
    assert.equal(foreign.status, 403);
    const first = await open(bySource.api.wsUrl);
    assert.ok(first.acked);
    held.push(first.ws);
    assert.equal((await open(bySource.api.wsUrl)).status, 429, 'the source is at its limit');
    const own = await open(byTenant.api.wsUrl);
    assert.ok(own.acked);
    held.push(own.ws);
    assert.equal((await open(byTenant.api.wsUrl)).close, TOO_MANY_CONNECTIONS_CLOSE_CODE, 'the tenant is at its limit');
    assert.deepEqual(await refusals(metrics), { origin: 1, source_limit: 1, tenant_limit: 1 });
  } finally {
    for (const ws of held) ws.close();
    await bySource.close();
    await byTenant.close();
  }
});
